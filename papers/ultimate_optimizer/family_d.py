"""Family D: diminishing returns of taller stacks ([R] 3.4's towers on the MLP, under three kappa schemes),
and (ours, D3 / D4) very tall towers under a scale-free kappa rule, the reproduction's stated future work.

Margins are fixed here, before any run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.evidence import Comparison, all_of, comparison
from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.stats import bootstrap_ci, page_trend, smallest_page_p, t_test, tost_equivalence
from claims.verdict import Change, Claim, Evidence, NotRun
from papers.ultimate_optimizer.family_f import FAILED_ERROR, final_errors
from papers.ultimate_optimizer.preregistration import DECLARED, SEEDS_RAISED, scope_declared
from papers.ultimate_optimizer.published import published
from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.beyond import RELATIVE_STEP, TALL_HEIGHTS, TOP_HEIGHT, TOP_STEPS
from papers.ultimate_optimizer.studies.labels import MLP_DEPTH as DEPTH
from papers.ultimate_optimizer.studies.mlp import DEPTH_ALPHAS, DEPTH_SCHEMES, TOWER_ALPHAS
from training.hyper.stackspec import parse_stack

GAIN_MARGIN = 0.25  # pp: a total gain past the small height within +-this counts as no gain
INERT_CHANGE = 0.01  # D1/D2: levels whose tuned values all move by less than this (relative) over the run are inert
SMALL_HEIGHT = 3  # D1: past this height the gain should vanish
TALLEST = 20  # [R] 3.4: towers to height 20


def depth_cells(tables: RunTables, scheme: str, alpha: float) -> dict[int, pd.DataFrame]:
    """The runs of each height 0..H under ``scheme`` at base ``alpha`` (height 0: plain SGD), as far as the heights run."""
    cells = {0: tables.cell(DEPTH, labels.depth(labels.DEPTH_PLAIN, 0, alpha))}
    height = 1
    while not (cell := tables.cell(DEPTH, labels.depth(scheme, height, alpha))).empty:
        cells[height] = cell
        height += 1
    if len(cells) <= SMALL_HEIGHT + 1 or cells[0].empty:
        raise NotRun(f"depth study under the {scheme} scheme at alpha {alpha:g} needs heights 0..{SMALL_HEIGHT + 1} or more")
    return cells


def final_by_height(cells: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Final error, rows = seeds (those with every height), columns = the heights of ``cells``."""
    return pd.DataFrame({h: cell.test_error for h, cell in cells.items()}).dropna()


def depth_errors(tables: RunTables, scheme: str, alpha: float = 0.01) -> pd.DataFrame:
    """Final error, rows = seeds, columns = height 0..H under ``scheme``."""
    return final_by_height(depth_cells(tables, scheme, alpha))


def level_movement(tallest: pd.DataFrame) -> pd.Series:
    """Per seed, the largest relative change |final / initial - 1| of any learned hyperparameter of levels SMALL_HEIGHT..H-1 of
    the tallest tower: the levels that the levels past the small height tune (the top level's own values are fixed)."""
    moved = {}
    for seed, run in tallest.iterrows():
        levels = parse_stack(run.stack)
        changes = [abs(run[f"hp.{level}.{name}"] / value - 1.0) for level in range(SMALL_HEIGHT, len(levels) - 1)
                   for name, value in levels[level].values if f"hp.{level}.{name}" in run and value != 0 and np.isfinite(run[f"hp.{level}.{name}"])]
        moved[seed] = max(changes) if changes else 0.0
    return pd.Series(moved, dtype=float)


