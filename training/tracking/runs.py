"""Reading runs back: MLflow runs -> tidy pandas frames for the claims.

``load_runs`` gives one row per (study, config_hash): the newest FINISHED run,
so a run retried after a crash, or trained twice by two sweeps, is counted
once. FAILED, KILLED and RUNNING runs are counted (per study) but never used.
Metric histories (per-epoch test error, hyperparameter trajectories) are
fetched on demand and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from training.tracking import schema
from training.tracking.store import client

# each run's last value of these metrics becomes a column (hp.* columns join them: the final learned values)
SUMMARY_METRICS = (schema.TEST_ERROR, schema.TEST_PERPLEXITY, schema.TRAIN_LOSS, schema.STEP_TIME_MS, schema.STACK_BYTES, schema.WEIGHT_BYTES)
RUN_COLUMNS = ["run_id", "study", "cell", "seed", "config_hash", "stack", "epochs", "dataset", "profile", "status", "start_time",
               "diverged", "diverged_step", *SUMMARY_METRICS]


def _row(run) -> dict:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    row = {
        "run_id": run.info.run_id,
        "study": tags.get(schema.STUDY),
        "cell": tags.get(schema.CELL),
        "seed": int(tags.get(schema.SEED, -1)),
        "config_hash": tags.get(schema.CONFIG_HASH),
        "stack": params.get("stack"),
        "epochs": int(params.get("epochs", 0)),
        "dataset": params.get("dataset"),
        "profile": tags.get(schema.PROFILE),
        "status": run.info.status,
        "start_time": run.info.start_time,
        "diverged": tags.get(schema.DIVERGED) == "true",
        "diverged_step": float(tags[schema.DIVERGED_STEP]) if tags.get(schema.DIVERGED_STEP) else np.nan,
    }
    for key in SUMMARY_METRICS:
        row[key] = metrics.get(key, np.nan)
    row.update({key: value for key, value in metrics.items() if key.startswith(schema.HP_PREFIX)})
    return row


@dataclass
class RunTables:
    """Finished runs of one profile, and what was left out."""

    runs: pd.DataFrame
    excluded: dict[str, int]  # e.g. {"FAILED": 2, "duplicate": 1}
    tracking: MlflowClient = field(repr=False, default=None)
    _histories: dict = field(default_factory=dict, repr=False)

    def cell(self, study: str, label: str) -> pd.DataFrame:
        """Rows of one cell, indexed by seed (pinned re-run cells have one row per seed)."""
        rows = self.runs[(self.runs.study == study) & (self.runs.cell == label)]
        return rows.set_index("seed").sort_index()

    def has(self, study: str) -> bool:
        return bool((self.runs.study == study).any())

    def history(self, run_id: str, key: str) -> pd.Series:
        """A metric's history as a Series indexed by step."""
        if (run_id, key) not in self._histories:
            points = self.tracking.get_metric_history(run_id, key)
            series = pd.Series({m.step: m.value for m in points}, dtype=float).sort_index()
            self._histories[(run_id, key)] = series
        return self._histories[(run_id, key)]


def load_runs(studies: list[str], profile: str, tracking: MlflowClient | None = None) -> RunTables:
    """Every run of ``studies`` at ``profile``, deduplicated to the newest FINISHED one per config."""
    tracking = tracking or client()
    rows, excluded = [], {}
    for study in studies:
        experiment = tracking.get_experiment_by_name(study)
        if experiment is None:
            continue
        for run in tracking.search_runs([experiment.experiment_id], f"tags.{schema.PROFILE} = '{profile}'",
                                        run_view_type=ViewType.ACTIVE_ONLY, max_results=50_000):
            if run.info.status != "FINISHED":
                excluded[run.info.status] = excluded.get(run.info.status, 0) + 1
                continue
            rows.append(_row(run))
    frame = pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS)
    if len(frame):
        frame = frame.sort_values("start_time")
        duplicates = frame.duplicated(["study", "config_hash"], keep="last")
        if duplicates.any():
            excluded["duplicate"] = int(duplicates.sum())
        frame = frame[~duplicates].reset_index(drop=True)
    return RunTables(frame, excluded, tracking)
