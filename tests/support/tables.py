"""Run tables built by hand, for testing claims on planted effects without training."""

from __future__ import annotations

import pandas as pd

from claims.runs import RunTables
from training.tracking.runs import RUN_COLUMNS

# as if every run followed the published protocol: more epochs and steps than any claim's minimum, the whole training set
AT_PROTOCOL = {"epochs": 10_000, "steps_per_epoch": 10_000, "train_size": "all", "diverged": False}


def run_tables(rows: list[dict], **columns) -> RunTables:
    """A RunTables of finished runs: each row needs study, cell, seed and run_id, plus the metrics a claim reads.
    Missing protocol columns default to ``AT_PROTOCOL``; ``columns`` overrides them for every row (e.g. epochs=1)."""
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=RUN_COLUMNS)
    for name, value in {**AT_PROTOCOL, **columns}.items():
        if name not in frame or name in columns:
            frame[name] = value
    return RunTables(frame, {})
