"""Family C: robustness to the initial hyperparameters (MLP towers, ResNet-20 grid and towers, char-LSTM).

Margins are fixed here, before any run. C1 pools seeds x cells of the ResNet-20
grid into one paired test (a statement about the grid on average), with the
per-cell comparisons in the claim's table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from claims.evidence import Comparison, all_of, comparison, values
from claims.parts import Part, split, through_parts
from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.stats import bootstrap_ci, page_trend, sign_flip_test, smallest_p_value
from claims.verdict import Change, Claim, Evidence, NotRun
from papers.ultimate_optimizer.preregistration import (
    DECLARED,
    DECLARED_LARGE,
    NOT_TRAINED_BELOW_MINIMUM,
    SEED_AS_UNIT,
    SEEDS_FOR_PARTS,
    SEEDS_RAISED,
    scope_declared,
)
from papers.ultimate_optimizer.published import published
from papers.ultimate_optimizer.studies import BENCHMARK_REACH, labels
from papers.ultimate_optimizer.studies.labels import CHARLSTM_GRID as LSTM
from papers.ultimate_optimizer.studies.labels import CHARLSTM_TOWERS, RESNET_GRID, RESNET_TOWERS, TOWER_METRICS
from papers.ultimate_optimizer.studies.labels import MLP_TOWERS as TOWERS
from papers.ultimate_optimizer.studies.large import LSTM_ALPHAS, LSTM_PAPER_STEPS, RESNET_ALPHAS, RESNET_MUS
from papers.ultimate_optimizer.studies.towers import TOWER_HEIGHTS

# [P] Fig. 4 on each benchmark: the unit of its metric; the MLP's towers are required, the others join when run
TOWER_UNITS = {"test_error": "pp", "test_perplexity": "perplexity"}
MAX_GRID_ALPHA = 1.0  # spread is taken over base alphas up to 1; the MLP's alpha = 100 is C5's
C2_MIN_DROP = 0.2  # C2: the spread must fall by at least a fifth from height 0 to height 3 to matter
# "Reasonable" and "fails" are relative to what the same benchmark reaches (declared 2026-12-03 from [P] Fig. 4c, before any
# protocol run of the towers): [P] calls ResNet-20's 12.5..14.5% at height 3 reasonable where the best plain alpha reaches 13%,
# 1.12x (published_reasonable_ratio); in the same figure the cells that read as working are within 1.5x of the best alpha of
# their height (h2 at alpha 1: 21 vs 14%), those that read as failed 1.8..7x (h0 at alpha 1e-8: 90 vs 13%).
REASONABLE_RATIO = 1.25  # C3: worst height-3 metric within this factor of the best tuned plain optimizer's (1.12x in [P], plus reading error)
FAIL_RATIO = 2.0  # C5: "fails" = at least this factor above the best grid alpha's metric at the same height
C1_MARGIN_PP = 1.0  # C1: "matches" = no worse than the baseline by more than this many points of error
BAD_BASELINE_PCT = 25.0  # C1: cells where [P]'s own baseline erred above this are "bad settings" (Fig. 2a)
EXPERT_RATIO = 1.05  # C4: "comparable" = perplexities within 5% of each other
PERPLEXITY_ROLES = {1e-4: "too low", 2e-3: "expert", 1e-2: "too high"}


def tower_alphas(tables: RunTables, study: str) -> tuple[float, ...]:
    """The base alphas a tower study ran, read off its cell labels."""
    return tuple(sorted({labels.tower_alpha(label) for label in tables.runs[tables.runs.study == study].cell}))


def tower_errors(tables: RunTables, study: str = TOWERS) -> pd.DataFrame:
    """Final test metric, rows = seeds, columns = (height, alpha)."""
    runs = tables.runs[tables.runs.study == study]
    wide = runs.pivot(index="seed", columns="cell", values=TOWER_METRICS[study])  # one finished run per (seed, cell)
    columns = {}
    for height in TOWER_HEIGHTS:
        for alpha in tower_alphas(tables, study):
            label = labels.tower(height, alpha)
            if label not in wide:
                raise NotRun(f"no {study} runs at height {height}, alpha {alpha:g}")
            columns[(height, alpha)] = wide[label]
    return pd.DataFrame(columns).dropna()


def grid_of(errors: pd.DataFrame) -> tuple[float, ...]:
    return tuple(sorted({a for _, a in errors.columns if a <= MAX_GRID_ALPHA}))


def dependence_on_alpha(errors: pd.DataFrame) -> np.ndarray:
    """Mean excess of final error over a best alpha of the grid chosen without the seed itself, shape [seeds, heights].

    How much a user loses, on average over the grid, for not knowing the best alpha. The best
    alpha for seed s at height h is the one with the lowest mean error over the *other* seeds
    (leave-one-seed-out cross-fitting): a seed's own minimum over noisy alphas would be biased
    low, more where the curve is flat, and could fake a flattening.
    """
    grid = grid_of(errors)
    out = np.zeros((len(errors), len(TOWER_HEIGHTS)))
    for j, h in enumerate(TOWER_HEIGHTS):
        values_h = errors[[(h, a) for a in grid]].to_numpy(float)  # [seeds, alphas]
        for s in range(len(values_h)):
            others = np.delete(values_h, s, axis=0).mean(axis=0)
            out[s, j] = (values_h[s] - values_h[s, int(np.argmin(others))]).mean()
    return out


def range_by_height(errors: pd.DataFrame) -> np.ndarray:
    """Range (max - min) of final error across the grid, shape [seeds, heights]: C2's statistic as first declared, reported beside it."""
    grid = grid_of(errors)
    by_height = [errors[[(h, a) for a in grid]].to_numpy(float) for h in TOWER_HEIGHTS]
    return np.stack([values.max(axis=1) - values.min(axis=1) for values in by_height], axis=1)


