"""Claim and verdict types, and the decision rule applied within a family.

Each claim reduces its runs to one pre-declared one-sided p-value for the
claimed direction (``p_support``) and one for the opposite (``p_refute``).
Within a family (A..E) the p-values of the claims that ran are Holm-adjusted,
separately for support and refutation, at ALPHA. Then:

- SUPPORTED: adjusted p_support < ALPHA;
- REFUTED: adjusted p_refute < ALPHA (the opposite is significant, or an
  equivalence test shows no effect where one was claimed);
- INCONCLUSIVE: neither, with the seeds a decision would need (or, where no
  number of seeds at this count could reach Holm's first threshold, that);
- NOT_RUN: the runs are missing, or below the minimum protocol of a claim about
  duration (``claims.scope``).

A measurement (a deterministic quantity such as bytes held) is not tested: it is
compared with its bound, takes no part in Holm's correction, and is SUPPORTED
when every seed's value is within the bound, REFUTED when none is.
Every verdict carries its scope (``claims.scope``).

A claim that names several benchmarks (or stacks) is decided part by part: each
part (``C2[mlp]``) is a claim of its own, with its own minimum protocol and
scope, in its family's Holm correction. The whole claim takes no part in Holm:
it is composed from its parts' adjusted p-values (intersection-union: SUPPORTED
only if every part is, REFUTED if any part is), and only when every part ran;
otherwise it is NOT_RUN, naming the parts that are missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from claims.scope import ANY, NONE, PROTOCOL, REDUCED, Minimum, Scope
from claims.stats import holm, seeds_needed, sign_flip_power

ALPHA = 0.05
SUPPORTED, REFUTED, INCONCLUSIVE, NOT_RUN = "SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT_RUN"
VERDICTS = (SUPPORTED, REFUTED, INCONCLUSIVE, NOT_RUN)
SCOPE_ORDER = (NONE, REDUCED, PROTOCOL)  # a whole claim's scope is its weakest part's


class NotRun(Exception):
    """Raised by a claim's evaluation when its runs are missing or cannot speak to it."""


