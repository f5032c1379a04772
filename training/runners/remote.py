"""Training runs that log themselves: what a remote worker does.

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
from pathlib import Path

import torch

from training.core import checkpoint as checkpoints
from training.core.config import RunConfig
from training.core.interrupt import uninterrupted
from training.core.loop import EpochRecord, train_run
from training.data import Split
from training.tracking import schema
from training.tracking.store import STORE_ERRORS, client
from training.tracking.writer import RunLogger, close_running_attempts, dataset_inputs, run_params

# settings a worker needs from the driver's environment (never credentials: those belong in the workers' own environment)
FORWARDED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "HYPERCLAIMS_DATA")


def earlier_attempt(study: str, config: RunConfig) -> tuple[str | None, dict | None]:
    """Mark earlier attempts of ``config`` still RUNNING as KILLED; (newest such run id with a checkpoint, the checkpoint).

    A checkpoint this code cannot resume (written by a version with another format) is
    noted on the lost run and skipped: the run trains again from the start.
    """
    lost = close_running_attempts(study, config, "KILLED", "attempt lost (worker or driver died); retried")
    run = next((run for run in lost if run.data.tags.get(schema.CHECKPOINT_EPOCH)), None)
    if run is None:
        return None, None
    tracking = client()
    with tempfile.TemporaryDirectory() as folder:
        path = tracking.download_artifacts(run.info.run_id, schema.CHECKPOINT_ARTIFACT, folder)
        try:
            return run.info.run_id, checkpoints.from_bytes(Path(path).read_bytes())
        except ValueError as error:
            tracking.set_tag(run.info.run_id, schema.NOTE, f"attempt lost; its checkpoint was not resumed ({error}): retried from the start")
            return None, None


@uninterrupted
def save_checkpoint(logger: RunLogger, checkpoint: dict) -> None:
    """Upload ``checkpoint`` as the run's latest and tag its epoch."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(schema.CHECKPOINT_ARTIFACT).name
        path.write_bytes(checkpoints.to_bytes(checkpoint))
        logger.mlflow.log_artifact(logger.run_id, str(path), str(Path(schema.CHECKPOINT_ARTIFACT).parent))
    logger.set_tag(schema.CHECKPOINT_EPOCH, str(checkpoint["epoch"]))


def train_and_log(study: str, tags: dict[str, str], config: RunConfig, data: tuple[Split, Split], device: str,
                  checkpoint_every: int) -> dict:
    """Train one run, logging it as it goes; resume an earlier attempt's checkpoint if there is one.

    Returns a small summary (the full record is in the tracking store).
    """
    resumed_from, resume = earlier_attempt(study, config)
    train, test = data
    extra = {schema.RESUMED_FROM: resumed_from, schema.RESUMED_AFTER: str(resume["epoch"])} if resume else {}
    logger = RunLogger.open(config, study, run_params(config, device, len(train), train.label), {**tags, **extra},
                            inputs=dataset_inputs(config, train, test))
    try:
        for record in (resume or {}).get("records", []):
            logger.log_epoch(EpochRecord(**record))
        result = train_run(config, train, test, torch.device(device), progress=False, on_epoch=logger.log_epoch,
                           checkpoint_every=checkpoint_every, on_checkpoint=lambda c: save_checkpoint(logger, c), resume=resume)
        logger.finish(result)
    except BaseException:
        try:
            logger.fail("FAILED")
        except STORE_ERRORS:  # the server may be what failed; the run then stays RUNNING and the next attempt marks it
            pass
        raise
    return {"run_id": logger.run_id, "diverged": result.diverged, "final": result.final_test_value}


def worker_environment() -> dict[str, str]:
    """The forwarded settings present in this process's environment."""
    return {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
