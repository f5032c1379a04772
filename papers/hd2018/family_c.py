"""Family C: the trajectory of SGD-HD's learned alpha from alpha_0 = 1e-3 (rise, decay, brief negative values).

Read from the alpha each run samples every 10 steps (and at each epoch's end): an epoch's mean alpha is the mean
of its samples. Thresholds are fixed here, before any run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.evidence import all_of, comparison
from claims.parts import Part, split, through_parts
from claims.runs import RunTables
from claims.verdict import Claim, Evidence
from papers.hd2018.declared import BY_TASK, DECLARED, REACH, alpha_trajectories, minimum, never_trained
from papers.hd2018.published import alpha_words
from papers.hd2018.studies import ALPHA_0, LOGREG, MLP, SGD_HD, VGG

RISE = 6.0  # C1: the first epoch's mean alpha at least 6 x alpha_0 (the low end of [H]'s 6-29x)
NEGATIVE_STEPS = 0.01  # C3: alpha below zero on more than 1% of sampled steps ([H]: 6.9-15.3%)
NEGATIVE_EPOCHS = 0.05  # C3: an epoch mean below zero in at most 5% of epochs ([H]: at most 5 of 100)


def divergence_note(tables: RunTables, study: str, label: str) -> list[str]:
    cell = tables.cell(study, label)
    diverged = int(cell.diverged.astype(bool).sum())
    return [f"{diverged} of {len(cell)} seeds of {label} diverged and are left out"] if diverged else []


def rise(study: str) -> Callable[[RunTables], Evidence]:
    def evaluate(tables: RunTables) -> Evidence:
        found = alpha_trajectories(tables, study, SGD_HD)
        ratios = np.array([means[0] / ALPHA_0 for _, means in found.values()])
        row = comparison(f"first-epoch mean alpha / alpha_0 - {RISE:g}", ratios - RISE, ratio=float(np.median(ratios)))
        return all_of([row], "one-sided exact sign-flip test over seeds", f"first-epoch mean alpha in units of alpha_0, minus {RISE:g}",
                      f"median first-epoch mean alpha {row.extra['ratio']:.1f}x alpha_0", notes=divergence_note(tables, study, SGD_HD))
    return evaluate


def decay(study: str) -> Callable[[RunTables], Evidence]:
    def evaluate(tables: RunTables) -> Evidence:
        found = alpha_trajectories(tables, study, SGD_HD)
        first, last = (np.array([means[i] for _, means in found.values()]) for i in (0, -1))
        row = comparison("(first - last epoch mean alpha) / alpha_0", (first - last) / ALPHA_0)
        return all_of([row], "one-sided exact sign-flip test over seeds", "first minus last epoch-mean alpha, in units of alpha_0",
                      f"median epoch-mean alpha {np.median(first):.3g} in the first epoch, {np.median(last):.3g} in the last",
                      notes=divergence_note(tables, study, SGD_HD))
    return evaluate


def brief_negatives(study: str) -> Callable[[RunTables], Evidence]:
    def evaluate(tables: RunTables) -> Evidence:
        found = alpha_trajectories(tables, study, SGD_HD)
        steps = np.array([np.mean(sampled < 0) for sampled, _ in found.values()])
        epochs = np.array([np.mean(means < 0) for _, means in found.values()])
        rows = [comparison(f"share of sampled steps with alpha < 0, minus {NEGATIVE_STEPS:g}", steps - NEGATIVE_STEPS),
                comparison(f"{NEGATIVE_EPOCHS:g} minus the share of epochs whose mean alpha < 0", NEGATIVE_EPOCHS - epochs)]
        return all_of(rows, "one-sided exact sign-flip tests over seeds; both must hold (intersection-union)", "share of steps or epochs",
                      f"alpha < 0 on a median {np.median(steps):.1%} of sampled steps; epoch means below zero in a median "
                      f"{np.median(epochs):.0%} of epochs", notes=divergence_note(tables, study, SGD_HD))
    return evaluate


def by_task(claim: Claim, evaluation: Callable[[str], Callable[[RunTables], Evidence]], duration: bool = False) -> list[Claim]:
    """``claim`` on logistic regression and on the MLP (SGD-HD's runs), each its own verdict."""
    return split(claim, [Part(task, (study,), minimum(study, duration), evaluation(study), covers=REACH[task],
                              published=alpha_words(task, "sgd_hd")) for task, study in (("logreg", LOGREG), ("mlp", MLP))], BY_TASK)


C1 = Claim("C1", "C", "[H] results/{logreg,mlp}/*/sgd*_hd.csv", "From alpha_0 = 1e-3, SGD-HD's alpha rises: its first-epoch mean is "
           f"at least {RISE:g}x alpha_0", "[H]: 6-29x alpha_0 in all six SGD-HD and SGDN-HD runs", (LOGREG, MLP),
           f"mean over seeds of (first-epoch mean alpha / alpha_0 - {RISE:g}) > 0", through_parts, minimum=minimum(LOGREG), history=(DECLARED,))
C2 = Claim("C2", "C", "[H] results/{logreg,mlp}/*/sgd*_hd.csv", "After its rise, SGD-HD's alpha decays: the last epoch's mean alpha "
           "is below the first's", "[H]: last below first in all six runs (MLP SGD-HD 0.0021 vs 0.016)", (LOGREG, MLP),
           "mean over seeds of (first - last epoch-mean alpha) > 0", through_parts, headline=True, minimum=minimum(LOGREG, duration=True),
           history=(DECLARED,))
C3 = Claim("C3", "C", "[H] results CSVs; poster; issue #1", f"SGD-HD's alpha goes below zero on some steps (more than "
           f"{NEGATIVE_STEPS:.0%}), but its epoch mean in at most {NEGATIVE_EPOCHS:.0%} of epochs", "[H]: alpha < 0 on 6.9-15.3% of steps; "
           "an epoch mean below zero in at most 5 of 100 epochs", (LOGREG, MLP), f"share of sampled steps with alpha < 0 > {NEGATIVE_STEPS:g}, "
           f"and share of epochs with mean alpha < 0 < {NEGATIVE_EPOCHS:g} (means over seeds)", through_parts, minimum=minimum(LOGREG),
           history=(DECLARED,))
C4 = Claim("C4", "C", "[H] results/vgg/*/adam_hd.csv", "Adam-HD's alpha decays smoothly towards 0 on VGG, never negative",
           "[H]: 1e-3 to 1.6e-4 in 100 epochs; epoch mean up in 2 of 99 transitions", (VGG,), "Page's trend test per seed on the epoch means",
           never_trained, minimum=minimum(VGG, duration=True), history=(DECLARED,))

CLAIMS: list[Claim] = [*by_task(C1, rise), *by_task(C2, decay, duration=True), *by_task(C3, brief_negatives), C4]