@dataclass
class Evidence:
    """What a claim's evaluation found.

    effect: the headline effect (units in ``effect_label``) with a bootstrap ``ci``;
    ours: our number in words, to set beside the published one; n: seeds used;
    diffs: per-seed statistic the support test ran on, oriented so that values above
    ``shift`` support the claim (for the seeds-needed estimate, power and the forest plot);
    min_p: the smallest p-value the support test can give with these seeds (None: no floor);
    table: rows for the report. A ``measurement`` has no p-values: ``effect`` is compared
    with ``bound`` (lower is the claimed side) seed by seed, ``diffs`` holding each seed's value.
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
    min_p: float | None = None
    measurement: bool = False
    bound: float | None = None


@dataclass(frozen=True)
class Change:
    """One dated entry of a claim's pre-registration log."""

    date: str  # ISO date
    what: str
    why: str
    runs_existed: bool  # whether runs of the claim had been made (and could be seen) before the change
    kind: str = "test"  # "test": hypothesis, statistic or margin; "runs": which runs it needs or speaks to; "wording"
    protocol_runs_existed: bool = False  # whether runs at the claim's minimum protocol had been made (and could be seen)


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
    minimum: Minimum = ANY
    history: tuple[Change, ...] = ()  # first entry: when it was declared
    published_effect: float | None = None  # the published effect in the units of Evidence.diffs, for power
    parts: tuple[str, ...] = ()  # ids of the claims it is decided through (one per benchmark or stack); none: decided itself
    covers: str = ""  # a part's reach in words ("MLP only"), shown wherever its verdict is

    @property
    def key(self) -> str:
        """The id as MLflow names allow it: 'C2[mlp]' -> 'C2.mlp', 'B1[adam/sgd]' -> 'B1.adam_sgd'."""
        return self.id.replace("[", ".").replace("]", "").replace("/", "_")

    @property
    def version(self) -> int:
        """1 as first declared, +1 for every change since."""
        return max(1, len(self.history))

    @property
    def changed_after_runs(self) -> bool:
        """Whether its hypothesis, statistic or margin changed after runs of the claim existed (and could have been seen)."""
        return any(change.runs_existed and change.kind == "test" for change in self.history[1:])

    def preregistration(self) -> str:
        """In words, whether its test was declared before its runs existed and stayed so: true of this claim alone."""
        test_changes = [c for c in self.history[1:] if c.kind == "test"]
        if not test_changes:
            first = self.history[0] if self.history else None
            before = first is not None and not first.runs_existed
            return ("hypothesis, statistic and margin declared before any of its runs, unchanged since" if before
                    else "hypothesis, statistic and margin unchanged since first declared")
        any_protocol = not self.minimum.requirements  # a measurement at any protocol: every run of it met its minimum
        after_protocol = [c.date for c in test_changes if c.protocol_runs_existed or (c.runs_existed and any_protocol)]
        after_runs = [c.date for c in test_changes if c.runs_existed and c.date not in after_protocol]
        if after_protocol:
            return f"its test changed after runs at its minimum protocol existed ({', '.join(after_protocol)}): recorded, not pre-registered"
        if after_runs:
            return (f"its test changed after reduced-scale runs existed ({', '.join(after_runs)}), before any run at its minimum protocol")
        return "its test changed before any of its runs existed (" + ", ".join(c.date for c in test_changes) + ")"


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    evidence: Evidence | None
    p_support_adjusted: float = float("nan")
    p_refute_adjusted: float = float("nan")
    reason: str = ""
    seeds_needed: int | None = None
    scope: Scope = field(default_factory=lambda: Scope(NONE))
    threshold: float = ALPHA  # Holm's first threshold in the claim's family (the p a decision needs at least)

    @property
    def deciding_p(self) -> float:
        """The Holm-adjusted p that decided the verdict: the refutation's for REFUTED, else the support's."""
        return self.p_refute_adjusted if self.verdict == REFUTED else self.p_support_adjusted

    def power(self) -> float | None:
        """Share of simulated studies with this claim's seeds that detect its published effect at ``threshold``
        (seeds' statistic ~ Normal(published effect, our per-seed sd)); None when there is no published effect in its units."""
        e = self.evidence
        if self.claim.published_effect is None or e is None or e.measurement or e.diffs is None or len(e.diffs) == 0:
            return None
        sd = float(np.std(e.diffs, ddof=1)) if len(e.diffs) > 1 else 0.0
        return sign_flip_power(self.claim.published_effect, sd if np.isfinite(sd) else 0.0, len(e.diffs), self.threshold)


def seeds_to_reach(threshold: float, min_p: float = 0.5, n: int = 1) -> int:
    """The fewest seeds with which an exact test whose floor is ``min_p`` at ``n`` seeds (a floor of the form b^n:
    2^-n for a sign-flip test, (1/k!)^n for Page's) can go below ``threshold``."""
    base = min_p ** (1.0 / n)
    return math.floor(math.log(threshold) / math.log(base)) + 1


def _measured(claim: Claim, evidence: Evidence, scope: Scope) -> Verdict:
    values = np.asarray(evidence.diffs, float)
    if np.all(values < evidence.bound):
        verdict, why = SUPPORTED, f"measured {values.max():.3g} at most, below the bound {evidence.bound:g} in every seed"
    elif np.all(values >= evidence.bound):
        verdict, why = REFUTED, f"measured {values.min():.3g} at least, not below the bound {evidence.bound:g} in any seed"
    else:
        verdict, why = INCONCLUSIVE, f"measured {values.min():.3g}..{values.max():.3g}: on both sides of the bound {evidence.bound:g}"
    return Verdict(claim, verdict, evidence, reason=why + " (a measurement: no p-value, not in Holm's correction)", scope=scope)


def _inconclusive_reason(evidence: Evidence, s: float, r: float, threshold: float, family: str, m: int) -> tuple[str, int | None]:
    why = f"Holm-adjusted p = {s:.3g} (support), {r:.3g} (refute), both >= {ALPHA} with {evidence.n} {evidence.unit}"
    if evidence.min_p is not None and evidence.min_p >= threshold:
        needed = seeds_to_reach(threshold, evidence.min_p, evidence.n)
        return (why + f"; with {evidence.n} seeds this test cannot give p below {evidence.min_p:.3g}, and Holm's first threshold in family "
                f"{family} ({m} claims decided) is {threshold:.3g}: no effect could be decided with these seeds, at least {needed} are needed"), needed
    needed = seeds_needed(evidence.diffs, threshold, shift=evidence.shift) if evidence.diffs is not None else None
    if needed is not None and needed < 10_000:
        why += f"; about {needed} {evidence.unit} would be needed at the observed effect"
    elif needed is not None:
        why += "; the observed effect points away from the claim (toward refutation): no number of seeds at this effect would support it"
    return why, needed


