"""The fidelity tables against [P]'s Table 1 and [R]'s depth study: rows matched to our cells, gaps flagged only where the protocol matches."""

import numpy as np
import pytest
from support.tables import run_tables

from papers.ultimate_optimizer.fidelity import DEPTH_HEIGHTS, depth_rows, error_rows, learned_rows, printed, table
from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.mlp import DEPTH_REPRODUCTION, TABLE1_PANELS
from training.tracking import schema


def test_printed_numbers_carry_their_rounding():
    assert printed("0.0040") == (0.004, pytest.approx(5e-5))
    assert printed("8.99") == (8.99, pytest.approx(5e-3))
    assert printed("1e-5") == (1e-5, pytest.approx(5e-6))


def planted(error: float, epochs: dict[str, int], alpha: float = 0.1) -> list[dict]:
    """Every Table 1 cell (and its re-run) at ``epochs[panel]``, five seeds around ``error``."""
    rows = []
    for panel, (_, stacks) in TABLE1_PANELS.items():
        cells = [labels.baseline(panel)] + [labels.stack(panel, i) for i in range(len(stacks))]
        for cell in cells:
            for seed in range(5):
                rows.append({"study": labels.MLP_TABLE1, "cell": cell, "seed": seed, "run_id": f"{cell}{seed}", "epochs": epochs[panel],
                             "test_error": error + 0.01 * seed, schema.hp_metric("0.alpha"): alpha})
                if labels.is_stack(cell):
                    rows.append({"study": labels.MLP_RERUNS, "cell": labels.rerun_of(cell), "seed": seed, "run_id": f"r{cell}{seed}",
                                 "epochs": epochs[panel], "test_error": error + 0.01 * seed})
    return rows


PAPER_EPOCHS = {"sgd": 30, "adagrad": 30, "adam": 5, "rmsprop": 5}


def test_every_table1_row_is_matched_to_our_cell():
    tables = run_tables(planted(3.0, PAPER_EPOCHS))
    rows = error_rows(tables)
    assert len(rows) == sum(1 + 2 * len(stacks) for _, stacks in TABLE1_PANELS.values())
    assert rows[0].paper == (8.99, 0.05) and rows[0].report == pytest.approx(7.67)  # SGD baseline: [P] and [R]
    assert all(len(row.ours) == 5 for row in rows)
    assert next(r for r in rows if r.what.startswith("adam_alpha") and "re-run" not in r.what).report is None  # [R] did not run it


def test_a_gap_is_flagged_only_at_the_published_epochs():
    far = error_rows(run_tables(planted(20.0, PAPER_EPOCHS)))
    assert all(row.outside for row in far)
    short = error_rows(run_tables(planted(20.0, {**PAPER_EPOCHS, "sgd": 2})))
    sgd_rows = [row for row in short if row.what.startswith("sgd") or "of sgd" in row.what]
    assert sgd_rows and not any(row.outside for row in sgd_rows)
    assert all(line[-1] == "not judged: 2 of 30 epochs" for line in table(sgd_rows))


def test_the_published_mean_inside_our_interval_is_no_gap():
    rows = []
    for row in error_rows(run_tables(planted(0.0, PAPER_EPOCHS))):
        rows.append(row.__class__(row.what, row.cell, row.paper[0] + np.array([-0.1, 0.0, 0.1, -0.05, 0.05]), row.paper, row.report,
                                  row.epochs, row.rounding))
    assert not any(row.outside for row in rows)


def test_learned_values_are_compared_with_the_values_p_reran_with():
    rows = learned_rows(run_tables(planted(3.0, PAPER_EPOCHS, alpha=0.4538)))
    sgd_adam = next(row for row in rows if row.what == "sgd(alpha=0.01) / adam(alpha=0.1): learned alpha")
    assert sgd_adam.paper[0] == pytest.approx(0.4538) and not sgd_adam.outside
    beta1 = next(row for row in rows if row.what.startswith("adam(alpha=0.001) / sgd") and row.what.endswith("beta1"))
    assert beta1.paper[0] == pytest.approx(0.899) and len(beta1.ours) == 0  # not planted: not run, never flagged
    assert not beta1.outside


def planted_depth(offset: float, epochs: int = 10) -> list[dict]:
    """The depth study under [R]'s kappas at alpha 0.01, heights 0..20, five seeds at [R]'s number + ``offset`` (+-0.02)."""
    report = {0: 12.30, 1: 9.24, 2: 8.08, 3: 8.34}
    rows = []
    for height in range(21):
        label = labels.depth(labels.DEPTH_PLAIN, 0, 0.01) if height == 0 else labels.depth(DEPTH_REPRODUCTION, height, 0.01)
        for seed in range(5):
            rows.append({"study": labels.MLP_DEPTH, "cell": label, "seed": seed, "run_id": f"{label}{seed}", "epochs": epochs,
                         "test_error": report.get(height, 8.33) + offset + 0.01 * (seed - 2)})
    return rows


def test_the_depth_study_is_set_beside_the_reproduction_and_gaps_flagged():
    close = depth_rows(run_tables(planted_depth(0.0)))
    assert [row.what for row in close] == [f"alpha 0.01, height {h}" for h in DEPTH_HEIGHTS]
    assert close[0].report == pytest.approx(12.30) and not any(row.outside for row in close)
    far = depth_rows(run_tables(planted_depth(1.0)))
    assert all(row.outside for row in far)
    shorter = depth_rows(run_tables(planted_depth(1.0, epochs=2)))  # not [R]'s 10 epochs: shown, not judged
    assert not any(row.outside for row in shorter) and "not judged: 2 of 10 epochs" in table(shorter)[0][-1]
