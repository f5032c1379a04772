"""Sweeps on a Ray cluster: one Ray task per run, each logging to the shared tracking server.

``RayRunner`` is a ``training.runners.base.Runner`` whose runs log themselves
(``logs_runs``), so the driver writes nothing per run. A task whose worker dies (SIGKILL, node loss) is retried by
Ray up to ``max_retries`` times; the retry marks the lost attempt KILLED and
resumes from its last checkpoint (``training.runners.remote``).

Ray is an optional dependency (``pip install -e '.[ray]'``); it is imported
only when this executor is chosen. Before submitting anything the driver
checks that ``MLFLOW_TRACKING_URI`` names a tracking server that answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch

from training.core import interrupt
from training.core.config import RunConfig
from training.runners.base import WAKE_SECONDS, Job, Outcome
from training.runners.local import sweep_data
from training.runners.remote import train_and_log, worker_environment
from training.studies.base import Cell
from training.tracking import schema
from training.tracking.store import check_shared_tracking
from training.tracking.writer import study_tags

LOCAL = "local"  # ray_address meaning "start a Ray instance on this machine, for this sweep"


class RayError(RuntimeError):
    """Ray is missing or its cluster cannot be reached; the message says what to do."""


def _run_remote(study: str, tags: dict, cell: Cell, config: RunConfig, device: str, checkpoint_every: int, threads: int) -> dict:
    """The body of a Ray task (runs in a Ray worker process; ``sweep_data`` caches its data per process)."""
    torch.set_num_threads(max(1, threads))
    tags = {**tags, **study_tags(study, cell.label), schema.EXECUTOR: "ray"}
    return train_and_log(study, tags, config, sweep_data(config.model), device, checkpoint_every)


class RayRunner:
    logs_runs = True

    def __init__(self, address: str = "auto", device: str = "cpu", cpus_per_run: float = 1, gpus_per_run: float | None = None,
                 checkpoint_every: int = 1, max_retries: int = 3):
        self.address, self.device = address, device
        self.cpus, self.gpus = cpus_per_run, (1 if device.startswith("cuda") else 0) if gpus_per_run is None else gpus_per_run
        self.checkpoint_every, self.max_retries = checkpoint_every, max_retries
        self.study, self.tags = "", {}
        self._remote = None

    def __enter__(self) -> "RayRunner":
        check_shared_tracking(os.environ.get("MLFLOW_TRACKING_URI"))
        try:
            import ray
        except ImportError:
            raise RayError("the ray executor needs Ray: pip install -e '.[ray]'") from None
        runtime_env = {"env_vars": worker_environment()}
        try:
            if self.address == LOCAL:
                # a private instance for this sweep: on loopback only, no dashboard
                os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
                ray.init(include_dashboard=False, runtime_env=runtime_env, log_to_driver=False, _node_ip_address="127.0.0.1")
            else:
                ray.init(address=self.address, runtime_env=runtime_env, log_to_driver=False)
        except ConnectionError as error:
            raise RayError(f"no Ray cluster at address {self.address!r} ({error}); start one (`ray start --head --node-ip-address 127.0.0.1`), "
                           f"pass its address, or use ray_address={LOCAL} for one on this machine") from None
        self._remote = ray.remote(_run_remote).options(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.max_retries,
                                                          retry_exceptions=False)
        return self

    def __exit__(self, *exc) -> None:
        import ray

        ray.shutdown()

    def for_study(self, study: str, tags: dict[str, str]) -> "RayRunner":
        """Name the study and tags the next ``completed`` call's runs are logged under."""
        self.study, self.tags = study, tags
        return self

    def completed(self, jobs: list[Job], in_process: bool = False) -> Iterator[Outcome]:
        """Submit every job, yield each as it finishes; cancel what is left if the caller stops."""
        import ray

        if in_process:  # a timing study: run alone, here, so nothing beside it perturbs its clock
            yield from self._in_driver(jobs)
            return
        threads = max(1, int(self.cpus))
        pending = {self._remote.remote(self.study, self.tags, cell, config, self.device, self.checkpoint_every, threads): (cell, config)
                   for cell, config in jobs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=WAKE_SECONDS)
                interrupt.raise_if_received()
                for ref in done:
                    cell, config = pending.pop(ref)
                    try:
                        yield Outcome(cell, config, ray.get(ref), None)
                    except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError, ray.exceptions.RayError) as error:
                        yield Outcome(cell, config, None, error)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def _in_driver(self, jobs: list[Job]) -> Iterator[Outcome]:
        for cell, config in jobs:
            try:
                result = _run_remote(self.study, self.tags, cell, config, self.device, self.checkpoint_every, 1)
            except Exception as error:  # one broken run must not lose the sweep
                yield Outcome(cell, config, None, error)
            else:
                yield Outcome(cell, config, result, None)
