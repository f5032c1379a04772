"""The report's first figure: every claim's tested statistic against its decision threshold, at a glance.

Claims are tested on statistics of different units (points of error, decades,
shares), so each row is scaled by its own largest absolute value: the x axis
reads "how far, and how surely, on which side of the threshold", not a common
unit. Right of zero is the claimed direction. Colour is the verdict, a filled
marker a verdict at the paper's protocol, an open one a reduced-scale verdict.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from claims.scope import PROTOCOL  # noqa: E402
from claims.stats import bootstrap_ci  # noqa: E402
from claims.verdict import Verdict  # noqa: E402

VERDICT_COLOURS = {"SUPPORTED": "#1b7837", "REFUTED": "#b2182b", "INCONCLUSIVE": "#b35806", "NOT_RUN": "#555555"}


def tested_statistic(verdict: Verdict) -> tuple[float, float, float] | None:
    """(mean, low, high) of the claim's per-seed statistic minus its threshold (positive = the claimed side), or None."""
    e = verdict.evidence
    if e is None or e.diffs is None or len(e.diffs) == 0:
        return None
    values = (e.bound - np.asarray(e.diffs, float)) if e.measurement else np.asarray(e.diffs, float) - e.shift
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    low, high = bootstrap_ci(values)
    return float(values.mean()), low, high


def forest(verdicts: list[Verdict]):
    """One row per claim, in catalogue order (top to bottom)."""
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(verdicts) + 1.4))
    for row, verdict in enumerate(verdicts):
        y = len(verdicts) - 1 - row
        found = tested_statistic(verdict)
        colour = VERDICT_COLOURS[verdict.verdict]
        if found is None:
            ax.text(0.0, y, "not run", color=colour, ha="center", va="center", fontsize=7)
            continue
        mean, low, high = found
        scale = max(abs(mean), abs(low), abs(high)) or 1.0
        ax.hlines(y, low / scale, high / scale, color=colour, lw=2)
        filled = verdict.scope.level == PROTOCOL
        ax.plot(mean / scale, y, "o", color=colour, markerfacecolor=colour if filled else "white", markersize=7)
    ax.axvline(0.0, color="black", lw=1)
    ax.set_yticks(range(len(verdicts)), [f"{v.claim.id} {v.verdict.lower().replace('_', ' ')}" for v in reversed(verdicts)], fontsize=8)
    ax.set_xlim(-1.1, 1.1)
    ax.set_xlabel("tested statistic minus its threshold, 95% bootstrap interval over seeds, scaled per claim (right: the claimed side)")
    ax.set_title("Every claim at a glance: filled = paper's protocol, open = reduced scale", fontsize=10)
    fig.tight_layout()
    return fig
