"""Beyond the paper (ours): the studies of family F and of claims D3 / D4, trained only when asked (``beyond``).

F: is hyperoptimization still worth it against learning-rate-free optimizers?
  - ``mlp_lrfree`` (and ``resnet_lrfree``): a height-3 hyperoptimized SGD over [P] Fig. 4's
    base step sizes, beside each learning-rate-free method over its own initial-estimate
    parameter swept over as many decades (schedule-free SGD, which has a step size, over
    the same base step sizes as SGD). Each method's recommended setting is in its grid.
  - ``mlp_lrfree_cost``: step times side by side, with plain SGD and plain Adam.
D3 / D4: very tall towers, and a scale-free kappa rule (``relative`` levels, rules.Relative).
  - ``mlp_tall``: towers of height 1..50 over [P] Fig. 4's base step sizes, under [P]'s
    scheme (SGD levels, [P]'s kappas), [R]'s (RMSProp levels, kappa_l = alpha/(100(1+l)))
    and the relative rule (every level ``relative(alpha=0.01)``).
  - ``mlp_top``: [R] 3.4's protocol at height 3, the top level's step size swept over six
    decades, under [R]'s rule and the relative rule.
"""

from __future__ import annotations

from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.mlp import DEPTH_BATCH, TOWER_ALPHAS, depth_kappas
from papers.ultimate_optimizer.studies.towers import paper_kappas
from training.core.config import Profile
from training.hyper.stackspec import format_number
from training.studies.base import Cell, PerProfile, Study

# --- family F: learning-rate-free optimizers -----------------------------------------------

HYPER = "hyper"  # the height-3 hyperoptimized SGD, [P]'s kappas
HYPER_HEIGHT = 3
INITIAL_ESTIMATES = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0)  # ten decades around the packages' default 1e-6
# method -> (its stack at a value of the swept parameter, the swept grid, the package's recommended value)
LRFREE_METHODS = {
    "prodigy": (lambda v: f"prodigy(d0={format_number(v)})", INITIAL_ESTIMATES, 1e-6),
    "dadapt_adam": (lambda v: f"dadapt_adam(d0={format_number(v)})", INITIAL_ESTIMATES, 1e-6),
    "dog": (lambda v: f"dog(r_eps={format_number(v)})", INITIAL_ESTIMATES, 1e-6),
    "sgd_schedulefree": (lambda v: f"sgd_schedulefree(alpha={format_number(v)})", TOWER_ALPHAS, 1.0),
}
HYPER_RECOMMENDED = 0.01  # [P] Table 1's SGD step size, in the base grid
ADAM_BASED_METHODS = ("prodigy", "dadapt_adam")  # their cost is set against plain Adam's; the others' against plain SGD's


def hyper_tower(alpha: float, height: int = HYPER_HEIGHT, base: str = "sgd") -> str:
    """[P] Fig. 4's SGD tower over ``base(alpha)``: SGD levels with [P]'s kappas."""
    return " / ".join([f"{base}(alpha={format_number(alpha)})"] + [f"sgd(alpha={format_number(k)})" for k in paper_kappas(alpha, height)])


def lrfree_cells(hyper_alphas: tuple[float, ...], grids: dict[str, tuple[float, ...]], epochs: int, model: str = "mlp") -> tuple[Cell, ...]:
    cells = [Cell(labels.lrfree(HYPER, alpha), hyper_tower(alpha), epochs, model=model) for alpha in hyper_alphas]
    for method, (stack, _, _) in LRFREE_METHODS.items():
        cells += [Cell(labels.lrfree(method, value), stack(value), epochs, model=model) for value in grids[method]]
    return tuple(cells)


def mlp_lrfree(profile: Profile) -> Study:
    """F1 / F2 on the MLP: [P] Fig. 4's protocol (batch 256, 30 epochs at paper)."""
    epochs = PerProfile(smoke=1, cpu=2, paper=30).at(profile)
    grids = {method: grid for method, (_, grid, _) in LRFREE_METHODS.items()}
    if profile == Profile.SMOKE:
        grids = {method: (recommended,) for method, (_, _, recommended) in LRFREE_METHODS.items()}
    alphas = (HYPER_RECOMMENDED,) if profile == Profile.SMOKE else TOWER_ALPHAS
    # F has two tested claims (F3 is a measurement): Holm's first threshold 0.025 needs 2^-n below it, n >= 6;
    # refuting F1 (Bonferroni over four methods) needs n >= 8
    return Study(labels.MLP_LRFREE, ("F1", "F2"), lrfree_cells(alphas, grids, epochs), seeds=PerProfile(smoke=2, cpu=9, paper=10).at(profile),
                 beyond=True)


