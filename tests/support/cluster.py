"""Real services for the distributed tests: an MLflow server and a Ray head node, on 127.0.0.1 only.

Every process started here is found again by pid and killed when the test is done.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
# fail fast when the server is gone, instead of MLflow's minutes of retries
FAST_FAILING = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"waited {timeout:.0f}s for {what}")


def kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    wait_for(lambda: not any(alive(p) for p in family), 10, f"the processes of {pid} to end", every=0.05)


def alive(process: psutil.Process) -> bool:
    """Whether ``process`` still runs. A killed daemon is reparented to PID 1, which in a container may never reap it:
    its zombie stays, and waiting for it to vanish would wait out the timeout."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class MlflowServer:
    """``mlflow server`` with a SQLite store and served artifacts in ``folder``."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder, self.port = folder, port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "MlflowServer":
        return self.launch().wait()

    def launch(self) -> "MlflowServer":
        """Start the server without waiting for it to answer (it takes seconds: other services can start meanwhile)."""
        command = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{self.folder / 'server.db'}",
                   "--artifacts-destination", str(self.folder / "artifacts"), "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        log = (self.folder / "server.log").open("a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self) -> "MlflowServer":
        wait_for(self.answers, 60, "the MLflow server")
        return self

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process.wait()  # reap it
            self.process = None


class RayHead:
    """``ray start --head`` on 127.0.0.1 with its own temp dir, so its processes can be found by pid."""

    def __init__(self, cpus: int = 2):
        self.port, self.cpus = free_port(), cpus
        self.temp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")  # short: Ray's socket paths have a length limit
        self.address = f"127.0.0.1:{self.port}"

    def start(self) -> "RayHead":
        command = [str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                   "--num-cpus", str(self.cpus), "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", self.temp]
        subprocess.run(command, env={**os.environ, **LOOPBACK}, check=True, capture_output=True, timeout=120)
        return self

    def processes(self) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["cmdline"]):
            if any(self.temp in part for part in process.info["cmdline"] or []):
                found.append(process)
        return found

    def workers_running(self, function: str) -> list[psutil.Process]:
        """Ray worker processes currently executing ``function`` (Ray renames them ``ray::<function>``)."""
        return [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [""])[0].startswith(f"ray::{function}")]

    def stop(self) -> None:
        for _ in range(3):  # raylet may respawn children while it is being killed
            family = self.processes()
            if not family:
                break
            for process in family:
                kill_tree(process.pid)
        subprocess.run(["rm", "-rf", self.temp], check=False)
