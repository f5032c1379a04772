"""Deciding a paper's claims over run tables: each claim's scope, its evidence, and its verdict, family by family.

Any paper uses this: it hands over its claims (``claims.verdict.Claim``, in the order its report shows
them), its families, and how to say why a study it needs has no runs (its own words: which flag trains
it). Pure: run tables in, verdicts out; training the runs is someone else's business.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from claims.runs import RunTables
from claims.scope import NONE, REDUCED, Scope, assess
from claims.verdict import Claim, Evidence, NotRun, Verdict, decide_family

MissingHint = Callable[[list[str]], str]  # studies without runs -> a hint for the reader ("(they train with --beyond)"), or ""


def no_hint(missing: list[str]) -> str:
    return ""


def gather(claim: Claim, tables: RunTables, missing_hint: MissingHint = no_hint) -> tuple[Evidence | None, str, Scope]:
    """(evidence, '', scope) or (None, the reason it was not run, scope)."""
    if claim.parts:
        return None, "composed from its parts", Scope(NONE)
    evidence, reason, scope = _evaluated(claim, tables, missing_hint)
    return evidence, reason, replace(scope, covers=claim.covers)


def _evaluated(claim: Claim, tables: RunTables, missing_hint: MissingHint) -> tuple[Evidence | None, str, Scope]:
    if not claim.studies:
        return None, claim.hypothesis, Scope(NONE)
    missing = [s for s in claim.studies if not tables.has(s)]
    if missing:
        return None, f"no finished runs of {', '.join(missing)} at this profile{missing_hint(missing)}", Scope(NONE)
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


def evaluate(catalogue: Sequence[Claim], tables: RunTables, families: Sequence[str], missing_hint: MissingHint = no_hint) -> list[Verdict]:
    """A verdict for every claim of ``catalogue`` in ``families`` (Holm within each family), in catalogue order."""
    verdicts: dict[str, Verdict] = {}
    for family in families:
        entries = [(claim, *gather(claim, tables, missing_hint)) for claim in catalogue if claim.family == family]
        for verdict in decide_family(entries):
            verdicts[verdict.claim.id] = verdict
    return [verdicts[c.id] for c in catalogue if c.id in verdicts]