def flattening(tables: RunTables, study: str) -> Evidence:
    """C2's test on one benchmark's towers."""
    errors = tower_errors(tables, study)
    unit = TOWER_UNITS[TOWER_METRICS[study]]
    grid = grid_of(errors)
    if len(errors) < 2:
        raise NotRun(f"C2 needs at least two seeds of {study} (the best alpha is chosen from the other seeds)")
    spreads = dependence_on_alpha(errors)
    drop = spreads[:, 0] - spreads[:, -1]
    # a trend alone could be a fraction of a point: to support the claim the drop must also reach C2_MIN_DROP of the height-0 value
    beyond = drop - C2_MIN_DROP * spreads[:, 0]
    low, high = bootstrap_ci(drop)
    means, ranges = spreads.mean(axis=0), range_by_height(errors)
    return Evidence(
        p_support=max(page_trend(spreads, increasing=False), sign_flip_test(beyond, "greater")),
        p_refute=page_trend(spreads, increasing=True),
        effect=float(drop.mean()), ci=(low, high), effect_label=f"{study}: mean excess over the best alpha, height 0 minus height 3, {unit}",
        ours=f"{study}: mean excess over the best alpha " + ", ".join(f"h{h}: {m:.3g} {unit}" for h, m in zip(TOWER_HEIGHTS, means)),
        n=len(spreads),
        test=f"Page's L trend test (seeds as blocks) that the mean excess of the final test metric over the best alpha in {', '.join(f'{a:g}' for a in grid)} "
             "(chosen from the other seeds) falls with height 0..3, and a one-sided sign-flip test that it falls by more than "
             f"{C2_MIN_DROP:.0%} of its height-0 value; refuted only if it rises with height (a real but smaller flattening is inconclusive)",
        diffs=beyond,
        table=[{"study": study, "height": h, f"mean_excess_{unit}": float(m), f"range_{unit}": float(r)} for h, m, r in zip(TOWER_HEIGHTS, means, ranges.mean(axis=0))],
        notes=[f"{study}: the statistic as first declared, the range of final error across the alphas, by height "
               + ", ".join(f"h{h} {r:.3g}" for h, r in zip(TOWER_HEIGHTS, ranges.mean(axis=0)))
               + f" {unit}; Page's p that it falls {page_trend(ranges, increasing=False):.3g} (reported, not decided on)"],
        min_p=smallest_p_value(len(spreads)),
    )


