"""Run tables built by hand, for testing claims on planted effects without training."""

from __future__ import annotations

import pandas as pd

from training.tracking.runs import RunTables


def run_tables(rows: list[dict]) -> RunTables:
    """A RunTables of finished runs: each row needs study, cell, seed and run_id, plus the metrics a claim reads."""
    frame = pd.DataFrame(rows)
    if "diverged" not in frame:
        frame["diverged"] = False
    return RunTables(frame, {})
