"""The ResNet-20 / CIFAR-10 and char-LSTM / War and Peace studies ([P] 3.3-3.4, [R] 3.2-3.3).

- ``resnet_grid`` (C1, B4): the 3x3 grid of initial (alpha, mu), a fixed
  baseline ``sgd(alpha, mu, wd=1e-4)`` and the hyperoptimizer
  ``... / sgd_per_param(alpha=alpha^2 1e-3, mu=1e-6/(1-mu))`` in every cell.
- ``resnet_schedule`` (B2): He et al.'s step schedule (alpha / 10 at half and
  three quarters of training, as 100 and 150 of 200 epochs) against the
  hyperoptimizer started from (0.1, 0.9), both trained equally long.
- ``resnet_towers``, ``charlstm_towers`` (C2, C3): [P] Fig. 4's SGD towers.
- ``charlstm_grid`` (C4, B3, B7): Adam from three initial alphas, fixed vs
  hyperoptimized with kappa_alpha = alpha 1e-2, kappa_beta1 = 1e-4,
  kappa_beta2 = 2e-4.

Scale: ``cpu`` trains ResNet-20 on 2,560 CIFAR-10 images (20 steps an epoch)
and the LSTM on 375,000 characters (148 steps an epoch): enough to see the
early dynamics and bad settings fail, nowhere near the published accuracy;
every verdict on these studies is labelled reduced. Seeds: claims decided by
exact tests over seeds get 5 or 6 (the smallest p of 5 seeds is 1/32); C1
and B4 pool cells x seeds, so the grid keeps 4.
"""

from __future__ import annotations

from training.stackspec import format_number
from training.study import Cell, Study, by_profile, tower_cells

RESNET_ALPHAS = (0.01, 0.1, 1.0)
RESNET_MUS = (0.09, 0.9, 0.99)
WEIGHT_DECAY = 1e-4
LSTM_ALPHAS = (1e-4, 2e-3, 1e-2)  # too low, torch-rnn's expert default, too high


def resnet_baseline(alpha: float, mu: float) -> str:
    return f"sgd(alpha={format_number(alpha)}, mu={format_number(mu)}, wd={format_number(WEIGHT_DECAY)})"


def resnet_hyper(alpha: float, mu: float) -> str:
    """[P] 3.3's hyperoptimizer of a grid cell: per-hyperparameter step sizes from the initial values."""
    kappa_alpha, kappa_mu = alpha**2 * 1e-3, 1e-6 / (1 - mu)
    return f"{resnet_baseline(alpha, mu)} / sgd_per_param(alpha={format_number(kappa_alpha)}, mu={format_number(kappa_mu)})"


def resnet_grid(profile: str) -> Study:
    epochs = by_profile(profile, 1, 1, 200)
    cells = []
    for alpha in RESNET_ALPHAS:
        for mu in RESNET_MUS:
            cells.append(Cell(f"grid:baseline:a{alpha:g}:m{mu:g}", resnet_baseline(alpha, mu), epochs, model="resnet20"))
            cells.append(Cell(f"grid:hyper:a{alpha:g}:m{mu:g}", resnet_hyper(alpha, mu), epochs, model="resnet20"))
    return Study("resnet_grid", ("C1", "B4"), tuple(cells), seeds=by_profile(profile, 2, 4, 3))


def resnet_schedule(profile: str) -> Study:
    epochs = by_profile(profile, 2, 3, 500)
    boundaries = by_profile(profile, "step:1", "step:1,2", "step:100,150")
    cells = (
        Cell("schedule:he", resnet_baseline(0.1, 0.9), epochs, model="resnet20", schedule=boundaries),
        Cell("schedule:hyper", resnet_hyper(0.1, 0.9), epochs, model="resnet20"),
    )
    return Study("resnet_schedule", ("B2",), cells, seeds=by_profile(profile, 2, 6, 3))


def resnet_towers(profile: str) -> Study:
    alphas = by_profile(profile, (1e-2, 1.0), (1e-4, 1e-2, 1.0), (1e-8, 1e-6, 1e-4, 1e-2, 1.0))
    cells = tower_cells(alphas, (0, 1, 2, 3), by_profile(profile, 1, 1, 200), model="resnet20")
    return Study("resnet_towers", ("C2", "C3"), cells, seeds=by_profile(profile, 2, 5, 3))


def lstm_baseline(alpha: float) -> str:
    return f"adam(alpha={format_number(alpha)})"


def lstm_hyper(alpha: float) -> str:
    """[P] 3.3's char-LSTM hyperoptimizer: Adam's alpha, beta1, beta2 each with its own step size."""
    return f"{lstm_baseline(alpha)} / sgd_per_param(alpha={format_number(alpha * 1e-2)}, beta1=1e-4, beta2=2e-4)"


def charlstm_grid(profile: str) -> Study:
    epochs = by_profile(profile, 1, 1, 44)
    cells = []
    for alpha in LSTM_ALPHAS:
        cells.append(Cell(f"lstm:baseline:a{alpha:g}", lstm_baseline(alpha), epochs, model="charlstm"))
        cells.append(Cell(f"lstm:hyper:a{alpha:g}", lstm_hyper(alpha), epochs, model="charlstm"))
    return Study("charlstm_grid", ("C4", "B3", "B7"), tuple(cells), seeds=by_profile(profile, 2, 6, 3))


def charlstm_towers(profile: str) -> Study:
    alphas = by_profile(profile, (0.1, 1.0), (0.01, 0.1, 1.0), (1e-4, 1e-2, 1.0, 10.0))
    cells = tower_cells(alphas, (0, 1, 2, 3), by_profile(profile, 1, 1, 44), model="charlstm")
    return Study("charlstm_towers", ("C2",), cells, seeds=by_profile(profile, 2, 5, 3))


STUDIES = {
    "resnet_grid": resnet_grid,
    "resnet_schedule": resnet_schedule,
    "resnet_towers": resnet_towers,
    "charlstm_grid": charlstm_grid,
    "charlstm_towers": charlstm_towers,
}
REDUCTIONS = {
    "cpu": (
        "ResNet-20 on CIFAR-10 (JPEG q75 copy): 2,560 training images (20 steps of 128 an epoch), 1,000 test images; "
        "grid and towers 1 epoch, schedule study 3 epochs with alpha / 10 after epochs 1 and 2 (paper: 50,000 images, 200 and 500 epochs).",
        "ResNet-20 towers: base alphas 1e-4, 1e-2, 1 (paper 1e-8..1).",
        "Char-LSTM: the first 375,000 training characters, one pass = 148 steps of 50 streams x 50 characters "
        "(paper 50,000 steps); test perplexity on the first 20,000 test characters.",
        "Char-LSTM towers: SGD base alphas 0.01, 0.1, 1.",
    ),
}
