"""The catalogue of "Gradient Descent: The Ultimate Optimizer": every claim of CLAIMS.md, decided by the
engine (``claims.engine``) over run tables, family by family; and which runs of its studies still count.
"""

from __future__ import annotations

from claims import engine
from claims.runs import RunTables
from claims.verdict import Claim, Verdict
from papers.ultimate_optimizer import family_a, family_b, family_c, family_d, family_e, family_f
from papers.ultimate_optimizer.studies import BEYOND, STUDIES, build_study
from training.core.config import Profile

CATALOGUE: list[Claim] = family_a.CLAIMS + family_b.CLAIMS + family_c.CLAIMS + family_d.CLAIMS + family_e.CLAIMS + family_f.CLAIMS
FAMILIES = ("A", "B", "C", "D", "D+", "E", "F")


def missing_hint(missing: list[str]) -> str:
    """How the studies this paper's claims need are trained, when a store has none of their runs."""
    if any(s in BEYOND for s in missing):
        return " (ours, beyond the paper: they train with --beyond, -P beyond=true)"
    return "" if all(s.startswith("mlp_") for s in missing) else " (the ResNet-20 and char-LSTM studies train with --benchmarks all)"


def evaluate(tables: RunTables, families: tuple[str, ...] = FAMILIES) -> list[Verdict]:
    """A verdict for every claim of ``families``, in catalogue order."""
    return engine.evaluate(CATALOGUE, tables, families, missing_hint)


def drop_stale(tables: RunTables, profile: Profile) -> RunTables:
    """Leave out runs of a cell whose definition has changed since they ran (another stack or epoch count).

    They stay in the store, and in the report's count of what was excluded, but a verdict
    must not mix two versions of a study.
    """
    runs = tables.runs
    if runs.empty:
        return tables
    planned = {}
    for name in STUDIES:
        for cell, config in build_study(name, profile).configs(profile, seeds=1):
            planned[(name, cell.label)] = (config.stack, config.epochs)
    current = [planned.get((row.study, row.cell), (row.stack, row.epochs)) == (row.stack, row.epochs) for row in runs.itertuples()]
    stale = len(runs) - sum(current)
    if stale:
        tables.excluded["stale (cell redefined since)"] = stale
        tables.runs = runs[current].reset_index(drop=True)
    return tables
