"""Writing runs to the tracking store: a training run as it goes, its failure, the claims run.

Every write runs ``uninterrupted``: a Ctrl-C or SIGTERM arriving mid-write is raised once
the write is done, so no transaction is cut short (which would leave SQLite locked and the
run unmarkable as KILLED).

Metrics go out in batches (one ``log_batch`` per epoch). Steps: ``train_loss``,
``test_error`` and ``step_time_ms`` are indexed by epoch (1..E);
``hp.<level>.<name>`` by global step (0 = the initial value), sampled every
few steps and at the end of every epoch. Names: ``training.tracking.schema``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from pathlib import Path

import pandas as pd
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient

from training.core.benchmark import BENCHMARKS
from training.core.config import Profile, RunConfig
from training.core.interrupt import parent_gone, uninterrupted
from training.core.loop import EpochRecord, RunResult
from training.data import Split
from training.data.files import fingerprint
from training.tracking import schema
from training.tracking.store import STORE_ERRORS, client, code_version, experiment_id, mark_model_training

MAX_BATCH = 1000  # MLflow accepts at most 1,000 metrics per log_batch call


def run_params(config: RunConfig, device: str, n_train: int, dataset: str) -> dict[str, str]:
    """Params recorded beside the config: what a reader of the run needs to interpret it.

    ``n_train``: size of the whole training split; ``dataset``: its label.
    """
    used = min(n_train, config.train_size or n_train)
    return {
        "dataset": dataset,
        "device": device,
        "dtype": "float32",
        "tf32": "off",
        "steps_per_epoch": str(BENCHMARKS[config.model].steps_per_epoch(used, config.batch_size)),
        **BENCHMARKS[config.model].choices,
    }


def dataset_inputs(config: RunConfig, train: Split, test: Split) -> list[DatasetInput]:
    """The run's data as MLflow dataset inputs (name, source, a digest of the checked files and the slice used;
    context training / evaluation): metadata only, no copy of the data in the store."""
    inputs = []
    for split, context, size in ((train, "training", config.train_size), (test, "evaluation", config.test_size)):
        if not split.source:  # data made in memory (tests, benchmarks): nothing to point at
            continue
        used = "all" if size is None or size >= len(split) else f"first {size:,} of {len(split):,}"
        with warnings.catch_warnings():  # a local path matches MLflow's local-artifact source twice; it says so, and takes it
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways")
            source = resolve_dataset_source(split.source)
        entity = MetaDataset(source, name=split.label, digest=fingerprint(split.digest, used))._to_mlflow_entity()
        rows = len(split) if size is None else min(size, len(split))
        profile = {"slice": used, "rows_used": rows, "rows_in_split": len(split), "fingerprint_of_checked_files_sha256": split.digest,
                   "shape_of_one_example": list(split.images.shape[1:])}
        dataset = Dataset(entity.name, entity.digest, entity.source_type, entity.source, entity.schema, json.dumps(profile))
        inputs.append(DatasetInput(dataset, [InputTag(schema.DATASET_CONTEXT, context), InputTag(schema.DATASET_SLICE, used)]))
    return inputs


def log_inputs(mlflow: MlflowClient, run_id: str, inputs: list[DatasetInput], attempts: int = 3) -> None:
    """Log the run's dataset inputs. Runs logging themselves at once (Ray workers) race to create the same dataset
    record in the store, and all but one are refused; a moment later the record exists and the call goes through."""
    for attempt in range(attempts):
        try:
            mlflow.log_inputs(run_id, datasets=inputs)
            return
        except STORE_ERRORS:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def study_tags(study: str, cell: str, claims: tuple[str, ...] = ()) -> dict[str, str]:
    """The tags that place a run in its study's grid."""
    tags = {schema.STUDY: study, schema.CELL: cell}
    if claims:
        tags[schema.CLAIMS] = ",".join(claims)
    return tags


