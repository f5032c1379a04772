"""Figures for the verdict report, one function per figure, each from the run tables.

Every function returns a matplotlib Figure, or None when its runs are absent.
Dots are seeds; lines are means over seeds.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from claims.runs import RunTables  # noqa: E402
from claims.verdict import NotRun  # noqa: E402
from papers.ultimate_optimizer import figures_beyond, figures_large  # noqa: E402
from papers.ultimate_optimizer.family_d import depth_alphas, depth_cells, final_by_height  # noqa: E402
from papers.ultimate_optimizer.published import paper_table1, published  # noqa: E402
from papers.ultimate_optimizer.studies import labels  # noqa: E402
from papers.ultimate_optimizer.studies.labels import MLP_COST, MLP_DEPTH, MLP_LONG, MLP_RERUNS, MLP_TABLE1, MLP_TOWERS  # noqa: E402
from papers.ultimate_optimizer.studies.mlp import COST_HEIGHTS, DEPTH_SCHEMES, TABLE1_PANELS, TOWER_ALPHAS  # noqa: E402

DATASET_NOTE = "MLP on MNIST"


def _dots(ax, x: float, ys, color: str) -> None:
    ys = np.asarray(ys, float)
    jitter = np.linspace(-0.12, 0.12, len(ys)) if len(ys) > 1 else np.zeros(1)
    ax.scatter(x + jitter, ys, s=12, color=color, alpha=0.7, zorder=3)
    if len(ys):
        ax.hlines(np.mean(ys), x - 0.25, x + 0.25, color="black", lw=1.5, zorder=4)


def _tick(stack: str, baseline: bool) -> str:
    """A short axis label: the baseline as it is, a stack by what it puts on top ('+ sgd(1e-5)', 'alpha only + sgd(1e-5)' where
    only the base's alpha is learned), 'alpha=' and the like left out."""
    compact = re.sub(r"\b(alpha|beta1|beta2|gamma|mu|kappa)=", "", stack)
    if baseline:
        return compact
    base, top = compact.split(" / ", 1)
    return ("alpha only " if "_alpha(" in base else "") + "+ " + top


def table1(tables: RunTables):
    if not tables.has(MLP_TABLE1):
        return None
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for ax, (panel, (baseline, stacks)) in zip(axes.flat, TABLE1_PANELS.items()):
        names = [baseline] + list(stacks)
        cells = [labels.baseline(panel)] + [labels.stack(panel, i) for i in range(len(stacks))]
        paper = paper_table1(panel)
        hyper, reruns = paper[paper.kind == "hyperopt"], paper[paper.kind == "rerun_learned"]
        for x, cell in enumerate(cells):
            _dots(ax, x, tables.cell(MLP_TABLE1, cell).test_error.dropna(), "tab:red" if x == 0 else "tab:blue")
            mark = paper[paper.kind == "baseline"].iloc[0] if x == 0 else hyper.iloc[x - 1]
            ax.scatter(x, mark.test_error_mean_pct, marker="x", s=60, color="black", zorder=5, label="[P]" if x == 0 else None)
            rerun = tables.cell(MLP_RERUNS, labels.rerun_of(cell)) if x else None
            if rerun is not None and not rerun.empty:
                _dots(ax, x + 0.35, rerun.test_error.dropna(), "tab:green")
                ax.scatter(x + 0.35, reruns.iloc[x - 1].test_error_mean_pct, marker="x", s=60, color="black", zorder=5)
        ax.set_xticks(range(len(names)), [_tick(lab, x == 0) for x, lab in enumerate(names)], fontsize=8, rotation=20, ha="right")
        ax.set_title(f"{panel} panel")
        ax.set_ylabel("final test error (%)")
    axes.flat[0].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"[P] Table 1 rerun ({DATASET_NOTE}): red baseline, blue hyperoptimized, green plain re-run from learned values; "
                 "black x: [P]'s mean", fontsize=10)
    fig.tight_layout()
    return fig