def diminishing_returns(errors: pd.DataFrame, scheme: str, alpha: float = 0.01, movement: np.ndarray | None = None) -> Evidence:
    """D1's test on one scheme and base alpha: ``errors`` [seeds, heights 0..H]; ``movement`` [seeds]: level_movement of the tallest.

    Support: the gains of levels 1..SMALL_HEIGHT fall (Page), and the total gain from height SMALL_HEIGHT to H is within
    +-GAIN_MARGIN (TOST), with the levels past the small height not inert (most seeds move a tuned value by INERT_CHANGE or more).
    Refutation: the early gains rise (Page), or the total late gain lies beyond the margin either way (one-sided t-tests).
    """
    gains = -errors.diff(axis=1).iloc[:, 1:].to_numpy(float)  # gain of level h = error(h-1) - error(h)
    early = gains[:, :SMALL_HEIGHT]
    late = errors[SMALL_HEIGHT].to_numpy(float) - errors[errors.columns.max()].to_numpy(float)  # total gain past the small height
    p_falling = page_trend(early, increasing=False) if len(early) >= 2 else 1.0
    p_rising = page_trend(early, increasing=True) if len(early) >= 2 else 1.0
    inert = movement is not None and np.mean(np.asarray(movement) < INERT_CHANGE) > 0.5
    p_zero = 1.0 if inert else tost_equivalence(late, GAIN_MARGIN)
    p_gain = min(t_test(late, "greater", GAIN_MARGIN), t_test(late, "less", -GAIN_MARGIN))
    low, high = bootstrap_ci(late)
    notes = [f"{scheme}, alpha {alpha:g}: the levels past height {SMALL_HEIGHT} are inert (in most seeds no value they tune moves by "
             f"{INERT_CHANGE:.0%}; median {np.median(movement):.2g}): no gain there is not diminishing returns, so it cannot support the claim"] if inert else []
    if p_rising < 0.05:  # say which way: gains that rise toward zero from below are levels that hurt less and less, not more and more gain
        notes.append(f"{scheme}, alpha {alpha:g}: the gains of levels 1..{SMALL_HEIGHT} rise (means "
                     + ", ".join(f"{g:+.2f}" for g in early.mean(axis=0)) + f" pp; Page's test p = {p_rising:.2g}), the opposite of diminishing returns"
                     + (": the first level hurts, and each level after it hurts less" if early.mean(axis=0)[0] < 0 else ""))
    return Evidence(
        p_support=max(p_falling, p_zero), p_refute=min(1.0, 2 * min(p_rising, p_gain)),
        effect=float(late.mean()), ci=(low, high),
        effect_label=f"total gain from height {SMALL_HEIGHT} to {errors.columns.max()}, pp (within +-{GAIN_MARGIN} pp counts as none)",
        ours=f"{scheme}, alpha {alpha:g}: mean error by height " + ", ".join(f"{v:.2f}" for v in errors.mean().to_numpy()),
        n=len(gains),
        test=f"Page's trend test that the gains of levels 1..{SMALL_HEIGHT} fall, and TOST that the total gain from height {SMALL_HEIGHT} to the "
             f"tallest is within +-{GAIN_MARGIN} pp, with those levels not inert; refuted if the early gains rise or the total late gain is beyond "
             "the margin (one-sided t-tests)",
        diffs=np.full(len(late), GAIN_MARGIN) - np.abs(late),
        table=[{"scheme": scheme, "alpha": alpha, "height": int(h), "mean_error_pct": float(v)} for h, v in errors.mean().items()],
        notes=notes, min_p=smallest_page_p(len(gains), SMALL_HEIGHT),
    )


def depth_alphas(tables: RunTables) -> tuple[float, ...]:
    """The base alphas the depth study trained (its plain cells)."""
    runs = tables.runs[(tables.runs.study == DEPTH)] if len(tables.runs) else tables.runs
    found = sorted({labels.depth_alpha(label) for label in runs.cell if labels.depth_scheme(label) == labels.DEPTH_PLAIN}) if len(runs) else []
    if not found:
        raise NotRun(f"no plain runs of {DEPTH}")
    return tuple(found)


