"""Training runs that log themselves: what a remote worker does, and the tracking checks it needs.

A worker on another machine cannot hand its result to a driver that writes a
local SQLite file, so under a distributed executor each run logs straight to
the tracking server named by ``MLFLOW_TRACKING_URI``: params and tags when it
starts, metrics every epoch, a checkpoint artifact every few epochs, FINISHED
at the end. A retried or re-launched attempt of the same config first marks
any earlier attempt still RUNNING as KILLED and resumes from its checkpoint;
the analysis counts only the newest FINISHED run of a config.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import torch

from training import checkpoint as checkpoints
from training.config import RunConfig
from training.data import Split
from training.loop import EpochRecord, train_run
from training.tracking import RunLogger, client, experiment_id, run_params

CHECKPOINT_PATH = "checkpoint/latest.pt"  # one file per run, overwritten: storage stays bounded
# settings a worker needs from the driver's environment (never credentials: those belong in the workers' own environment)
FORWARDED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "HYPERCLAIMS_DATA")


class TrackingError(RuntimeError):
    """The tracking destination cannot serve a distributed sweep; the message says what to do."""


class StoreUnavailable(RuntimeError):
    """The tracking store went away mid-sweep; finished runs are kept, a re-run completes the rest."""


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


def close_running_attempts(study: str, config: RunConfig, status: str, note: str) -> list:
    """End every run of ``config`` still RUNNING in ``study`` with ``status`` and ``note``; those runs, newest first."""
    tracking = client()
    found = tracking.search_runs([experiment_id(tracking, study)],
                                 f"tags.config_hash = '{config.config_hash}' and attributes.status = 'RUNNING'",
                                 order_by=["attributes.start_time DESC"])
    for run in found:
        tracking.set_tag(run.info.run_id, "mlflow.note.content", note)
        tracking.set_terminated(run.info.run_id, status)
    return found


def earlier_attempt(study: str, config: RunConfig) -> tuple[str | None, dict | None]:
    """Mark earlier attempts of ``config`` still RUNNING as KILLED; (newest such run id with a checkpoint, the checkpoint).

    A checkpoint this code cannot resume (written by a version with another format) is
    noted on the lost run and skipped: the run trains again from the start.
    """
    lost = close_running_attempts(study, config, "KILLED", "attempt lost (worker or driver died); retried")
    run = next((run for run in lost if run.data.tags.get("checkpoint_epoch")), None)
    if run is None:
        return None, None
    tracking = client()
    with tempfile.TemporaryDirectory() as folder:
        path = tracking.download_artifacts(run.info.run_id, CHECKPOINT_PATH, folder)
        try:
            return run.info.run_id, checkpoints.from_bytes(Path(path).read_bytes())
        except ValueError as error:
            tracking.set_tag(run.info.run_id, "mlflow.note.content", f"attempt lost; its checkpoint was not resumed ({error}): retried from the start")
            return None, None


def save_checkpoint(logger: RunLogger, checkpoint: dict) -> None:
    """Upload ``checkpoint`` as the run's latest and tag its epoch."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(CHECKPOINT_PATH).name
        path.write_bytes(checkpoints.to_bytes(checkpoint))
        logger.mlflow.log_artifact(logger.run_id, str(path), str(Path(CHECKPOINT_PATH).parent))
    logger.mlflow.set_tag(logger.run_id, "checkpoint_epoch", str(checkpoint["epoch"]))


def train_and_log(study: str, tags: dict[str, str], config: RunConfig, data: tuple[Split, Split], device: str,
                  checkpoint_every: int) -> dict:
    """Train one run, logging it as it goes; resume an earlier attempt's checkpoint if there is one.

    Returns a small summary (the full record is in the tracking store).
    """
    resumed_from, resume = earlier_attempt(study, config)
    train, test = data
    extra = {"resumed_from_run": resumed_from, "resumed_after_epoch": str(resume["epoch"])} if resume else {}
    logger = RunLogger.open(config, study, run_params(config, device, len(train), train.label), {**tags, **extra})
    try:
        for record in (resume or {}).get("records", []):
            logger.log_epoch(EpochRecord(**record))
        result = train_run(config, train, test, torch.device(device), progress=False, on_epoch=logger.log_epoch,
                           checkpoint_every=checkpoint_every, on_checkpoint=lambda c: save_checkpoint(logger, c), resume=resume)
        logger.finish(result)
    except BaseException:
        try:
            logger.fail("FAILED")
        except Exception:  # the server may be what failed; the run then stays RUNNING and the next attempt marks it
            pass
        raise
    return {"run_id": logger.run_id, "diverged": result.diverged, "final": result.final_test_value}


def worker_environment() -> dict[str, str]:
    """The forwarded settings present in this process's environment."""
    return {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