def long_training(tables: RunTables):
    if not tables.has(MLP_LONG):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, panel in zip(axes, ("adam", "rmsprop")):
        for role, color in (("baseline", "tab:red"), ("stack", "tab:blue")):
            cell = tables.cell(MLP_LONG, labels.long_run(panel, role))
            curves = [tables.history(run_id, "test_error") for run_id in cell.run_id]
            for curve in curves:
                ax.plot(curve.index, curve.values, color=color, alpha=0.25, lw=0.8)
            if curves:
                mean = np.mean([c.values for c in curves if len(c) == len(curves[0])], axis=0)
                ax.plot(curves[0].index, mean, color=color, lw=2, label=f"{role}: {cell['stack'].iloc[0]}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test error (%)")
        ax.set_title(f"A6: {panel} trained longer")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def trajectories(tables: RunTables):
    """B3: per stack, the median learned alpha over seeds with the band from the lowest to the highest seed, two seeds thin."""
    if not tables.has(MLP_TABLE1):
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    lowest = np.inf
    for index, (stack, color) in enumerate(zip(TABLE1_PANELS["sgd"][1], ("tab:blue", "tab:orange", "tab:green", "tab:purple"))):
        cell = tables.cell(MLP_TABLE1, labels.stack("sgd", index))
        histories = [tables.history(run_id, "hp.0.alpha") for run_id in cell.run_id]
        paths = pd.concat([h.groupby(level=0).last() for h in histories if len(h)], axis=1).sort_index().ffill() if any(len(h) for h in histories) else None
        if paths is None:
            continue
        lowest = min(lowest, float(np.nanmin(paths.to_numpy())))
        ax.fill_between(paths.index, paths.min(axis=1), paths.max(axis=1), color=color, alpha=0.15, lw=0)
        ax.plot(paths.index, paths.median(axis=1), color=color, lw=1.8, label=f"{stack} (median of {paths.shape[1]} seeds)")
        for column in paths.columns[:2]:
            ax.plot(paths.index, paths[column], color=color, lw=0.5, alpha=0.6)
    if lowest > 0:
        ax.set_yscale("log")
    else:  # a step size learned below zero: a log axis would hide it
        ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learned alpha (level 0)")
    ax.set_title("B3: learned step size of the SGD-panel stacks: median, band from lowest to highest seed, two seeds thin", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def convergence(tables: RunTables):
    if not tables.has(MLP_TOWERS):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(TOWER_ALPHAS)))
    for ax, height in zip(axes, (1, 2, 3)):
        for alpha, color in zip(TOWER_ALPHAS, colors):
            for k, run_id in enumerate(tables.cell(MLP_TOWERS, labels.tower(height, alpha)).run_id):
                path = tables.history(run_id, "hp.0.alpha")
                ax.plot(path.index, np.abs(path.values), color=color, alpha=0.6, lw=0.8, label=f"alpha0 = {alpha:g}" if k == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(f"B5: height {height}")
    axes[0].set_ylabel("|learned alpha|")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def depth(tables: RunTables):
    """D1/D2: final error by height under each kappa scheme, one panel per base alpha trained (the claims are decided at each)."""
    if not tables.has(MLP_DEPTH):
        return None
    alphas = depth_alphas(tables)
    fig, axes = plt.subplots(1, len(alphas), figsize=(4.6 * len(alphas), 4.5), squeeze=False)
    report = published("report_stacked_mlp")
    for ax, alpha in zip(axes[0], alphas):
        for scheme, color in zip(DEPTH_SCHEMES, ("tab:red", "tab:blue", "tab:green")):
            try:
                errors = final_by_height(depth_cells(tables, scheme, alpha))
            except NotRun:  # too few heights of this scheme here: nothing to draw
                continue
            heights = errors.columns.to_numpy()
            for h in heights[1:]:
                ax.scatter(np.full(len(errors), h), errors[h], color=color, s=6, alpha=0.4)
            ax.plot(heights, errors.mean().to_numpy(), color=color, lw=2, marker="o", markersize=3, label=f"{scheme} kappa scheme")
        at = report[report.alpha_init == alpha].sort_values("height")
        if len(at):
            ax.plot(at.height, at.test_error_pct, color="gray", ls="--", label="[R], single seed")
        ax.set_xlabel("height (hyperoptimizer levels)")
        ax.set_title(f"base alpha {alpha:g}", fontsize=9)
    axes[0][0].set_ylabel("final test error (%), dots: seeds")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("D1/D2: SGD / RMSProp / RMSProp / ..., batch 1024, 10 epochs", fontsize=10)
    fig.tight_layout()
    return fig


def cost(tables: RunTables):
    if not tables.has(MLP_COST):
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    times = [tables.cell(MLP_COST, labels.cost(h)).step_time_ms.dropna() for h in COST_HEIGHTS]
    held = [tables.cell(MLP_COST, labels.cost(h)).stack_bytes.dropna() for h in COST_HEIGHTS]
    for h, t in zip(COST_HEIGHTS, times):
        left.scatter(np.full(len(t), h), t, color="tab:blue", s=10)
    left.plot(COST_HEIGHTS, [t.mean() for t in times], color="tab:blue")
    left.set_xlabel("height")
    left.set_ylabel("mean step time (ms)")
    left.set_title("E1/E2: time per step, SGD towers, run alone")
    right.plot(COST_HEIGHTS, [b.mean() / 1024 for b in held], marker="o")
    right.set_xlabel("height")
    right.set_ylabel("KiB held by the stack")
    right.set_title("E3: optimizer memory beyond the weights")
    fig.tight_layout()
    return fig


FIGURES = {
    "table1": table1,
    "long": long_training,
    "trajectories": trajectories,
    "convergence": convergence,
    "sensitivity": figures_large.sensitivity,
    "grid": figures_large.grid,
    "schedule": figures_large.schedule,
    "lstm": figures_large.lstm,
    "depth": depth,
    "cost": cost,
    "lrfree": figures_beyond.lrfree,
    "tall": figures_beyond.tall,
    "top": figures_beyond.top,
}
