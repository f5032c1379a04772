"""Families C (robustness to the initial alpha) and D (diminishing returns of taller stacks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.runs import RunTables
from claims.evidence import all_of, comparison, published
from claims.family_large import GRID as RESNET_GRID
from claims.family_large import LSTM, evaluate_c1, evaluate_c4
from claims.stats import bootstrap_ci, page_trend, sign_flip_test, tost_equivalence
from claims.verdict import Claim, Evidence, NotRun
from training.studies import DEPTH_SCHEMES, TOWER_ALPHAS, TOWER_HEIGHTS

TOWERS, DEPTH = "mlp_towers", "mlp_depth"
# [P] Fig. 4 on each benchmark: study -> (metric, unit); the MLP's towers are required, the others join when run
TOWER_STUDIES = {"mlp_towers": ("test_error", "pp"), "resnet_towers": ("test_error", "pp"), "charlstm_towers": ("test_perplexity", "perplexity")}
MAX_GRID_ALPHA = 1.0  # spread is taken over base alphas up to 1; the MLP's alpha = 100 is C5's
C2_MIN_DROP = 0.2  # C2: the spread must fall by at least a fifth from height 0 to height 3 to matter
C3_MARGIN = 5.0  # pp: "reasonable" = within this of the best tuned plain SGD
FAIL_ERROR = 50.0  # pp: C5's "fails"
GAIN_MARGIN = 0.25  # pp: a gain "indistinguishable from zero"
SMALL_HEIGHT = 3  # D1: past this height the gain should vanish


def tower_alphas(tables: RunTables, study: str) -> tuple[float, ...]:
    """The base alphas a tower study ran, read off its cell labels (tower:h<height>:a<alpha>)."""
    labels = tables.runs[tables.runs.study == study].cell
    return tuple(sorted({float(label.rsplit(":a", 1)[1]) for label in labels}))


def tower_errors(tables: RunTables, study: str = TOWERS) -> pd.DataFrame:
    """Final test metric, rows = seeds, columns = (height, alpha)."""
    metric = TOWER_STUDIES[study][0]
    columns = {}
    for height in TOWER_HEIGHTS:
        for alpha in tower_alphas(tables, study):
            cell = tables.cell(study, f"tower:h{height}:a{alpha:g}")
            if cell.empty:
                raise NotRun(f"no {study} runs at height {height}, alpha {alpha:g}")
            columns[(height, alpha)] = cell[metric]
    return pd.DataFrame(columns).dropna()


def grid_of(errors: pd.DataFrame) -> tuple[float, ...]:
    return tuple(sorted({a for _, a in errors.columns if a <= MAX_GRID_ALPHA}))


def dependence_on_alpha(errors: pd.DataFrame) -> np.ndarray:
    """Mean excess of final error over the best alpha of the GRID, shape [seeds, heights].

    How much a user loses, on average over the grid, for not knowing the best alpha.
    Unlike the range, one decade that no height can rescue does not swamp it.
    """
    out = []
    for h in TOWER_HEIGHTS:
        grid = errors[[(h, a) for a in grid_of(errors)]]
        out.append(grid.sub(grid.min(axis=1), axis=0).mean(axis=1))
    return np.stack(out, axis=1)


def range_by_height(errors: pd.DataFrame) -> np.ndarray:
    """Range (max - min) of final error across GRID, shape [seeds, heights]; reported beside the primary statistic."""
    grid = [(h, a) for h in TOWER_HEIGHTS for a in grid_of(errors)]
    return np.stack([errors[[c for c in grid if c[0] == h]].max(axis=1) - errors[[c for c in grid if c[0] == h]].min(axis=1) for h in TOWER_HEIGHTS], axis=1)


def evaluate_c2(tables: RunTables) -> Evidence:
    """C2 on every benchmark whose towers ran (intersection-union over benchmarks)."""
    parts = [flattening(tables, study) for study in TOWER_STUDIES if study == TOWERS or tables.has(study)]
    if len(parts) == 1:
        return parts[0]
    weakest = max(parts, key=lambda e: e.p_support)
    return Evidence(
        p_support=max(e.p_support for e in parts), p_refute=min(1.0, len(parts) * min(e.p_refute for e in parts)),
        effect=weakest.effect, ci=weakest.ci, effect_label=weakest.effect_label + " (the weakest benchmark)",
        ours="; ".join(e.ours for e in parts), n=min(e.n for e in parts),
        test=parts[0].test + f"; on each of {len(parts)} benchmarks (intersection-union), refutation Bonferroni'd over them",
        diffs=weakest.diffs, table=[row for e in parts for row in e.table],
    )


def flattening(tables: RunTables, study: str) -> Evidence:
    """C2's test on one benchmark's towers."""
    errors = tower_errors(tables, study)
    unit = TOWER_STUDIES[study][1]
    grid = grid_of(errors)
    spreads = dependence_on_alpha(errors)
    if len(spreads) < 2:
        raise NotRun(f"Page's test needs at least two seeds of {study}")
    drop = spreads[:, 0] - spreads[:, -1]
    # a trend alone could be a fraction of a point: the drop must also reach C2_MIN_DROP of the height-0 value
    beyond = drop - C2_MIN_DROP * spreads[:, 0]
    low, high = bootstrap_ci(drop)
    means, ranges = spreads.mean(axis=0), range_by_height(errors).mean(axis=0)
    return Evidence(
        p_support=max(page_trend(spreads, increasing=False), sign_flip_test(beyond, "greater")),
        p_refute=min(1.0, 2 * min(page_trend(spreads, increasing=True), sign_flip_test(beyond, "less"))),
        effect=float(drop.mean()), ci=(low, high), effect_label=f"{study}: mean excess over the best alpha, height 0 minus height 3, {unit}",
        ours=f"{study}: mean excess over the best alpha " + ", ".join(f"h{h}: {m:.3g} {unit}" for h, m in zip(TOWER_HEIGHTS, means)),
        n=len(spreads),
        test=f"Page's L trend test (seeds as blocks) that the mean excess of the final test metric over the best alpha in {', '.join(f'{a:g}' for a in grid)} "
             f"falls with height 0..3, and a one-sided sign-flip test that it falls by more than {C2_MIN_DROP:.0%} of its height-0 value; "
             "refuted if it rises, or falls significantly less than that",
        diffs=beyond,
        table=[{"study": study, "height": h, f"mean_excess_{unit}": float(m), f"range_{unit}": float(r)} for h, m, r in zip(TOWER_HEIGHTS, means, ranges)],
    )


def evaluate_c3(tables: RunTables) -> Evidence:
    """On the MLP's towers, and ResNet-20's when they ran (the claim's published numbers are ResNet-20's)."""
    rows, ours = [], []
    for study in (TOWERS, "resnet_towers"):
        if study != TOWERS and not tables.has(study):
            continue
        errors = tower_errors(tables, study)
        grid, top = grid_of(errors), max(TOWER_HEIGHTS)
        worst_top = errors[[(top, a) for a in grid]].max(axis=1)
        best_plain = errors[[(0, a) for a in grid]].min(axis=1)
        rows.append(comparison(f"{study}: {C3_MARGIN} pp - (worst height-{top} error over alpha {grid[0]:g}..{grid[-1]:g} - best tuned plain error)",
                               C3_MARGIN - (worst_top - best_plain).to_numpy(float), worst=float(worst_top.mean()), best=float(best_plain.mean())))
        ours.append(f"{study}: worst height-{top} error {worst_top.mean():.2f}%, best tuned plain {best_plain.mean():.2f}%")
    return all_of(rows, f"one-sided sign-flip tests over seeds: across the base alphas the worst height-3 error stays within {C3_MARGIN} pp of the best plain SGD, "
                  "on every benchmark that ran (intersection-union)", "pp of slack", "; ".join(ours))


def evaluate_c5(tables: RunTables) -> Evidence:
    errors = tower_errors(tables)
    high = max(TOWER_ALPHAS)
    best = errors[[(h, high) for h in TOWER_HEIGHTS]].min(axis=1)
    row = comparison(f"best error over heights at alpha {high:g} - {FAIL_ERROR}%", (best - FAIL_ERROR).to_numpy(float))
    return all_of([row], f"one-sided sign-flip test over seeds that even the best height at alpha {high:g} errs on more than {FAIL_ERROR}% of test images",
                  "pp above the failure line", f"best error over heights at alpha {high:g}: {best.mean():.2f}%")


def depth_errors(tables: RunTables, scheme: str, alpha: float = 0.01) -> pd.DataFrame:
    """Final error, rows = seeds, columns = height 0..H under ``scheme``."""
    columns = {0: tables.cell(DEPTH, f"depth:plain:h0:a{alpha:g}").test_error}
    height = 1
    while not (cell := tables.cell(DEPTH, f"depth:{scheme}:h{height}:a{alpha:g}")).empty:
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
        effect=float(late.mean()), ci=(low, high), effect_label=f"mean gain per level past height {SMALL_HEIGHT}, pp",
        ours=f"{scheme}: mean error by height " + ", ".join(f"{v:.2f}" for v in errors.mean().to_numpy()),
        n=len(gains),
        test=f"Page's trend test that the gains of levels 1..{SMALL_HEIGHT} fall, and TOST that the mean gain of the levels above is within +-{GAIN_MARGIN} pp",
        diffs=np.full(len(late), GAIN_MARGIN) - np.abs(late),
        table=[{"scheme": scheme, "height": int(h), "mean_error_pct": float(v)} for h, v in errors.mean().items()],
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
        diffs=weakest.diffs, table=[row for e in parts for row in e.table],
    )


def _report_depth() -> str:
    table = published("report_stacked_mlp")
    at = table[table.alpha_init == 0.01].set_index("height").test_error_pct
    return "[R], alpha 0.01, single seed, 10 epochs: " + ", ".join(f"h{h} {at[h]:.2f}%" for h in range(5)) + f" ... h20 {at[20]:.2f}%"


CLAIMS = [
    Claim("C1", "C", "[P] 3.3, Fig. 2a", "ResNet-20: in every (alpha, mu) cell the hyperoptimizer matches or beats the fixed baseline.",
          "e.g. (1.0, 0.99): about 19% vs 85% (read off Fig. 2a)", (RESNET_GRID,),
          "H1: over the 3x3 grid the hyperoptimizer is no worse than the baseline by more than 1 pp, and better in the cells where [P]'s baseline erred > 25%",
          evaluate_c1, figure="grid", headline=True),
    Claim("C2", "C", "[P] 3.4, Fig. 4", "The taller the stack, the less the final error depends on the initial alpha, on each benchmark whose towers ran.",
          "Fig. 4: curves flatten with height 0 -> 3 on each benchmark", (TOWERS,),
          f"H1: the mean excess of final error over the best initial alpha falls with height (Page's trend test), by more than {C2_MIN_DROP:.0%} from height 0 to 3", evaluate_c2, figure="sensitivity", headline=True),
    Claim("C3", "C", "[P] 3.4", "With a height-3 stack one design gives reasonable error across several decades of base alpha.",
          "ResNet-20: about 12.5..14.5% for alpha 1e-8..1", (TOWERS,),
          f"H1: worst height-3 error over alpha 1e-8..1 within {C3_MARGIN} pp of the best tuned plain SGD", evaluate_c3, figure="sensitivity", headline=True),
    Claim("C4", "C", "[P] 3.3, Fig. 3", "Char-LSTM: the hyperoptimizer is comparable at the expert alpha and improves bad starting alphas.",
          "perplexity 5.41 vs 5.27 (expert), 6.51 vs 8.71 (too low), 5.45 vs 5.77 (too high)", (LSTM,),
          "H1: lower perplexity at alpha 1e-4 and 1e-2, and within a factor 1.05 of the baseline at 2e-3", evaluate_c4, figure="lstm"),
    Claim("C5", "C", "[P] 5", "A base alpha far too high (MLP: 100) still fails at every height.", "stated as a limitation, no number", (TOWERS,),
          f"H1: at alpha 100 even the best height errs on more than {FAIL_ERROR}% of test images", evaluate_c5),
    Claim("D1", "D", "[R] 3.4", "Each added level improves less than the one before; past a small height the gain is indistinguishable from zero.",
          _report_depth(), (DEPTH,), f"H1: gains of levels 1..{SMALL_HEIGHT} fall, and the mean gain above is within +-{GAIN_MARGIN} pp",
          evaluate_d1, figure="depth", headline=True),
    Claim("D2", "D", "ours, on [R] 3.4", "D1 is not an artefact of [R]'s kappa_level = alpha/(100(1+level)): it holds under [P]'s scheme and equal kappa too.",
          "not published", (DEPTH,), "H1: D1's test passes under both other kappa schemes", evaluate_d2, figure="depth", headline=True),
]