def at_every_alpha(tables: RunTables, schemes: tuple[str, ...]) -> Evidence:
    """D1's test under each of ``schemes`` at every base alpha trained (intersection-union; refutation Bonferroni'd over the parts)."""
    parts = []
    for scheme in schemes:
        for alpha in depth_alphas(tables):
            cells = depth_cells(tables, scheme, alpha)
            errors = final_by_height(cells)
            parts.append(diminishing_returns(errors, scheme, alpha, level_movement(cells[max(cells)]).reindex(errors.index).to_numpy(float)))
    p_support, p_refute = max(e.p_support for e in parts), min(1.0, len(parts) * min(e.p_refute for e in parts))
    # the effect shown is the part that decides: the one furthest from support, or, when the refutation is the stronger
    # evidence, the one that refutes (the weakest part of a refuted claim is often an inert one, whose effect is 0)
    refuting = p_refute < p_support
    shown = min(parts, key=lambda e: e.p_refute) if refuting else max(parts, key=lambda e: e.p_support)
    return Evidence(
        p_support=p_support, p_refute=p_refute,
        effect=shown.effect, ci=shown.ci,
        effect_label=shown.effect_label + f" ({shown.ours.split(':')[0]}, {'the strongest against' if refuting else 'the weakest'})",
        ours="; ".join(e.ours for e in parts), n=min(e.n for e in parts),
        test=parts[0].test + f"; at every base alpha trained, under {', '.join(schemes)} (intersection-union over the {len(parts)} parts, "
                             "refutation Bonferroni'd over them)",
        diffs=shown.diffs, table=[row for e in parts for row in e.table], notes=[n for e in parts for n in e.notes],
        min_p=max(e.min_p for e in parts),
    )


def evaluate_d1(tables: RunTables) -> Evidence:
    return at_every_alpha(tables, ("reproduction",))


def evaluate_d2(tables: RunTables) -> Evidence:
    return at_every_alpha(tables, tuple(scheme for scheme in DEPTH_SCHEMES if scheme != "reproduction"))


def _report_depth() -> str:
    table = published("report_stacked_mlp")
    at = table[table.alpha_init == 0.01].set_index("height").test_error_pct
    return "[R], alpha 0.01, single seed, 10 epochs: " + ", ".join(f"h{h} {at[h]:.2f}%" for h in range(5)) + f" ... h20 {at[20]:.2f}%"


D_REPAIRED = Change("2026-12-03", f"decided at every base alpha the study trains (1e-4, 0.01 and 1 at paper; intersection-union, refutation "
                    f"Bonferroni'd), not at 0.01 alone; 'no further gain' bounds the total gain from height {SMALL_HEIGHT} to the tallest within "
                    f"+-{GAIN_MARGIN} pp (was: the mean gain per level), refuted by one-sided t-tests beyond it; levels past height {SMALL_HEIGHT} "
                    f"whose tuned values all move by less than {INERT_CHANGE:.0%} in most seeds are inert and cannot support the claim "
                    "(no protocol run of the depth study existed; reduced-scale runs at the cpu profile had)",
                    "[R] shows stacking hurting at alpha 1; a per-level average of +-0.25 pp over 17 levels allowed 4 pp in total; levels that "
                    "never move gain nothing for a reason that is not diminishing returns", runs_existed=True)
DEPTH_MINIMUM = Minimum((Requirement(DEPTH, "depth towers (batch 1024)", epochs=10,
                                     needs=tuple(labels.depth(scheme, TALLEST, alpha) for alpha in DEPTH_ALPHAS for scheme in DEPTH_SCHEMES)),),
                        "[R] 3.4")
WORDING = Change("2026-11-30", f"'indistinguishable from zero' -> 'within +-{GAIN_MARGIN} pp of zero' in the statement and the effect's label",
                 "a gain of 0.18 pp per level with an interval excluding zero is within the margin, not indistinguishable from zero",
                 runs_existed=True, kind="wording")