def compose(whole: Claim, parts: list[Verdict]) -> Verdict:
    """The verdict of a claim decided through ``parts`` (each already Holm-adjusted in the family): intersection-union."""
    missing = [p.claim.id for p in parts if p.verdict == NOT_RUN]
    decided = [p for p in parts if p.verdict != NOT_RUN]
    # the weakest part's level: below its minimum wherever it ran, reduced; parts at protocol beside parts never run, none
    level = min((p.scope.level for p in parts), key=SCOPE_ORDER.index)
    if missing:
        reason = (f"decided only when every part has run; not run: {', '.join(missing)}"
                  + (f"; decided alone: {'; '.join(f'{p.claim.id} {p.verdict} ({p.scope.describe()})' for p in decided)}" if decided else ""))
        covers = f"decided: {', '.join(p.claim.id for p in decided)} only" if decided else ""
        return Verdict(whole, NOT_RUN, None, reason=reason, scope=Scope(level, (f"parts not run: {', '.join(missing)}",), covers))
    support = max(p.p_support_adjusted for p in parts)
    refute = min(p.p_refute_adjusted for p in parts)
    scope = Scope(level, tuple(cut for p in parts for cut in p.scope.cuts))
    weakest = max(parts, key=lambda p: p.p_support_adjusted)
    if all(p.verdict == SUPPORTED for p in parts):
        verdict, why = SUPPORTED, f"every part SUPPORTED (largest Holm-adjusted p = {support:.3g})"
    elif any(p.verdict == REFUTED for p in parts):
        verdict, why = REFUTED, "refuted in " + ", ".join(p.claim.id for p in parts if p.verdict == REFUTED) + f" (Holm-adjusted p = {refute:.3g})"
    else:
        verdict, why = INCONCLUSIVE, "not every part decided: " + ", ".join(f"{p.claim.id} {p.verdict}" for p in parts)
    needed = max((p.seeds_needed for p in parts if p.seeds_needed is not None), default=None)
    return Verdict(whole, verdict, weakest.evidence, support, refute, why, needed, scope, weakest.threshold)


def decide_family(entries: list[tuple[Claim, Evidence | None, str, Scope]]) -> list[Verdict]:
    """Holm-adjust within one family and turn each claim's evidence into a verdict.

    Entries are (claim, evidence or None, reason when None, scope); a claim with ``parts`` is composed from them.
    """
    wholes = [c for c, _, _, _ in entries if c.parts]
    entries = [entry for entry in entries if not entry[0].parts]
    tested = [(c, e) for c, e, _, _ in entries if e is not None and not e.measurement]
    support = holm([e.p_support for _, e in tested])
    refute = holm([e.p_refute for _, e in tested])
    adjusted = {c.id: (s, r) for (c, _), s, r in zip(tested, support, refute)}
    threshold = ALPHA / max(len(tested), 1)  # Holm's first (strictest) threshold
    verdicts = []
    for claim, evidence, reason, scope in entries:
        if evidence is None:
            verdicts.append(Verdict(claim, NOT_RUN, None, reason=reason, scope=scope))
            continue
        if evidence.measurement:
            verdicts.append(_measured(claim, evidence, scope))
            continue
        s, r = adjusted[claim.id]
        needed = None
        if s < ALPHA:
            verdict, why = SUPPORTED, f"Holm-adjusted p = {s:.3g} < {ALPHA}"
        elif r < ALPHA:
            verdict, why = REFUTED, f"opposite direction: Holm-adjusted p = {r:.3g} < {ALPHA}"
        else:
            verdict = INCONCLUSIVE
            why, needed = _inconclusive_reason(evidence, s, r, threshold, claim.family, len(tested))
        verdicts.append(Verdict(claim, verdict, evidence, s, r, why, needed, scope, threshold))
    by_id = {v.claim.id: v for v in verdicts}
    return verdicts + [compose(whole, [by_id[part] for part in whole.parts]) for whole in wholes]
