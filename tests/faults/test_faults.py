"""Faults under the documented commands (issue #27): each drives the real command (`mlflow run` where the fault is about
it) on the smoke profile and checks one line and no traceback, the exit status the README states, every finished run
kept with no duplicate (config_hash, seed), no run left RUNNING, and the store usable by the next job.

Storage that refuses writes is made with the kernel's own means: an immutable file or folder (`chattr +i`, which holds
even for root) and a small tmpfs for a full disk; where this machine does not allow them, those cases are skipped.
"""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient
from support.cli import REPO, environment

from training.tracking import schema

pytestmark = pytest.mark.slow

MLFLOW_LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")
PROGRESS = re.compile(r"runs, \d+s elapsed|: skipped, ")


def job(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.claims_job", "--profile", "smoke", *args]


def mlflow_run(entry: str, **params: str) -> list[str]:
    pairs = [item for key, value in params.items() for item in ("-P", f"{key}={value}")]
    return [sys.executable, "-m", "mlflow", "run", str(REPO), "-e", entry, *pairs, "--env-manager", "local"]


def store_setup() -> list[str]:
    return [sys.executable, "-m", "training.tracking.store_setup"]


def uri_of(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def run(command: list[str], folder: Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd or folder, env=environment(uri_of(folder)), capture_output=True, text=True, timeout=timeout)


def said(done: subprocess.CompletedProcess | str) -> list[str]:
    """The lines a user reads from our code: MLflow's log lines and progress lines left out."""
    text = done if isinstance(done, str) else done.stdout + done.stderr
    return [line for line in text.splitlines() if line.strip() and not MLFLOW_LOG.match(line) and not PROGRESS.search(line)]


def assert_one_line(done: subprocess.CompletedProcess | str, start: str, phrase: str) -> str:
    text = done if isinstance(done, str) else done.stdout + done.stderr
    assert "Traceback" not in text, text[-3000:]
    lines = [line for line in said(text) if line.startswith(start)]
    assert len(lines) == 1 and phrase in lines[0], said(text)
    return lines[0]


def statuses(folder: Path) -> dict[str, int]:
    with closing(sqlite3.connect(folder / "mlflow.db")) as db:
        return dict(db.execute("select status, count(*) from runs group by status").fetchall())


def duplicates(folder: Path) -> list[tuple]:
    """(experiment, config_hash, seed) logged FINISHED more than once in one study (a config may sit in two studies)."""
    with closing(sqlite3.connect(folder / "mlflow.db")) as db:
        return db.execute(
            "select r.experiment_id, h.value, s.value, count(*) from runs r join tags h on h.run_uuid = r.run_uuid and h.key = ? "
            "join tags s on s.run_uuid = r.run_uuid and s.key = ? where r.status = 'FINISHED' group by 1, 2, 3 having count(*) > 1",
            (schema.CONFIG_HASH, schema.SEED)).fetchall()


def assert_sound(folder: Path) -> None:
    """Nothing duplicated, nothing left RUNNING."""
    assert duplicates(folder) == []
    assert statuses(folder).get("RUNNING", 0) == 0, statuses(folder)


def copy_store(source: Path, folder: Path) -> Path:
    """``source``'s store and reports in ``folder`` (made), for a fault that must not touch the shared one."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "mlflow.db", folder / "mlflow.db")
    if (source / "reports").exists():
        shutil.copytree(source / "reports", folder / "reports")
    return folder


@contextmanager
def immutable(path: Path):
    """``path`` immutable (`chattr +i`: no write, even by root) for the block; the test is skipped where that is not allowed."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow immutable files (chattr +i)")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def finished_study_runs(folder: Path) -> int:
    if not (folder / "mlflow.db").exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{folder / 'mlflow.db'}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("select count(*) from runs r join tags t on t.run_uuid = r.run_uuid and t.key = ? "
                              "where r.status = 'FINISHED'", (schema.STUDY,)).fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """SIGTERM to `mlflow run` once its sweep has logged a run; then the same job again, direct, from a working folder
    that cannot be written (where this machine allows it), the store and report elsewhere."""
    folder = tmp_path_factory.mktemp("sigterm")
    log = folder / "launcher.log"
    with open(log, "w") as out:
        launcher = subprocess.Popen(mlflow_run("claims", profile="smoke", studies="mlp_table1", out=str(folder / "reports")), cwd=folder,
                                    env=environment(uri_of(folder)), stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        while finished_study_runs(folder) == 0 and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        the_job = psutil.Process(launcher.pid).children()
        launcher.send_signal(signal.SIGTERM)
        launcher_status = launcher.wait(timeout=60)
        sent = time.monotonic()
        gone, alive = psutil.wait_procs(the_job, timeout=30)
        job_seconds = time.monotonic() - sent
    for process in alive:
        process.kill()
    stopped = {"launcher_status": launcher_status, "job": the_job, "alive": alive, "seconds": job_seconds,
               "log": log.read_text(), "statuses": statuses(folder), "finished": finished_study_runs(folder)}
    readonly = tmp_path_factory.mktemp("readonly-cwd")
    allowed = subprocess.run(["chattr", "+i", str(readonly)], capture_output=True).returncode == 0 if shutil.which("chattr") else False
    try:
        again = run(job("--studies", "mlp_table1", "--out", str(folder / "reports")), folder, cwd=readonly)
    finally:
        if allowed:
            subprocess.run(["chattr", "-i", str(readonly)], check=True)
    return folder, stopped, again, allowed


def test_sigterm_to_mlflow_run_stops_the_job_with_it(resumed):
    folder, stopped, again, _ = resumed
    assert stopped["finished"] > 0 and len(stopped["job"]) == 1, stopped["log"][-2000:]
    assert stopped["launcher_status"] in (-signal.SIGTERM, 128 + signal.SIGTERM)
    assert not stopped["alive"], f"the job outlived its launcher: {stopped['log'][-2000:]}"
    assert stopped["seconds"] < 20
    assert_one_line(stopped["log"], "terminated (SIGTERM)", "every finished run is kept")
    launcher = MlflowClient(uri_of(folder)).search_runs(["0"])[0]
    assert launcher.info.status == "KILLED" and launcher.data.tags[schema.EXIT_STATUS] == "143"
    assert stopped["statuses"].get("RUNNING", 0) == 0, stopped["statuses"]
    assert again.returncode == 0, again.stderr[-3000:]
    assert_sound(folder)
    assert finished_study_runs(folder) > stopped["finished"]


def test_a_job_in_a_folder_it_cannot_write_keeps_artifacts_beside_the_store(resumed):
    folder, _, again, allowed = resumed
    if not allowed:
        pytest.skip("this machine does not allow immutable folders (chattr +i)")
    assert again.returncode == 0, again.stderr[-3000:]
    claims = MlflowClient(uri_of(folder)).get_experiment_by_name(schema.CLAIMS_EXPERIMENT)
    assert claims.artifact_location == (folder / "mlruns" / schema.CLAIMS_EXPERIMENT).as_uri()
    assert any((folder / "mlruns" / schema.CLAIMS_EXPERIMENT).rglob("report.html"))


def test_under_mlflow_run_the_jobs_own_status_is_on_the_launcher_run(resumed, tmp_path):
    folder = copy_store(resumed[0], tmp_path / "status")
    done = run(mlflow_run("claims", profile="smoke", workers="0"), folder)
    assert done.returncode == 1  # MLflow's launcher exits 1 for any failure of what it ran
    line = assert_one_line(done, "error:", "workers")
    ours = said(done)
    assert ours[-1] == line  # nothing of ours after it; MLflow's own "=== Run (ID ...) failed ===" is a log line
    launcher = MlflowClient(uri_of(folder)).search_runs(["0"], order_by=["attributes.start_time DESC"])[0]
    assert launcher.info.status == "FAILED" and launcher.data.tags[schema.EXIT_STATUS] == "2"
    assert run(job("--workers", "0"), folder).returncode == 2


def test_a_store_left_half_made_is_named_with_its_repair(resumed, tmp_path):
    folder = copy_store(resumed[0], tmp_path / "half")
    with closing(sqlite3.connect(folder / "mlflow.db")) as db:
        db.execute("create table _alembic_tmp_tags (x)")
        db.commit()
    setup = run(store_setup(), folder)
    assert setup.returncode == 3
    assert_one_line(setup, "error:", "DROP TABLE _alembic_tmp_tags")
    direct = run(job("--studies", "mlp_table1"), folder)
    assert direct.returncode == 3
    assert_one_line(direct, "error:", "half-made")
    empty = tmp_path / "empty"
    empty.mkdir()
    with closing(sqlite3.connect(empty / "mlflow.db")) as db:
        db.execute("create table _alembic_tmp_tags (x)")
        db.commit()
    assert_one_line(run(store_setup(), empty), "error:", "it holds no runs: delete it")
    (empty / "garbage").mkdir()
    (empty / "garbage" / "mlflow.db").write_bytes(b"not a database, " * 100)
    assert_one_line(run(store_setup(), empty / "garbage"), "error:", "cannot be opened as a SQLite database")


def test_a_new_store_opened_by_several_at_once_is_made_whole(tmp_path):
    starting = [subprocess.Popen(store_setup(), cwd=tmp_path, env=environment(uri_of(tmp_path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    results = [(process.wait(timeout=120), process.stderr.read()) for process in starting]
    assert all(code == 0 for code, _ in results), results
    from training.tracking.store_setup import read_schema, schema_problem
    assert schema_problem(tmp_path / "mlflow.db", *read_schema(tmp_path / "mlflow.db")) is None
    readme = (REPO / "README.md").read_text()
    assert "python -m training.tracking.store_setup && mlflow run . -e claims" in readme


def test_sigterm_while_reporting_leaves_the_previous_report_whole(resumed, tmp_path):
    folder = copy_store(resumed[0], tmp_path / "report")
    previous = (folder / "reports" / "smoke" / "report.md").read_bytes()
    before = statuses(folder)
    process = subprocess.Popen(job("--no-sweep", "--out", str(folder / "reports")), cwd=folder, env=environment(uri_of(folder)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((folder / "reports").glob(".smoke.partial-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the report was written before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert_one_line(out + err, "terminated (SIGTERM)", "previous report left whole")
    assert (folder / "reports" / "smoke" / "report.md").read_bytes() == previous
    assert not [p.name for p in (folder / "reports").iterdir() if p.name.startswith(".")]
    assert statuses(folder) == before


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_store_that_refuses_writes_costs_one_line_before_any_work(what, resumed, tmp_path):
    folder = copy_store(resumed[0], tmp_path / what)
    reports = tmp_path / "reports"
    shutil.copytree(folder / "reports", reports)
    previous = (reports / "smoke" / "report.md").read_bytes()
    with immutable(folder / "mlflow.db" if what == "file" else folder):
        for command in (job("--studies", "mlp_table1", "--out", str(reports)), job("--no-sweep", "--out", str(reports))):
            done = run(command, folder)
            assert done.returncode == 3, done.stderr[-2000:]
            assert_one_line(done, "error:", "does not take writes")
    assert (reports / "smoke" / "report.md").read_bytes() == previous


@pytest.fixture
def small_disk(tmp_path):
    """A small tmpfs at tmp_path/disk (skipped where this machine cannot mount one); yields (folder, resize to kilobytes)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True).returncode != 0:
        pytest.skip("this machine cannot mount a small tmpfs to fill")

    def resize(kilobytes: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={kilobytes}k", str(disk)], check=True)

    yield disk, resize
    subprocess.run(["umount", str(disk)], check=True)


def test_a_disk_that_fills_mid_sweep_costs_one_line_and_loses_nothing(resumed, small_disk):
    disk, resize = small_disk
    shutil.copy2(resumed[0] / "mlflow.db", disk / "mlflow.db")
    resize((disk / "mlflow.db").stat().st_size // 1024 + 192)  # room for the store check and a few runs, not for 48
    before = finished_study_runs(disk)
    full = run(job("--studies", "mlp_towers", "--out", str(disk.parent / "reports")), disk)
    assert full.returncode == 3, full.stderr[-3000:]
    assert_one_line(full, "error:", "or disk is full")
    kept = finished_study_runs(disk)
    assert kept >= before
    resize(64 * 1024)
    again = run(job("--studies", "mlp_towers", "--out", str(disk.parent / "reports")), disk)
    assert again.returncode == 0, again.stderr[-3000:]
    assert_sound(disk)
    assert finished_study_runs(disk) > kept


def test_runs_left_running_are_marked_killed_by_the_next_job(resumed, tmp_path):
    folder = copy_store(resumed[0], tmp_path / "running")
    tracking = MlflowClient(uri_of(folder))
    experiment = tracking.get_experiment_by_name("mlp_table1").experiment_id
    half = tracking.create_run(experiment, tags={schema.STUDY: "mlp_table1", schema.CELL: "half-logged", schema.PROFILE: "smoke"}).info.run_id
    tracking.log_metric(half, schema.TEST_ERROR, 50.0, step=1)  # what a kill -9 mid-log leaves: a RUNNING run, partial metrics
    done = run(job("--studies", "mlp_table1", "--out", str(folder / "reports")), folder)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_one_line(done, "marked KILLED", "1 run(s)")
    assert tracking.get_run(half).info.status == "KILLED"
    assert_sound(folder)
    assert "1 KILLED" in (folder / "reports" / "smoke" / "report.md").read_text()
