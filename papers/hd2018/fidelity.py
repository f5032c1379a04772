"""[H]'s single runs beside our seeds: for each number [H] published for logistic regression and the MLP, our mean,
our per-seed range, and whether [H]'s run falls inside it (CLAIMS.md: the verdicts come from our seeds; this only says
how close the setting is)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.document import Document
from claims.runs import RunTables
from claims.verdict import NotRun
from papers.hd2018.declared import alpha_trajectories, loss_by_epoch
from papers.hd2018.published import TASKS, at_epoch, final
from papers.hd2018.studies import ADAM, ADAM_HD, ALPHA_0, LOGREG, MLP, SGD, SGD_HD, SGDN, SGDN_HD

METHODS = {SGD: "sgd", SGD_HD: "sgd_hd", SGDN: "sgdn", SGDN_HD: "sgdn_hd", ADAM: "adam", ADAM_HD: "adam_hd"}  # our cell -> [H]'s method name
HEADER = ["task", "quantity", "[H] (one run)", "ours: mean", "ours: per-seed range", "seeds", "[H] inside our range"]


def _alpha_numbers(tables: RunTables, study: str, label: str) -> dict[str, np.ndarray]:
    found = alpha_trajectories(tables, study, label).values()
    return {"alpha_epoch_mean_first": np.array([means[0] for _, means in found]),
            "alpha_epoch_mean_last": np.array([means[-1] for _, means in found]),
            "share_negative": np.array([np.mean(sampled < 0) for sampled, _ in found])}


def rows(tables: RunTables) -> list[list[str]]:
    """One row per published number we have runs for, taken at our runs' last epoch (so a study cut short is compared
    with [H]'s run at the same epoch)."""
    out = []
    for task, study in (("logreg", LOGREG), ("mlp", MLP)):
        if not tables.has(study):
            continue
        epoch = int(tables.runs[tables.runs.study == study].epochs.max())
        for label, method in METHODS.items():
            if tables.cell(study, label).empty:
                continue
            try:
                published = at_epoch(task, method, epoch, "train_loss_epoch_mean")
            except KeyError:
                continue
            ours = loss_by_epoch(tables, study, label)[epoch].to_numpy(float)
            out.append(_row(TASKS[task], f"{label}: training loss, epoch {epoch}", published, ours, ".4f"))
        try:
            numbers = _alpha_numbers(tables, study, SGD_HD)
        except NotRun:  # no SGD-HD run, or every one diverged: no trajectory to set beside [H]'s
            continue
        out.append(_row(TASKS[task], "SGD-HD: epoch-1 mean alpha / alpha_0", at_epoch(task, "sgd_hd", 1, "alpha_epoch_mean") / ALPHA_0,
                        numbers["alpha_epoch_mean_first"] / ALPHA_0, ".2f"))
        out.append(_row(TASKS[task], f"SGD-HD: epoch-{epoch} mean alpha / alpha_0", at_epoch(task, "sgd_hd", epoch, "alpha_epoch_mean") / ALPHA_0,
                        numbers["alpha_epoch_mean_last"] / ALPHA_0, ".2f"))
        if epoch == final(task, "sgd_hd", "epochs"):  # [H]'s count covers its whole run
            negative = final(task, "sgd_hd", "steps_alpha_negative") / final(task, "sgd_hd", "steps")
            out.append(_row(TASKS[task], "SGD-HD: share of steps with alpha < 0 (ours: sampled every 10 steps)", negative,
                            numbers["share_negative"], ".3f"))
    return out


def _row(task: str, quantity: str, published: float, ours: np.ndarray, spec: str) -> list[str]:
    low, high = float(np.min(ours)), float(np.max(ours))
    inside = "yes" if low <= published <= high else ("below ours" if published < low else "above ours")
    return [task, quantity, format(published, spec), format(float(np.mean(ours)), spec), f"{low:{spec}} to {high:{spec}}", str(len(ours)), inside]


def section(w: Document, tables: RunTables) -> None:
    """The report's fidelity section: [H]'s numbers beside our seeds."""
    found = rows(tables)
    w.heading("Fidelity: [H]'s single runs beside our seeds")
    if not found:
        w.paragraph("No runs of [H]'s studies at this profile.")
        return
    w.paragraph("[H] published one run per setting (seed 1, its own code); ours are our seeds of the same setting. A number outside our "
                "per-seed range says the settings differ somewhere (data order, the decay in the hypergradient, initialisation), not that a "
                "claim fails: the verdicts above come from our seeds alone.")
    w.table(found, HEADER)
    frame = pd.DataFrame(found, columns=HEADER)
    w.paragraph(f"{int((frame[HEADER[-1]] == 'yes').sum())} of {len(frame)} published numbers fall inside our per-seed range.")