def best_alpha_elsewhere(errors: pd.DataFrame, height: int, grid: tuple[float, ...]) -> np.ndarray:
    """Per seed, the error at ``height`` of the grid alpha with the lowest mean error over the *other* seeds, shape [seeds]
    (cross-fitted as in C2: a seed's own minimum over noisy alphas is biased low)."""
    values_h = errors[[(height, a) for a in grid]].to_numpy(float)
    return np.array([values_h[s, int(np.argmin(np.delete(values_h, s, axis=0).mean(axis=0)))] for s in range(len(values_h))])


def reasonable_row(study: str, errors: pd.DataFrame) -> Comparison:
    """C3 on one benchmark: per seed, log REASONABLE_RATIO - log(worst height-3 metric over the grid / best tuned plain metric)."""
    grid, top = grid_of(errors), max(TOWER_HEIGHTS)
    worst_top = errors[[(top, a) for a in grid]].max(axis=1).to_numpy(float)
    best_plain = best_alpha_elsewhere(errors, 0, grid)
    return comparison(f"{study}: log {REASONABLE_RATIO} - log(worst height-{top} over alpha {grid[0]:g}..{grid[-1]:g} / best tuned plain)",
                      np.log(REASONABLE_RATIO) - np.log(worst_top / best_plain), worst=float(worst_top.mean()), best=float(best_plain.mean()))


def reasonable_everywhere(study: str) -> Callable[[RunTables], Evidence]:
    """C3's evaluation on one benchmark's towers."""
    def evaluate(tables: RunTables) -> Evidence:
        errors = tower_errors(tables, study)
        if len(errors) < 2:
            raise NotRun(f"C3 needs at least two seeds of {study} (the best plain alpha is chosen from the other seeds)")
        row = reasonable_row(study, errors)
        return all_of([row], f"one-sided sign-flip test over seeds: across the base alphas the worst height-3 {TOWER_METRICS[study]} stays within "
                      f"{REASONABLE_RATIO}x the best tuned plain optimizer's (its alpha chosen from the other seeds)", "log ratio of slack",
                      f"{study}: worst height-3 {row.extra['worst']:.2f}, best tuned plain {row.extra['best']:.2f}")
    return evaluate


def failure_row(errors: pd.DataFrame) -> Comparison:
    """C5: per seed, min over heights of log(error at alpha 100 / error of the best grid alpha at that height) - log FAIL_RATIO."""
    grid, high = grid_of(errors), max(a for _, a in errors.columns)
    if high <= MAX_GRID_ALPHA:
        raise NotRun(f"C5 needs towers at a base alpha above {MAX_GRID_ALPHA:g} (the MLP's 100); none have finished")
    ratios = np.stack([errors[(h, high)].to_numpy(float) / best_alpha_elsewhere(errors, h, grid) for h in TOWER_HEIGHTS], axis=1)
    best = ratios.min(axis=1)
    return comparison(f"min over heights of log(error at alpha {high:g} / best grid alpha's at that height) - log {FAIL_RATIO}",
                      np.log(best) - np.log(FAIL_RATIO), ratio=float(np.exp(np.log(best).mean())))


def evaluate_c5(tables: RunTables) -> Evidence:
    errors = tower_errors(tables)
    if len(errors) < 2:
        raise NotRun("C5 needs at least two seeds of the MLP towers (the best alpha is chosen from the other seeds)")
    row, high = failure_row(errors), max(a for _, a in errors.columns)
    best = errors[[(h, high) for h in TOWER_HEIGHTS]].min(axis=1)
    return all_of([row], f"one-sided sign-flip test over seeds that at alpha {high:g} even the best height errs at least {FAIL_RATIO}x as often as "
                  "the best base alpha of the grid at the same height (chosen from the other seeds)", "log ratio above the failure line",
                  f"best error over heights at alpha {high:g}: {best.mean():.2f}%, {row.extra['ratio']:.2f}x the best alpha's (geometric mean)")


def published_reasonable_ratio() -> float:
    """[P] Fig. 4c (ResNet-20, read by eye): worst height-3 error over alpha 1e-8..1 / best plain error over the same alphas."""
    table = published("paper_fig4c_resnet20_stacks_APPROX")
    grid = table[table.log10_alpha <= 0]
    return float(grid.h3_test_error_pct.max() / grid.h0_test_error_pct.min())


