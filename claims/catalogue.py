"""The catalogue: every claim of CLAIMS.md, and its evaluation over run tables, family by family.

Pure: run tables in, verdicts out. Training the runs is the main job's
business (``pipeline.claims_job``).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from claims import family_a, family_b, family_c, family_d, family_e, family_f
from claims.scope import NONE, REDUCED, Scope, assess
from claims.verdict import Claim, Evidence, NotRun, Verdict, decide_family
from training.studies import BEYOND, STUDIES, build_study
from training.tracking.runs import RunTables

CATALOGUE: list[Claim] = family_a.CLAIMS + family_b.CLAIMS + family_c.CLAIMS + family_d.CLAIMS + family_e.CLAIMS + family_f.CLAIMS
FAMILIES = ("A", "B", "C", "D", "D+", "E", "F")


def _evidence(claim: Claim, tables: RunTables) -> tuple[Evidence | None, str, Scope]:
    """(evidence, '', scope) or (None, the reason it was not run, scope)."""
    if claim.parts:
        return None, "composed from its parts", Scope(NONE)
    evidence, reason, scope = _evaluated(claim, tables)
    return evidence, reason, replace(scope, covers=claim.covers)


def _evaluated(claim: Claim, tables: RunTables) -> tuple[Evidence | None, str, Scope]:
    if not claim.studies:
        return None, claim.hypothesis, Scope(NONE)
    missing = [s for s in claim.studies if not tables.has(s)]
    if missing:
        hint = " (ours, beyond the paper: they train with --beyond, -P beyond=true)" if any(s in BEYOND for s in missing) \
            else "" if all(s.startswith("mlp_") for s in missing) else " (the ResNet-20 and char-LSTM studies train with --benchmarks all)"
        return None, f"no finished runs of {', '.join(missing)} at this profile{hint}", Scope(NONE)
    scope = assess(claim.minimum, tables)
    if scope.level == NONE:  # a study ran, but not the part of it the claim's minimum protocol requires (e.g. still training)
        return None, f"its minimum protocol needs runs the store does not hold yet ({'; '.join(scope.cuts)})", scope
    if scope.level == REDUCED and claim.minimum.duration:
        return None, (f"below its minimum protocol ({'; '.join(scope.cuts)}): a claim about duration, late training or how far values "
                      "travel is not decided at reduced scale"), scope
    try:
        return claim.evaluate(tables), "", scope
    except NotRun as reason:
        return None, str(reason), scope
    except Exception as error:  # a broken claim must not take the other verdicts down; it is named, not hidden
        print(f"warning: claim {claim.id} could not be evaluated: {error!r}", file=sys.stderr)
        return None, f"evaluation failed: {error!r}", scope


def evaluate(tables: RunTables, families: tuple[str, ...] = FAMILIES) -> list[Verdict]:
    """A verdict for every claim of ``families``, in catalogue order."""
    verdicts: dict[str, Verdict] = {}
    for family in families:
        entries = [(claim, *_evidence(claim, tables)) for claim in CATALOGUE if claim.family == family]
        for verdict in decide_family(entries):
            verdicts[verdict.claim.id] = verdict
    return [verdicts[c.id] for c in CATALOGUE if c.id in verdicts]


def drop_stale(tables: RunTables, profile: str) -> RunTables:
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
