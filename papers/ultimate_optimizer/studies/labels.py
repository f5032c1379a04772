"""The study contract: study names and cell labels, built and parsed here only.

A claim, a figure or the report finds its runs by (study name, cell label);
every side imports these names and builders, so a label changed here changes
everywhere at once instead of silently turning a claim NOT_RUN.
"""

from __future__ import annotations

from training.core.benchmark import BENCHMARKS

# --- study names ----------------------------------------------------------------------------
MLP_TABLE1 = "mlp_table1"
MLP_RERUNS = "mlp_reruns"  # derived from finished MLP_TABLE1 runs
MLP_LONG = "mlp_long"
MLP_TOWERS = "mlp_towers"
MLP_DEPTH = "mlp_depth"
MLP_COST = "mlp_cost"
RESNET_GRID = "resnet_grid"
RESNET_SCHEDULE = "resnet_schedule"
RESNET_TOWERS = "resnet_towers"
CHARLSTM_GRID = "charlstm_grid"
CHARLSTM_TOWERS = "charlstm_towers"
# beyond the paper (ours): learning-rate-free optimizers against hyperoptimized SGD, and very tall towers
MLP_LRFREE = "mlp_lrfree"
MLP_LRFREE_COST = "mlp_lrfree_cost"
RESNET_LRFREE = "resnet_lrfree"
MLP_TALL = "mlp_tall"
MLP_TOP = "mlp_top"

# [P] Fig. 4's towers on each benchmark, and the test metric their final values are read from
TOWER_STUDIES = {MLP_TOWERS: "mlp", RESNET_TOWERS: "resnet20", CHARLSTM_TOWERS: "charlstm"}
TOWER_METRICS = {study: BENCHMARKS[model].metric for study, model in TOWER_STUDIES.items()}


# --- cell labels ----------------------------------------------------------------------------
def baseline(panel: str) -> str:
    """Table 1's fixed optimizer of a panel ('sgd', 'adam', 'adagrad', 'rmsprop')."""
    return f"baseline:{panel}"


def stack(panel: str, index: int) -> str:
    """Table 1's ``index``-th hyperoptimized stack of a panel."""
    return f"stack:{panel}:{index}"


def rerun(panel: str, index: int) -> str:
    """The plain re-run from what ``stack(panel, index)`` learned."""
    return f"rerun:{panel}:{index}"


def rerun_of(stack_label: str) -> str:
    return stack_label.replace("stack:", "rerun:", 1)


def panel_of(label: str) -> str:
    """The Table 1 panel of a baseline, stack or re-run label."""
    return label.split(":")[1]


def in_panels(*panels: str):
    """A predicate on Table 1 labels (baselines, stacks, re-runs): the cell is of one of these panels."""
    return lambda label: panel_of(label) in panels


def is_stack(label: str) -> bool:
    return label.startswith("stack:")


def long_run(panel: str, role: str) -> str:
    """A6's long training: ``role`` is 'baseline' or 'stack'."""
    return f"long:{panel}:{role}"


def tower(height: int, alpha: float) -> str:
    return f"tower:h{height}:a{alpha:g}"


def tower_alpha(label: str) -> float:
    """The base alpha of a tower label."""
    return float(label.rsplit(":a", 1)[1])


def depth(scheme: str, height: int, alpha: float) -> str:
    """[R]'s taller towers; the plain optimizer is scheme 'plain', height 0."""
    return f"depth:{scheme}:h{height}:a{alpha:g}"


DEPTH_PLAIN = "plain"


def depth_scheme(label: str) -> str:
    """The kappa scheme of a ``depth`` label ('plain' for height 0)."""
    return label.split(":")[1]


def depth_alpha(label: str) -> float:
    """The base alpha of a ``depth`` label."""
    return float(label.rsplit(":a", 1)[1])


def cost(height: int) -> str:
    return f"cost:h{height}"


def grid(kind: str, alpha: float, mu: float) -> str:
    """ResNet-20's (alpha, mu) grid: ``kind`` is 'baseline' or 'hyper'."""
    return f"grid:{kind}:a{alpha:g}:m{mu:g}"


def schedule(kind: str) -> str:
    """The schedule study: 'he' (step schedule) or 'hyper'."""
    return f"schedule:{kind}"


def lstm(kind: str, alpha: float) -> str:
    """The char-LSTM grid: ``kind`` is 'baseline' or 'hyper'."""
    return f"lstm:{kind}:a{alpha:g}"


def lrfree(method: str, value: float) -> str:
    """A learning-rate-free method (or 'hyper', the height-3 hyperoptimized SGD) started at ``value`` of its swept parameter."""
    return f"lrfree:{method}:{value:g}"


def lrfree_value(label: str, method: str) -> float | None:
    """The swept value of a ``lrfree(method, value)`` label; None for a label of another method or kind."""
    prefix = f"lrfree:{method}:"
    return float(label[len(prefix):]) if label.startswith(prefix) else None


def lrfree_cost(method: str) -> str:
    """The step-time cell of a method ('sgd', 'adam', 'hyper', or a learning-rate-free one)."""
    return f"lrfree_cost:{method}"


def tall(scheme: str, height: int, alpha: float) -> str:
    """A tower of ``height`` levels above base ``alpha`` under a kappa scheme ('paper', 'reproduction', 'relative');
    height 0 is the plain optimizer, scheme 'plain'."""
    return f"tall:{scheme}:h{height}:a{alpha:g}"


def top(scheme: str, step: float) -> str:
    """A tower whose top level's step size is ``step``, under a kappa scheme."""
    return f"top:{scheme}:k{step:g}"
