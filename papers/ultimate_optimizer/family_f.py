"""Family F (ours, beyond the paper): is hyperoptimization still worth it against learning-rate-free optimizers?

[P]'s headline (robust to the initial hyperparameters) matters only if a hyperoptimized
SGD is at least as robust as the optimizers built for exactly that since 2023: Prodigy,
D-Adaptation's Adam, DoG and schedule-free SGD (their packages, ``training.baselines``).
Declared 2026-11-30, with margins, before any of its runs.

A diverged run, or one that ended without a finite error, scores ``FAILED_ERROR`` (chance
on ten classes): a method that fails at a setting is charged for it, not left out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from claims.evidence import all_of, comparison
from claims.parts import Part, split, through_parts
from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.verdict import Change, Claim, Evidence, NotRun
from papers.ultimate_optimizer.studies import BENCHMARK_REACH, labels
from papers.ultimate_optimizer.studies.beyond import ADAM_BASED_METHODS, COST_METHODS, HYPER, HYPER_RECOMMENDED, LRFREE_METHODS

FAILED_ERROR = 90.0  # % test error of guessing among ten classes: what a diverged run scores
F1_MARGIN = 2.0  # pp: the hyperoptimized SGD's spread over its grid may exceed a method's by at most this
F2_MARGIN = 0.5  # pp: at recommended settings, the hyperoptimized SGD may be worse than a method by at most this
F3_BOUND = 1.0  # the hyperoptimized SGD's step-time ratio over the cheapest learning-rate-free method's
MIN_LEARNING = 0.5  # a benchmark joins F1/F2 only if some method's mean final error is at most this share of chance


def final_errors(tables: RunTables, study: str, cells: dict[str, str]) -> pd.DataFrame:
    """Final test error, rows = seeds, columns = ``cells``' keys (``cells``: key -> label); a failed run scores FAILED_ERROR.

    Only seeds with a run in every cell are kept (the seed is the unit)."""
    columns = {}
    for key, label in cells.items():
        cell = tables.cell(study, label)
        if cell.empty:
            raise NotRun(f"no finished runs of {study}/{label}")
        error = cell.test_error.where(~cell.diverged & np.isfinite(cell.test_error), FAILED_ERROR)
        columns[key] = error.clip(upper=FAILED_ERROR)
    return pd.DataFrame(columns).dropna()


def grid_labels(tables: RunTables, study: str, method: str) -> dict[float, str]:
    """The swept values of ``method`` that ran in ``study``, value -> label."""
    values = {labels.lrfree_value(label, method): label for label in set(tables.runs[tables.runs.study == study].cell)}
    values.pop(None, None)
    if not values:
        raise NotRun(f"no runs of {method} in {study}")
    return dict(sorted(values.items()))


def spread(tables: RunTables, study: str, method: str) -> pd.Series:
    """Per seed: the range (max - min) of final error over the method's grid of initial values."""
    errors = final_errors(tables, study, grid_labels(tables, study, method))
    return errors.max(axis=1) - errors.min(axis=1)


def learned_something(tables: RunTables, study: str) -> None:
    """NotRun unless some method's mean final error on ``study`` is at most MIN_LEARNING x chance: a benchmark where every method
    is still near chance says nothing about robustness, and must not join an intersection."""
    runs = tables.runs[tables.runs.study == study]
    errors = runs.test_error.where(~runs.diverged & np.isfinite(runs.test_error), FAILED_ERROR)
    best = errors.groupby(runs.cell).mean().min() if len(runs) else FAILED_ERROR
    if not best <= MIN_LEARNING * FAILED_ERROR:
        raise NotRun(f"{study}: no method's mean final error is below {MIN_LEARNING * FAILED_ERROR:g}% (best {best:.1f}%): nothing was learned "
                     "to compare robustness on")


def robustness_rows(benchmark: str, hyper: np.ndarray, methods: dict[str, np.ndarray]) -> list:
    """F1's comparisons on one benchmark: per-seed ranges over the grid, ``hyper`` [n] and each method's [n] (same seeds, in order)."""
    return [comparison(f"{benchmark}: {method}'s spread - hyper's + {F1_MARGIN} pp", other - hyper + F1_MARGIN,
                       hyper_spread=float(hyper.mean()), method_spread=float(other.mean())) for method, other in methods.items()]


F1_TEST = (f"per seed, the range of final error over each method's grid (a failed run scores {FAILED_ERROR:g}%); one-sided sign-flip "
           f"tests that the hyperoptimized SGD's range exceeds no method's by more than {F1_MARGIN} pp (intersection-union over methods "
           "and benchmarks); refuted if it exceeds one by more than that")


