"""The MLP / MNIST studies: the grids of runs the A..E claims need, per profile, as data.

The re-run study is derived: its cells are built from the hyperparameters that
the Table 1 runs actually learned, seed by seed. Scale per profile: ``smoke``
trains on a slice for seconds; ``cpu`` is sized for 2 CPU cores; ``paper``
follows the published protocol (``papers.ultimate_optimizer.studies.reductions`` lists the cuts).
"""

from __future__ import annotations

from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.towers import TOWER_HEIGHTS, paper_kappas, tower_cells
from training.core.config import Profile
from training.hyper.stackspec import StackSpecError, format_level, format_number, parse_stack
from training.studies.base import Cell, PerProfile, Study

# --- MLP Table 1 of [P]: baselines and hyperoptimized stacks, four panels -------------------

# panel -> (baseline, stacks); kappa 0.01 by default, 0.001 when the hyperoptimizer is Adam ([P] 3.1)
TABLE1_PANELS = {
    "sgd": ("sgd(alpha=0.01)", ("sgd(alpha=0.01) / sgd(alpha=0.01)", "sgd(alpha=0.01) / adam(alpha=0.1)",
                                "sgd(alpha=0.01) / adagrad(alpha=0.01)", "sgd(alpha=0.01) / rmsprop(alpha=0.1)")),
    "adam": ("adam(alpha=0.001)", ("adam(alpha=0.001) / sgd(alpha=1e-5)", "adam_alpha(alpha=0.001) / sgd(alpha=1e-5)",
                                   "adam(alpha=0.001) / adam(alpha=0.001)", "adam_alpha(alpha=0.001) / adam(alpha=0.001)")),
    "adagrad": ("adagrad(alpha=0.01)", ("adagrad(alpha=0.01) / sgd(alpha=0.01)", "adagrad(alpha=0.01) / adagrad(alpha=0.01)")),
    "rmsprop": ("rmsprop(alpha=0.01, gamma=0.99)", ("rmsprop_alpha(alpha=0.01) / sgd(alpha=1e-4)", "rmsprop(alpha=0.01) / sgd(alpha=1e-4)",
                                                     "rmsprop_alpha(alpha=0.01) / rmsprop(alpha=1e-4)", "rmsprop(alpha=0.01) / rmsprop(alpha=1e-4)")),
}
# [P] trains SGD 30 epochs, Adam and RMSProp 5; AdaGrad is ambiguous, we take 30. The cpu profile keeps the published 5 epochs
# of the Adam and RMSProp panels (their claims are then decided at protocol on the main job) and cuts SGD and AdaGrad to 2.
TABLE1_EPOCHS = {
    "sgd": PerProfile(smoke=1, cpu=2, paper=30),
    "adagrad": PerProfile(smoke=1, cpu=2, paper=30),
    "adam": PerProfile(smoke=1, cpu=5, paper=5),
    "rmsprop": PerProfile(smoke=1, cpu=5, paper=5),
}
# Seeds, here and below: an exact one-sided test over n seeds cannot give p below 2^-n, and Holm's first threshold in a
# family of m claims is 0.05/m, so a study serving a family of m decided claims needs 2^-n < 0.05/m (A: 7 claims, n >= 8;
# a refutation of a 4-comparison claim, Bonferroni'd inside it, needs n >= 10). tests/studies check these counts.
# `--epochs auto` for one run of a stack on the MLP: [P] trains the SGD and AdaGrad families for 30 epochs, Adam and
# RMSProp for 5 (ResNet-20 and the char-LSTM have epochs of their own, on their benchmark records).
EPOCHS_BY_OPTIMIZER = {"sgd": 30, "adagrad": 30, "adam": 5, "adam_alpha": 5, "rmsprop": 5, "rmsprop_alpha": 5,
                       # not in [P]: trained as long as its SGD, the optimizer they are compared with
                       "prodigy": 30, "dadapt_adam": 30, "dog": 30, "sgd_schedulefree": 30}
TABLE1_SEEDS = PerProfile(smoke=2, cpu=10, paper=10)
LONG_EPOCHS = PerProfile(smoke=2, cpu=3, paper=30)  # A6: every optimizer trained as long as SGD


def table1(profile: Profile) -> Study:
    cells = []
    for panel, (baseline, stacks) in TABLE1_PANELS.items():
        epochs = TABLE1_EPOCHS[panel].at(profile)
        cells.append(Cell(labels.baseline(panel), baseline, epochs))
        cells += [Cell(labels.stack(panel, i), stack, epochs) for i, stack in enumerate(stacks)]
    return Study(labels.MLP_TABLE1, ("A1", "A2", "A3", "A4", "A7", "B1", "B3", "B6"), tuple(cells), seeds=TABLE1_SEEDS.at(profile))


def long_training(profile: Profile) -> Study:
    """A6: the panels [P] trained for 5 epochs, now as long as SGD's, baseline vs hyperoptimized."""
    epochs = LONG_EPOCHS.at(profile)
    cells = (
        Cell(labels.long_run("adam", "baseline"), TABLE1_PANELS["adam"][0], epochs),
        Cell(labels.long_run("adam", "stack"), TABLE1_PANELS["adam"][1][0], epochs),
        Cell(labels.long_run("rmsprop", "baseline"), TABLE1_PANELS["rmsprop"][0], epochs),
        Cell(labels.long_run("rmsprop", "stack"), TABLE1_PANELS["rmsprop"][1][1], epochs),
    )
    return Study(labels.MLP_LONG, ("A6",), cells, seeds=PerProfile(smoke=2, cpu=10, paper=10).at(profile))


