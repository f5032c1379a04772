"""Claims declared over any runs (claims.declare.better): planted tables reach both verdicts, and the test keeps its
level at the least-favourable null (the mean paired difference exactly at the margin), on both sides."""

import numpy as np
import pytest
from support.tables import run_tables
from support.validity import limit, rates

from claims.declare import STUDY, better, check_key
from claims.engine import evaluate
from claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED


def planted(rng, gain: float, seeds: int = 8, spread: float = 0.3) -> list[dict]:
    """'new' ends ``gain`` below 'old' on metrics.loss, with a seed effect both cells share."""
    rows = []
    for seed in range(seeds):
        shared = rng.normal(0, 1)
        rows.append({"study": STUDY, "cell": "old", "seed": seed, "run_id": f"o{seed}", "metrics.loss": 5 + shared + rng.normal(0, spread)})
        rows.append({"study": STUDY, "cell": "new", "seed": seed, "run_id": f"n{seed}", "metrics.loss": 5 + shared - gain + rng.normal(0, spread)})
    return rows


CLAIM = better("X1", "new ends lower than old", "metrics.loss", "new", than="old", declared="2026-12-03")
WITH_MARGIN = better("X2", "new ends lower than old by more than 0.5", "metrics.loss", "new", than="old", margin=0.5, declared="2026-12-03")


@pytest.mark.parametrize(("gain", "verdict"), [(2.0, SUPPORTED), (-2.0, REFUTED), (0.0, INCONCLUSIVE)])
def test_planted_tables_reach_each_verdict(gain, verdict):
    (decided,) = evaluate([CLAIM], run_tables(planted(np.random.default_rng(1), gain)), ("H",))
    assert decided.verdict == verdict


def test_a_margin_moves_the_boundary_both_ways():
    """A gain of 2 beats a margin of 0.5; a gain of 0.1 falls significantly short of it: refuted, not merely undecided."""
    assert evaluate([WITH_MARGIN], run_tables(planted(np.random.default_rng(2), 2.0)), ("H",))[0].verdict == SUPPORTED
    assert evaluate([WITH_MARGIN], run_tables(planted(np.random.default_rng(2), 0.1, spread=0.05)), ("H",))[0].verdict == REFUTED


def test_higher_is_better_turns_the_difference():
    rows = [{**row, "metrics.loss": -row["metrics.loss"]} for row in planted(np.random.default_rng(3), 2.0)]
    flipped = better("X3", "new ends higher", "metrics.loss", "new", than="old", lower_is_better=False, declared="2026-12-03")
    assert evaluate([flipped], run_tables(rows), ("H",))[0].verdict == SUPPORTED


@pytest.mark.slow
@pytest.mark.parametrize("side", ["support", "refute"])
def test_level_at_the_margin(side):
    """At a true mean difference exactly equal to the margin, neither verdict comes more often than 5% plus two standard errors."""
    support, refute = rates(lambda rng: run_tables(planted(rng, 0.5)), WITH_MARGIN.evaluate, seed=4)
    assert (support if side == "support" else refute) <= limit()


def test_a_key_must_name_its_kind():
    assert check_key("metrics.loss") == "metrics.loss"
    with pytest.raises(ValueError, match="metrics.<name>"):
        better("X4", "bad", "loss", "new", than="old")
