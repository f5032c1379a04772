"""Family E: what [HR] found on its grid (first 6,000 training images of MNIST, one seed per cell). E1, logistic
regression for 50 epochs, is trained here on our seeds; [HR]'s MLP and CNN grids (E2-E4) are not.

Thresholds are fixed here, before any run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.evidence import all_of, comparison
from claims.parts import Part, split, through_parts
from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.verdict import Change, Claim, Evidence, NotRun
from papers.hd2018.declared import DECLARED
from papers.hd2018.published import table
from papers.hd2018.studies import ADAM, ADAM_HD, HR_LOGREG, HR_TRAIN, PAPER_EPOCHS, SGD, SGD_HD, SGDN, SGDN_HD, grid_label

MINORITY = 0.5  # E1: HD worse than its base in fewer than half of the cells where both finished
HR_MINIMUM = Minimum((Requirement(HR_LOGREG, f"every cell of {HR_LOGREG}", epochs=PAPER_EPOCHS[HR_LOGREG], train_size=HR_TRAIN),),
                     "[HR] script_utilities (50 epochs, the first 6,000 training images)")
BY_METHOD = Change("2026-12-04", "declared as one claim per HD method (SGD-HD, Adam-HD; SGDN-HD not trained)",
                   "[HR] counts each method's cells apart", runs_existed=False, kind="runs")
SGDN_TRAINED = Change("2026-12-04", "SGDN-HD decided like the other methods: SGDN and SGDN-HD cells joined [HR]'s grid (our sgd_nesterov rule), "
                      "before any of their runs. The other two parts had runs at protocol: Holm's thresholds in family E tighten with a "
                      "third decided part", "a Nesterov rule now exists", runs_existed=True, kind="runs", protocol_runs_existed=True)


def worse(hd: float, base: float) -> bool:
    """[HR]'s rule (its notebook plot_figure4_first_half): HD worse when its final loss, rounded to 2 decimals, is higher."""
    return round(hd, 2) > round(base, 2)


def hr_published(method: str) -> str:
    rows = table("hdr_grid_summary")
    row = rows[(rows.model == "logreg") & (rows.hd == method)].iloc[0]
    return (f"[HR] (one seed): {method} worse than its base in {row.hd_worse_rounded_2dp} of {row.both_finished} finished cells; "
            f"{row.hd_not_finished} of {row.cells} HD runs not finished")


def shares_worse(tables: RunTables, hd: str, base: str) -> tuple[np.ndarray, list[str]]:
    """Per seed, the share of grid cells (alpha_0 x beta) where both runs finished and HD ended worse; notes on the rest."""
    cells = sorted({c for c in tables.runs[tables.runs.study == HR_LOGREG].cell if c.startswith(f"{hd} a=")})
    if not cells:
        raise NotRun(f"no finished runs of {HR_LOGREG}/{hd}")
    worse_by_seed: dict[int, list[bool]] = {}
    diverged: dict[str, int] = {}
    for label in cells:
        alpha, beta = (part.split("=")[1] for part in label.split(" ")[1:])
        ours, theirs = tables.cell(HR_LOGREG, label), tables.cell(HR_LOGREG, grid_label(base, float(alpha)))
        for seed, row in ours.iterrows():
            if bool(row.diverged) or not np.isfinite(row.train_loss):
                diverged[beta] = diverged.get(beta, 0) + 1
                continue
            if seed in theirs.index and not bool(theirs.loc[seed].diverged) and np.isfinite(theirs.loc[seed].train_loss):
                worse_by_seed.setdefault(seed, []).append(worse(float(row.train_loss), float(theirs.loc[seed].train_loss)))
    if not worse_by_seed:
        raise NotRun(f"no seed of {hd} has a finished run beside a finished {base} run")
    notes = [f"{hd} runs that diverged (left out of the share), by beta: " + ", ".join(f"{b}: {n}" for b, n in sorted(diverged.items()))] if diverged else []
    return np.array([np.mean(v) for _, v in sorted(worse_by_seed.items())]), notes


def minority(hd: str, base: str) -> Callable[[RunTables], Evidence]:
    def evaluate(tables: RunTables) -> Evidence:
        shares, notes = shares_worse(tables, hd, base)
        row = comparison(f"{MINORITY:g} - share of finished cells where {hd} ends worse than {base}", MINORITY - shares)
        return all_of([row], "one-sided exact sign-flip test over seeds of each seed's share", f"{MINORITY:g} minus the share of cells",
                      f"{hd} worse than {base} in a mean {np.mean(shares):.0%} of finished cells (per seed {np.min(shares):.0%} to "
                      f"{np.max(shares):.0%})", notes=notes)
    return evaluate


E1 = Claim("E1", "E", "[HR] hdr_grid_summary.csv (its notebook's 2-decimal rule)", "On logistic regression (first 6,000 MNIST images, "
           "50 epochs, alpha_0 and beta each 1e-1..1e-6), HD ends worse than its base in a minority of the cells where both finish",
           "[HR] (one seed): 6/36 SGD-HD, 4/31 SGDN-HD, 9/29 Adam-HD", (HR_LOGREG,),
           f"mean over seeds of the share of finished cells where HD ends worse (final training loss, 2 decimals) < {MINORITY:g}",
           through_parts, minimum=HR_MINIMUM, history=(DECLARED, SGDN_TRAINED))

CLAIMS: list[Claim] = [
    *split(E1, [Part("sgd_hd", (HR_LOGREG,), HR_MINIMUM, minority(SGD_HD, SGD), covers="SGD-HD only", published=hr_published("sgd_hd")),
                Part("adam_hd", (HR_LOGREG,), HR_MINIMUM, minority(ADAM_HD, ADAM), covers="Adam-HD only", published=hr_published("adam_hd")),
                Part("sgdn_hd", (HR_LOGREG,), HR_MINIMUM, minority(SGDN_HD, SGDN), covers="SGDN-HD only", published=hr_published("sgdn_hd"))],
           BY_METHOD),
]