def rerun_stack(stack_text: str, learned: dict[str, float]) -> str | None:
    """The plain weight-level optimizer started from ``learned`` (values of level 0).

    None when a learned value is outside the optimizer's domain (e.g. alpha <= 0),
    so no plain re-run exists.
    """
    level = parse_stack(stack_text)[0]
    values = ", ".join(f"{name}={format_number(learned.get(name, value))}" for name, value in level.values)
    try:
        return format_level(parse_stack(f"{level.optimizer}({values})")[0])
    except StackSpecError:
        return None


def reruns(profile: Profile, learned: list[tuple[str, int, str, dict[str, float]]]) -> Study:
    """Re-runs of Table 1 from learned hyperparameters.

    ``learned``: (stack cell label, seed, stack text, {name: learned value}) per
    finished, non-diverged Table 1 stack run.
    """
    cells = []
    for label, seed, stack_text, values in learned:
        rerun = rerun_stack(stack_text, values)
        if rerun is None:
            continue
        cells.append(Cell(labels.rerun_of(label), rerun, TABLE1_EPOCHS[labels.panel_of(label)].at(profile), seed=seed))
    return Study(labels.MLP_RERUNS, ("A5",), tuple(cells), seeds=0)


# --- towers ------------------------------------------------------------------------------

TOWER_ALPHAS = (1e-8, 1e-6, 1e-4, 1e-2, 1.0, 100.0)


def tower_paper(profile: Profile) -> Study:
    """[P] Fig. 4 on the MLP: SGD towers of height 0..3 over base alphas 1e-8..1e2."""
    cells = tower_cells(TOWER_ALPHAS, TOWER_HEIGHTS, PerProfile(smoke=1, cpu=1, paper=30).at(profile))
    # claims decided per benchmark count each part in Holm (tests/pipeline/test_plan.py): paper: B5[mlp] in family B (up to 11 parts
    # and claims) needs 8; cpu: C2[mlp] and C5 are decided there (B5 and C3 need 30 epochs), with C1 and two more C2 parts 5 in C: 7
    return Study(labels.MLP_TOWERS, ("B5", "C2", "C3", "C5"), cells, seeds=PerProfile(smoke=2, cpu=7, paper=8).at(profile))


DEPTH_REPRODUCTION = "reproduction"  # [R]'s own kappas, kappa_l = alpha / (100 (1 + l))
DEPTH_SCHEMES = (DEPTH_REPRODUCTION, "paper", "equal")
DEPTH_BATCH = 1024  # [R] 3.4
DEPTH_ALPHAS = (1e-4, 0.01, 1.0)  # [R] 3.4's base alphas; D1 and D2 are decided at each


def depth_kappas(scheme: str, alpha: float, levels: int) -> list[float]:
    """Step size of hyper levels 1..levels under each scheme D1/D2 compare."""
    if scheme == "reproduction":  # [R]: kappa_l = alpha / (100 (1 + l))
        return [alpha / (100 * (1 + level)) for level in range(1, levels + 1)]
    if scheme == "paper":
        return paper_kappas(alpha, levels)
    if scheme == "equal":
        return [alpha / 100] * levels
    raise ValueError(scheme)


def tower_depth(profile: Profile) -> Study:
    """[R] 3.4's taller towers: SGD / RMSProp / RMSProp / ..., batch 1024, under three kappa schemes."""
    epochs = PerProfile(smoke=1, cpu=2, paper=10).at(profile)
    max_height = PerProfile(smoke=4, cpu=5, paper=20).at(profile)
    alphas = PerProfile(smoke=(0.01,), cpu=(0.01,), paper=DEPTH_ALPHAS).at(profile)
    cells = []
    for alpha in alphas:
        base = f"sgd(alpha={format_number(alpha)})"
        cells.append(Cell(labels.depth(labels.DEPTH_PLAIN, 0, alpha), base, epochs, batch_size=DEPTH_BATCH))
        for scheme in DEPTH_SCHEMES:
            for height in range(1, max_height + 1):
                levels = [base] + [f"rmsprop(alpha={format_number(k)})" for k in depth_kappas(scheme, alpha, height)]
                cells.append(Cell(labels.depth(scheme, height, alpha), " / ".join(levels), epochs, batch_size=DEPTH_BATCH))
    return Study(labels.MLP_DEPTH, ("D1", "D2"), tuple(cells), seeds=PerProfile(smoke=2, cpu=6, paper=6).at(profile))


COST_HEIGHTS = tuple(range(11))


def cost(profile: Profile) -> Study:
    """E1..E3: step time and optimizer memory of SGD towers of height 0..10, measured alone."""
    cells = tuple(Cell(labels.cost(h), " / ".join(["sgd(alpha=0.01)"] * (h + 1)), epochs=1) for h in COST_HEIGHTS)
    return Study(labels.MLP_COST, ("E1", "E2", "E3"), cells, seeds=PerProfile(smoke=2, cpu=6, paper=6).at(profile), exclusive=True)


STUDIES = {
    labels.MLP_TABLE1: table1,
    labels.MLP_LONG: long_training,
    labels.MLP_TOWERS: tower_paper,
    labels.MLP_DEPTH: tower_depth,
    labels.MLP_COST: cost,
}
