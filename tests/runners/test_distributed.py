"""Sweeps through a real Ray cluster into a real MLflow server, on 127.0.0.1: landing, SIGKILL, server loss."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient
from support.cli import environment as cli_environment
from support.cluster import FAST_FAILING, LOOPBACK, MlflowServer, RayHead, free_port, wait_for

from papers.ultimate_optimizer.catalogue import evaluate
from papers.ultimate_optimizer.studies import build_study
from pipeline import sweep
from training.runners.local import LocalRunner
from training.tracking.runs import load_runs

pytestmark = pytest.mark.distributed


def environment(uri: str) -> dict:
    return cli_environment(uri, **LOOPBACK, **FAST_FAILING)


def sweep_command(study: str, profile: str, seeds: int, executor: str, address: str = "auto") -> list[str]:
    return [sys.executable, "-m", "pipeline.sweep", "--study", study, "--profile", profile, "--seeds", str(seeds),
            "--executor", executor, "--ray-address", address, "--checkpoint-every", "1"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray head and an MLflow server for the module, started side by side (each takes seconds); each test reads its
    own study or profile from the server."""
    server = MlflowServer(tmp_path_factory.mktemp("server")).launch()
    head = RayHead(cpus=2).start()
    server.wait()
    yield head, server
    server.stop()
    head.stop()
    assert not head.processes()


def local_store(tmp_path: Path, monkeypatch, study: str, profile: str, seeds: int) -> str:
    """The same study trained by the local executor, here in process (one worker), into its own SQLite store.

    One seed per pass on one thread, as a Ray task trains: the numbers are then the same to the last bit
    (batched seeds agree within float tolerance, see test_seeds.py).
    """
    uri = f"sqlite:///{tmp_path / 'local.db'}"
    with monkeypatch.context() as patched:
        patched.setenv("MLFLOW_TRACKING_URI", uri)
        patched.chdir(tmp_path)
        assert sweep.main(["--study", study, "--profile", profile, "--seeds", str(seeds), "--executor", "local", "--workers", "1",
                           "--seeds-per-pass", "1"]) == 0
    return uri


def uninterrupted_test_errors(study: str, profile: str, config_hash: str) -> list[tuple[int, float]]:
    """(epoch, test error) of one seed of a config trained here in one go by the local executor (in process, one
    thread, as a Ray task trains it)."""
    job = next((cell, config) for cell, config in build_study(study, profile).configs(profile, 1) if config.config_hash == config_hash)
    with LocalRunner(workers=1) as runner:
        [(_, _, result, error)] = runner.completed([job])
    assert error is None, error
    return [(record.epoch, record.test_value) for record in result.epochs]


def finished(uri: str, study: str, profile: str) -> dict[str, list]:
    """config_hash -> the FINISHED runs of it at ``profile``."""
    tracking = MlflowClient(uri)
    runs = tracking.search_runs([tracking.get_experiment_by_name(study).experiment_id], f"attributes.status = 'FINISHED' and tags.profile = '{profile}'")
    by_hash = {}
    for run in runs:
        by_hash.setdefault(run.data.tags["config_hash"], []).append(run)
    return by_hash


def verdicts(uri: str, studies: list[str], profile: str) -> list[tuple]:
    found = evaluate(load_runs(studies, profile, MlflowClient(uri)), families=("A",))
    return [(v.claim.id, v.verdict, None if v.evidence is None else round(v.evidence.effect, 9)) for v in found]


