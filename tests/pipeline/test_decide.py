"""Claims over runs the toolkit did not train: the README's example (a plain script's runs, a claims file) through
`mlflow run . -e decide`, and a claims file or experiment that cannot be used, said in one line."""

import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient
from support.cli import REPO, environment

from pipeline import decide as pipeline_decide

EXAMPLE = REPO / "examples" / "own_runs"


@pytest.fixture(scope="module")
def own_runs(tmp_path_factory):
    """(folder, store URI) after the example's plain script logged its runs (it imports nothing of this project: run without PYTHONPATH)."""
    folder = tmp_path_factory.mktemp("own")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    env = environment(uri)
    env.pop("PYTHONPATH")
    done = subprocess.run([sys.executable, str(EXAMPLE / "log_runs.py")], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder, uri


def test_the_readme_shows_the_example_as_it_runs():
    readme = (REPO / "README.md").read_text()
    assert (EXAMPLE / "log_runs.py").read_text() in readme and (EXAMPLE / "claims.py").read_text() in readme
    assert "mlflow run . -e decide -P claims=examples/own_runs/claims.py --env-manager local" in readme


def test_the_example_is_decided_through_mlflow_run(own_runs):
    folder, uri = own_runs
    done = subprocess.run([sys.executable, "-m", "mlflow", "run", str(REPO), "-e", "decide", "-P", f"claims={EXAMPLE / 'claims.py'}",
                           "-P", f"out={folder / 'reports'}", "--env-manager", "local"], cwd=folder, env=environment(uri),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "M1            SUPPORTED" in done.stdout and "M2            REFUTED" in done.stdout
    page = (folder / "reports" / "decide-my-optimizers" / "report.html").read_text()
    assert "Momentum against plain gradient descent" in page and 'href="#claim-M1"' in page
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("claims").experiment_id])
    assert run.data.tags["verdict.M1"] == "SUPPORTED" and run.data.tags["verdict.M2"] == "REFUTED"
    assert run.data.metrics["M1.seeds"] == 8


def test_runs_without_a_seed_and_repeated_runs_are_counted_once(own_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", own_runs[1])
    client = MlflowClient(own_runs[1])
    experiment = client.create_experiment("with-gaps")
    for seed, loss in (("0", 1.0), ("0", 2.0), ("x", 3.0)):  # seed 0 twice (the newest counts), one seed that is no number
        run = client.create_run(experiment)
        client.log_param(run.info.run_id, "optimizer", "sgd")
        client.log_param(run.info.run_id, "seed", seed)
        client.log_metric(run.info.run_id, "train_loss", loss)
        client.set_terminated(run.info.run_id)
    assert pipeline_decide.main(["--claims", str(EXAMPLE / "claims.py"), "--experiment", "with-gaps", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "decide-with-gaps" / "report.md").read_text()
    assert "1 runs; cells sgd (1 seeds). Left out: 1 without params.seed as a whole number, 1 an older run of the same cell and seed" in report
    assert "NOT_RUN" in capsys.readouterr().out  # no momentum runs: nothing to pair


@pytest.mark.parametrize(("text", "said"), [
    (None, "no claims file at"),
    ("RUNS = 1\n", "must define RUNS = claims.declare.Runs("),
    ("from claims.declare import Runs\nRUNS = Runs('t', 'params.a', 'params.s')\nCLAIMS = []\n", "must define CLAIMS, a non-empty list"),
    ("from claims.declare import Runs\nRUNS = Runs('t', 'a', 'params.s')\n", "'a' is not a run key: write metrics.<name>"),
    ("CLAIMS = [\n", "line 1: '[' was never closed"),
    ("import no_such_module\n", "failed to load: ModuleNotFoundError: No module named 'no_such_module'"),
])
def test_a_claims_file_that_cannot_be_used_is_one_line(own_runs, tmp_path, monkeypatch, capsys, text, said):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", own_runs[1])
    path = tmp_path / "mine.py"
    if text is not None:
        path.write_text(text)
    assert pipeline_decide.main(["--claims", str(path), "--experiment", "my-optimizers"]) == 2
    said_there = capsys.readouterr().err
    assert said in said_there and said_there.count("\n") == 1


def test_an_unknown_experiment_names_those_there(own_runs, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", own_runs[1])
    assert pipeline_decide.main(["--claims", str(EXAMPLE / "claims.py"), "--experiment", "my-optimisers"]) == 2
    said = capsys.readouterr().err
    assert "no experiment named 'my-optimisers'" in said and "my-optimizers" in said
