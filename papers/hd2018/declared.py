"""What every claim of [H] shares: its first history entry, how a claim is split by task, its minimum protocol,
and how a run's numbers are read (a diverged run keeps its place, scored as a failure)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.verdict import Change, Evidence, NotRun
from papers.hd2018.studies import PAPER_EPOCHS

DECLARED = Change("2026-12-04", "first declared, from ../shared/papers/hd2018/CLAIMS.md, before any run of its studies existed",
                  "the claim as [H] (code, run.sh, result CSVs, poster) or [HR] state it", runs_existed=False, kind="test")
BY_TASK = Change("2026-12-04", "declared as one claim per task (logistic regression, MLP, VGG), each with its own minimum protocol",
                 "a verdict on one task must never pass for the others", runs_existed=False, kind="runs")
REACH = {"logreg": "logistic regression on MNIST only", "mlp": "784-1000-1000-10 MLP on MNIST only", "vgg": "VGG-16 on CIFAR-10 only"}
FAILED_LOSS = math.log(10.0)  # a diverged run's training loss: that of a uniform guess over the ten classes
SOURCE = "[H] run.sh (epochs), train.py (batch 128, decay 1e-4)"


def minimum(study: str, duration: bool = False) -> Minimum:
    """run.sh's epochs for every cell of ``study``, on the whole training set."""
    return Minimum((Requirement(study, f"every cell of {study}", epochs=PAPER_EPOCHS[study]),), SOURCE, duration)


def never_trained(tables: RunTables) -> Evidence:
    """The evaluation of a claim (or part) whose study no profile trains here (``studies.NOT_TRAINED`` says why)."""
    raise NotRun("its study is not trained here")


def loss_by_epoch(tables: RunTables, study: str, label: str) -> pd.DataFrame:
    """Training loss (mean of the epoch's minibatch losses), seeds x epochs; epochs after a divergence score FAILED_LOSS."""
    cell = tables.cell(study, label)
    if cell.empty:
        raise NotRun(f"no finished runs of {study}/{label}")
    epochs = int(cell.epochs.max())
    rows = {}
    for seed, run_id in cell.run_id.items():
        history = tables.history(run_id, "train_loss").reindex(range(1, epochs + 1))
        rows[seed] = history.where(np.isfinite(history), FAILED_LOSS).fillna(FAILED_LOSS)
    return pd.DataFrame(rows).T.sort_index()


def alpha_path(tables: RunTables, run_id: str) -> pd.Series:
    """The weight level's alpha by global step, as sampled (every 10 steps, and each epoch's last)."""
    path = tables.history(run_id, "hp.0.alpha")
    if path.empty:
        raise NotRun("the runs log no alpha trajectory")
    return path


def epoch_means(path: pd.Series, steps_per_epoch: int) -> pd.Series:
    """Mean sampled alpha of each epoch (epoch e holds steps (e-1) * steps_per_epoch + 1 .. e * steps_per_epoch)."""
    after_start = path[path.index > 0]
    return after_start.groupby((after_start.index.to_numpy() - 1) // steps_per_epoch + 1).mean()


def paired_losses(tables: RunTables, study: str, hd: str, base: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``loss_by_epoch`` of ``hd`` and of ``base``, both restricted to the seeds they share (seeds x epochs)."""
    ours, theirs = loss_by_epoch(tables, study, hd), loss_by_epoch(tables, study, base)
    seeds = ours.index.intersection(theirs.index)
    if len(seeds) == 0:
        raise NotRun(f"no seed of {hd} has a run of {base}")
    return ours.loc[seeds], theirs.loc[seeds]


def alpha_trajectories(tables: RunTables, study: str, label: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{seed: (sampled alpha after step 0, epoch means)} of a cell's runs that did not diverge (a diverged run has no
    trajectory to read)."""
    cell = tables.cell(study, label)
    if cell.empty:
        raise NotRun(f"no finished runs of {study}/{label}")
    found = {}
    for seed, row in cell[~cell.diverged.astype(bool)].iterrows():
        path = alpha_path(tables, row.run_id)
        found[seed] = (path[path.index > 0].to_numpy(float), epoch_means(path, int(row.steps_per_epoch)).to_numpy(float))
    if not found:
        raise NotRun(f"every run of {study}/{label} diverged")
    return found
