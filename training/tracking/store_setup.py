"""Making a SQLite tracking store whole before anything writes to it, and telling a broken one apart.

MLflow makes a new SQLite store's tables on first use, without a lock: two processes that open
a new store at once (two `mlflow run` launchers, say) race through its schema migrations, both
fail, and the file is left half-made, which every later open reports as a long traceback. Here
the store is made by one process at a time (an OS lock beside it), and a store left half-made
is recognised and named in one line with its repair.

    python -m training.tracking.store_setup   # make the store of MLFLOW_TRACKING_URI (or ./mlflow.db) whole and check it

The README's main command runs this before `mlflow run`, whose launcher opens the store before
any code of ours can.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
from contextlib import ExitStack
from pathlib import Path

from mlflow.store.db.utils import _get_latest_schema_revision
from mlflow.tracking import MlflowClient

from training.tracking import schema
from training.tracking.store import (
    STORE_ERRORS,
    StoreUnavailable,
    check_store,
    first_line,
    folder_store,
    half_made_problem,
    job_lock,
    read_schema,
    redact,
    sqlite_file,
    tracking_uri,
)
from training.tracking.writer import close_abandoned_runs


def schema_problem(file: Path, tables: set[str], version: str | None, runs: int) -> str | None:
    """Why a SQLite store with ``tables`` (``read_schema``) is not a whole store of this MLflow's schema; None if it is."""
    half = half_made_problem(file, tables, version, runs)
    if half or version == (head := _get_latest_schema_revision()):
        return half
    return f"has MLflow schema {version}, this MLflow expects {head}: back it up, then `mlflow db upgrade sqlite:///{file}`"


def prepare_store(uri: str | None = None) -> str:
    """The tracking URI, its SQLite store (if it is one) made whole first, by one process at a time; StoreUnavailable, one
    line with the repair, for a store left half-made or of another schema. Other stores are left to ``check_store``."""
    uri = uri or tracking_uri()
    file = sqlite_file(uri)
    if file is None or _looks_whole(file):
        return uri
    if not file.parent.is_dir():
        return uri  # check_store names the missing folder
    try:
        lock = open(f"{file}.setup.lock", "a+")
    except OSError:
        return uri  # an unwritable folder: check_store names it
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process makes the store
        if not (file.exists() and _known_whole(file, uri)):
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)  # MLflow makes its tables, alone
    return uri


def _looks_whole(file: Path) -> bool:
    """True for a whole store, read without the lock (a store being made by another process looks unfinished: the
    caller then waits for the lock and judges it there)."""
    try:
        tables, version, runs = read_schema(file) if file.exists() else (set(), None, 0)
        return bool(tables) and schema_problem(file, tables, version, runs) is None
    except sqlite3.Error:
        return False


def _known_whole(file: Path, uri: str) -> bool:
    """True for a whole store, False for an empty file (to be made); StoreUnavailable, one line, for a broken one."""
    try:
        tables, version, runs = read_schema(file)
    except sqlite3.Error as error:
        raise StoreUnavailable(f"the tracking store {redact(uri)} cannot be opened as a SQLite database ({error})") from None
    if not tables:
        return False
    problem = schema_problem(file, tables, version, runs)
    if problem:
        raise StoreUnavailable(f"the tracking store {redact(uri)} {problem}")
    return True


def ready_store(uri: str | None = None) -> str:
    """``prepare_store`` then ``check_store``: the URI of a store that is whole, answers and takes writes."""
    return check_store(prepare_store(uri))


def hold_store(held: ExitStack) -> None:
    """Make the tracking store whole and check it answers and takes writes, then hold it (a local one) for this job until
    ``held`` closes, marking KILLED the runs an earlier job left RUNNING there; StoreUnavailable otherwise."""
    uri = ready_store()
    held.enter_context(job_lock())
    if sqlite_file(uri) is None and folder_store(uri) is None:
        return  # a server: other jobs may be logging to it right now
    try:
        closed = close_abandoned_runs(keep=os.environ.get(schema.LAUNCHER_ENV))
    except STORE_ERRORS as error:
        raise StoreUnavailable(f"the tracking store {redact(uri)} cannot be written ({first_line(error)})") from None
    if closed:
        print(f"marked KILLED {closed} run(s) an earlier job left RUNNING (it ended while logging them); the report counts them "
              "as excluded, and this job trains their configs again", file=sys.stderr)


def main() -> int:
    try:
        uri = ready_store()
    except StoreUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    print(f"tracking store ready: {redact(uri)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
