"""A training run's record in MLflow."""

import pytest
from mlflow.tracking import MlflowClient

from training.core.config import make_config
from training.core.loop import train_run
from training.tracking.writer import RunLogger


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
