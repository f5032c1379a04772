"""[H]'s and [HR]'s published numbers (``reference/``, compiled from the authors' result CSVs and the reproduction's;
every row names its source file), read where a claim sets them beside ours."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).parent / "reference"
TASKS = {"logreg": "logistic regression", "mlp": "MLP", "vgg": "VGG"}


@cache
def table(name: str) -> pd.DataFrame:
    """One reference CSV by its stem ('hd_authors_final')."""
    return pd.read_csv(REFERENCE / f"{name}.csv")


def final(task: str, method: str, column: str) -> float:
    """[H]'s single run of ``method`` ('sgd_hd') on ``task`` ('logreg'): one column of hd_authors_final.csv."""
    rows = table("hd_authors_final")
    found = rows[(rows.task == task) & (rows.method == method)]
    if found.empty:
        raise KeyError(f"[H] published no {method} run on {task}")
    return float(found[column].iloc[0])


def pair_words(task: str, hd: str, base: str) -> str:
    """'[H] (one run, seed 1): final training loss 0.293 (sgd_hd) vs 0.396 (sgd); validation 0.288 vs 0.374'."""
    values = {m: (final(task, m, "final_train_loss_epoch_mean"), final(task, m, "final_valid_loss")) for m in (hd, base)}
    return (f"[H] (one run, seed 1), {TASKS[task]}: final training loss {values[hd][0]:.4g} ({hd}) vs {values[base][0]:.4g} ({base}); "
            f"validation loss {values[hd][1]:.4g} vs {values[base][1]:.4g}")


def alpha_words(task: str, method: str) -> str:
    """[H]'s alpha of one run: first and last epoch means, share of steps below zero."""
    first, last = final(task, method, "alpha_epoch_mean_first"), final(task, method, "alpha_epoch_mean_last")
    negative, steps = final(task, method, "steps_alpha_negative"), final(task, method, "steps")
    return (f"[H] (one run), {TASKS[task]} {method}: epoch-mean alpha {first:.3g} in the first epoch ({first / 1e-3:.0f}x alpha_0), "
            f"{last:.3g} in the last; alpha < 0 on {negative / steps:.1%} of steps")


def at_epoch(task: str, method: str, epoch: int, column: str) -> float:
    """[H]'s single run of ``method`` on ``task`` at ``epoch``: one column of hd_authors_per_epoch.csv."""
    rows = table("hd_authors_per_epoch")
    found = rows[(rows.task == task) & (rows.method == method) & (rows.epoch == epoch)]
    if found.empty:
        raise KeyError(f"[H] published no {method} run on {task} at epoch {epoch}")
    return float(found[column].iloc[0])