def resnet_lrfree(profile: Profile) -> Study:
    """F1 / F2 on ResNet-20: the hyperoptimized SGD is [P] Fig. 4's ResNet-20 tower of height 3 (plain SGD, [P]'s
    kappas, as in ``resnet_towers``); the packages' optimizers at their defaults (no weight decay on either side)."""
    epochs = PerProfile(smoke=1, cpu=1, paper=200).at(profile)
    alphas = PerProfile(smoke=(0.1,), cpu=(1e-4, 1e-2, 1.0), paper=(1e-6, 1e-4, 1e-2, 1.0)).at(profile)
    values = PerProfile(smoke=(1e-6,), cpu=(1e-8, 1e-6, 1e-4), paper=(1e-10, 1e-8, 1e-6, 1e-4, 1e-2)).at(profile)
    grids = {method: alphas if method == "sgd_schedulefree" else values for method in LRFREE_METHODS}
    return Study(labels.RESNET_LRFREE, ("F1", "F2"), lrfree_cells(alphas, grids, epochs, model="resnet20"),
                 seeds=PerProfile(smoke=2, cpu=9, paper=10).at(profile), beyond=True)


COST_METHODS = {"sgd": "sgd(alpha=0.01)", "adam": "adam(alpha=0.001)", HYPER: hyper_tower(HYPER_RECOMMENDED),
                **{method: stack(recommended) for method, (stack, _, recommended) in LRFREE_METHODS.items()}}


def mlp_lrfree_cost(profile: Profile) -> Study:
    """F3: one epoch of each method's recommended setting, alone and in process, seed by seed."""
    cells = tuple(Cell(labels.lrfree_cost(method), stack, epochs=1) for method, stack in COST_METHODS.items())
    return Study(labels.MLP_LRFREE_COST, ("F3",), cells, seeds=PerProfile(smoke=2, cpu=7, paper=8).at(profile), exclusive=True, beyond=True)


# --- D3 / D4: very tall towers and a scale-free kappa rule ---------------------------------

TALL_SCHEMES = ("paper", "reproduction", "relative")
TALL_HEIGHTS = (1, 2, 3, 5, 10, 20, 50)
RELATIVE_STEP = 0.01  # the relative rule's one constant: about 1% change per step, at every level
TOP_STEPS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
TOP_HEIGHT = 3
TOP_ALPHA = 0.01


def tall_tower(scheme: str, alpha: float, height: int, top_step: float | None = None) -> str:
    """SGD(alpha) under ``height`` levels of ``scheme``; ``top_step`` replaces the top level's step size."""
    base = f"sgd(alpha={format_number(alpha)})"
    if scheme == "paper":
        levels = [("sgd", k) for k in paper_kappas(alpha, height)]
    elif scheme == "reproduction":
        levels = [("rmsprop", k) for k in depth_kappas("reproduction", alpha, height)]
    elif scheme == "relative":
        levels = [("relative", RELATIVE_STEP)] * height
    else:
        raise ValueError(scheme)
    if top_step is not None:
        levels[-1] = (levels[-1][0], top_step)
    return " / ".join([base] + [f"{name}(alpha={format_number(k)})" for name, k in levels])


def mlp_tall(profile: Profile) -> Study:
    """D3: towers to height 50 under each scheme at every base alpha of [P] Fig. 4 (batch 256)."""
    epochs = PerProfile(smoke=1, cpu=1, paper=30).at(profile)
    heights = PerProfile(smoke=(1, 2, 3, 5), cpu=TALL_HEIGHTS, paper=TALL_HEIGHTS).at(profile)
    alphas = PerProfile(smoke=(0.01,), cpu=TOWER_ALPHAS, paper=TOWER_ALPHAS).at(profile)
    cells = []
    for alpha in alphas:
        cells.append(Cell(labels.tall(labels.DEPTH_PLAIN, 0, alpha), f"sgd(alpha={format_number(alpha)})", epochs))
        cells += [Cell(labels.tall(scheme, h, alpha), tall_tower(scheme, alpha, h), epochs) for scheme in TALL_SCHEMES for h in heights]
    # family D+ (D3, D4): Holm's first threshold 0.025 needs n >= 6; refuting D3 (Bonferroni over six base alphas) n >= 8
    return Study(labels.MLP_TALL, ("D3",), tuple(cells), seeds=PerProfile(smoke=2, cpu=8, paper=10).at(profile), beyond=True)


def mlp_top(profile: Profile) -> Study:
    """D4: the top level's step size swept over six decades, [R]'s rule against the relative rule ([R] 3.4's batch 1024)."""
    epochs = PerProfile(smoke=1, cpu=2, paper=10).at(profile)
    steps = PerProfile(smoke=(1e-4, 1e-2), cpu=TOP_STEPS, paper=TOP_STEPS).at(profile)
    cells = tuple(Cell(labels.top(scheme, step), tall_tower(scheme, TOP_ALPHA, TOP_HEIGHT, step), epochs, batch_size=DEPTH_BATCH)
                  for scheme in ("reproduction", "relative") for step in steps)
    return Study(labels.MLP_TOP, ("D4",), cells, seeds=PerProfile(smoke=2, cpu=8, paper=8).at(profile), beyond=True)


STUDIES = {
    labels.MLP_LRFREE: mlp_lrfree,
    labels.RESNET_LRFREE: resnet_lrfree,
    labels.MLP_LRFREE_COST: mlp_lrfree_cost,
    labels.MLP_TALL: mlp_tall,
    labels.MLP_TOP: mlp_top,
}