def epoch_metrics(record: EpochRecord, when_ms: int, metric: str = schema.TEST_ERROR) -> list[Metric]:
    """Every metric one epoch produced, as MLflow Metric entities; ``metric`` names the test value."""
    metrics = [
        Metric(schema.TRAIN_LOSS, record.train_loss, when_ms, record.epoch),
        Metric(metric, record.test_value, when_ms, record.epoch),
        Metric(schema.STEP_TIME_MS, record.step_time_ms, when_ms, record.epoch),
    ]
    for step, values in record.hp_steps:
        metrics += [Metric(schema.hp_metric(name), value, when_ms, step) for name, value in values.items()]
    return metrics


# every run's description: its charts' "step" means the epoch for some metrics and the optimizer step for others
METRICS_NOTE = (f"Metrics by epoch (a chart's step is the epoch, 1..E): `{schema.TEST_ERROR}` (% of test examples misclassified; "
                f"the char-LSTM logs `{schema.TEST_PERPLEXITY}`), `{schema.TRAIN_LOSS}` (mean cross-entropy), `{schema.STEP_TIME_MS}` (ms per "
                f"optimizer step). By optimizer step (step 0 = the initial value): `{schema.HP_PREFIX}<level>.<name>`, each level's learned "
                f"hyperparameters. Once: `{schema.STACK_BYTES}`, `{schema.WEIGHT_BYTES}` (bytes). The full stack is the param `stack`.")


def short_name(config: RunConfig) -> str:
    """A run name the UI shows whole and that tells runs apart: 'mlp adam/sgd(0.001) s3' (the full stack is the param
    ``stack``); towers taller than four levels are counted ('sgd/rmsprop x19(0.01)')."""
    levels = [level.optimizer for level in config.levels]
    above = set(levels[1:])
    names = "/".join(levels) if len(levels) <= 4 or len(above) != 1 else f"{levels[0]}/{levels[1]} x{len(levels) - 1}"
    alpha = dict(config.levels[0].values).get("alpha")
    return f"{config.model} {names}" + (f"({alpha:g})" if alpha is not None else "") + f" s{config.seed}"


class RunLogger:
    """One training run in MLflow: params and tags up front, a batch of metrics per epoch."""

    def __init__(self, mlflow: MlflowClient, run_id: str, metric: str = schema.TEST_ERROR):
        self.mlflow = mlflow
        self.run_id = run_id
        self.metric = metric

    @classmethod
    @uninterrupted
    def open(cls, config: RunConfig, experiment: str, extra_params: dict[str, str] | None = None,
             tags: dict[str, str] | None = None, parent_run_id: str | None = None, inputs: list[DatasetInput] | None = None,
             start_time: int | None = None) -> "RunLogger":
        """Create the run and log its identity and its dataset inputs.

        With ``parent_run_id`` (the run `mlflow run` made, or a sweep's), the run is
        created as its child in the parent's experiment, so the UI nests them; the
        parent keeps its own params (e.g. `-P epochs=auto`), the child the resolved config.
        ``start_time`` (ms): when its training began, for a run logged after it trained.
        """
        mlflow = client()
        all_tags = {schema.CONFIG_HASH: config.config_hash, schema.SEED: str(config.seed), schema.PROFILE: config.profile,
                    schema.CODE_VERSION: code_version(), schema.NOTE: METRICS_NOTE, **(tags or {})}
        if parent_run_id is not None:
            experiment_id_ = mlflow.get_run(parent_run_id).info.experiment_id
            mark_model_training(mlflow, mlflow.get_experiment(experiment_id_))
            all_tags[schema.PARENT_RUN] = parent_run_id
        else:
            experiment_id_ = experiment_id(mlflow, experiment)
        run_name = short_name(config)
        run_id = mlflow.create_run(experiment_id_, start_time=start_time, run_name=run_name).info.run_id
        params = {**config.to_params(), **(extra_params or {})}
        mlflow.log_batch(run_id, params=[Param(k, v) for k, v in params.items()], tags=[RunTag(k, v) for k, v in all_tags.items()])
        if inputs:
            log_inputs(mlflow, run_id, inputs)
        return cls(mlflow, run_id, BENCHMARKS[config.model].metric)

    @uninterrupted
    def log_epoch(self, record: EpochRecord) -> None:
        metrics = epoch_metrics(record, int(time.time() * 1000), self.metric)
        for start in range(0, len(metrics), MAX_BATCH):
            self.mlflow.log_batch(self.run_id, metrics=metrics[start : start + MAX_BATCH])

    @uninterrupted
    def finish(self, result: RunResult) -> None:
        """Record the outcome; a diverged run is still a FINISHED run."""
        tags = {schema.DIVERGED: str(result.diverged).lower(),
                schema.DIVERGED_STEP: "" if result.diverged_step is None else str(result.diverged_step),
                schema.SEEDS_IN_PASS: str(result.seeds_in_pass)}
        now = int(time.time() * 1000)
        sizes = [Metric(schema.STACK_BYTES, result.stack_bytes, now, 0), Metric(schema.WEIGHT_BYTES, result.weight_bytes, now, 0)]
        self.mlflow.log_batch(self.run_id, metrics=sizes, tags=[RunTag(k, v) for k, v in tags.items()])
        self.mlflow.set_terminated(self.run_id, "FINISHED", end_time=result.ended_ms)

    @uninterrupted
    def fail(self, status: str = "FAILED") -> None:
        self.mlflow.set_terminated(self.run_id, status)

    @uninterrupted
    def set_tag(self, key: str, value: str) -> None:
        self.mlflow.set_tag(self.run_id, key, value)