def robustness(study: str) -> Callable[[RunTables], Evidence]:
    """F1 on one benchmark's study."""
    def evaluate(tables: RunTables) -> Evidence:
        learned_something(tables, study)
        spreads = pd.DataFrame({method: spread(tables, study, method) for method in (HYPER, *LRFREE_METHODS)}).dropna()
        rows = robustness_rows(study, spreads[HYPER].to_numpy(float), {m: spreads[m].to_numpy(float) for m in LRFREE_METHODS})
        return all_of(rows, F1_TEST, "pp of slack", f"{study}: spread of final error over the initial value: "
                      + ", ".join(f"{m} {v:.2f} pp" for m, v in spreads.mean().items()))
    return evaluate


def at_recommended(study: str) -> Callable[[RunTables], Evidence]:
    """F2 on one benchmark's study."""
    def evaluate(tables: RunTables) -> Evidence:
        learned_something(tables, study)
        rows, ours = [], []
        hyper_label = labels.lrfree(HYPER, _recommended_hyper(tables, study))
        for method, (_, _, recommended) in LRFREE_METHODS.items():
            errors = final_errors(tables, study, {"hyper": hyper_label, "method": labels.lrfree(method, recommended)})
            rows.append(comparison(f"{study}: {method} at its recommended {recommended:g} - hyper + {F2_MARGIN} pp",
                                   (errors.method - errors.hyper + F2_MARGIN).to_numpy(float),
                                   hyper_error=float(errors.hyper.mean()), method_error=float(errors.method.mean())))
            ours.append(f"{study}: {method} {errors.method.mean():.2f}% vs hyper {errors.hyper.mean():.2f}%")
        return all_of(rows, f"per seed, final error at each method's recommended setting (the hyperoptimized SGD from alpha {HYPER_RECOMMENDED:g}); "
                      f"one-sided sign-flip tests that the hyperoptimized SGD is worse than no method by more than {F2_MARGIN} pp "
                      "(intersection-union); refuted if worse than one by more than that", "pp of slack", "; ".join(ours))
    return evaluate


def _recommended_hyper(tables: RunTables, study: str) -> float:
    """[P]'s Table 1 step size where it is in the study's grid, else the grid's value nearest to it in decades."""
    grid = grid_labels(tables, study, HYPER)
    return min(grid, key=lambda alpha: abs(np.log10(alpha) - np.log10(HYPER_RECOMMENDED)))


def evaluate_f3(tables: RunTables) -> Evidence:
    """Per seed, the hyperoptimized SGD's step-time ratio to plain SGD over the cheapest learning-rate-free method's ratio to its
    own base (plain Adam for the Adam-based ones, plain SGD for the others); tested over seeds, as E2 is: timings are noisy."""
    times = step_times(tables)
    hyper = times[HYPER] / times["sgd"]
    ratios = pd.DataFrame({m: times[m] / times["adam" if m in ADAM_BASED_METHODS else "sgd"] for m in LRFREE_METHODS})
    values = (hyper / ratios.min(axis=1)).to_numpy(float)
    row = comparison(f"log {F3_BOUND:g} - log(hyper's ratio / the cheapest method's)", np.log(F3_BOUND) - np.log(values), ratio=float(np.exp(np.log(values).mean())))
    means = ratios.mean()
    evidence = all_of([row], f"one-sided sign-flip test over seeds that the ratio is below {F3_BOUND:g} (one epoch of each method alone, in "
                      "process, the cells of a seed back to back)", "log ratio of slack",
                      f"step time over its base: hyperoptimized SGD {hyper.mean():.2f}x SGD; " + ", ".join(f"{m} {v:.2f}x" for m, v in means.items()),
                      notes=["A measurement of this implementation on the machine that ran it: the packages run per seed in our loop, as published."])
    evidence.table += [{"seed": int(seed), "hyper_over_sgd": float(hyper.loc[seed]), **{f"{m}_over_base": float(ratios.loc[seed, m]) for m in ratios}}
                       for seed in times.index]
    return evidence


def step_times(tables: RunTables) -> pd.DataFrame:
    """Step time (ms) of the cost study, rows = seeds, columns = methods."""
    columns = {}
    for method in COST_METHODS:
        cell = tables.cell(labels.MLP_LRFREE_COST, labels.lrfree_cost(method))
        if cell.empty:
            raise NotRun(f"no step-time runs of {method}")
        columns[method] = cell.step_time_ms
    return pd.DataFrame(columns).dropna()


DECLARED_F = Change("2026-11-30", "first declared, with margins and studies, before any of its runs",
                    "issue #14: hyperoptimization against learning-rate-free optimizers", runs_existed=False, kind="declared")
