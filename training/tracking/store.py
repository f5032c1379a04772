"""Where the tracking store is, whether it answers, and the errors that say it does not.

Default store: SQLite ``mlflow.db`` in the working directory, artifacts in
``mlruns/`` beside it (absolute URIs), so ``mlflow ui`` started in the same
folder shows everything. ``MLFLOW_TRACKING_URI`` points everything at another
store or a tracking server instead: a SQLite store elsewhere keeps the artifacts
of the experiments we make in ``mlruns/`` beside that file, not in the working directory.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import closing, contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.tracking import schema

CODE_ROOT = Path(__file__).resolve().parents[2]
# MLflow logs a SQLite error with its whole traceback before raising it; these commands report every store error
# they meet as one line (exit status 3), so MLflow's copy would only bury that line
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
# what a store that is down or unreadable raises through MlflowClient (requests' errors are OSErrors)
STORE_ERRORS = (MlflowException, OSError)


class TrackingError(RuntimeError):
    """The tracking destination cannot serve a distributed sweep; the message says what to do."""


class StoreUnavailable(RuntimeError):
    """The tracking store went away mid-sweep; finished runs are kept, a re-run completes the rest."""


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else an absolute SQLite URI for ./mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}"


def client() -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri())


def experiment_id(mlflow: MlflowClient, name: str) -> str:
    """Id of the experiment ``name``, created on first use as a model-training experiment (the UI opens it on its runs)."""
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        return mlflow.create_experiment(name, artifact_location=artifact_location(name), tags={schema.EXPERIMENT_KIND: schema.MODEL_TRAINING})
    mark_model_training(mlflow, found)
    return found.experiment_id


def artifact_location(experiment: str, uri: str | None = None) -> str | None:
    """Where a new experiment of a SQLite store keeps its artifacts: ``mlruns/<experiment>`` beside the store file
    (MLflow's default is the working directory, which may be read-only or elsewhere); None (MLflow's choice) otherwise."""
    file = sqlite_file(uri or tracking_uri())
    return None if file is None else (file.parent.resolve() / "mlruns" / experiment).as_uri()


def mark_model_training(mlflow: MlflowClient, experiment) -> None:
    """Give an experiment made before (or by MLflow itself, e.g. `Default`) the model-training kind, unless it has a kind."""
    if schema.EXPERIMENT_KIND not in experiment.tags:
        mlflow.set_experiment_tag(experiment.experiment_id, schema.EXPERIMENT_KIND, schema.MODEL_TRAINING)


@lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of the code (with '+dirty' for local changes), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=CODE_ROOT, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=CODE_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ui_link(experiment: str, run: str | None = None) -> str:
    """The page of an experiment (or one of its runs) in the MLflow UI, in its model-training view: the tracking
    server's, or `mlflow ui`'s default address for a local store."""
    uri = tracking_uri()
    base = redact(uri).rstrip("/") if urlsplit(uri).scheme in ("http", "https") else "http://127.0.0.1:5000"
    return f"{base}/#/experiments/{experiment}" + (f"/runs/{run}" if run else "") + f"?{schema.UI_VIEW}"


def redact(uri: str) -> str:
    """``uri`` without user name and password, for messages and logs."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return uri