def bad_cells() -> list[tuple[float, float]]:
    """Grid cells whose baseline [P] found bad (Fig. 2a, read off the figure): declared by the paper, not by our runs."""
    table = published("paper_resnet20_grid_APPROX")
    bad = table[table.baseline_test_error_pct > BAD_BASELINE_PCT]
    return [(float(a), float(m)) for a, m in zip(bad.alpha_init, bad.mu_init)]


def grid_differences(tables: RunTables) -> pd.DataFrame:
    """Baseline error - hyperoptimized error, rows = seeds, columns = (alpha, mu) cells (positive = hyperoptimizer better)."""
    columns = {}
    for alpha in RESNET_ALPHAS:
        for mu in RESNET_MUS:
            columns[(alpha, mu)] = values(tables, RESNET_GRID, labels.grid("baseline", alpha, mu)) - values(tables, RESNET_GRID, labels.grid("hyper", alpha, mu))
    return pd.DataFrame(columns).dropna()


def evaluate_c1(tables: RunTables) -> Evidence:
    """Per seed: the mean over the grid's cells, and over [P]'s bad cells, of (baseline - hyper); the seed is the unit."""
    diffs = grid_differences(tables)
    bad = bad_cells()
    rows = [
        comparison(f"per seed, mean over the 9 cells of baseline - hyper + {C1_MARGIN_PP} pp", diffs.mean(axis=1).to_numpy() + C1_MARGIN_PP),
        comparison(f"per seed, mean over the cells where [P]'s baseline erred > {BAD_BASELINE_PCT:.0f}% ({', '.join(f'{a:g}/{m:g}' for a, m in bad)}): "
                   "baseline - hyper", diffs[bad].mean(axis=1).to_numpy()),
    ]
    table = [{"alpha": a, "mu": m, "mean_baseline_minus_hyper_pp": float(diffs[(a, m)].mean()), "n": len(diffs)} for a, m in diffs.columns]
    evidence = all_of(rows, "one-sided sign-flip tests over seeds of each seed's mean over cells (intersection-union): the hyperoptimizer is no worse "
                      f"than the baseline by more than {C1_MARGIN_PP} pp over the grid, and better in [P]'s bad cells", "pp",
                      f"baseline - hyper, mean over the grid {diffs.to_numpy().mean():.2f} pp, in the bad cells {diffs[bad].to_numpy().mean():.2f} pp")
    evidence.table += table
    return evidence


def evaluate_c4(tables: RunTables) -> Evidence:
    """Lower perplexity at the bad alphas, and non-inferiority at the expert alpha (being better there is no refutation)."""
    ratios = {}
    for alpha in LSTM_ALPHAS:
        ratio = np.log(values(tables, LSTM, labels.lstm("baseline", alpha), "test_perplexity") / values(tables, LSTM, labels.lstm("hyper", alpha), "test_perplexity"))
        ratios[alpha] = ratio.dropna().to_numpy(float)  # positive = the hyperoptimizer predicts better
    margin = np.log(EXPERT_RATIO)
    low, expert, high = LSTM_ALPHAS
    rows = [comparison(f"{PERPLEXITY_ROLES[a]} alpha {a:g}: log(baseline / hyper perplexity)", ratios[a]) for a in (low, high)]
    rows.append(comparison(f"expert alpha {expert:g}: log(baseline / hyper perplexity) > -log {EXPERT_RATIO} (non-inferiority)", ratios[expert], shift=-margin))
    means = {PERPLEXITY_ROLES[a]: float(np.exp(r.mean())) for a, r in ratios.items()}
    return all_of(rows, f"one-sided sign-flip tests over seeds (intersection-union) that the hyperoptimizer lowers perplexity at alpha {low:g} and {high:g}, "
                  f"and is no worse than the baseline by more than a factor {EXPERT_RATIO} at the expert alpha {expert:g}", "log perplexity ratio",
                  "baseline / hyper perplexity (geometric mean over seeds): " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()))


def _published_c1() -> tuple[float, float]:
    """[P] Fig. 2a, read off the figure: (mean over the grid of baseline - hyper + margin, mean over the bad cells)."""
    table = published("paper_resnet20_grid_APPROX")
    gain = table.baseline_test_error_pct - table.hyperopt_test_error_pct
    return float(gain.mean() + C1_MARGIN_PP), float(gain[table.baseline_test_error_pct > BAD_BASELINE_PCT].mean())


