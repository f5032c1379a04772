"""The decision rule, and its validity on simulated run tables (planted null, planted effect)."""

import numpy as np
import pytest
from support.tables import run_tables

from claims.catalogue import evaluate
from claims.evidence import paper_table1
from claims.verdict import (
    INCONCLUSIVE,
    NOT_RUN,
    REFUTED,
    SUPPORTED,
    Claim,
    Evidence,
    decide_family,
)
from training.studies.base import TOWER_HEIGHTS
from training.studies.mlp import TABLE1_PANELS, TOWER_ALPHAS
from training.tracking.runs import RunTables


def claim(cid):
    return Claim(cid, "X", "test", "a statement", "a number", ("s",), "H1", lambda t: None)


def evidence(p_support, p_refute, diffs=(1.0, 2.0, 3.0)):
    return Evidence(p_support, p_refute, 1.0, (0.5, 1.5), "pp", "ours", len(diffs), "a test", diffs=np.array(diffs))


def test_decision_rule_and_holm():
    verdicts = decide_family([
        (claim("X1"), evidence(0.001, 1.0), ""),
        (claim("X2"), evidence(0.9, 0.004), ""),
        (claim("X3"), evidence(0.04, 0.9, diffs=(0.1, 0.3, -0.1, 0.2)), ""),
        (claim("X4"), None, "needs a model we lack"),
    ])
    assert [v.verdict for v in verdicts] == [SUPPORTED, REFUTED, INCONCLUSIVE, NOT_RUN]
    assert verdicts[0].p_support_adjusted == pytest.approx(0.003)  # Holm over the 3 claims that ran
    assert "seeds would be needed" in verdicts[2].reason and verdicts[2].seeds_needed > 4
    assert verdicts[3].reason == "needs a model we lack"


def test_holm_can_turn_a_lone_success_inconclusive():
    alone = decide_family([(claim("X1"), evidence(0.03, 1.0), "")])
    crowded = decide_family([(claim("X1"), evidence(0.03, 1.0), ""), (claim("X2"), evidence(0.03, 1.0), "")])
    assert alone[0].verdict == SUPPORTED and crowded[0].verdict == INCONCLUSIVE


def table1_tables(rng, means: dict[str, float], sd: float, seeds: int) -> RunTables:
    rows = []
    for cell, mean in means.items():
        for seed in range(seeds):
            rows.append({"study": "mlp_table1", "cell": cell, "seed": seed, "config_hash": f"{cell}-{seed}",
                         "test_error": rng.normal(mean, sd), "diverged": False, "run_id": f"{cell}-{seed}"})
    return run_tables(rows)


def published_means() -> dict[str, float]:
    means = {}
    for panel, (_, stacks) in TABLE1_PANELS.items():
        table = paper_table1(panel)
        means[f"baseline:{panel}"] = float(table[table.kind == "baseline"].test_error_mean_pct.iloc[0])
        hyper = table[table.kind == "hyperopt"].test_error_mean_pct.to_numpy()
        means.update({f"stack:{panel}:{i}": float(hyper[i]) for i in range(len(stacks))})
    return means


def family_a_supported(tables: RunTables) -> dict[str, bool]:
    return {v.claim.id: v.verdict == SUPPORTED for v in evaluate(tables, families=("A",)) if v.claim.id in ("A1", "A2", "A3", "A4")}


def test_planted_null_is_rarely_supported():
    rng = np.random.default_rng(0)
    null = {cell: 5.0 for cell in published_means()}
    repetitions = 200
    hits = np.array([list(family_a_supported(table1_tables(rng, null, 0.3, 8)).values()) for _ in range(repetitions)])
    assert hits.mean(axis=0).max() <= 0.05


def test_planted_published_effect_is_found_at_the_cpu_seed_count():
    rng = np.random.default_rng(1)
    # noise of the size [P] reports between runs (their +- column is at most 0.47 pp)
    found = [family_a_supported(table1_tables(rng, published_means(), 0.3, 8)) for _ in range(50)]
    share = {cid: np.mean([f[cid] for f in found]) for cid in found[0]}
    assert share["A1"] > 0.9 and share["A2"] > 0.9  # SGD and Adam panels: every stack clearly ahead
    assert share["A3"] > 0.5  # AdaGrad: adagrad/sgd is only 0.5 pp ahead in [P]


def tower_tables(rng, spread_by_height: list[float], seeds: int) -> RunTables:
    rows = []
    for height, spread in zip(TOWER_HEIGHTS, spread_by_height):
        for i, alpha in enumerate(TOWER_ALPHAS):
            for seed in range(seeds):
                centre = 10.0 + spread * (i % 2)  # alternate alphas good and bad by `spread`
                rows.append({"study": "mlp_towers", "cell": f"tower:h{height}:a{alpha:g}", "seed": seed, "config_hash": f"{height}-{alpha}-{seed}",
                             "test_error": rng.normal(centre, 2.0), "diverged": False, "run_id": f"{height}-{alpha}-{seed}"})
    return run_tables(rows)


def c2_supported(tables: RunTables) -> bool:
    return next(v for v in evaluate(tables, families=("C",)) if v.claim.id == "C2").verdict == SUPPORTED


def test_c2_validity():
    rng = np.random.default_rng(2)
    null = np.mean([c2_supported(tower_tables(rng, [20.0] * 4, 6)) for _ in range(100)])
    # [P] Fig. 4c: the spread over alpha falls from about 77 pp at height 0 to about 2 pp at height 3
    planted = np.mean([c2_supported(tower_tables(rng, [77.0, 30.0, 8.0, 2.0], 6)) for _ in range(20)])
    assert null <= 0.05 and planted > 0.9