def server_answers(uri: str, timeout: float = 5.0) -> bool:
    """True when the MLflow server at ``uri`` answers its /health endpoint (which needs no credentials)."""
    try:
        with urllib.request.urlopen(redact(uri).rstrip("/") + "/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


_NOTES = ("(raised as a result of",)  # SQLAlchemy writes its notes on an error above the error itself


def first_line(error: BaseException) -> str:
    """``Type: the message's first line`` (at most 200 characters, SQLAlchemy's notes skipped), for a one-line report of
    someone else's error."""
    lines = [line for line in str(error).splitlines() if line.strip() and not line.startswith(_NOTES)]
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


def sqlite_file(uri: str) -> Path | None:
    """The file of a SQLite store URI; None for another store or an in-memory database."""
    if urlsplit(uri).scheme != "sqlite":
        return None
    path = uri.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else Path(path)


def folder_store(uri: str) -> Path | None:
    """The folder of a file store URI (a bare path or file:); None for another store."""
    scheme = urlsplit(uri).scheme
    return Path(urlsplit(uri).path if scheme else uri) if scheme in ("", "file") else None


STORE_CHECK_SECONDS = 5.0  # a store that has not answered by then is reported as down (the whole check stays under 10 s)
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")


def check_store(uri: str | None = None, timeout: float = STORE_CHECK_SECONDS) -> str:
    """The tracking URI, once its store is known to answer; StoreUnavailable, one line naming it (redacted), otherwise.

    An http(s) server must answer GET /health; a SQLite file must open as a database (or, not yet made,
    its folder must be writable); another database must accept a connection; a local folder must be writable.
    """
    uri = uri or tracking_uri()
    scheme = urlsplit(uri).scheme.split("+")[0]
    if scheme in ("http", "https"):
        problem = None if server_answers(uri, timeout) else f"does not answer (GET /health within {timeout:g} s)"
    elif scheme == "sqlite":
        problem = _sqlite_problem(sqlite_file(uri), timeout)
    elif scheme in DATABASE_SCHEMES:
        problem = _database_problem(uri, timeout)
    elif scheme in ("", "file"):
        problem = _folder_problem(folder_store(uri))
    else:
        problem = f"has a scheme MLflow cannot track to ({scheme!r}); use http(s)://host:port, sqlite:///path/mlflow.db or a folder"
    if problem:
        raise StoreUnavailable(f"the tracking store {redact(uri)} {problem}")
    return uri


def plan_sqlite_reads(uri: str) -> bool:
    """Give a SQLite store's query planner its statistics (ANALYZE), once; True if it ran.

    Without them SQLite reads a metric's history through the primary key, which starts
    with the metric's name, and so scans that metric's rows of every run (seconds per
    history at paper scale); with them it uses the index on (run, key, step). The
    statistics live in the file, so a tracking server reading it benefits too.
    """
    file = sqlite_file(uri)
    if file is None or not file.is_file():
        return False
    with closing(sqlite3.connect(file, timeout=STORE_CHECK_SECONDS)) as db:
        known = db.execute("select 1 from sqlite_master where name = 'sqlite_stat1'").fetchone() and \
            db.execute("select 1 from sqlite_stat1 where tbl = 'metrics'").fetchone()
        if known:
            return False
        db.execute("ANALYZE")
        db.commit()
    return True


def read_schema(file: Path) -> tuple[set[str], str | None, int]:
    """(table names, MLflow schema version or None, number of runs) of an existing SQLite file; sqlite3.Error if it is none."""
    with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=STORE_CHECK_SECONDS)) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        version = db.execute("select version_num from alembic_version").fetchone() if "alembic_version" in tables else None
        runs = db.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0
    return tables, version[0] if version else None, runs


def half_made_problem(file: Path, tables: set[str], version: str | None, runs: int) -> str | None:
    """Why a SQLite store with ``tables`` was left half-made by MLflow's schema set-up (a leftover temporary table, or
    tables without a schema version), with its repair; None otherwise (an empty file is not half-made: it is new)."""
    leftovers = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
    if not tables or (not leftovers and version is not None):
        return None
    upgrade = f"`mlflow db upgrade sqlite:///{file}`"
    what = f"leftover table {leftovers[0]}" if leftovers else "no schema version"
    if not runs:
        repair = f"it holds no runs: delete it (rm {file}) and start again"
    elif leftovers:
        repair = f"it holds {runs} runs: back it up, then `sqlite3 {file} 'DROP TABLE {leftovers[0]}'` and {upgrade}"
    else:
        repair = f"it holds {runs} runs: back it up, then {upgrade}"
    return f"was left half-made by MLflow's schema set-up ({what}; two jobs opened it while new?); {repair}"


def _sqlite_problem(file: Path | None, timeout: float) -> str | None:
    if file is None:
        return None
    if not file.exists():  # SQLite makes the file, not its folder
        folder = file.parent
        return None if folder.is_dir() and os.access(folder, os.W_OK) else f"cannot be made ({folder} is not a writable folder)"
    try:
        half = half_made_problem(file, *read_schema(file))
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=timeout)) as db:
            claims = db.execute("select artifact_location from experiments where name = ?", (schema.CLAIMS_EXPERIMENT,)).fetchone() \
                if db.execute("select 1 from sqlite_master where name = 'experiments'").fetchone() else None
    except sqlite3.Error as error:
        return f"cannot be opened as a SQLite database ({error})"
    return half or _sqlite_write_problem(file, timeout) or \
        _artifact_problem(claims[0] if claims else artifact_location(schema.CLAIMS_EXPERIMENT, f"sqlite:///{file}"))


