"""A training run's record in MLflow."""

import os
import signal
import time
from dataclasses import replace

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import event

from training.core import interrupt
from training.core.config import make_config
from training.core.loop import EpochRecord, train_run
from training.tracking import schema
from training.tracking.writer import RunLogger, dataset_inputs, log_inputs, log_result, study_tags


def test_run_is_logged_to_mlflow(mnist, store):
    tracking = MlflowClient(store)
    config = make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke", seed=1)
    logger = RunLogger.open(config, "mlp", {"dataset": "MNIST"})
    result = train_run(config, *mnist, on_epoch=logger.log_epoch)
    logger.finish(result)
    run = tracking.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["stack"] == "sgd(alpha=0.01, mu=0.0) / sgd(alpha=0.01, mu=0.0)"
    assert run.data.params["epochs"] == "2" and run.data.params["train_size"] == "2048"
    assert run.data.tags["config_hash"] == config.config_hash
    assert run.data.tags["seed"] == "1" and run.data.tags["profile"] == "smoke"
    assert run.data.tags["diverged"] == "false" and run.data.tags["code_version"]
    errors = tracking.get_metric_history(logger.run_id, "test_error")
    assert [m.step for m in errors] == [1, 2]
    assert errors[-1].value == result.final_test_value
    alpha = tracking.get_metric_history(logger.run_id, "hp.0.alpha")
    assert alpha[0].step == 0 and alpha[0].value == pytest.approx(0.01)
    assert alpha[-1].step == result.steps == 16
    assert {"hp.0.mu", "hp.1.alpha", "hp.1.mu", "train_loss", "step_time_ms"} <= set(run.data.metrics)


def test_a_run_logged_after_it_trained_carries_its_training_times_and_datasets(mnist, store):
    tracking = MlflowClient(store)
    config = make_config(stack="sgd(0.01)", epochs=1, profile="smoke")
    result = replace(train_run(config, *mnist), started_ms=1_000_000, ended_ms=1_061_000)
    log_result("mlp_table1", config, {}, study_tags("mlp_table1", "baseline:sgd", ("A1",)), result, dataset_inputs(config, *mnist))
    (run,) = tracking.search_runs([tracking.get_experiment_by_name("mlp_table1").experiment_id])
    assert (run.info.start_time, run.info.end_time) == (1_000_000, 1_061_000)  # a minute of training, not the logging's milliseconds
    inputs = {i.tags[0].value: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "evaluation"}
    train, test = inputs["training"], inputs["evaluation"]
    assert train.dataset.name == test.dataset.name == "MNIST" and train.dataset.digest != test.dataset.digest
    assert {t.key: t.value for t in train.tags}[schema.DATASET_SLICE] == "first 2,048 of 60,000"
    experiment = tracking.get_experiment_by_name("mlp_table1")
    assert experiment.tags[schema.EXPERIMENT_KIND] == schema.MODEL_TRAINING


def test_the_digest_follows_the_files_and_the_slice(mnist):
    train, test = mnist
    smoke, cpu = make_config(epochs=1, profile="smoke"), make_config(epochs=1, profile="cpu")
    assert dataset_inputs(smoke, train, test)[0].dataset.digest != dataset_inputs(cpu, train, test)[0].dataset.digest
    assert dataset_inputs(cpu, replace(train, digest="0" * 16), test)[0].dataset.digest != dataset_inputs(cpu, train, test)[0].dataset.digest
    assert dataset_inputs(cpu, replace(train, source=""), replace(test, source="")) == []  # data made in memory: no input to point at


class RacingStore:
    """A store that refuses the first ``refusals`` dataset inputs, as a tracking server does to Ray workers that log the
    same dataset at the same moment (its UNIQUE constraint on the dataset record; seen on MLflow 3.17)."""

    def __init__(self, refusals: int):
        self.refusals, self.calls = refusals, 0

    def log_inputs(self, run_id, datasets):
        self.calls += 1
        if self.calls <= self.refusals:
            raise MlflowException("UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest")


def test_dataset_inputs_refused_by_a_race_are_logged_again(mnist):
    inputs = dataset_inputs(make_config(epochs=1), *mnist)
    store = RacingStore(refusals=2)
    log_inputs(store, "run", inputs)
    assert store.calls == 3
    with pytest.raises(MlflowException):  # a store that keeps refusing is an error, not a silent loss
        log_inputs(RacingStore(refusals=5), "run", inputs)


@pytest.fixture
def interruptions():
    """The commands' signal handling, as `pipeline.train` installs it; the test's own handlers put back after."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    interrupt.handle_interruptions()
    yield
    interrupt.handle_interruptions()  # forget what the test left recorded
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_sigterm_in_the_middle_of_a_store_write_lets_the_write_finish(store, interruptions):
    """CI once saw SIGTERM land inside SQLite's execute: the transaction was cut short, the store stayed locked, and the
    run could not be marked KILLED (a traceback instead). The write must finish; the interruption comes as it returns."""
    config = make_config(stack="sgd(0.01)", epochs=1, profile="smoke")
    logger = RunLogger.open(config, "mlp")
    engine = logger.mlflow._tracking_client.store.engine
    signalled = []

    def terminate_once(*_):
        if not signalled:
            signalled.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, inside the statement's execution

    event.listen(engine, "before_cursor_execute", terminate_once)
    record = EpochRecord(epoch=1, train_loss=0.5, test_value=0.25, step_time_ms=1.0, hyperparameters={})
    try:
        with pytest.raises(interrupt.Terminated):
            logger.log_epoch(record)
    finally:
        event.remove(engine, "before_cursor_execute", terminate_once)
    logger.fail("KILLED")
    run = MlflowClient(store).get_run(logger.run_id)
    assert signalled and run.info.status == "KILLED" and run.data.metrics["test_error"] == 0.25
