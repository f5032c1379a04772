"""[H]'s claims decided here (families B and C, by task): planted runs reach SUPPORTED and REFUTED with the seeds the
studies train (10), and each test keeps its level at its least-favourable null; the paper's job at smoke end to end."""

import numpy as np
import pandas as pd
import pytest
from support.tables import run_tables
from support.validity import limit, rates, without_intervals

from claims.engine import evaluate
from claims.runs import RunTables
from claims.scope import Minimum, assess
from claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from papers.hd2018.catalogue import CATALOGUE
from papers.hd2018.fidelity import rows
from papers.hd2018.studies import ADAM, ADAM_HD, ALPHA_0, HR_LOGREG, HR_SEEDS, HR_STEPS, LOGREG, SEEDS, SGD, SGD_HD, SGDN, SGDN_HD, grid_label

SEEDS_AT_PROTOCOL = SEEDS.at("paper")
EPOCHS, STEPS = 10, 50  # steps per epoch of the planted runs; alpha sampled every 10 steps as the training loop does
CLAIMS = {claim.id: claim for claim in CATALOGUE}


def tables(losses: dict[str, np.ndarray], alphas: dict[str, np.ndarray] | None = None) -> RunTables:
    """Runs of the logistic-regression study: ``losses[cell]`` [seeds, epochs] training loss by epoch (NaN: diverged from
    there), ``alphas[cell]`` [seeds, samples] the sampled alpha (steps 0, 10, ..., EPOCHS * STEPS)."""
    rows, histories = [], {}
    for cell, values in losses.items():
        for seed, curve in enumerate(values):
            run_id = f"{cell}-{seed}"
            rows.append({"study": LOGREG, "cell": cell, "seed": seed, "run_id": run_id, "epochs": EPOCHS, "steps_per_epoch": STEPS,
                         "diverged": bool(np.isnan(curve).any())})
            histories[(run_id, "train_loss")] = pd.Series(curve, index=range(1, EPOCHS + 1)).dropna()
            if alphas and cell in alphas:
                histories[(run_id, "hp.0.alpha")] = pd.Series(alphas[cell][seed], index=range(0, EPOCHS * STEPS + 1, 10))
    frame = run_tables(rows).runs
    return RunTables(frame, {}, lambda run_ids, key: {r: histories[(r, key)] for r in run_ids if (r, key) in histories})