def _published_c4() -> float:
    """[P] Fig. 3's weakest comparison, above its decision threshold."""
    table = published("paper_charrnn").set_index("role")
    ratio = np.log(table.perplexity_baseline_mean / table.perplexity_hyperopt_mean)
    return float(min(ratio["too_low"], ratio["too_high"], ratio["expert"] + np.log(EXPERT_RATIO)))


C2_2026_11_27 = Change("2026-11-27", f"statistic: the range of final error across alphas -> the mean excess over the best alpha; a smallest effect of "
                       f"{C2_MIN_DROP:.0%} of the height-0 value added", "one decade that no height rescues swamped the range", runs_existed=True)
C2_2026_11_30 = Change("2026-11-30", "refuted on direction only (it was also refuted by a flattening smaller than the margin); the best alpha "
                       "chosen by leave-one-seed-out cross-fitting (was: each seed's own minimum); the first statistic reported beside it",
                       "a real but small flattening must be inconclusive, not refuted; a seed's own minimum over noisy alphas can fake a flattening",
                       runs_existed=True)
C4_CHANGE = Change("2026-11-30", f"expert alpha: non-inferiority (no worse than a factor {EXPERT_RATIO}) instead of two-sided equivalence",
                   "being better at the expert alpha refuted 'comparable'", runs_existed=True)
PER_BENCHMARK = Change("2026-12-03", "decided per benchmark: one sub-verdict per benchmark it names (C2[mlp], C2[resnet20], ...), each with its "
                      "own minimum protocol and scope; the claim as a whole only once every benchmark has run (no protocol run of any tower study "
                      "existed; reduced-scale MLP towers had run at the cpu profile)",
                      "an MLP-only run was labelled scope protocol for a claim about each benchmark", runs_existed=True, kind="runs")
C3_RELATIVE = Change("2026-12-03", f"'reasonable' = the worst height-3 metric over the grid within {REASONABLE_RATIO}x the best tuned plain optimizer's "
                     f"on the same benchmark (its alpha chosen from the other seeds); was: within 5 pp of the best plain SGD, an absolute margin "
                     "(no protocol run of any tower study existed)",
                     "[P] calls ResNet-20's 12.5..14.5% reasonable beside a best plain 13% (1.12x, Fig. 4c): a margin must scale with what the "
                     "benchmark reaches, and 5 pp is generous on MNIST (2-3%) and tight on ResNet-20", runs_existed=True)
C5_RELATIVE = Change("2026-12-03", f"'fails' = at least {FAIL_RATIO}x the error of the best base alpha of the grid at the same height (chosen from the "
                     "other seeds), at every height; was: above 50% error (no protocol run of the MLP towers existed)",
                     "an MNIST MLP at 40% error has failed beside the 2-5% good settings reach; [P] Fig. 4c's failed cells are 1.8..7x their "
                     "height's best, its working ones within 1.5x", runs_existed=True)
TOWERS_30 = Requirement(TOWERS, "MLP towers", epochs=30)
RESNET_TOWERS_200 = Requirement(RESNET_TOWERS, "ResNet-20 towers", epochs=200)
CHARLSTM_TOWERS_STEPS = Requirement(CHARLSTM_TOWERS, "char-LSTM towers", steps=LSTM_PAPER_STEPS)
TOWER_REQUIREMENTS = {TOWERS: ("mlp", TOWERS_30), RESNET_TOWERS: ("resnet20", RESNET_TOWERS_200), CHARLSTM_TOWERS: ("charlstm", CHARLSTM_TOWERS_STEPS)}


def tower_parts(studies: tuple[str, ...], evaluate: Callable[[str], Callable[[RunTables], Evidence]], duration: bool, source: str) -> list[Part]:
    """One part per benchmark's tower study: ``evaluate(study)`` is its evaluation."""
    return [Part(TOWER_REQUIREMENTS[study][0], (study,), Minimum((TOWER_REQUIREMENTS[study][1],), source, duration), evaluate(study))
            for study in studies]


