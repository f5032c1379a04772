"""Named studies: the grids of runs the claims need, per profile, as data.

The MLP studies live here, the ResNet-20 and char-LSTM ones in
``training.large_studies``; ``STUDIES`` names them all, with the benchmark
each trains. The re-run study is derived: its cells are built from the
hyperparameters that the Table 1 runs actually learned, seed by seed.

Scale per profile: ``smoke`` trains on a slice for seconds; ``cpu`` is sized
for 2 CPU cores (named in ``REDUCTIONS`` and in the report); ``paper`` follows
the published protocol.
"""

from __future__ import annotations

from training import large_studies
from training.stackspec import StackSpecError, format_level, format_number, parse_stack
from training.study import Cell, Study, by_profile, paper_kappas, tower_cells

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
# [P] trains SGD 30 epochs, Adam and RMSProp 5; AdaGrad is ambiguous, we take 30.
TABLE1_EPOCHS = {
    "sgd": {"smoke": 1, "cpu": 2, "paper": 30},
    "adagrad": {"smoke": 1, "cpu": 2, "paper": 30},
    "adam": {"smoke": 1, "cpu": 1, "paper": 5},
    "rmsprop": {"smoke": 1, "cpu": 1, "paper": 5},
}
LONG_EPOCHS = {"smoke": 2, "cpu": 3, "paper": 30}  # A6: every optimizer trained as long as SGD


def table1(profile: str) -> Study:
    cells = []
    for panel, (baseline, stacks) in TABLE1_PANELS.items():
        epochs = TABLE1_EPOCHS[panel][profile]
        cells.append(Cell(f"baseline:{panel}", baseline, epochs))
        cells += [Cell(f"stack:{panel}:{i}", stack, epochs) for i, stack in enumerate(stacks)]
    # family A has 7 claims: Holm's first threshold 0.05/7 needs 2^-n below it (n >= 8), and a
    # refutation of a 4-comparison claim, Bonferroni'd inside it, needs n >= 10
    return Study("mlp_table1", ("A1", "A2", "A3", "A4", "A7", "B1", "B3", "B6"), tuple(cells),
                 seeds=by_profile(profile, 2, 10, 10))


def long_training(profile: str) -> Study:
    """A6: the panels [P] trained for 5 epochs, now as long as SGD's, baseline vs hyperoptimized."""
    epochs = LONG_EPOCHS[profile]
    cells = (
        Cell("long:adam:baseline", TABLE1_PANELS["adam"][0], epochs),
        Cell("long:adam:stack", TABLE1_PANELS["adam"][1][0], epochs),
        Cell("long:rmsprop:baseline", TABLE1_PANELS["rmsprop"][0], epochs),
        Cell("long:rmsprop:stack", TABLE1_PANELS["rmsprop"][1][1], epochs),
    )
    return Study("mlp_long", ("A6",), cells, seeds=by_profile(profile, 2, 10, 10))


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


def reruns(profile: str, learned: list[tuple[str, int, str, dict[str, float]]]) -> Study:
    """Re-runs of Table 1 from learned hyperparameters.

    ``learned``: (stack cell label, seed, stack text, {name: learned value}) per
    finished, non-diverged Table 1 stack run.
    """
    cells = []
    for label, seed, stack_text, values in learned:
        rerun = rerun_stack(stack_text, values)
        if rerun is None:
            continue
        panel = label.split(":")[1]
        cells.append(Cell(label.replace("stack:", "rerun:"), rerun, TABLE1_EPOCHS[panel][profile], seed=seed))
    return Study("mlp_reruns", ("A5",), tuple(cells), seeds=0)


# --- towers ------------------------------------------------------------------------------

TOWER_ALPHAS = (1e-8, 1e-6, 1e-4, 1e-2, 1.0, 100.0)
TOWER_HEIGHTS = (0, 1, 2, 3)


def tower_paper(profile: str) -> Study:
    """[P] Fig. 4 on the MLP: SGD towers of height 0..3 over base alphas 1e-8..1e2."""
    cells = tower_cells(TOWER_ALPHAS, TOWER_HEIGHTS, by_profile(profile, 1, 1, 30))
    return Study("mlp_towers", ("B5", "C2", "C3", "C5"), cells, seeds=by_profile(profile, 2, 6, 5))


DEPTH_SCHEMES = ("reproduction", "paper", "equal")


def depth_kappas(scheme: str, alpha: float, levels: int) -> list[float]:
    """Step size of hyper levels 1..levels under each scheme D1/D2 compare."""
    if scheme == "reproduction":  # [R]: kappa_l = alpha / (100 (1 + l))
        return [alpha / (100 * (1 + level)) for level in range(1, levels + 1)]
    if scheme == "paper":
        return paper_kappas(alpha, levels)
    if scheme == "equal":
        return [alpha / 100] * levels
    raise ValueError(scheme)


def tower_depth(profile: str) -> Study:
    """[R] 3.4's taller towers: SGD / RMSProp / RMSProp / ..., batch 1024, under three kappa schemes."""
    epochs = by_profile(profile, 1, 2, 10)
    max_height = by_profile(profile, 4, 5, 20)
    alphas = by_profile(profile, (0.01,), (0.01,), (1e-4, 0.01, 1.0))
    cells = []
    for alpha in alphas:
        base = f"sgd(alpha={format_number(alpha)})"
        cells.append(Cell(f"depth:plain:h0:a{alpha:g}", base, epochs, batch_size=1024))
        for scheme in DEPTH_SCHEMES:
            for height in range(1, max_height + 1):
                levels = [base] + [f"rmsprop(alpha={format_number(k)})" for k in depth_kappas(scheme, alpha, height)]
                cells.append(Cell(f"depth:{scheme}:h{height}:a{alpha:g}", " / ".join(levels), epochs, batch_size=1024))
    return Study("mlp_depth", ("D1", "D2"), tuple(cells), seeds=by_profile(profile, 2, 6, 5))


COST_HEIGHTS = tuple(range(11))


def cost(profile: str) -> Study:
    """E1..E3: step time and optimizer memory of SGD towers of height 0..10, measured alone."""
    epochs = 1
    cells = tuple(Cell(f"cost:h{h}", " / ".join(["sgd(alpha=0.01)"] * (h + 1)), epochs) for h in COST_HEIGHTS)
    return Study("mlp_cost", ("E1", "E2", "E3"), cells, seeds=by_profile(profile, 2, 6, 6), exclusive=True)


STUDIES = {
    "mlp_table1": table1,
    "mlp_long": long_training,
    "mlp_towers": tower_paper,
    "mlp_depth": tower_depth,
    "mlp_cost": cost,
    **large_studies.STUDIES,
}
# which benchmark each study belongs to (a claims run chooses benchmarks)
BENCHMARKS = ("mlp", "resnet20", "charlstm")
# the derived study, built from finished mlp_table1 runs
DERIVED = {"mlp_reruns": "mlp_table1"}
REDUCTIONS = {
    "cpu": (
        "Table 1 panels: SGD and AdaGrad 2 epochs (paper 30), Adam and RMSProp 1 epoch (paper 5).",
        "A6 long training: 3 epochs (reproduction 30).",
        "Towers ([P] Fig. 4 design): 1 epoch (paper 30 for the MLP).",
        "Depth towers ([R] 3.4 design): heights 0..5 at alpha 0.01, 2 epochs of batch 1024 (reproduction: heights 0..20, three alphas, 10 epochs).",
        *large_studies.REDUCTIONS["cpu"],
    ),
}
