"""What a claims run logs besides its description, for any set of claims: a tag per verdict and scope, the
metrics of each decided claim, and the verdict table as the terminal prints it; and deciding and reporting with
an interruption or a failing store as one line."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from claims.verdict import REFUTED, Verdict
from training.core import interrupt
from training.tracking import schema
from training.tracking.store import STORE_ERRORS, first_line, redact, tracking_uri


def report_guarded(decide_and_report: Callable[[], int], again: str) -> int:
    """``decide_and_report()``, with an interruption or a store that fails on the way as one line and an exit status;
    ``again``: the command that writes the report once the cause is gone."""
    try:
        return decide_and_report()
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM (see training.core.interrupt)
        print(f"{interrupt.describe(interruption)} while deciding and reporting: every run is kept and the previous report left whole; "
              f"`{again}` writes this one", file=sys.stderr)
        return interrupt.exit_status(interruption)
    except STORE_ERRORS as error:
        print(f"error: the tracking store {redact(tracking_uri())} failed while deciding and reporting ({first_line(error)}); "
              f"every run is kept; `{again}` writes the report once it answers", file=sys.stderr)
        return 3


def verdict_tags(verdicts: list[Verdict]) -> dict[str, str]:
    """verdict.<ID> and scope.<ID> of every claim."""
    tags = {}
    for v in verdicts:
        tags[schema.verdict_tag(v.claim.key)] = v.verdict
        tags[schema.scope_tag(v.claim.key)] = v.scope.level
    return tags


def claim_metrics(verdicts: list[Verdict]) -> dict[str, float]:
    """The claims run's metrics: effect, interval, p-values and seeds of every claim that ran (a measurement has no p-values)."""
    metrics = {}
    for v in verdicts:
        e = v.evidence
        if e is None:
            continue
        for key, value in (("effect", e.effect), ("ci_low", e.ci[0]), ("ci_high", e.ci[1]), ("p_support", e.p_support),
                           ("p_support_holm", v.p_support_adjusted), ("p_refute_holm", v.p_refute_adjusted), ("seeds", e.n)):
            if np.isfinite(value):  # rounded for display (10.199999999999989 -> 10.2); verdicts.json keeps full precision
                metrics[schema.claim_metric(v.claim.key, key)] = float(f"{value:.6g}")
    return metrics


def verdict_line(v: Verdict, width: int = 12) -> str:
    """One line of the verdict table: id, verdict, scope, then the effect (or why it was not run)."""
    e = v.evidence
    if e is None:
        detail = v.reason
    elif e.measurement:
        detail = f"measured {e.effect:.3g} [{e.ci[0]:.3g}, {e.ci[1]:.3g}] against {e.bound:g}, n={e.n}"
    else:
        detail = f"effect {e.effect:.3g} [{e.ci[0]:.3g}, {e.ci[1]:.3g}], p_holm {v.deciding_p:.3g}{' (refutation)' if v.verdict == REFUTED else ''}, n={e.n}"
    return f"{v.claim.id:<13} {v.verdict:<{width}}  {v.scope.label():<8}  {detail}"


def print_verdicts(verdicts: list[Verdict]) -> None:
    width = max(len(v.verdict) for v in verdicts)
    for v in verdicts:
        print(verdict_line(v, width))
