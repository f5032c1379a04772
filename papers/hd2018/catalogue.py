"""The catalogue of [H]: every claim of ../shared/papers/hd2018/CLAIMS.md in report order, decided by the engine."""

from __future__ import annotations

from claims import engine
from claims.runs import RunTables
from claims.verdict import Claim, Verdict
from papers.hd2018 import family_b, family_c, family_e, undecided
from papers.hd2018.studies import NOT_TRAINED

FAMILIES = ("A", "B", "C", "D", "E")
_ORDER = {family: i for i, family in enumerate(FAMILIES)}
CATALOGUE: list[Claim] = sorted(family_b.CLAIMS + family_c.CLAIMS + family_e.CLAIMS + undecided.CLAIMS, key=lambda claim: _ORDER[claim.family])


def missing_hint(missing: list[str]) -> str:
    """Why a study the claims name has no runs: not trained here (and why), or not yet trained at this profile."""
    reasons = [NOT_TRAINED[s] for s in missing if s in NOT_TRAINED]
    return f" ({'; '.join(reasons)})" if reasons else ""


def evaluate(tables: RunTables, families: tuple[str, ...] = FAMILIES) -> list[Verdict]:
    return engine.evaluate(CATALOGUE, tables, families, missing_hint)
