"""`python -m pipeline.train` and `mlflow run -e train` as a user runs them."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from support.cli import REPO, environment
from support.cluster import MlflowServer, wait_for

from pipeline import train
from training.core.config import make_config


def test_dry_run_trains_two_steps_and_logs_nothing(tmp_path, store, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert train.main(["--profile", "smoke", "--dry-run", "--stack", "adam / adam"]) == 0
    said = capsys.readouterr().out
    assert "dry run ok" in said and "2 steps" in said
    tracking = MlflowClient(store)
    assert not (tmp_path / "mlflow.db").exists() or all(not tracking.search_runs([e.experiment_id], run_view_type=ViewType.ALL)
                                                       for e in tracking.search_experiments())


def test_auto_epochs_are_the_default_papers_published_counts(capsys):
    assert train.main(["--profile", "cpu", "--dry-run", "--stack", "adam(alpha=0.001) / sgd(alpha=1e-5)"]) == 0
    assert "for 5 epoch(s)" in capsys.readouterr().out  # [P]: Adam 5 epochs on the MLP
    assert train.main(["--profile", "cpu", "--dry-run", "--model", "hd_logreg", "--stack", "sgd(alpha=0.001)"]) == 0
    assert "for 10 epoch(s)" in capsys.readouterr().out  # its benchmark's own count ([H]), not [P]'s 30 for SGD


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as ended:
        train.main(["--help"])
    said = capsys.readouterr().out
    assert ended.value.code == 0 and "--stack" in said and "--dry-run" in said


def test_mlflow_run_train_entry_point(tmp_path, store):
    """The entry-point contract every later study relies on, through the real `mlflow run`."""
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(REPO), "-e", "train", "-P", "model=mlp",
         "-P", "stack=sgd(alpha=0.01)/sgd(alpha=0.01)", "-P", "epochs=1", "-P", "seed=0", "-P", "profile=smoke",
         "--env-manager", "local"],
        cwd=tmp_path, env=environment(store), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = MlflowClient(store).search_runs(["0"])
    assert len(runs) == 2  # mlflow's launcher run with the -P values, and ours nested in it
    (run,) = [r for r in runs if "config_hash" in r.data.tags]
    (launcher,) = [r for r in runs if "config_hash" not in r.data.tags]
    assert run.data.tags["mlflow.parentRunId"] == launcher.info.run_id
    assert run.info.status == launcher.info.status == "FINISHED"
    assert run.data.tags["config_hash"] == make_config(stack="sgd(alpha=0.01)/sgd(alpha=0.01)", epochs=1, profile="smoke").config_hash
    assert "test_error" in run.data.metrics and "hp.0.alpha" in run.data.metrics


def test_sigterm_marks_the_run_killed(tmp_path, store):
    """A scheduler's SIGTERM mid-run: the run is KILLED (its epochs so far logged), exit status 143, no traceback."""
    run = subprocess.Popen([sys.executable, "-m", "pipeline.train", "--profile", "smoke", "--epochs", "400"], cwd=tmp_path, env=environment(store),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tracking, deadline = MlflowClient(store), time.time() + 120
    while time.time() < deadline:  # wait until the run has logged an epoch
        experiment = tracking.get_experiment_by_name("mlp") if os.path.exists(tmp_path / "mlflow.db") else None
        runs = tracking.search_runs([experiment.experiment_id]) if experiment else []
        if runs and "test_error" in runs[0].data.metrics:
            break
        time.sleep(0.5)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and "terminated (SIGTERM): run" in err and "marked KILLED" in err and "Traceback" not in err, err
    (logged,) = tracking.search_runs([experiment.experiment_id])
    assert logged.info.status == "KILLED" and logged.data.metrics["test_error"] > 0


def test_a_store_that_goes_away_mid_run_loses_nothing(tmp_path):
    """The server dies after the first epoch: training goes on, the whole result is saved beside it, exit status 3, one line."""
    server = MlflowServer(tmp_path).start()
    env = environment(server.uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="5")  # MLflow's own settings: fail fast
    run = subprocess.Popen([sys.executable, "-m", "pipeline.train", "--profile", "smoke", "--epochs", "60"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        tracking = MlflowClient(server.uri)
        wait_for(lambda: (e := tracking.get_experiment_by_name("mlp")) and any("test_error" in r.data.metrics for r in tracking.search_runs([e.experiment_id])),
                 120, "the first epoch logged")
    finally:
        server.stop()
    _, err = run.communicate(timeout=300)
    assert run.returncode == 3 and err.count("\n") == 1 and "stopped answering during run" in err and "Traceback" not in err, err
    (saved,) = tmp_path.glob("unlogged-*-seed0.json")
    result = json.loads(saved.read_text())
    assert len(result["epochs"]) == 60 and result["config"]["epochs"] == "60" and str(saved) in err