# D3 and D4 are a family of their own for Holm's correction: declared after D1 and D2 had runs, they must not move D1's and D2's thresholds
TALL_FAMILY = "D+"
D3_MARGIN = 0.5  # pp: a tall tower may end worse than height 3 by at most this
BASE_HEIGHT = 3  # D3 compares every taller tower with height 3 ([P]'s tallest)


def tall_errors(tables: RunTables, scheme: str, alpha: float) -> pd.DataFrame:
    """Final error (a failed run scores FAILED_ERROR), rows = seeds, columns = heights of ``scheme`` from BASE_HEIGHT up."""
    heights = [h for h in TALL_HEIGHTS if h >= BASE_HEIGHT and not tables.cell(labels.MLP_TALL, labels.tall(scheme, h, alpha)).empty]
    if len(heights) < 2:
        raise NotRun(f"{labels.MLP_TALL} has no towers taller than {BASE_HEIGHT} under the {scheme} scheme at alpha {alpha:g}")
    return final_errors(tables, labels.MLP_TALL, {h: labels.tall(scheme, h, alpha) for h in heights})


def tall_row(alpha: float, errors: np.ndarray) -> Comparison:
    """D3's comparison at one base alpha: ``errors`` [n seeds, heights], height BASE_HEIGHT first, the taller ones after."""
    worst = errors[:, 1:].max(axis=1) - errors[:, 0]
    return comparison(f"alpha {alpha:g}: {D3_MARGIN} pp - (worst taller tower - height {BASE_HEIGHT})", D3_MARGIN - worst,
                      height3=float(errors[:, 0].mean()), tallest=float(errors[:, -1].mean()))


D3_TEST = (f"per seed and base alpha, the worst final error over heights {BASE_HEIGHT + 1}..{max(TALL_HEIGHTS)} minus height {BASE_HEIGHT}'s "
           f"(a diverged run scores {FAILED_ERROR:g}%); one-sided sign-flip tests that it is below {D3_MARGIN} pp at every base alpha "
           "(intersection-union)")


def evaluate_d3(tables: RunTables) -> Evidence:
    rows, ours = [], []
    alphas = [a for a in TOWER_ALPHAS if not tables.cell(labels.MLP_TALL, labels.tall("relative", BASE_HEIGHT, a)).empty]
    if not alphas:
        raise NotRun(f"no runs of {labels.MLP_TALL} under the relative scheme")
    for alpha in alphas:
        errors = tall_errors(tables, "relative", alpha)
        rows.append(tall_row(alpha, errors.to_numpy(float)))
        ours.append(f"alpha {alpha:g}: h{BASE_HEIGHT} {errors[BASE_HEIGHT].mean():.2f}%, h{max(errors.columns)} {errors[max(errors.columns)].mean():.2f}%")
    return all_of(rows, D3_TEST, "pp of slack", "; ".join(ours))


def top_range(tables: RunTables, scheme: str) -> pd.Series:
    """Per seed: the range of final error over the top level's step sizes under ``scheme`` (a failed run scores FAILED_ERROR)."""
    errors = final_errors(tables, labels.MLP_TOP, {step: labels.top(scheme, step) for step in TOP_STEPS
                                                   if not tables.cell(labels.MLP_TOP, labels.top(scheme, step)).empty})
    if errors.shape[1] < 2:
        raise NotRun(f"{labels.MLP_TOP} needs two or more top step sizes under the {scheme} scheme")
    return errors.max(axis=1) - errors.min(axis=1)


def dependence_on_top(reproduction: np.ndarray, relative: np.ndarray) -> Evidence:
    """D4's test: per-seed ranges over the top step size, [R]'s rule and the relative rule ([n] each, same seeds, in order)."""
    row = comparison("range under [R]'s rule - range under the relative rule, pp", reproduction - relative)
    return all_of([row], f"per seed, the range of final error over the top level's step size {TOP_STEPS[0]:g}..{TOP_STEPS[-1]:g} at height {TOP_HEIGHT}; "
                  "a one-sided sign-flip test that it is smaller under the relative rule than under [R]'s", "pp",
                  f"range over the top step size: [R]'s rule {reproduction.mean():.2f} pp, relative rule {relative.mean():.2f} pp")


