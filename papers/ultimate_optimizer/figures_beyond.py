"""Figures of our questions beyond the paper: learning-rate-free optimizers (F1, F2) and very tall towers (D3, D4).

Each function returns a matplotlib Figure, or None when its runs are absent. Dots are
seeds, lines means over seeds; a failed run is drawn at the error it scores.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from claims.runs import RunTables  # noqa: E402
from papers.ultimate_optimizer.family_f import FAILED_ERROR, final_errors, grid_labels  # noqa: E402
from papers.ultimate_optimizer.studies import labels  # noqa: E402
from papers.ultimate_optimizer.studies.beyond import HYPER, HYPER_RECOMMENDED, LRFREE_METHODS, TALL_HEIGHTS, TALL_SCHEMES, TOP_STEPS  # noqa: E402
from papers.ultimate_optimizer.studies.mlp import TOWER_ALPHAS  # noqa: E402

METHOD_COLORS = {HYPER: "black", "prodigy": "tab:blue", "dadapt_adam": "tab:orange", "dog": "tab:green", "sgd_schedulefree": "tab:purple"}
SCHEME_COLORS = {"paper": "tab:blue", "reproduction": "tab:red", "relative": "tab:green"}
SCHEME_NAMES = {"paper": "[P]'s kappas (SGD levels)", "reproduction": "[R]'s alpha/(100(1+l)) (RMSProp levels)", "relative": "relative rule (ours)"}


def _errors_by_value(tables: RunTables, study: str, method: str):
    """(swept values, per-seed error frame with one column per value), failed runs at FAILED_ERROR."""
    grid = grid_labels(tables, study, method)
    return sorted(grid), final_errors(tables, study, grid)


def percent_axis(ax) -> None:
    """Plain percent ticks (2, 5, 10, 20, 50) on a logarithmic error axis, not matplotlib's '6x10^1'."""
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0, 7.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def lrfree(tables: RunTables):
    """F1 / F2: final error against the initial value each method starts from, one panel per benchmark that ran; and
    each method's effective step size over training at its recommended setting (the MLP's)."""
    studies = [s for s in (labels.MLP_LRFREE, labels.RESNET_LRFREE) if tables.has(s)]
    if not studies:
        return None
    fig, axes = plt.subplots(1, len(studies) + 1, figsize=(6.5 * (len(studies) + 1), 4.5), squeeze=False)
    _step_sizes(axes[0][-1], tables, studies[0])
    for ax, study in zip(axes[0], studies):
        for method in (HYPER, *LRFREE_METHODS):
            values, errors = _errors_by_value(tables, study, method)
            color = METHOD_COLORS[method]
            for value in values:
                ax.scatter(np.full(len(errors), value), errors[value], color=color, s=8, alpha=0.4)
            name = "hyperoptimized SGD, height 3 (base alpha)" if method == HYPER else f"{method} ({'alpha' if method == 'sgd_schedulefree' else 'd0 / r_eps'})"
            ax.plot(values, [errors[v].mean() for v in values], color=color, marker="o", lw=1.5, label=name)
        ax.axhline(FAILED_ERROR, color="gray", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        percent_axis(ax)
        ax.set_xlabel("initial value of the swept parameter")
        ax.set_ylabel(f"final test error (%); a failed run scores {FAILED_ERROR:g}")
        ax.set_title(f"F1/F2 ({study}): robustness to the initial value")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _step_sizes(ax, tables: RunTables, study: str) -> None:
    """hp.0.alpha over steps, one line per seed: the learning-rate-free methods' d x lr (DoG's eta, schedule-free's lr)
    beside the hyperoptimized SGD's learned alpha, each at its recommended setting."""
    for method, (_, _, recommended) in {HYPER: (None, None, HYPER_RECOMMENDED), **LRFREE_METHODS}.items():
        cell = tables.cell(study, labels.lrfree(method, recommended))
        for k, run_id in enumerate(cell.run_id):
            path = tables.history(run_id, "hp.0.alpha").dropna()
            ax.plot(path.index, path.values, color=METHOD_COLORS[method], lw=0.8, alpha=0.6, label=method if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("effective step size (hp.0.alpha)")
    ax.set_title(f"{study}: step size over training, recommended settings", fontsize=9)
    ax.legend(fontsize=7)


def tall(tables: RunTables):
    """D3: final error against height (to 50) per scheme, one panel per base alpha; and every level's learned
    step size over training in the tallest relative tower (the temporal effects [R] asks about)."""
    if not tables.has(labels.MLP_TALL):
        return None
    alphas = [a for a in TOWER_ALPHAS if not tables.cell(labels.MLP_TALL, labels.tall(labels.DEPTH_PLAIN, 0, a)).empty]
    tallest = tables.cell(labels.MLP_TALL, labels.tall("relative", max(TALL_HEIGHTS), LEVELS_ALPHA))
    count = len(alphas) + (not tallest.empty)  # a panel per alpha, then the levels' panel where the tallest tower ran
    rows = 1 if count <= 2 else 2
    columns = -(-count // rows)
    fig, axes = plt.subplots(rows, columns, figsize=(min(5.5 * columns, 14), 4.5 * rows), squeeze=False)
    panels = list(axes.flat)
    for ax, alpha in zip(panels, alphas):
        for scheme in TALL_SCHEMES:
            cells = {0: labels.tall(labels.DEPTH_PLAIN, 0, alpha)}
            cells |= {h: labels.tall(scheme, h, alpha) for h in TALL_HEIGHTS if not tables.cell(labels.MLP_TALL, labels.tall(scheme, h, alpha)).empty}
            means = final_errors(tables, labels.MLP_TALL, cells).mean()
            ax.plot(np.array(list(cells)) + 1, means.to_numpy(), color=SCHEME_COLORS[scheme], marker="o", lw=1.5, label=SCHEME_NAMES[scheme])
        ax.set_xscale("log")
        ax.set_yscale("log")
        percent_axis(ax)
        ax.set_xticks([1, 2, 4, 6, 11, 21, 51], ["0", "1", "3", "5", "10", "20", "50"])
        ax.set_xlabel("height")
        ax.set_title(f"D3: base alpha {alpha:g}", fontsize=9)
    panels[0].set_ylabel("final test error (%), mean over seeds")
    panels[0].legend(fontsize=7)
    if not tallest.empty:
        _levels_over_time(fig, panels[len(alphas)], tables, tallest)
    for ax in panels[count:]:
        ax.remove()
    fig.tight_layout()
    return fig


LEVELS_ALPHA = 0.01  # the base alpha whose tallest relative tower shows every level over time


def _levels_over_time(fig, ax, tables: RunTables, cell, alpha: float = LEVELS_ALPHA) -> None:
    tallest = max(TALL_HEIGHTS)
    run_id = cell.run_id.iloc[0]
    colors = plt.cm.viridis(np.linspace(0, 0.95, tallest + 1))
    for level in range(tallest + 1):
        path = tables.history(run_id, f"hp.{level}.alpha")
        if len(path):
            ax.plot(path.index, path.values / path.values[0], color=colors[level], lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("step size / its initial value")
    fig.colorbar(ScalarMappable(Normalize(0, tallest), "viridis"), ax=ax, label="level")
    ax.set_title(f"every level's step size: relative, h{tallest}, alpha {alpha:g}, seed {cell.index[0]}", fontsize=8)


def top(tables: RunTables):
    """D4: final error against the top level's step size, [R]'s rule against the relative rule."""
    if not tables.has(labels.MLP_TOP):
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for scheme in ("reproduction", "relative"):
        steps = [s for s in TOP_STEPS if not tables.cell(labels.MLP_TOP, labels.top(scheme, s)).empty]
        errors = final_errors(tables, labels.MLP_TOP, {s: labels.top(scheme, s) for s in steps})
        for s in steps:
            ax.scatter(np.full(len(errors), s), errors[s], color=SCHEME_COLORS[scheme], s=8, alpha=0.4)
        ax.plot(steps, [errors[s].mean() for s in steps], color=SCHEME_COLORS[scheme], marker="o", label=SCHEME_NAMES[scheme])
    ax.set_xscale("log")
    ax.set_xlabel("the top level's step size")
    ax.set_ylabel("final test error (%)")
    ax.set_title("D4: SGD(0.01) under 3 levels, the top one's step size swept")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
