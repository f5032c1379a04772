"""The report's first figure: every decided claim's tested statistic against its decision threshold, at a glance.

Claims are tested on statistics of different units (points of error, decades,
shares), so each row is standardised by its own spread over seeds (the mean
distance from the threshold in standard deviations, an effect size, with its
bootstrap interval on the same scale): magnitudes compare across rows, and each
row's label gives the distance in the claim's own units. The axis is linear within
one standard deviation and logarithmic beyond, clipped at 30. Right of zero is the
claimed direction. Colour is the verdict, a filled marker a verdict at the paper's
protocol, an open one a reduced-scale verdict. Claims not run are left out.
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


CLIP = 30.0  # standard deviations: a statistic that barely varies over seeds would otherwise stretch the axis


def standardised(verdict: Verdict) -> tuple[float, float, float, float] | None:
    """(mean, low, high) of ``tested_statistic`` in standard deviations of the per-seed values (clipped at +-CLIP), and the
    mean in the claim's own units; None when not run."""
    found = tested_statistic(verdict)
    if found is None:
        return None
    e = verdict.evidence
    values = (e.bound - np.asarray(e.diffs, float)) if e.measurement else np.asarray(e.diffs, float) - e.shift
    spread = float(np.std(values[np.isfinite(values)], ddof=1)) if np.isfinite(values).sum() > 1 else 0.0
    mean, low, high = found
    scale = spread if spread > 0 else (abs(mean) / CLIP if mean else 1.0)
    return (*(float(np.clip(x / scale, -CLIP, CLIP)) for x in (mean, low, high)), mean)


def forest(verdicts: list[Verdict]):
    """One row per decided claim, in catalogue order (top to bottom); None when no claim was decided."""
    rows = [(v, found) for v in verdicts if (found := standardised(v)) is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    for row, (verdict, (mean, low, high, _)) in enumerate(rows):
        y = len(rows) - 1 - row
        colour = VERDICT_COLOURS[verdict.verdict]
        ax.hlines(y, low, high, color=colour, lw=2)
        filled = verdict.scope.level == PROTOCOL
        ax.plot(mean, y, "o", color=colour, markerfacecolor=colour if filled else "white", markersize=7)
    ax.axvline(0.0, color="black", lw=1)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(-CLIP * 1.2, CLIP * 1.2)
    ax.set_xticks([-30, -10, -3, -1, 0, 1, 3, 10, 30], ["-30", "-10", "-3", "-1", "0", "1", "3", "10", "30"])
    ax.set_yticks(range(len(rows)), [f"{v.claim.id} {v.verdict.lower()}: {found[3]:+.3g}" for v, found in reversed(rows)], fontsize=8)
    ax.set_xlabel("tested statistic minus its threshold, in standard deviations over seeds, 95% bootstrap interval\n"
                  "(right: the claimed side; the label gives it in the claim's own units)", fontsize=8)
    ax.set_title("Every decided claim at a glance: filled = paper's protocol, open = reduced scale", fontsize=10)
    fig.tight_layout()
    return fig