def evaluate_d4(tables: RunTables) -> Evidence:
    ranges = pd.DataFrame({scheme: top_range(tables, scheme) for scheme in ("reproduction", "relative")}).dropna()
    return dependence_on_top(ranges.reproduction.to_numpy(float), ranges.relative.to_numpy(float))


RELATIVE_RULE = Change("2026-11-30", f"first declared, before any of its runs: the relative rule (every hyper level relative(alpha={RELATIVE_STEP:g}), a step "
                       "that changes each target by a factor of about exp(+-alpha), normalised by the running RMS of its log-gradient), the studies "
                       f"and the margin {D3_MARGIN} pp",
                       "[R]'s future work: a kappa per level that needs no hand-tuned constants; a relative, normalised step is the same whatever the "
                       "target's scale, the loss's scale and the level, so one constant serves every level and base step size", runs_existed=False,
                       kind="declared")
TALL_MINIMUM = Minimum((Requirement(labels.MLP_TALL, "towers to height 50", epochs=30, needs=(labels.tall("relative", max(TALL_HEIGHTS), 0.01),)),),
                       "ours: [P] Fig. 4's protocol")
TOP_MINIMUM = Minimum((Requirement(labels.MLP_TOP, "top step sizes (batch 1024)", epochs=10),), "ours: [R] 3.4's protocol")

CLAIMS = [
    Claim("D1", "D", "[R] 3.4", f"Each added level improves less than the one before; past a small height the total further gain stays within +-{GAIN_MARGIN} pp of zero.",
          _report_depth(), (DEPTH,), f"H1: at every base alpha, gains of levels 1..{SMALL_HEIGHT} fall, and the total gain above is within +-{GAIN_MARGIN} pp "
          "with those levels not inert",
          evaluate_d1, figure="depth", headline=True, minimum=DEPTH_MINIMUM, history=(DECLARED, WORDING, scope_declared(False), SEEDS_RAISED, D_REPAIRED)),
    Claim("D2", "D", "ours, on [R] 3.4", "D1 is not an artefact of [R]'s kappa_level = alpha/(100(1+level)): it holds under [P]'s scheme and equal kappa too.",
          "not published", (DEPTH,), f"H1: D1's test (gains of levels 1..{SMALL_HEIGHT} fall; the total gain above within +-{GAIN_MARGIN} pp) passes under both "
          "other kappa schemes", evaluate_d2, figure="depth", headline=True, minimum=DEPTH_MINIMUM,
          history=(DECLARED, WORDING, scope_declared(False), SEEDS_RAISED, D_REPAIRED)),
    Claim("D3", TALL_FAMILY, "ours, on [R]'s future work", f"Under the relative rule, towers up to height {max(TALL_HEIGHTS)} do not diverge and end no worse than height "
          f"{BASE_HEIGHT} (within {D3_MARGIN} pp), at every base alpha of [P] Fig. 4's grid.", "not published", (labels.MLP_TALL,),
          f"H1: per seed and alpha, max over heights > {BASE_HEIGHT} of error - error at height {BASE_HEIGHT} < {D3_MARGIN} pp, at every alpha",
          evaluate_d3, figure="tall", headline=True, minimum=TALL_MINIMUM, history=(RELATIVE_RULE,)),
    Claim("D4", TALL_FAMILY, "ours, on [R]'s future work", "The relative rule's final error depends less on the top level's step size (six decades) than "
          "[R]'s rule's does.", "not published", (labels.MLP_TOP,), "H1: per seed, range over the top step size under [R]'s rule > under the relative rule",
          evaluate_d4, figure="top", minimum=TOP_MINIMUM, history=(RELATIVE_RULE,)),
]