def _sqlite_write_problem(file: Path, timeout: float) -> str | None:
    """Why the store cannot take a write, found by making one in a transaction that is rolled back (a file or folder
    that refuses writes passes a read and fails only when the first run is logged); None if it takes writes."""
    try:
        with closing(sqlite3.connect(file, timeout=timeout, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("CREATE TABLE hyperclaims_write_probe (x)")
            db.execute("ROLLBACK")
    except sqlite3.Error as error:
        if "locked" in str(error):  # another job is writing: it takes writes
            return None
        return f"does not take writes ({error}; is the file or its folder read-only, or the disk full?)"
    return None


def _artifact_problem(location: str) -> str | None:
    """Why the claims run's artifacts (the report) could not be written at ``location`` (a local one); None if they can."""
    parts = urlsplit(location)
    if parts.scheme not in ("", "file"):
        return None
    blocking = _unwritable(Path(parts.path))
    return None if blocking is None else f"keeps the report's artifacts in {parts.path}, which cannot be written ({blocking} is not a writable folder)"


def _database_problem(uri: str, timeout: float) -> str | None:
    def connect() -> None:
        engine = sqlalchemy.create_engine(uri)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        attempt = pool.submit(connect)
        try:
            attempt.result(timeout=timeout)
        except FutureTimeout:
            return f"does not accept a connection within {timeout:g} s"
        except Exception as error:  # noqa: BLE001 - a driver's errors are its own; each becomes the one line
            return f"does not accept a connection ({first_line(error)})"
    return None


def _unwritable(folder: Path) -> Path | None:
    """The folder (or the nearest existing one above it) that keeps ``folder`` from being made or written; None if none does."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
        return existing or folder
    return None


def _folder_problem(folder: Path) -> str | None:
    blocking = _unwritable(folder)
    return None if blocking is None else f"cannot be written ({blocking} is not a writable folder)"


class StoreBusy(StoreUnavailable):
    """Another job is writing to this local store."""


@contextmanager
def job_lock(uri: str | None = None) -> Iterator[None]:
    """Hold this local store for one job (a sweep or a claims job) while it runs; StoreBusy, naming the other job, if one holds it.

    Two jobs on one SQLite file would train the same runs twice and contend for its write lock; a
    tracking server serialises its own writes, so only local stores are locked. The lock is the
    operating system's (flock on ``<store>.lock``): it is released when the job ends, however it ends.
    """
    uri = uri or tracking_uri()
    file, folder = sqlite_file(uri), folder_store(uri)
    if file is not None:
        path = Path(f"{file}.lock")
    elif folder is not None:
        path = folder / ".hyperclaims.lock"
        folder.mkdir(parents=True, exist_ok=True)
    else:
        yield
        return
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise StoreBusy(f"the tracking store {redact(uri)} is in use by another job ({holder}); wait for it to end, "
                            "or point MLFLOW_TRACKING_URI at another store") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, started {datetime.now().isoformat(timespec='seconds')}: {' '.join(sys.argv)[:200]}")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def check_shared_tracking(uri: str | None) -> str:
    """The tracking URI, if remote workers can log to it; TrackingError otherwise."""
    if not uri:
        raise TrackingError("a distributed sweep needs a tracking server: set MLFLOW_TRACKING_URI=http://<host>:<port> "
                            "(start one with `mlflow server --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1`)")
    scheme = urlsplit(uri).scheme
    if scheme not in ("http", "https"):
        raise TrackingError(f"MLFLOW_TRACKING_URI={redact(uri)} is a local store that workers on other machines cannot see; "
                            "point it at an MLflow tracking server (http://<host>:<port>)")
    if not server_answers(uri):
        raise TrackingError(f"the tracking server at {redact(uri)} does not answer (GET /health); start it, or fix MLFLOW_TRACKING_URI")
    return uri
