"""What a user sees in `mlflow ui` after the main job, read through its REST API on 127.0.0.1."""

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from support.cli import environment

from training.tracking import schema


def get(port: int, path: str, **query) -> dict:
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def post(port: int, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/2.0/mlflow/{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


@pytest.fixture(scope="module")
def ui(smoke_job):
    folder, uri, _ = smoke_job
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)],
                              cwd=folder, env=environment(uri), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while True:
            try:
                get(port, "experiments/search", max_results=100)
                break
            except OSError:
                assert time.time() < deadline, "mlflow ui did not come up"
                time.sleep(1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def runs(port: int, experiment: str) -> list[dict]:
    """The experiment's runs, oldest first."""
    found = get(port, "experiments/get-by-name", experiment_name=experiment)["experiment"]
    reply = post(port, "runs/search", {"experiment_ids": [found["experiment_id"]], "max_results": 1000, "order_by": ["attributes.start_time ASC"]})
    return reply["runs"]


def test_every_experiment_opens_on_its_runs(ui):
    experiments = get(ui, "experiments/search", max_results=100)["experiments"]
    names = {e["name"] for e in experiments}
    assert {"claims", "mlp_table1", "mlp_towers", "mlp_depth", "mlp_cost", "Default"} <= names
    for experiment in experiments:
        tags = {t["key"]: t["value"] for t in experiment.get("tags", [])}
        assert tags.get(schema.EXPERIMENT_KIND) == schema.MODEL_TRAINING, experiment["name"]


def test_durations_are_training_times(ui):
    """A run's start and end are its training's: it ended before its metrics were logged (the single writer logs after)."""
    for run in runs(ui, "mlp_table1"):
        info, metrics = run["info"], run["data"]["metrics"]
        logged = min(m["timestamp"] for m in metrics if m["key"] == schema.TRAIN_LOSS)
        assert int(info["start_time"]) < int(info["end_time"]) <= logged


def test_every_training_run_has_its_dataset_as_inputs(ui):
    for run in runs(ui, "mlp_towers"):
        inputs = run["inputs"]["dataset_inputs"]
        contexts = {next(t["value"] for t in i["tags"] if t["key"] == schema.DATASET_CONTEXT): i for i in inputs}
        assert set(contexts) == {"training", "evaluation"}
        training = contexts["training"]
        assert training["dataset"]["name"] == "MNIST" and len(training["dataset"]["digest"]) == 16
        assert "mnist" in training["dataset"]["source"]
        assert {"key": schema.DATASET_SLICE, "value": "first 2,048 of 60,000"} in training["tags"]  # the smoke profile's slice


def test_the_claims_run_reads_as_a_summary(ui):
    claims = runs(ui, schema.CLAIMS_EXPERIMENT)[0]  # the smoke job's (other tests add claims runs to the same store)
    tags = {t["key"]: t["value"] for t in claims["data"]["tags"]}
    note = tags[schema.NOTE]
    first, second = note.split("\n\n")[:2]  # two lines before the table: the headline verdicts, then where the report is
    assert first.startswith("**hyperclaims verdicts, profile `smoke`.** Headline claims decided here:") or "No headline claim" in first
    assert "report/report.html" in second and "At the paper's protocol:" in second
    assert note.index("| A1 | INCONCLUSIVE | reduced |") > note.index(second) and "tags.profile = 'smoke'" in note
    table1 = get(ui, "experiments/get-by-name", experiment_name="mlp_table1")["experiment"]["experiment_id"]
    assert f"[mlp_table1](#/experiments/{table1}?workflowType=machine_learning)" in note  # the study runs, one click away


def test_the_job_prints_a_link_to_the_claims_run_in_the_model_training_view(smoke_job, ui):
    _, _, done = smoke_job
    claims = runs(ui, schema.CLAIMS_EXPERIMENT)[0]
    link = f"/#/experiments/{claims['info']['experiment_id']}/runs/{claims['info']['run_id']}?workflowType=machine_learning"
    assert f"in the MLflow UI: http://127.0.0.1:5000{link}" in done.stdout


def test_every_study_experiment_says_what_it_is_for(ui):
    claims = runs(ui, schema.CLAIMS_EXPERIMENT)[0]
    for name in ("mlp_table1", "mlp_towers", "mlp_depth"):
        experiment = get(ui, "experiments/get-by-name", experiment_name=name)["experiment"]
        note = {t["key"]: t["value"] for t in experiment.get("tags", [])}.get(schema.NOTE, "")
        assert note.startswith(f"**{name}**") and "Serves claims:" in note, name
        assert f"#/experiments/{claims['info']['experiment_id']}/runs/" in note  # a link to a claims run that used it


def test_run_names_are_short_and_tell_seeds_apart(ui):
    table1 = runs(ui, "mlp_table1")
    names = {(run["data"]["tags"] and next(t["value"] for t in run["data"]["tags"] if t["key"] == "mlflow.runName")) for run in table1}
    assert len(names) == len(table1) and max(len(name) for name in names) <= 40, sorted(names, key=len)[-3:]
    assert all(name.startswith("mlp ") and " s" in name for name in names)
    note = next(t["value"] for t in table1[0]["data"]["tags"] if t["key"] == schema.NOTE)
    assert "a chart's step is the epoch" in note and "% of test examples" in note  # which axis, which unit


def test_the_dataset_profile_names_the_slice(ui):
    training = next(i for i in runs(ui, "mlp_towers")[0]["inputs"]["dataset_inputs"]
                    if {"key": schema.DATASET_CONTEXT, "value": "training"} in i["tags"])
    profile = json.loads(training["dataset"]["profile"])
    assert profile["slice"] == "first 2,048 of 60,000" and profile["rows_used"] == 2048 and profile["rows_in_split"] == 60000
