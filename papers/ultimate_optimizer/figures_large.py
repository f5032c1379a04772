"""Figures of the ResNet-20 and char-LSTM claims (C1, B2, B4, C4, B7, and C2's towers).

Same conventions as ``papers.ultimate_optimizer.figures``: one function per figure, each
returns a Figure or None when its runs are absent; dots are seeds, lines
means. Titles carry the dataset label the runs recorded, so a result on the
JPEG copy of CIFAR-10 always says so.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from claims.runs import RunTables  # noqa: E402
from papers.ultimate_optimizer.studies import labels  # noqa: E402
from papers.ultimate_optimizer.studies.labels import CHARLSTM_GRID, RESNET_GRID, RESNET_SCHEDULE, TOWER_METRICS  # noqa: E402
from papers.ultimate_optimizer.studies.large import LSTM_ALPHAS, RESNET_ALPHAS, RESNET_MUS  # noqa: E402
from papers.ultimate_optimizer.studies.towers import TOWER_HEIGHTS  # noqa: E402

HEIGHT_COLORS = ("tab:red", "tab:orange", "tab:green", "tab:blue")


def dataset_of(tables: RunTables, study: str) -> str:
    """The dataset label the study's runs recorded (e.g. 'CIFAR-10 (JPEG q75 copy)')."""
    names = tables.runs[tables.runs.study == study].dataset.dropna().unique()
    return ", ".join(sorted(names)) or "unknown data"


def grid(tables: RunTables):
    """C1 / B4: final error of baseline and hyperoptimizer in every (alpha, mu) cell; learned mu."""
    if not tables.has(RESNET_GRID):
        return None
    fig, (ax, mu_ax) = plt.subplots(1, 2, figsize=(13, 4.5))
    ticks, x = [], 0
    for alpha in RESNET_ALPHAS:
        for mu in RESNET_MUS:
            for offset, kind, color in ((-0.18, "baseline", "tab:red"), (0.18, "hyper", "tab:blue")):
                errors = tables.cell(RESNET_GRID, labels.grid(kind, alpha, mu)).test_error.dropna()
                ax.scatter(np.full(len(errors), x + offset), errors, color=color, s=12, label=kind if x == 0 else None)
                if len(errors):
                    ax.hlines(errors.mean(), x + offset - 0.12, x + offset + 0.12, color="black")
            learned = tables.cell(RESNET_GRID, labels.grid("hyper", alpha, mu))
            if "hp.0.mu" in learned:
                mu_ax.scatter(np.full(len(learned), x), mu - learned["hp.0.mu"], color="tab:blue", s=12)
            ticks.append(f"{alpha:g}/{mu:g}")
            x += 1
    for axis in (ax, mu_ax):
        axis.set_xticks(range(len(ticks)), ticks, rotation=45)
        axis.set_xlabel("initial alpha / mu")
    ax.set_ylabel("final test error (%)")
    ax.set_title(f"C1: ResNet-20, {dataset_of(tables, RESNET_GRID)}")
    ax.legend()
    mu_ax.set_ylabel("mu_init - learned mu")
    mu_ax.set_title("B4: how much the hyperoptimizer lowered mu")
    fig.tight_layout()
    return fig


def schedule(tables: RunTables):
    """B2: the learned alpha next to He et al.'s step schedule, and the final errors."""
    if not tables.has(RESNET_SCHEDULE):
        return None
    fig, (ax, err_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for cell, color in ((labels.schedule("he"), "tab:red"), (labels.schedule("hyper"), "tab:blue")):
        rows = tables.cell(RESNET_SCHEDULE, cell)
        for run_id in rows.run_id:
            path = tables.history(run_id, "hp.0.alpha")
            ax.plot(path.index, path.to_numpy(), color=color, alpha=0.6, lw=1, label=cell if run_id == rows.run_id.iloc[0] else None)
        err_ax.scatter(np.full(len(rows), 0 if cell == labels.schedule("he") else 1), rows.test_error, color=color, s=14)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("alpha")
    ax.set_title(f"B2: learned alpha vs He et al.'s schedule, ResNet-20, {dataset_of(tables, RESNET_SCHEDULE)}")
    ax.legend()
    err_ax.set_xticks([0, 1], ["He schedule", "hyperoptimized"])
    err_ax.set_ylabel("final test error (%)")
    fig.tight_layout()
    return fig


def lstm(tables: RunTables):
    """C4 / B7: test perplexity by initial alpha, baseline vs hyperoptimized; learned alpha over training."""
    if not tables.has(CHARLSTM_GRID):
        return None
    fig, (ax, path_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for kind, color, offset in (("baseline", "tab:red", -0.1), ("hyper", "tab:blue", 0.1)):
        means = []
        for i, alpha in enumerate(LSTM_ALPHAS):
            rows = tables.cell(CHARLSTM_GRID, labels.lstm(kind, alpha))
            ax.scatter(np.full(len(rows), i + offset), rows.test_perplexity, color=color, s=12)
            means.append(rows.test_perplexity.mean() if len(rows) else np.nan)
            if kind == "hyper":
                for run_id in rows.run_id:
                    path = tables.history(run_id, "hp.0.alpha")
                    path_ax.plot(path.index, path.to_numpy(), color=plt.cm.viridis(i / 2), alpha=0.6, lw=1,
                                 label=f"from {alpha:g}" if run_id == rows.run_id.iloc[0] else None)
        ax.plot(np.arange(len(LSTM_ALPHAS)) + offset, means, color=color, label=kind)
    ax.set_xticks(range(len(LSTM_ALPHAS)), [f"{a:g}" for a in LSTM_ALPHAS])
    ax.set_xlabel("initial alpha (Adam)")
    ax.set_ylabel("test perplexity")
    ax.set_title(f"C4: char-LSTM, {dataset_of(tables, CHARLSTM_GRID)}")
    ax.legend()
    path_ax.set_xlabel("step")
    path_ax.set_ylabel("learned alpha")
    path_ax.set_title("B7: learned alpha over training")
    path_ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def sensitivity(tables: RunTables):
    """C2 / C3 / C5: final test metric against the base alpha, one line per height, one panel per benchmark."""
    studies = [study for study in TOWER_METRICS if tables.has(study)]
    if not studies:
        return None
    fig, axes = plt.subplots(1, len(studies), figsize=(6.5 * len(studies), 4.5), squeeze=False)
    for ax, study in zip(axes[0], studies):
        metric = TOWER_METRICS[study]
        alphas = sorted({labels.tower_alpha(label) for label in tables.runs[tables.runs.study == study].cell})
        for height, color in zip(TOWER_HEIGHTS, HEIGHT_COLORS):
            means = []
            for alpha in alphas:
                found = tables.cell(study, labels.tower(height, alpha))[metric].dropna()
                ax.scatter(np.full(len(found), alpha), found, color=color, s=8, alpha=0.5)
                means.append(found.mean() if len(found) else np.nan)
            ax.plot(alphas, means, color=color, lw=2, label=f"height {height}")
        ax.set_xscale("log")
        ax.set_xlabel("initial alpha")
        ax.set_ylabel("final test perplexity" if metric == "test_perplexity" else "final test error (%)")
        ax.set_title(f"{study}: {dataset_of(tables, study)}", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("C2/C3/C5: sensitivity to the initial step size (like [P] Fig. 4)")
    fig.tight_layout()
    return fig
