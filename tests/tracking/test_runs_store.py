"""Reading a SQLite store at scale: the query planner gets its statistics, so a run's metric history is read by index."""

import sqlite3

import pandas as pd
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from support.cluster import MlflowServer

from training.tracking import runs
from training.tracking.runs import load_runs
from training.tracking.store import plan_sqlite_reads

HISTORY = "select * from metrics where key = 'hp.0.alpha' and run_uuid = ? order by timestamp, step, value"


def test_histories_are_read_by_index_once_the_analysis_has_opened_the_store(store, tmp_path):
    tracking = MlflowClient(store)
    experiment = tracking.create_experiment("mlp_towers")
    for _ in range(30):  # many runs, each with a few keys: the shape of a real store
        run = tracking.create_run(experiment).info.run_id
        tracking.log_batch(run, metrics=[Metric(key, 0.1 * step, 0, step) for key in ("hp.0.alpha", "hp.1.alpha", "test_error") for step in range(30)])
    database = store.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        before = " ".join(str(row) for row in db.execute(f"explain query plan {HISTORY}", (run,)))
    load_runs(["mlp_towers"], "smoke", tracking)
    with sqlite3.connect(database) as db:
        after = " ".join(str(row) for row in db.execute(f"explain query plan {HISTORY}", (run,)))
    assert "index_metrics_run_uuid_key_step" not in before  # without statistics: the primary key, a scan of the key's rows
    assert "index_metrics_run_uuid_key_step" in after
    assert not plan_sqlite_reads(store)  # once: the statistics stay in the file
    assert not plan_sqlite_reads("http://127.0.0.1:5000") and not plan_sqlite_reads(f"sqlite:///{tmp_path / 'absent.db'}")


def test_bulk_history_reads_equal_run_by_run_reads_on_a_database_and_through_a_server(store, tmp_path, monkeypatch):
    """One query (SQLite) or bulk requests split at the server's 25,000 points (a local tracking server) give what
    reading each run's history alone gives."""
    monkeypatch.setattr(runs, "BULK_POINTS", 120)  # a small limit, so that the halving is exercised
    server = MlflowServer(tmp_path).start()
    try:
        for uri in (store, server.uri):
            tracking = MlflowClient(uri)
            experiment = tracking.create_experiment("mlp_towers")
            ids = []
            for index in range(5):
                ids.append(tracking.create_run(experiment).info.run_id)
                tracking.log_batch(ids[-1], metrics=[Metric("hp.0.alpha", index + 0.01 * step, 0, step) for step in range(40)])
            bulk = runs.read_histories(tracking, ids, "hp.0.alpha")
            for run in ids:
                alone = pd.Series({m.step: m.value for m in tracking.get_metric_history(run, "hp.0.alpha")}).sort_index()
                assert bulk[run].equals(alone.astype(float)), uri
            assert runs.read_histories(tracking, ids[:1], "absent")[ids[0]].empty
    finally:
        server.stop()
