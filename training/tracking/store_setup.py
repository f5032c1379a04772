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
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from mlflow.store.db.utils import _get_latest_schema_revision
from mlflow.tracking import MlflowClient

from training.tracking.store import STORE_CHECK_SECONDS, StoreUnavailable, check_store, redact, sqlite_file, tracking_uri


def read_schema(file: Path) -> tuple[set[str], str | None, int]:
    """(table names, MLflow schema version or None, number of runs) of an existing SQLite file; sqlite3.Error if it is none."""
    with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=STORE_CHECK_SECONDS)) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        version = db.execute("select version_num from alembic_version").fetchone() if "alembic_version" in tables else None
        runs = db.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0
    return tables, version[0] if version else None, runs


def schema_problem(file: Path, tables: set[str], version: str | None, runs: int) -> str | None:
    """Why a SQLite store with ``tables`` (``read_schema``) is not a whole store of this MLflow's schema; None if it is."""
    leftovers = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
    head = _get_latest_schema_revision()
    if not leftovers and version == head:
        return None
    upgrade = f"`mlflow db upgrade sqlite:///{file}`"
    if not leftovers and version is not None:
        return f"has MLflow schema {version}, this MLflow expects {head}: back it up, then {upgrade}"
    what = f"leftover table {leftovers[0]}" if leftovers else "no schema version"
    if not runs:
        repair = f"it holds no runs: delete it (rm {file}) and start again"
    elif leftovers:
        repair = f"it holds {runs} runs: back it up, then `sqlite3 {file} 'DROP TABLE {leftovers[0]}'` and {upgrade}"
    else:
        repair = f"it holds {runs} runs: back it up, then {upgrade}"
    return f"was left half-made by MLflow's schema set-up ({what}; two jobs opened it while new?); {repair}"


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
