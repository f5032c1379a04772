"""Reading runs back: MLflow runs -> tidy pandas frames for the claims.

``load_runs`` gives one row per (study, config_hash): the newest FINISHED run,
so a run retried after a crash, or trained twice by two sweeps, is counted
once. FAILED, KILLED and RUNNING runs are counted (per study) but never used.
Metric histories (per-epoch test error, hyperparameter trajectories) are
read on demand (``read_histories``) and cached by the tables (``claims.runs``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from mlflow.entities import ViewType
from mlflow.store.tracking.rest_store import RestStore
from mlflow.tracking import MlflowClient
from mlflow.utils.rest_utils import http_request, verify_rest_response

from claims.runs import RunTables, newest_only
from training.core.config import Profile
from training.tracking import schema
from training.tracking.store import client, plan_sqlite_reads

BULK_ENDPOINT = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"  # the tracking server's bulk history route (what its UI charts use)
BULK_RUNS, BULK_POINTS = 100, 25_000  # its limits for one request

# each run's last value of these metrics becomes a column (hp.* columns join them: the final learned values)
SUMMARY_METRICS = (schema.TEST_ERROR, schema.TEST_PERPLEXITY, schema.TRAIN_LOSS, schema.STEP_TIME_MS, schema.STACK_BYTES, schema.WEIGHT_BYTES)
RUN_COLUMNS = ["run_id", "experiment_id", "study", "claims", "cell", "seed", "config_hash", "stack", "epochs", "steps_per_epoch", "train_size", "dataset", "profile", "status", "start_time",
               "end_time", "device", "code_version", "diverged", "diverged_step", *SUMMARY_METRICS]


def _row(run) -> dict:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    row = {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "study": tags.get(schema.STUDY),
        "claims": tags.get(schema.CLAIMS, ""),  # the claim ids the run's study serves, a comma list
        "cell": tags.get(schema.CELL),
        "seed": int(tags.get(schema.SEED, -1)),
        "config_hash": tags.get(schema.CONFIG_HASH),
        "stack": params.get("stack"),
        "epochs": int(params.get("epochs", 0)),
        "steps_per_epoch": int(params.get("steps_per_epoch", 0)),
        "train_size": params.get("train_size", "all"),  # 'all', or the size of the slice trained on
        "dataset": params.get("dataset"),
        "profile": tags.get(schema.PROFILE),
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "device": params.get("device", ""),
        "code_version": tags.get(schema.CODE_VERSION, ""),
        "diverged": tags.get(schema.DIVERGED) == "true",
        "diverged_step": float(tags[schema.DIVERGED_STEP]) if tags.get(schema.DIVERGED_STEP) else np.nan,
    }
    for key in SUMMARY_METRICS:
        row[key] = metrics.get(key, np.nan)
    row.update({key: value for key, value in metrics.items() if key.startswith(schema.HP_PREFIX)})
    return row


def read_histories(tracking: MlflowClient, run_ids: list[str], key: str) -> dict[str, pd.Series]:
    """{run id: its history of ``key``} for every run in ``run_ids``: one query on a database store, bulk requests
    (at most 100 runs and 25,000 points each, split further when a reply comes back full) to a tracking server,
    one read per run elsewhere."""
    store = tracking._tracking_client.store  # the bulk reads are the store's, not the client's
    if hasattr(store, "get_metric_history_bulk"):
        points = [(m.run_id, m.step, m.value) for m in store.get_metric_history_bulk(run_ids, key, max_results=2**62)]
    elif isinstance(store, RestStore):
        points = [point for start in range(0, len(run_ids), BULK_RUNS) for point in _from_server(store, run_ids[start : start + BULK_RUNS], key)]
    else:
        points = [(run, m.step, m.value) for run in run_ids for m in tracking.get_metric_history(run, key)]
    by_run: dict[str, dict[int, float]] = {run: {} for run in run_ids}
    for run, step, value in points:
        by_run[run][step] = value
    return {run: pd.Series(steps, dtype=float).sort_index() for run, steps in by_run.items()}


def _from_server(store: RestStore, run_ids: list[str], key: str) -> list[tuple[str, int, float]]:
    reply = http_request(store.get_host_creds(), BULK_ENDPOINT, "GET", params={"run_id": run_ids, "metric_key": key, "max_results": BULK_POINTS})
    verify_rest_response(reply, BULK_ENDPOINT)
    metrics = reply.json().get("metrics", [])
    if len(metrics) >= BULK_POINTS and len(run_ids) > 1:  # cut at the server's limit: ask in halves
        half = len(run_ids) // 2
        return _from_server(store, run_ids[:half], key) + _from_server(store, run_ids[half:], key)
    return [(m["run_id"], int(m["step"]), float(m["value"])) for m in metrics]


def load_runs(studies: list[str], profile: Profile, tracking: MlflowClient | None = None) -> RunTables:
    """Every run of ``studies`` at ``profile``, deduplicated to the newest FINISHED one per config."""
    tracking = tracking or client()
    plan_sqlite_reads(tracking.tracking_uri)  # metric histories by index, not by scan
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
    frame = newest_only(pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS), ["study", "config_hash"], excluded, "duplicate")
    return RunTables(frame, excluded, partial(read_histories, tracking))
