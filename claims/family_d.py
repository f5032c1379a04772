"""Family D: diminishing returns of taller stacks ([R] 3.4's towers on the MLP, under three kappa schemes).

Margins are fixed here, before any run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.evidence import published
from claims.preregistration import DECLARED, SEEDS_RAISED, scope_declared
from claims.scope import Minimum, Requirement
from claims.stats import bootstrap_ci, page_trend, sign_flip_test, smallest_page_p, tost_equivalence
from claims.verdict import Change, Claim, Evidence, NotRun
from training.studies import labels
from training.studies.labels import MLP_DEPTH as DEPTH
from training.studies.mlp import DEPTH_SCHEMES
from training.tracking.runs import RunTables

GAIN_MARGIN = 0.25  # pp: a gain per level within +-this counts as no gain
SMALL_HEIGHT = 3  # D1: past this height the gain should vanish
TALLEST = 20  # [R] 3.4: towers to height 20


def depth_errors(tables: RunTables, scheme: str, alpha: float = 0.01) -> pd.DataFrame:
    """Final error, rows = seeds, columns = height 0..H under ``scheme``."""
    columns = {0: tables.cell(DEPTH, labels.depth(labels.DEPTH_PLAIN, 0, alpha)).test_error}
    height = 1
    while not (cell := tables.cell(DEPTH, labels.depth(scheme, height, alpha))).empty:
        columns[height] = cell.test_error
        height += 1
    if len(columns) <= SMALL_HEIGHT + 1 or columns[0].empty:
        raise NotRun(f"depth study under the {scheme} scheme needs heights 0..{SMALL_HEIGHT + 1} or more")
    return pd.DataFrame(columns).dropna()


def diminishing_returns(errors: pd.DataFrame, scheme: str) -> Evidence:
    """D1's test on one scheme: gains fall over heights 1..3 and vanish past SMALL_HEIGHT."""
    gains = -errors.diff(axis=1).iloc[:, 1:].to_numpy(float)  # gain of level h = error(h-1) - error(h)
    early, late = gains[:, :SMALL_HEIGHT], gains[:, SMALL_HEIGHT:].mean(axis=1)
    p_falling = page_trend(early, increasing=False) if len(early) >= 2 else 1.0
    p_rising = page_trend(early, increasing=True) if len(early) >= 2 else 1.0
    p_zero = tost_equivalence(late, GAIN_MARGIN)
    p_gain = min(sign_flip_test(late, "greater", GAIN_MARGIN), sign_flip_test(late, "less", -GAIN_MARGIN))
    low, high = bootstrap_ci(late)
    return Evidence(
        p_support=max(p_falling, p_zero), p_refute=min(1.0, 2 * min(p_rising, p_gain)),
        effect=float(late.mean()), ci=(low, high), effect_label=f"mean gain per level past height {SMALL_HEIGHT}, pp (within +-{GAIN_MARGIN} pp counts as none)",
        ours=f"{scheme}: mean error by height " + ", ".join(f"{v:.2f}" for v in errors.mean().to_numpy()),
        n=len(gains),
        test=f"Page's trend test that the gains of levels 1..{SMALL_HEIGHT} fall, and TOST that the mean gain of the levels above is within +-{GAIN_MARGIN} pp",
        diffs=np.full(len(late), GAIN_MARGIN) - np.abs(late),
        table=[{"scheme": scheme, "height": int(h), "mean_error_pct": float(v)} for h, v in errors.mean().items()],
        min_p=smallest_page_p(len(gains), SMALL_HEIGHT),
    )


def evaluate_d1(tables: RunTables) -> Evidence:
    return diminishing_returns(depth_errors(tables, "reproduction"), "reproduction")


def evaluate_d2(tables: RunTables) -> Evidence:
    parts = [diminishing_returns(depth_errors(tables, scheme), scheme) for scheme in DEPTH_SCHEMES if scheme != "reproduction"]
    weakest = max(parts, key=lambda e: e.p_support)
    return Evidence(
        p_support=max(e.p_support for e in parts), p_refute=min(1.0, len(parts) * min(e.p_refute for e in parts)),
        effect=weakest.effect, ci=weakest.ci, effect_label=weakest.effect_label + f" ({weakest.ours.split(':')[0]} scheme, the weaker)",
        ours="; ".join(e.ours for e in parts), n=min(e.n for e in parts),
        test="D1's test repeated under [P]'s kappa scheme and under equal kappa per level; both must show it (intersection-union)",
        diffs=weakest.diffs, table=[row for e in parts for row in e.table], min_p=max(e.min_p for e in parts),
    )


def _report_depth() -> str:
    table = published("report_stacked_mlp")
    at = table[table.alpha_init == 0.01].set_index("height").test_error_pct
    return "[R], alpha 0.01, single seed, 10 epochs: " + ", ".join(f"h{h} {at[h]:.2f}%" for h in range(5)) + f" ... h20 {at[20]:.2f}%"


DEPTH_MINIMUM = Minimum((Requirement(DEPTH, "depth towers (batch 1024)", epochs=10,
                                     needs=tuple(labels.depth(scheme, TALLEST, 0.01) for scheme in DEPTH_SCHEMES)),), "[R] 3.4")
WORDING = Change("2026-11-30", f"'indistinguishable from zero' -> 'within +-{GAIN_MARGIN} pp of zero' in the statement and the effect's label",
                 "a gain of 0.18 pp per level with an interval excluding zero is within the margin, not indistinguishable from zero",
                 runs_existed=True, kind="wording")

CLAIMS = [
    Claim("D1", "D", "[R] 3.4", f"Each added level improves less than the one before; past a small height the gain per level stays within +-{GAIN_MARGIN} pp of zero.",
          _report_depth(), (DEPTH,), f"H1: gains of levels 1..{SMALL_HEIGHT} fall, and the mean gain above is within +-{GAIN_MARGIN} pp",
          evaluate_d1, figure="depth", headline=True, minimum=DEPTH_MINIMUM, history=(DECLARED, WORDING, scope_declared(False), SEEDS_RAISED)),
    Claim("D2", "D", "ours, on [R] 3.4", "D1 is not an artefact of [R]'s kappa_level = alpha/(100(1+level)): it holds under [P]'s scheme and equal kappa too.",
          "not published", (DEPTH,), f"H1: D1's test (gains of levels 1..{SMALL_HEIGHT} fall; the mean gain above within +-{GAIN_MARGIN} pp) passes under both "
          "other kappa schemes", evaluate_d2, figure="depth", headline=True, minimum=DEPTH_MINIMUM, history=(DECLARED, WORDING, scope_declared(False), SEEDS_RAISED)),
]
