"""Family F and D3 / D4 on planted run tables: each decides what was planted, a failed run is charged, absent runs are NOT_RUN."""

import math

import numpy as np
import pytest
from support.tables import run_tables

from claims.verdict import ALPHA, NotRun
from papers.ultimate_optimizer.catalogue import evaluate
from papers.ultimate_optimizer.family_d import evaluate_d3, evaluate_d4
from papers.ultimate_optimizer.family_f import FAILED_ERROR, MIN_LEARNING, at_recommended, evaluate_f3, robustness
from papers.ultimate_optimizer.studies import build_study, labels
from papers.ultimate_optimizer.studies.beyond import COST_METHODS, HYPER, LRFREE_METHODS, TALL_HEIGHTS, TOP_STEPS
from papers.ultimate_optimizer.studies.mlp import TOWER_ALPHAS

SEEDS = 8


evaluate_f1, evaluate_f2 = robustness(labels.MLP_LRFREE), at_recommended(labels.MLP_LRFREE)


def lrfree_tables(rng, hyper_spread: float, method_spread: float, hyper_fails_at_top: bool = False, level: float = 2.0):
    rows = []
    for seed in range(SEEDS):
        for method, (_, grid, _) in {HYPER: (None, TOWER_ALPHAS, None), **LRFREE_METHODS}.items():
            spread = hyper_spread if method == HYPER else method_spread
            for i, value in enumerate(grid):
                failed = hyper_fails_at_top and method == HYPER and i == len(grid) - 1
                rows.append({"study": labels.MLP_LRFREE, "cell": labels.lrfree(method, value), "seed": seed, "run_id": f"{seed}{method}{i}",
                             "test_error": math.nan if failed else level + spread * i / (len(grid) - 1) + rng.normal(0, 0.1), "diverged": failed})
    return run_tables(rows)


def test_f1_and_f2_decide_what_was_planted():
    rng = np.random.default_rng(0)
    robust = lrfree_tables(rng, hyper_spread=1.0, method_spread=5.0)
    assert evaluate_f1(robust).p_support < ALPHA and evaluate_f2(robust).p_support < ALPHA
    fragile = lrfree_tables(rng, hyper_spread=1.0, method_spread=1.0, hyper_fails_at_top=True)
    evidence = evaluate_f1(fragile)
    assert evidence.p_refute < ALPHA and evidence.effect < -80  # the diverged run scored FAILED_ERROR, not left out
    assert FAILED_ERROR == 90.0


def test_f3_tests_step_time_ratios_over_seeds():
    """Timings are noisy: one seed above the bound does not refute a ratio that is below it on average (the old measurement did)."""
    rng = np.random.default_rng(3)
    times = {"sgd": 1.0, "adam": 1.2, HYPER: 1.3, "prodigy": 2.4, "dadapt_adam": 1.8, "dog": 1.5, "sgd_schedulefree": 1.6}
    rows = [{"study": labels.MLP_LRFREE_COST, "cell": labels.lrfree_cost(m), "seed": s, "run_id": f"{m}{s}",
             "step_time_ms": t * (1.2 if (m == HYPER and s == 0) else 1 + rng.normal(0, 0.01))} for m, t in times.items() for s in range(8)]
    assert set(times) == set(COST_METHODS)
    evidence = evaluate_f3(run_tables(rows))
    assert not evidence.measurement and evidence.p_support < ALPHA and np.exp(-evidence.effect) > 0  # seed 0: 1.04, above the bound


def tall_tables(rng, worse_at_50: float):
    rows = []
    for seed in range(SEEDS):
        for i, alpha in enumerate(TOWER_ALPHAS):
            for height in TALL_HEIGHTS:
                error = 5.0 + (worse_at_50 if height == 50 else 0.0) + rng.normal(0, 0.05)
                rows.append({"study": labels.MLP_TALL, "cell": labels.tall("relative", height, alpha), "seed": seed, "run_id": f"{seed}{i}{height}",
                             "test_error": error})
    return run_tables(rows)


def test_d3_decides_what_was_planted():
    rng = np.random.default_rng(1)
    assert evaluate_d3(tall_tables(rng, worse_at_50=-0.5)).p_support < ALPHA
    assert evaluate_d3(tall_tables(rng, worse_at_50=3.0)).p_refute < ALPHA


def test_d4_decides_what_was_planted_and_needs_both_rules():
    rng = np.random.default_rng(2)
    rows = [{"study": labels.MLP_TOP, "cell": labels.top(scheme, step), "seed": seed, "run_id": f"{seed}{scheme}{i}",
             "test_error": 5.0 + (20.0 * i if scheme == "reproduction" else 0.1 * i) + rng.normal(0, 0.1)}
            for seed in range(SEEDS) for scheme in ("reproduction", "relative") for i, step in enumerate(TOP_STEPS)]
    assert evaluate_d4(run_tables(rows)).p_support < ALPHA
    with pytest.raises(NotRun):
        evaluate_d4(run_tables([row for row in rows if row["cell"].startswith("top:reproduction")]))


def test_a_benchmark_where_nothing_was_learned_does_not_decide_f1_or_f2():
    near_chance = lrfree_tables(np.random.default_rng(4), hyper_spread=1.0, method_spread=5.0, level=MIN_LEARNING * FAILED_ERROR + 5)
    with pytest.raises(NotRun, match="nothing was learned"):
        evaluate_f1(near_chance)
    with pytest.raises(NotRun, match="nothing was learned"):
        evaluate_f2(near_chance)


@pytest.mark.parametrize("profile", ["cpu", "paper"])
def test_f_parts_can_reach_both_verdicts_with_their_seeds(profile):
    """Both floors: support (2^-n) and refutation (an intersection of four methods, Bonferroni'd: 4 x 2^-n) below Holm's first
    threshold in family F with every part decided (F1 and F2 on two benchmarks, F3)."""
    threshold = ALPHA / 5
    for study in (labels.MLP_LRFREE, labels.RESNET_LRFREE, labels.MLP_LRFREE_COST):
        n = build_study(study, profile).seeds
        rows = 1 if study == labels.MLP_LRFREE_COST else len(LRFREE_METHODS)
        assert 0.5 ** n < threshold and rows * 0.5 ** n < threshold, (study, n)


def test_without_their_studies_the_new_claims_are_not_run_and_say_how_to_train_them():
    verdicts = {v.claim.id: v for v in evaluate(run_tables([]), families=("D+", "F"))}
    assert set(verdicts) == {"D3", "D4", "F1", "F1[mlp]", "F1[resnet20]", "F2", "F2[mlp]", "F2[resnet20]", "F3"}
    assert all(v.verdict == "NOT_RUN" and ("-P beyond=true" in v.reason or v.claim.parts) for v in verdicts.values())