def curves(rng, gain_by_epoch, seeds: int = SEEDS_AT_PROTOCOL, spread: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(base, HD) training losses [seeds, epochs]: HD below the base by ``gain_by_epoch`` [epochs], plus per-seed noise."""
    base = 0.3 + rng.normal(0, 0.02, (seeds, 1)) + 0.5 / np.arange(1, EPOCHS + 1)
    return base, base - np.asarray(gain_by_epoch, float) + rng.normal(0, spread, (seeds, EPOCHS))


def decided(claim_id: str, table: RunTables) -> str:
    return evaluate([CLAIMS[claim_id]], table, ("B", "C"))[0].verdict


@pytest.mark.parametrize(("gain", "verdict"), [(0.05, SUPPORTED), (-0.05, REFUTED), (0.0, INCONCLUSIVE)])
def test_b1_sgd_hd_below_sgd_in_every_epoch(gain, verdict):
    base, hd = curves(np.random.default_rng(1), [gain] * EPOCHS)
    assert decided("B1[logreg]", tables({SGD: base, SGD_HD: hd})) == verdict


def test_b1_a_diverged_hd_run_counts_against_it():
    base, hd = curves(np.random.default_rng(2), [0.05] * EPOCHS)
    hd[:, 3:] = np.nan  # every seed diverged in its fourth epoch: from then on it scores ln 10
    assert decided("B1[logreg]", tables({SGD: base, SGD_HD: hd})) == REFUTED


@pytest.mark.parametrize(("difference", "verdict"), [(0.0005, SUPPORTED), (0.02, REFUTED), (0.005, INCONCLUSIVE)])
def test_b3_adam_hd_as_low_as_adam(difference, verdict):
    base, hd = curves(np.random.default_rng(3), [-difference] * EPOCHS, spread=0.0005)
    assert decided("B3[logreg]", tables({ADAM: base, ADAM_HD: hd})) == verdict


@pytest.mark.parametrize(("excess", "verdict"), [(-0.2, SUPPORTED), (0.3, REFUTED), (0.1, INCONCLUSIVE)])
def test_b2_sgdn_hd_no_worse_than_sgdn(excess, verdict):
    """SGDN-HD's final loss planted at (1 + excess) x SGDN's, seed by seed, with 2% noise: below the 10% margin supports,
    far above it refutes, at it decides nothing."""
    base, _ = curves(np.random.default_rng(16), [0.0] * EPOCHS)
    hd = base * (1 + excess) * (1 + np.random.default_rng(17).normal(0, 0.02, base.shape))
    assert decided("B2[logreg]", tables({SGDN: base, SGDN_HD: hd})) == verdict


def alpha_paths(rng, first_ratio: float, last_ratio: float, negative_share: float = 0.0, seeds: int = SEEDS_AT_PROTOCOL) -> np.ndarray:
    """Sampled alpha [seeds, samples]: the first epoch's samples average ``first_ratio`` x alpha_0 and the last epoch's
    ``last_ratio`` x alpha_0 (each seed jittered); ``negative_share`` of the samples after step 0 set below zero."""
    samples = EPOCHS * STEPS // 10 + 1
    per_epoch = STEPS // 10
    paths = np.empty((seeds, samples))
    for seed in range(seeds):
        ratios = np.linspace(first_ratio, last_ratio, EPOCHS) * np.exp(rng.normal(0, 0.05))
        paths[seed, 0] = ALPHA_0
        paths[seed, 1:] = np.repeat(ratios * ALPHA_0, per_epoch)
        negative = rng.choice(np.arange(1, samples), int(round(negative_share * (samples - 1))), replace=False)
        paths[seed, negative] = -ALPHA_0 * 0.01
    return paths


def trajectory_tables(paths: np.ndarray) -> RunTables:
    base, hd = curves(np.random.default_rng(0), [0.0] * EPOCHS)
    return tables({SGD: base, SGD_HD: hd}, {SGD_HD: paths})


@pytest.mark.parametrize(("first", "verdict"), [(20.0, SUPPORTED), (2.0, REFUTED)])
def test_c1_alpha_rises(first, verdict):
    assert decided("C1[logreg]", trajectory_tables(alpha_paths(np.random.default_rng(4), first, 3.0))) == verdict


@pytest.mark.parametrize(("last", "verdict"), [(3.0, SUPPORTED), (40.0, REFUTED)])
def test_c2_alpha_decays(last, verdict):
    assert decided("C2[logreg]", trajectory_tables(alpha_paths(np.random.default_rng(5), 20.0, last))) == verdict


@pytest.mark.parametrize(("share", "verdict"), [(0.08, SUPPORTED), (0.0, REFUTED)])
def test_c3_alpha_briefly_negative(share, verdict):
    assert decided("C3[logreg]", trajectory_tables(alpha_paths(np.random.default_rng(6), 20.0, 3.0, share))) == verdict


@pytest.mark.slow
def test_b1_level_when_one_epoch_sits_at_no_difference(monkeypatch):
    """The least-favourable null of an every-epoch claim: nine epochs far on HD's side, one at exactly no difference;
    and no difference in any epoch for the refutation (Bonferroni over epochs)."""
    without_intervals(monkeypatch)
    gains = [0.2] * (EPOCHS - 1) + [0.0]
    draws = 250  # each draw reads twenty runs' histories: half the usual repetitions, the limit widened to match
    support, _ = rates(lambda rng: tables(dict(zip((SGD, SGD_HD), curves(rng, gains)))), CLAIMS["B1[logreg]"].evaluate, 7, draws)
    _, refute = rates(lambda rng: tables(dict(zip((SGD, SGD_HD), curves(rng, [0.0] * EPOCHS)))), CLAIMS["B1[logreg]"].evaluate, 17, draws)
    assert support <= limit(draws) and refute <= limit(draws)


@pytest.mark.slow
def test_b3_level_at_the_margin(monkeypatch):
    """Adam-HD's final loss exactly at the margin from Adam's: neither TOST nor the refutation fires more than 5% (+2 s.e.)."""
    without_intervals(monkeypatch)

    def simulate(rng):
        base, hd = curves(rng, [-0.005] * EPOCHS, spread=0.002)
        return tables({ADAM: base, ADAM_HD: hd})
    assert all(rate <= limit() for rate in rates(simulate, CLAIMS["B3[logreg]"].evaluate, seed=8))


@pytest.mark.slow
def test_b2_level_at_the_margin(monkeypatch):
    """SGDN-HD's final loss exactly 10% above SGDN's on average: neither verdict more often than 5% (+2 s.e.)."""
    without_intervals(monkeypatch)

    def simulate(rng):
        base, _ = curves(rng, [0.0] * EPOCHS)
        return tables({SGDN: base, SGDN_HD: base * 1.1 * (1 + rng.normal(0, 0.03, base.shape))})
    assert all(rate <= limit() for rate in rates(simulate, CLAIMS["B2[logreg]"].evaluate, seed=18))


@pytest.mark.slow
def test_c1_level_at_the_threshold(monkeypatch):
    without_intervals(monkeypatch)

    def simulate(rng):
        paths = alpha_paths(rng, 6.0, 3.0)
        paths[:, 1:] *= np.exp(rng.normal(0, 0.1, (len(paths), 1)))  # seeds scatter around the threshold, centred on it
        paths[:, 1:] /= np.exp(0.005)  # lognormal mean correction: the mean ratio sits at 6
        return trajectory_tables(paths)
    assert all(rate <= limit() for rate in rates(simulate, CLAIMS["C1[logreg]"].evaluate, seed=9))


def test_fidelity_sets_hs_single_run_beside_our_seeds():
    """[H]'s logistic-regression SGD run ended at 0.3957 after 10 epochs: seeds around it contain it, seeds far above do not."""
    base, hd = curves(np.random.default_rng(10), [0.05] * EPOCHS)
    base[:, -1] = 0.3957 + np.linspace(-0.002, 0.002, len(base))
    hd[:, -1] = 0.5 + np.linspace(0, 0.01, len(hd))
    found = {row[1]: row for row in rows(tables({SGD: base, SGD_HD: hd}, {SGD_HD: alpha_paths(np.random.default_rng(11), 29.0, 3.7)}))}
    assert found["SGD: training loss, epoch 10"][-1] == "yes" and found["SGD-HD: training loss, epoch 10"][-1] == "below ours"


def grid_rows(rng, worse_share: float, hd: str = SGD_HD, base_cell: str = SGD, seeds: int = HR_SEEDS.at("paper")) -> list[dict]:
    """[HR]'s grid on planted runs of one method: each seed's ``hd`` cells end worse than ``base_cell`` (by 0.05, past the
    2-decimal rule) in ``worse_share`` of the cells on average, better by 0.05 in the rest."""
    steps = HR_STEPS.at("paper")
    rows = []
    for seed in range(seeds):
        for alpha in steps:
            base = 0.3 + rng.normal(0, 0.01)
            rows.append({"study": HR_LOGREG, "cell": grid_label(base_cell, alpha), "seed": seed, "run_id": f"{base_cell}{alpha}-{seed}",
                         "train_loss": base})
            for beta in steps:
                shift = 0.05 if rng.random() < worse_share else -0.05
                rows.append({"study": HR_LOGREG, "cell": grid_label(hd, alpha, beta), "seed": seed, "run_id": f"{hd}{alpha}{beta}-{seed}",
                             "train_loss": base + shift})
    return rows


def grid_tables(rng, worse_share: float, seeds: int = HR_SEEDS.at("paper"), train_size: str = "6000") -> RunTables:
    return run_tables(grid_rows(rng, worse_share, seeds=seeds), epochs=50, train_size=train_size)


@pytest.mark.parametrize(("share", "verdict"), [(0.15, SUPPORTED), (0.85, REFUTED)])
def test_e1_hd_worse_in_a_minority_of_cells(share, verdict):
    assert evaluate([CLAIMS["E1[sgd_hd]"]], grid_tables(np.random.default_rng(12), share), ("E",))[0].verdict == verdict


def test_e1_each_method_is_decided_on_its_own_cells():
    """SGD-HD's cells planted worse in most cells and SGDN-HD's in few, side by side in one grid: 'SGD-HD a=' and
    'SGDN-HD a=' are told apart, and so are their bases."""
    rng = np.random.default_rng(15)
    grid = run_tables(grid_rows(rng, 0.85) + grid_rows(rng, 0.15, SGDN_HD, SGDN), epochs=50, train_size="6000")
    found = {v.claim.id: v.verdict for v in evaluate([CLAIMS["E1[sgd_hd]"], CLAIMS["E1[sgdn_hd]"]], grid, ("E",))}
    assert found == {"E1[sgd_hd]": REFUTED, "E1[sgdn_hd]": SUPPORTED}


def test_e1_is_at_protocol_on_hrs_slice_only():
    """[HR]'s protocol is the first 6,000 images: runs on them are at protocol, runs on the whole set are not (another protocol)."""
    assert evaluate([CLAIMS["E1[sgd_hd]"]], grid_tables(np.random.default_rng(13), 0.15), ("E",))[0].scope.level == "protocol"
    whole = evaluate([CLAIMS["E1[sgd_hd]"]], grid_tables(np.random.default_rng(13), 0.15, train_size="all"), ("E",))[0]
    assert whole.scope.level == "reduced" and "not the first 6,000" in whole.scope.cuts[0]


@pytest.mark.slow
def test_e1_level_at_half_the_cells(monkeypatch):
    """Every seed's cells worse with probability one half: neither verdict more often than 5% (+2 s.e.; fewer repetitions,
    a grid table is slower to build)."""
    without_intervals(monkeypatch)
    assert all(rate <= limit(200) for rate in rates(lambda rng: grid_tables(rng, 0.5), CLAIMS["E1[sgd_hd]"].evaluate, seed=14, repetitions=200))


def test_a_claim_no_study_serves_declares_no_minimum_and_gets_no_scope():
    """An empty minimum means 'any protocol' (a measurement); a claim no study serves yet says 'none declared' instead,
    and runs that someone plants under its study's name still give its verdict no scope."""
    tables = grid_tables(np.random.default_rng(14), 0.15)
    assert CLAIMS["A1"].minimum.describe() == "none declared (no study of ours serves it yet)"
    assert assess(CLAIMS["A1"].minimum, tables).level == "none"
    assert assess(Minimum((), "a measurement: any protocol"), tables).level == "protocol"