def flattening_of(study: str) -> Callable[[RunTables], Evidence]:
    return lambda tables: flattening(tables, study)


CLAIMS = [
    Claim("C1", "C", "[P] 3.3, Fig. 2a", "ResNet-20: in every (alpha, mu) cell the hyperoptimizer matches or beats the fixed baseline.",
          "e.g. (1.0, 0.99): about 19% vs 85% (read off Fig. 2a)", (RESNET_GRID,),
          "H1: per seed, over the 3x3 grid the hyperoptimizer is no worse than the baseline by more than 1 pp, and better in the cells where "
          "[P]'s baseline erred > 25%", evaluate_c1, figure="grid", headline=True,
          minimum=Minimum((Requirement(RESNET_GRID, "ResNet-20 grid", epochs=200),), "[P] Fig. 2a"),
          history=(DECLARED_LARGE, SEED_AS_UNIT, scope_declared(False), SEEDS_RAISED, SEEDS_FOR_PARTS), published_effect=min(_published_c1())),
    *split(Claim("C2", "C", "[P] 3.4, Fig. 4", "The taller the stack, the less the final error depends on the initial alpha, on each benchmark.",
                 "Fig. 4: curves flatten with height 0 -> 3 on each benchmark", (TOWERS,),
                 f"H1: the mean excess of final error over the best initial alpha (chosen from the other seeds) falls with height (Page's trend test), "
                 f"by more than {C2_MIN_DROP:.0%} from height 0 to 3; refuted only if it rises", through_parts, figure="sensitivity", headline=True,
                 minimum=Minimum((), "[P] Fig. 4"), history=(DECLARED, C2_2026_11_27, C2_2026_11_30, scope_declared(False), SEEDS_RAISED, SEEDS_FOR_PARTS)),
           tower_parts((TOWERS, RESNET_TOWERS, CHARLSTM_TOWERS), flattening_of, False, "[P] Fig. 4"), PER_BENCHMARK, BENCHMARK_REACH),
    *split(Claim("C3", "C", "[P] 3.4", "With a height-3 stack one design gives reasonable error across several decades of base alpha.",
                 "ResNet-20: about 12.5..14.5% for alpha 1e-8..1, beside a best plain 13% (read off Fig. 4c)", (TOWERS,),
                 f"H1: on each benchmark, the worst height-3 metric over alpha 1e-8..1 within {REASONABLE_RATIO}x the best tuned plain optimizer's",
                 through_parts, figure="sensitivity", headline=True, minimum=Minimum((), "[P] Fig. 4", duration=True),
                 history=(DECLARED, scope_declared(True), SEEDS_RAISED, C3_RELATIVE, SEEDS_FOR_PARTS)),
           tower_parts((TOWERS, RESNET_TOWERS), reasonable_everywhere, True, "[P] Fig. 4"), PER_BENCHMARK, BENCHMARK_REACH),
    Claim("C4", "C", "[P] 3.3, Fig. 3", "Char-LSTM: the hyperoptimizer is comparable at the expert alpha and improves bad starting alphas.",
          "perplexity 5.41 vs 5.27 (expert), 6.51 vs 8.71 (too low), 5.45 vs 5.77 (too high)", (LSTM,),
          f"H1: lower perplexity at alpha 1e-4 and 1e-2, and no worse than a factor {EXPERT_RATIO} of the baseline at 2e-3 (non-inferiority)",
          evaluate_c4, figure="lstm", minimum=Minimum((Requirement(LSTM, "char-LSTM grid", steps=LSTM_PAPER_STEPS),), "[P] Fig. 3", duration=True),
          history=(DECLARED_LARGE, C4_CHANGE, scope_declared(True), SEEDS_RAISED, NOT_TRAINED_BELOW_MINIMUM), published_effect=_published_c4()),
    Claim("C5", "C", "[P] 5", "A base alpha far too high (MLP: 100) still fails at every height.", "stated as a limitation, no number", (TOWERS,),
          f"H1: at alpha 100 even the best height errs at least {FAIL_RATIO}x as often as the best base alpha at the same height", evaluate_c5,
          minimum=Minimum((TOWERS_30,), "[P] Fig. 4"), history=(DECLARED, scope_declared(False), SEEDS_RAISED, C5_RELATIVE)),
]