@uninterrupted
def log_result(experiment: str, config: RunConfig, params: dict[str, str], tags: dict[str, str], result: RunResult,
               inputs: list[DatasetInput] | None = None) -> None:
    """A whole finished run at once (the single writer of a local sweep), dated when it trained.

    If the store refuses a write halfway (a full disk), the half-logged run is marked KILLED where the store still
    allows it (else the next job on the store does: ``close_abandoned_runs``), and the store's error is raised.
    """
    logger = RunLogger.open(config, experiment, params, tags, inputs=inputs, start_time=result.started_ms)
    try:
        for record in result.epochs:
            logger.log_epoch(record)
        logger.finish(result)
    except STORE_ERRORS:
        with contextlib.suppress(*STORE_ERRORS):
            logger.fail("KILLED")
        raise


@uninterrupted
def log_failure(experiment: str, config: RunConfig, tags: dict[str, str], error: BaseException) -> None:
    """A run whose training raised: FAILED, with the error as its note."""
    logger = RunLogger.open(config, experiment, tags={**tags, schema.NOTE: f"failed: {error!r}"})
    logger.fail("FAILED")


def finished_hashes(experiment: str) -> set[str]:
    """config_hash of every FINISHED run in ``experiment``."""
    tracking = client()
    found = tracking.get_experiment_by_name(experiment)
    if found is None:
        return set()
    runs = tracking.search_runs([found.experiment_id], "attributes.status = 'FINISHED'", run_view_type=ViewType.ACTIVE_ONLY, max_results=50_000)
    return {run.data.tags.get(schema.CONFIG_HASH) for run in runs}


@uninterrupted
def close_running_attempts(experiment: str, config: RunConfig, status: str, note: str) -> list:
    """End every run of ``config`` still RUNNING in ``experiment`` with ``status`` and ``note``; those runs, newest first."""
    tracking = client()
    found = tracking.search_runs([experiment_id(tracking, experiment)],
                                 f"tags.{schema.CONFIG_HASH} = '{config.config_hash}' and attributes.status = 'RUNNING'",
                                 order_by=["attributes.start_time DESC"])
    for run in found:
        tracking.set_tag(run.info.run_id, schema.NOTE, note)
        tracking.set_terminated(run.info.run_id, status)
    return found


ABANDONED_NOTE = "left RUNNING by a job that ended while logging it (killed, or its store refused a write); marked KILLED by the next job"


