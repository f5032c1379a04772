"""MLflow bookkeeping for training runs: where the store is, what a run records.

Default store: SQLite ``mlflow.db`` in the working directory, artifacts in
``mlruns/`` beside it (absolute URIs), so ``mlflow ui`` started in the same
folder shows everything. ``MLFLOW_TRACKING_URI`` points everything at another
store or a tracking server instead.

Metrics go out in batches (one ``log_batch`` per epoch). Steps: ``train_loss``,
``test_error`` and ``step_time_ms`` are indexed by epoch (1..E);
``hp.<level>.<name>`` by global step (0 = the initial value), sampled every
few steps and at the end of every epoch.
"""

from __future__ import annotations

import os
import subprocess
import time
from functools import lru_cache
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from training.config import RunConfig
from training.loop import EpochRecord, RunResult
from training.tasks import UNSTATED_CHOICES, metric_for, steps_per_epoch

MAX_BATCH = 1000  # MLflow accepts at most 1,000 metrics per log_batch call
CODE_ROOT = Path(__file__).resolve().parent.parent


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else an absolute SQLite URI for ./mlflow.db."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}"


def client() -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri())


@lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of the code (with '+dirty' for local changes), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=CODE_ROOT, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=CODE_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def experiment_id(mlflow: MlflowClient, name: str) -> str:
    """Id of the experiment ``name``, created on first use."""
    found = mlflow.get_experiment_by_name(name)
    return found.experiment_id if found is not None else mlflow.create_experiment(name)


def run_params(config: RunConfig, device: str, n_train: int, dataset: str) -> dict[str, str]:
    """Params recorded beside the config: what a reader of the run needs to interpret it.

    ``n_train``: size of the whole training split; ``dataset``: its label.
    """
    used = min(n_train, config.train_size or n_train)
    return {
        "dataset": dataset,
        "device": device,
        "dtype": "float32",
        "steps_per_epoch": str(steps_per_epoch(config.model, used, config.batch_size)),
        **UNSTATED_CHOICES[config.model],
    }


def epoch_metrics(record: EpochRecord, when_ms: int, metric: str = "test_error") -> list[Metric]:
    """Every metric one epoch produced, as MLflow Metric entities; ``metric`` names the test value."""
    metrics = [
        Metric("train_loss", record.train_loss, when_ms, record.epoch),
        Metric(metric, record.test_value, when_ms, record.epoch),
        Metric("step_time_ms", record.step_time_ms, when_ms, record.epoch),
    ]
    for step, values in record.hp_steps:
        metrics += [Metric(f"hp.{name}", value, when_ms, step) for name, value in values.items()]
    return metrics


class RunLogger:
    """One training run in MLflow: params and tags up front, a batch of metrics per epoch."""

    def __init__(self, mlflow: MlflowClient, run_id: str, metric: str = "test_error"):
        self.mlflow = mlflow
        self.run_id = run_id
        self.metric = metric

    @classmethod
    def open(cls, config: RunConfig, experiment: str, extra_params: dict[str, str] | None = None,
             tags: dict[str, str] | None = None, parent_run_id: str | None = None) -> "RunLogger":
        """Create the run and log its identity.

        With ``parent_run_id`` (the run `mlflow run` made, or a sweep's), the run is
        created as its child in the parent's experiment, so the UI nests them; the
        parent keeps its own params (e.g. `-P epochs=auto`), the child the resolved config.
        """
        mlflow = client()
        all_tags = {"config_hash": config.config_hash, "seed": str(config.seed), "profile": config.profile,
                    "code_version": code_version(), **(tags or {})}
        if parent_run_id is not None:
            experiment_id_ = mlflow.get_run(parent_run_id).info.experiment_id
            all_tags["mlflow.parentRunId"] = parent_run_id
        else:
            experiment_id_ = experiment_id(mlflow, experiment)
        run_name = f"{config.model} {config.stack} seed={config.seed}"
        run_id = mlflow.create_run(experiment_id_, run_name=run_name).info.run_id
        params = {**config.to_params(), **(extra_params or {})}
        mlflow.log_batch(run_id, params=[Param(k, v) for k, v in params.items()], tags=[RunTag(k, v) for k, v in all_tags.items()])
        return cls(mlflow, run_id, metric_for(config.model))

    def log_epoch(self, record: EpochRecord) -> None:
        metrics = epoch_metrics(record, int(time.time() * 1000), self.metric)
        for start in range(0, len(metrics), MAX_BATCH):
            self.mlflow.log_batch(self.run_id, metrics=metrics[start : start + MAX_BATCH])

    def finish(self, result: RunResult) -> None:
        """Record the outcome; a diverged run is still a FINISHED run."""
        tags = {"diverged": str(result.diverged).lower(), "diverged_step": "" if result.diverged_step is None else str(result.diverged_step),
                "seeds_in_pass": str(result.seeds_in_pass)}
        now = int(time.time() * 1000)
        sizes = [Metric("stack_bytes", result.stack_bytes, now, 0), Metric("weight_bytes", result.weight_bytes, now, 0)]
        self.mlflow.log_batch(self.run_id, metrics=sizes, tags=[RunTag(k, v) for k, v in tags.items()])
        self.mlflow.set_terminated(self.run_id, "FINISHED")

    def fail(self, status: str = "FAILED") -> None:
        self.mlflow.set_terminated(self.run_id, status)
