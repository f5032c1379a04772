"""Fixtures every test package shares: a fresh tracking store, interruption handlers, MNIST loaded once, one smoke claims job."""

import signal
import subprocess
import sys

import pytest
from support.cli import REPO, environment

from training.core import interrupt
from training.data.mnist import load_mnist


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite tracking store for this test, set as MLFLOW_TRACKING_URI (for this process and its children)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return uri


@pytest.fixture
def handlers():
    """This process's interruption handlers, as a command's main installs them; the previous ones restored after."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever pytest was started with
    interrupt.handle_interruptions()
    yield
    interrupt.handle_interruptions()  # forget what the test left recorded: later tests' training loops would raise it
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.fixture(scope="session")
def mnist():
    """(train, test) MNIST splits, loaded and checked once for the whole session."""
    return load_mnist()


@pytest.fixture(scope="session")
def smoke_job(tmp_path_factory):
    """The main job at the smoke profile through `mlflow run`, with our studies beyond the paper, on a fresh SQLite store:
    (folder, store URI, the finished process)."""
    folder = tmp_path_factory.mktemp("claims")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(REPO), "-e", "claims", "-P", "profile=smoke", "-P", "beyond=true", "-P", f"out={folder / 'reports'}",
         "--env-manager", "local"],
        cwd=folder, env=environment(uri), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, uri, done


SHARED_SLOW_FIXTURES = ("smoke_job", "resumed")  # each runs a claims job: their tests share a worker, so it runs once


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook turns the groups into node ids on each worker
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (the README's command runs two workers), the tests that start a Ray head node share one worker
    (two heads on one machine would contend for Ray's fixed ports), and so do the users of each costly shared fixture."""
    for item in items:
        if item.get_closest_marker("distributed"):
            item.add_marker(pytest.mark.xdist_group("ray"))
        else:
            shared = [name for name in SHARED_SLOW_FIXTURES if name in item.fixturenames]
            if shared:
                item.add_marker(pytest.mark.xdist_group(shared[0]))