def test_ray_sweep_lands_every_run_once_and_decides_like_the_local_one(cluster, tmp_path, monkeypatch):
    ray_head, server = cluster
    assert_listening_on_loopback_only(ray_head, server)
    done = subprocess.run(sweep_command("mlp_long", "smoke", 2, "ray", ray_head.address), cwd=tmp_path, env=environment(server.uri),
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    landed = finished(server.uri, "mlp_long", "smoke")
    assert len(landed) == 8 and all(len(runs) == 1 for runs in landed.values())  # 4 cells x 2 seeds, each exactly once
    assert all({"test_error", "train_loss", "hp.0.alpha"} <= set(runs[0].data.metrics) for runs in landed.values())
    assert all(runs[0].data.tags["executor"] == "ray" for runs in landed.values())
    local = local_store(tmp_path, monkeypatch, "mlp_long", "smoke", 2)
    assert verdicts(server.uri, ["mlp_long"], "smoke") == verdicts(local, ["mlp_long"], "smoke")
    # and the same numbers, run by run
    local_runs = finished(local, "mlp_long", "smoke")
    assert {h: r[0].data.metrics["test_error"] for h, r in landed.items()} == {h: r[0].data.metrics["test_error"] for h, r in local_runs.items()}


def test_a_worker_killed_mid_run_is_retried_from_its_checkpoint(cluster, tmp_path):
    ray_head, server = cluster
    # 3 epochs of full MNIST per run: long enough to kill one after its first checkpoint
    driver = subprocess.Popen(sweep_command("mlp_long", "cpu", 1, "ray", ray_head.address), cwd=tmp_path, env=environment(server.uri),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        tracking = MlflowClient(server.uri)

        def checkpointed_running_run():
            experiment = tracking.get_experiment_by_name("mlp_long")
            if experiment is None:
                return None
            runs = tracking.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING' and tags.checkpoint_epoch = '1'")
            return runs[0] if runs else None

        victim = wait_for(checkpointed_running_run, 240, "a running run with a checkpoint")
        workers = ray_head.workers_running("_run_remote")
        assert workers, "no Ray worker is running a task"
        for worker in workers:  # we cannot tell which worker holds the victim: kill every busy one
            os.kill(worker.pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=400)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 0, err[-3000:]
    landed = finished(server.uri, "mlp_long", "cpu")
    assert len(landed) == 4 and all(len(runs) == 1 for runs in landed.values())
    assert tracking.get_run(victim.info.run_id).info.status == "KILLED"
    retried = landed[victim.data.tags["config_hash"]][0]
    assert retried.data.tags["resumed_from_run"] == victim.info.run_id and retried.data.tags["resumed_after_epoch"] == "1"
    # resumed from its checkpoint, every retried run goes exactly where an uninterrupted one goes, epoch by epoch
    resumed = [runs[0] for runs in landed.values() if "resumed_from_run" in runs[0].data.tags]
    for run in resumed:
        history = tracking.get_metric_history(run.info.run_id, "test_error")
        assert [(m.step, m.value) for m in history] == uninterrupted_test_errors("mlp_long", "cpu", run.data.tags["config_hash"])


def test_server_lost_mid_sweep_is_reported_and_a_rerun_completes_without_duplicates(cluster, tmp_path):
    ray_head, server = cluster
    command = sweep_command("mlp_depth", "smoke", 1, "ray", ray_head.address)  # a study no other test here trains
    driver = subprocess.Popen(command, cwd=tmp_path, env=environment(server.uri), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        tracking = MlflowClient(server.uri)
        wait_for(lambda: tracking.get_experiment_by_name("mlp_depth") and tracking.search_runs(
            [tracking.get_experiment_by_name("mlp_depth").experiment_id], "attributes.status = 'RUNNING'"), 240, "a run in progress", every=0.2)
        server.stop()
        out, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 3, err[-3000:]
    assert "stopped answering" in err and "resumes" in err
    server.start()  # the same database and artifacts, the same port
    again = subprocess.run(command, cwd=tmp_path, env=environment(server.uri), capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-3000:]
    landed = finished(server.uri, "mlp_depth", "smoke")
    assert len(landed) == 13 and all(len(runs) == 1 for runs in landed.values())  # 13 cells x 1 seed, each exactly once


def test_a_local_store_or_a_silent_server_is_refused_before_anything_is_submitted(tmp_path, monkeypatch, capsys):
    for name, value in {**LOOPBACK, **FAST_FAILING}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    arguments = ["--study", "mlp_long", "--profile", "smoke", "--seeds", "2", "--executor", "ray"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'x.db'}")
    assert sweep.main(arguments) == 2 and "local store that workers on other machines cannot see" in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://user:secret@127.0.0.1:{free_port()}")  # nothing listens there
    assert sweep.main(arguments) == 3
    said = capsys.readouterr().err
    assert "does not answer" in said and "secret" not in said  # credentials in the URI are never printed
    assert "Traceback" not in said and said.strip().count("\n") == 0


def assert_listening_on_loopback_only(ray_head, server) -> None:
    """The services the tests start listen on 127.0.0.1 only."""
    pids = {p.pid for p in ray_head.processes()} | {server.process.pid} | {c.pid for c in psutil.Process(server.process.pid).children(recursive=True)}
    listening = [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.pid in pids]
    assert listening, "found no listening sockets of the Ray head or the MLflow server"
    assert {c.laddr.ip for c in listening} <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, listening