RESNET_TOWER = Change("2026-12-01", "resnet_lrfree's hyperoptimized SGD is [P] Fig. 4's ResNet-20 tower of height 3 (plain SGD under "
                      "SGD levels with [P]'s kappas, as resnet_towers trains it); was the 3.3 grid's SGD with momentum 0.9 and weight decay "
                      "1e-4 under the same levels", "the first level then also learned mu with [P]'s MLP kappas, unbounded: every seed "
                      "diverged within 8 steps at base alpha 1e-4 and 1e-2 (alpha 0.01 -> 7.9 and mu -> 11.7 by step 6), a failure of "
                      "our cell definition, not of [P]'s tower; the old runs are left out as a redefined cell's", runs_existed=True,
                      kind="runs")
F_PARTS = Change("2026-12-03", f"F1 and F2 decided per benchmark (F1[mlp], F1[resnet20], ...; each part's rows Bonferroni'd over its four "
                 f"methods, not over every method of every benchmark); a benchmark joins only if some method's mean final error is at most "
                 f"{MIN_LEARNING:.0%} of chance; seeds raised so both verdicts can be reached (MLP 9 at cpu, 10 at paper; ResNet-20 9 and 10) (no protocol run of mlp_lrfree existed; reduced-scale runs "
                 "at the cpu profile had, results/cpu-beyond)",
                 "F2's refutation could not be reached: 8 rows x 2^-8 x Holm's 2 is above 0.05; a benchmark where every method is near "
                 "chance must not decide an intersection", runs_existed=True)
F3_TESTED = Change("2026-12-03", f"tested over seeds (one-sided sign-flip test that the ratio is below {F3_BOUND:g}, as E2) instead of a "
                   "measurement that needed every seed below the bound; seeds 7 at cpu, 8 at paper (no protocol run existed; cpu-profile "
                   "runs had, results/cpu-beyond)",
                   "timings are noisy: with 'every seed below the bound' more seeds made SUPPORTED less likely", runs_existed=True)
MLP_F = Minimum((Requirement(labels.MLP_LRFREE, "MLP, every method over its grid", epochs=30),), "ours: [P] Fig. 4's protocol")
RESNET_F = Minimum((Requirement(labels.RESNET_LRFREE, "ResNet-20, every method over its grid", epochs=200),), "ours: [P] Fig. 4's protocol")
COST_MINIMUM = Minimum((Requirement(labels.MLP_LRFREE_COST, "one epoch of each method", epochs=1),), "ours: a measurement")


def f_parts(evaluate: Callable[[str], Callable[[RunTables], Evidence]]) -> list[Part]:
    return [Part("mlp", (labels.MLP_LRFREE,), MLP_F, evaluate(labels.MLP_LRFREE)),
            Part("resnet20", (labels.RESNET_LRFREE,), RESNET_F, evaluate(labels.RESNET_LRFREE))]


CLAIMS = [
    *split(Claim("F1", "F", "ours", f"Over initial step sizes 1e-8..1e2, a height-3 hyperoptimized SGD's final error varies no more than each "
                 f"learning-rate-free method's over ten decades of its initial estimate (within {F1_MARGIN} pp).", "not published", (labels.MLP_LRFREE,),
                 f"H1: per seed, range(hyper) - range(method) < {F1_MARGIN} pp for Prodigy, D-Adapt Adam, DoG and schedule-free SGD, on each "
                 "benchmark", through_parts, figure="lrfree", headline=True, minimum=Minimum((), "ours: [P] Fig. 4's protocol"),
                 history=(DECLARED_F, RESNET_TOWER)), f_parts(robustness), F_PARTS, BENCHMARK_REACH),
    *split(Claim("F2", "F", "ours", f"At each method's recommended setting, a height-3 hyperoptimized SGD ends no worse than each learning-rate-free "
                 f"method (within {F2_MARGIN} pp).", "not published", (labels.MLP_LRFREE,),
                 f"H1: per seed, error(hyper) - error(method) < {F2_MARGIN} pp for every method, on each benchmark", through_parts, figure="lrfree",
                 minimum=Minimum((), "ours: [P] Fig. 4's protocol"), history=(DECLARED_F, RESNET_TOWER)), f_parts(at_recommended), F_PARTS, BENCHMARK_REACH),
    Claim("F3", "F", "ours", "Per step, a height-3 hyperoptimized SGD costs, relative to plain SGD, no more than the cheapest learning-rate-free method "
          "costs relative to its base optimizer.", "not published", (labels.MLP_LRFREE_COST,),
          f"H1: per seed, (hyper / SGD) / min over methods (method / its base) below {F3_BOUND:g} (one-sided sign-flip test)", evaluate_f3,
          minimum=COST_MINIMUM, history=(DECLARED_F, F3_TESTED)),
]
