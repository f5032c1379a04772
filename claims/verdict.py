"""Claim and verdict types, and the decision rule applied within a family.

Each claim reduces its runs to one pre-declared one-sided p-value for the
claimed direction (``p_support``) and one for the opposite (``p_refute``).
Within a family (A..E) the p-values of the claims that ran are Holm-adjusted,
separately for support and refutation, at ALPHA. Then:

- SUPPORTED: adjusted p_support < ALPHA;
- REFUTED: adjusted p_refute < ALPHA (the opposite is significant, or an
  equivalence test shows no effect where one was claimed);
- INCONCLUSIVE: neither, with the seeds a decision would need;
- NOT_RUN: the runs are missing or at a scale that cannot speak to the claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from claims.stats import holm, seeds_needed

ALPHA = 0.05
SUPPORTED, REFUTED, INCONCLUSIVE, NOT_RUN = "SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT_RUN"


class NotRun(Exception):
    """Raised by a claim's evaluation when its runs are missing or cannot speak to it."""


@dataclass
class Evidence:
    """What a claim's evaluation found.

    effect: the headline effect (units in ``effect_label``) with a bootstrap ``ci``;
    ours: our number in words, to set beside the published one; n: seeds used (or, with
    ``unit`` = "seed x cell pairs", the pairs a pooled test ran on);
    diffs: per-seed (per-unit) statistic the support test ran on (for the seeds-needed estimate);
    table: rows for the report; figure: name of a figure the report should draw.
    """

    p_support: float
    p_refute: float
    effect: float
    ci: tuple[float, float]
    effect_label: str
    ours: str
    n: int
    test: str
    diffs: np.ndarray | None = None
    shift: float = 0.0
    table: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit: str = "seeds"


@dataclass(frozen=True)
class Claim:
    id: str
    family: str
    source: str
    statement: str
    published: str
    studies: tuple[str, ...]
    hypothesis: str
    evaluate: Callable[..., Evidence]
    figure: str | None = None
    headline: bool = False


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    evidence: Evidence | None
    p_support_adjusted: float = float("nan")
    p_refute_adjusted: float = float("nan")
    reason: str = ""
    seeds_needed: int | None = None


def decide_family(claims_and_evidence: list[tuple[Claim, Evidence | None, str]]) -> list[Verdict]:
    """Holm-adjust within one family and turn each claim's evidence into a verdict.

    Entries are (claim, evidence or None, reason when None).
    """
    ran = [(c, e) for c, e, _ in claims_and_evidence if e is not None]
    support = holm([e.p_support for _, e in ran])
    refute = holm([e.p_refute for _, e in ran])
    adjusted = {c.id: (s, r) for (c, _), s, r in zip(ran, support, refute)}
    threshold = ALPHA / max(len(ran), 1)  # Holm's first (strictest) threshold
    verdicts = []
    for claim, evidence, reason in claims_and_evidence:
        if evidence is None:
            verdicts.append(Verdict(claim, NOT_RUN, None, reason=reason))
            continue
        s, r = adjusted[claim.id]
        if s < ALPHA:
            verdict, why, needed = SUPPORTED, f"Holm-adjusted p = {s:.3g} < {ALPHA}", None
        elif r < ALPHA:
            verdict, why, needed = REFUTED, f"opposite direction: Holm-adjusted p = {r:.3g} < {ALPHA}", None
        else:
            needed = seeds_needed(evidence.diffs, threshold, shift=evidence.shift) if evidence.diffs is not None else None
            verdict = INCONCLUSIVE
            why = f"Holm-adjusted p = {s:.3g} (support), {r:.3g} (refute), both >= {ALPHA} with {evidence.n} {evidence.unit}"
            if needed is not None:
                why += f"; about {needed} {evidence.unit} would be needed at the observed effect" if needed < 10_000 else "; no effect observed to size a study on"
        verdicts.append(Verdict(claim, verdict, evidence, s, r, why, needed))
    return verdicts
