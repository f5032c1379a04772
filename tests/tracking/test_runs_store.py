"""Reading a SQLite store at scale: the query planner gets its statistics, so a run's metric history is read by index."""

import sqlite3

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

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