@uninterrupted
def close_abandoned_runs(keep: str | None = None) -> int:
    """Mark KILLED every study or claims run left RUNNING in the store (not ``keep``, this process's launcher run); how many.

    Only a job holding the store's lock may call this: a local sweep logs each run whole at its end, so a run
    still RUNNING then belongs to a job that ended mid-write and will never finish it.
    """
    tracking = client()
    claims = tracking.get_experiment_by_name(schema.CLAIMS_EXPERIMENT)
    experiments = [e.experiment_id for e in tracking.search_experiments()]
    found = tracking.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=50_000) if experiments else []
    abandoned = [run for run in found if run.info.run_id != keep and
                 (schema.STUDY in run.data.tags or (claims is not None and run.info.experiment_id == claims.experiment_id))]
    for run in abandoned:
        tracking.set_tag(run.info.run_id, schema.NOTE, ABANDONED_NOTE)
        tracking.set_terminated(run.info.run_id, "KILLED")
    return len(abandoned)


@uninterrupted
def note_launcher(key: str, value: str) -> None:
    """Tag the `mlflow run` launcher run of this process, if there is one."""
    launcher = os.environ.get(schema.LAUNCHER_ENV)
    if launcher:
        tracking = client()
        tracking.set_tag(launcher, key, value)
        mark_model_training(tracking, tracking.get_experiment(tracking.get_run(launcher).info.experiment_id))


@uninterrupted
def describe_experiments(notes: dict[str, str]) -> None:
    """Give each experiment (by id) its description, shown at the top of its page in the UI."""
    tracking = client()
    for ident, note in notes.items():
        tracking.set_experiment_tag(ident, schema.NOTE, note)


def finish_launched(code: int) -> int:
    """``code``, after recording it on this process's `mlflow run` launcher run, if any: MLflow's launcher exits 1 for
    every failure, so the tag is how a script tells 2 (input), 3 (store) and 143 (SIGTERM) apart. A launcher that
    was itself terminated leaves its run RUNNING: it is marked KILLED here. A store that cannot take it is let be."""
    launcher = os.environ.get(schema.LAUNCHER_ENV)
    if launcher:
        with contextlib.suppress(*STORE_ERRORS):
            _record_exit(launcher, code)
    return code


@uninterrupted
def _record_exit(launcher: str, code: int) -> None:
    tracking = client()
    tracking.set_tag(launcher, schema.EXIT_STATUS, str(code))
    if parent_gone():
        tracking.set_tag(launcher, schema.NOTE, f"`mlflow run` was terminated; the job under it stopped with it (exit status {code})")
        tracking.set_terminated(launcher, "KILLED")


@uninterrupted
def log_claims_run(profile: Profile, params: dict[str, str], claim_tags: dict[str, str], metrics: dict[str, float],
                   table: pd.DataFrame, report_dir: Path) -> tuple[str, str]:
    """One run in experiment 'claims': params, per-claim tags (``schema.verdict_tag``, ``schema.scope_tag``) and
    metrics (``schema.claim_metric``), the verdict table and the report as artifacts. Returns (run id, experiment id)."""
    tracking = client()
    experiment = experiment_id(tracking, schema.CLAIMS_EXPERIMENT)
    run_id = tracking.create_run(experiment, run_name=f"claims {profile}").info.run_id
    tags = {**claim_tags, schema.PROFILE: profile, schema.CODE_VERSION: code_version()}
    now = int(time.time() * 1000)
    tracking.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()], params=[Param(k, v) for k, v in params.items()],
                       tags=[RunTag(k, v) for k, v in tags.items()])
    tracking.log_table(run_id, table, schema.VERDICT_TABLE)
    tracking.log_artifacts(run_id, str(report_dir), artifact_path=schema.REPORT_ARTIFACTS)
    tracking.set_terminated(run_id, "FINISHED")
    note_launcher(schema.CLAIMS_RUN_ID, run_id)
    return run_id, experiment
