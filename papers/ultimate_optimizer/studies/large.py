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
early dynamics and bad settings fail, nowhere near the published accuracy
(``papers.ultimate_optimizer.studies.reductions`` lists every cut). Seeds: enough for an exact
test over seeds to reach Holm's first threshold in the claim's family (C: 5
claims at paper, 7 seeds; B: 7 claims, 8 seeds; at cpu, where the duration
claims are not run, 6).
"""

from __future__ import annotations

from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.towers import TOWER_HEIGHTS, tower_cells
from training.core.config import Profile
from training.hyper.stackspec import format_number
from training.studies.base import Cell, PerProfile, Study

RESNET_ALPHAS = (0.01, 0.1, 1.0)
RESNET_MUS = (0.09, 0.9, 0.99)
WEIGHT_DECAY = 1e-4
LSTM_ALPHAS = (1e-4, 2e-3, 1e-2)  # too low, torch-rnn's expert default, too high
LSTM_PAPER_STEPS = 50_000  # [P] 3.3: the char-LSTM's training length (44 passes of 1,152 steps reach it)


def resnet_baseline(alpha: float, mu: float) -> str:
    return f"sgd(alpha={format_number(alpha)}, mu={format_number(mu)}, wd={format_number(WEIGHT_DECAY)})"


def resnet_hyper(alpha: float, mu: float) -> str:
    """[P] 3.3's hyperoptimizer of a grid cell: per-hyperparameter step sizes from the initial values."""
    kappa_alpha, kappa_mu = alpha**2 * 1e-3, 1e-6 / (1 - mu)
    return f"{resnet_baseline(alpha, mu)} / sgd_per_param(alpha={format_number(kappa_alpha)}, mu={format_number(kappa_mu)})"


def resnet_grid(profile: Profile) -> Study:
    epochs = PerProfile(smoke=1, cpu=1, paper=200).at(profile)
    cells = []
    for alpha in RESNET_ALPHAS:
        for mu in RESNET_MUS:
            cells.append(Cell(labels.grid("baseline", alpha, mu), resnet_baseline(alpha, mu), epochs, model="resnet20"))
            cells.append(Cell(labels.grid("hyper", alpha, mu), resnet_hyper(alpha, mu), epochs, model="resnet20"))
    return Study(labels.RESNET_GRID, ("C1", "B4"), tuple(cells), seeds=PerProfile(smoke=2, cpu=7, paper=8).at(profile))


def resnet_schedule(profile: Profile) -> Study:
    epochs = PerProfile(smoke=2, cpu=3, paper=500).at(profile)
    boundaries = PerProfile(smoke="step:1", cpu="step:1,2", paper="step:100,150").at(profile)
    cells = (
        Cell(labels.schedule("he"), resnet_baseline(0.1, 0.9), epochs, model="resnet20", schedule=boundaries),
        Cell(labels.schedule("hyper"), resnet_hyper(0.1, 0.9), epochs, model="resnet20"),
    )
    return Study(labels.RESNET_SCHEDULE, ("B2",), cells, seeds=PerProfile(smoke=2, cpu=6, paper=8).at(profile))


def resnet_towers(profile: Profile) -> Study:
    alphas = PerProfile(smoke=(1e-2, 1.0), cpu=(1e-4, 1e-2, 1.0), paper=(1e-8, 1e-6, 1e-4, 1e-2, 1.0)).at(profile)
    cells = tower_cells(alphas, TOWER_HEIGHTS, PerProfile(smoke=1, cpu=1, paper=200).at(profile), model="resnet20")
    return Study(labels.RESNET_TOWERS, ("B5", "C2", "C3"), cells, seeds=PerProfile(smoke=2, cpu=7, paper=8).at(profile))


def lstm_baseline(alpha: float) -> str:
    return f"adam(alpha={format_number(alpha)})"


def lstm_hyper(alpha: float) -> str:
    """[P] 3.3's char-LSTM hyperoptimizer: Adam's alpha, beta1, beta2 each with its own step size."""
    return f"{lstm_baseline(alpha)} / sgd_per_param(alpha={format_number(alpha * 1e-2)}, beta1=1e-4, beta2=2e-4)"


def charlstm_grid(profile: Profile) -> Study:
    epochs = PerProfile(smoke=1, cpu=1, paper=44).at(profile)
    cells = []
    for alpha in LSTM_ALPHAS:
        cells.append(Cell(labels.lstm("baseline", alpha), lstm_baseline(alpha), epochs, model="charlstm"))
        cells.append(Cell(labels.lstm("hyper", alpha), lstm_hyper(alpha), epochs, model="charlstm"))
    return Study(labels.CHARLSTM_GRID, ("C4", "B3", "B7"), tuple(cells), seeds=PerProfile(smoke=2, cpu=6, paper=8).at(profile))


def charlstm_towers(profile: Profile) -> Study:
    alphas = PerProfile(smoke=(0.1, 1.0), cpu=(0.01, 0.1, 1.0), paper=(1e-4, 1e-2, 1.0, 10.0)).at(profile)
    cells = tower_cells(alphas, TOWER_HEIGHTS, PerProfile(smoke=1, cpu=1, paper=44).at(profile), model="charlstm")
    return Study(labels.CHARLSTM_TOWERS, ("B5", "C2"), cells, seeds=PerProfile(smoke=2, cpu=7, paper=8).at(profile))


STUDIES = {
    labels.RESNET_GRID: resnet_grid,
    labels.RESNET_SCHEDULE: resnet_schedule,
    labels.RESNET_TOWERS: resnet_towers,
    labels.CHARLSTM_GRID: charlstm_grid,
    labels.CHARLSTM_TOWERS: charlstm_towers,
}
