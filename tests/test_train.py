"""One run end to end: determinism, divergence, MLflow records, the command line."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from training.config import make_config
from training.loop import train_run
from training.mnist import Split, load_mnist
from training.tracking import RunLogger

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return MlflowClient(uri)


def test_same_config_and_seed_give_identical_metrics(mnist):
    config = make_config(stack="adam(alpha=0.001) / sgd(alpha=1e-5)", epochs=2, profile="smoke", seed=3)
    first, second = (train_run(config, *mnist) for _ in range(2))
    assert [vars(e) for e in first.epochs] == [{**vars(e), "step_time_ms": f.step_time_ms} for e, f in zip(second.epochs, first.epochs)]
    other = train_run(make_config(stack=config.stack, epochs=2, profile="smoke", seed=4), *mnist)
    assert other.epochs[-1].train_loss != first.epochs[-1].train_loss


def test_hyperoptimized_sgd_learns_a_larger_step(mnist):
    result = train_run(make_config(stack="sgd(alpha=0.01) / sgd(alpha=0.01)", epochs=1, profile="smoke"), *mnist)
    assert result.epochs[-1].hyperparameters["0.alpha"] > 0.01
    assert result.epochs[-1].hp_steps[0] == (0, pytest.approx({"0.alpha": 0.01, "0.mu": 0.0, "1.alpha": 0.01, "1.mu": 0.0}))


def test_divergence_ends_the_run_cleanly(mnist):
    """A huge hyper-step size blows Adam's betas up: recorded as diverged, not raised."""
    config = make_config(stack="adam(alpha=0.001) / sgd(alpha=1e30)", epochs=3, profile="smoke")
    result = train_run(config, *mnist)
    assert result.diverged and result.diverged_step == 2
    assert result.diverged_step < result.steps <= result.diverged_step + 50
    assert len(result.epochs) == 1  # no epoch is trained after the divergence
    assert math.isnan(result.epochs[-1].hyperparameters["0.beta1"])


def test_divergence_step_is_exact(mnist):
    train, test = mnist
    poisoned = Split(train.images.clone(), train.labels)
    poisoned.images[:, 0] = float("nan")
    result = train_run(make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke"), poisoned, test)
    assert result.diverged and result.diverged_step == 0
    assert math.isnan(result.epochs[-1].train_loss)


def test_run_is_logged_to_mlflow(mnist, store):
    config = make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke", seed=1)
    logger = RunLogger.open(config, "mlp", {"dataset": "MNIST"})
    result = train_run(config, *mnist, on_epoch=logger.log_epoch)
    logger.finish(result)
    run = store.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["stack"] == "sgd(alpha=0.01, mu=0.0) / sgd(alpha=0.01, mu=0.0)"
    assert run.data.params["epochs"] == "2" and run.data.params["train_size"] == "2048"
    assert run.data.tags["config_hash"] == config.config_hash
    assert run.data.tags["seed"] == "1" and run.data.tags["profile"] == "smoke"
    assert run.data.tags["diverged"] == "false" and run.data.tags["code_version"]
    errors = store.get_metric_history(logger.run_id, "test_error")
    assert [m.step for m in errors] == [1, 2]
    assert errors[-1].value == result.final_test_value
    alpha = store.get_metric_history(logger.run_id, "hp.0.alpha")
    assert alpha[0].step == 0 and alpha[0].value == pytest.approx(0.01)
    assert alpha[-1].step == result.steps == 16
    assert {"hp.0.mu", "hp.1.alpha", "hp.1.mu", "train_loss", "step_time_ms"} <= set(run.data.metrics)


def cli(*args, cwd, env=None):
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_RUN_ID", None)
    return subprocess.run([sys.executable, "-m", "training.train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "vgg"], "error: unknown model 'vgg'; expected one of mlp"),
        (["--profile", "huge"], "error: unknown profile 'huge'"),
        (["--epochs", "0"], "error: epochs must be at least 1, got 0"),
        (["--epochs", "many"], "error: epochs must be a whole number"),
        (["--stack", "sgd(0.1"], "error: bad stack 'sgd(0.1' at column 8"),
        (["--data-dir", "/nonexistent"], "error: MNIST file train-images-idx3-ubyte not found"),
    ],
)
def test_bad_input_is_one_line_and_no_run(tmp_path, store, args, message):
    done = cli("--profile", "smoke", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(message)
    assert "Traceback" not in done.stderr
    assert store.search_experiments() == [] or store.search_runs([e.experiment_id for e in store.search_experiments()], run_view_type=ViewType.ALL) == []


def test_dry_run_trains_two_steps_and_logs_nothing(tmp_path, store):
    done = cli("--profile", "smoke", "--dry-run", "--stack", "adam / adam", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dry run ok" in done.stdout and "2 steps" in done.stdout
    assert not (tmp_path / "mlflow.db").exists() and store.search_experiments() in ([], None) or all(
        not store.search_runs([e.experiment_id]) for e in store.search_experiments()
    )


def test_help_lists_the_options(tmp_path):
    done = cli("--help", cwd=tmp_path)
    assert done.returncode == 0 and "--stack" in done.stdout and "--dry-run" in done.stdout


def test_mlflow_run_train_entry_point(tmp_path, store):
    """The entry-point contract every later study relies on, through the real `mlflow run`."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_RUN_ID", None)
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(REPO), "-e", "train", "-P", "model=mlp",
         "-P", "stack=sgd(alpha=0.01)/sgd(alpha=0.01)", "-P", "epochs=1", "-P", "seed=0", "-P", "profile=smoke",
         "--env-manager", "local"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = store.search_runs(["0"])
    assert len(runs) == 2  # mlflow's launcher run with the -P values, and ours nested in it
    (run,) = [r for r in runs if "config_hash" in r.data.tags]
    (launcher,) = [r for r in runs if "config_hash" not in r.data.tags]
    assert run.data.tags["mlflow.parentRunId"] == launcher.info.run_id
    assert run.info.status == launcher.info.status == "FINISHED"
    assert run.data.tags["config_hash"] == make_config(stack="sgd(alpha=0.01)/sgd(alpha=0.01)", epochs=1, profile="smoke").config_hash
    assert "test_error" in run.data.metrics and "hp.0.alpha" in run.data.metrics


def test_resuming_from_a_checkpoint_gives_the_uninterrupted_run(mnist):
    from training.checkpoint import from_bytes, to_bytes

    config = make_config(stack="adam(alpha=0.001) / sgd(alpha=1e-5) / sgd(alpha=1e-3)", epochs=3, profile="smoke", seed=2)
    whole = train_run(config, *mnist)
    saved = []
    train_run(config, *mnist, checkpoint_every=2, on_checkpoint=lambda c: saved.append(to_bytes(c)))
    assert len(saved) == 1  # after epoch 2 (none after the last epoch: the run is done)
    resumed = train_run(config, *mnist, resume=from_bytes(saved[0]))
    assert [r.epoch for r in resumed.epochs] == [1, 2, 3]
    assert [r.test_value for r in resumed.epochs] == [r.test_value for r in whole.epochs]
    assert resumed.epochs[-1].hyperparameters == whole.epochs[-1].hyperparameters  # bitwise: == on floats
    assert resumed.epochs[-1].hp_steps == whole.epochs[-1].hp_steps and resumed.steps == whole.steps


def test_resuming_restores_batch_norm_and_augmentation_order():
    from training.checkpoint import from_bytes, to_bytes
    from training.data import Split as Data

    generator = torch.Generator().manual_seed(0)
    images = Data(torch.randint(0, 256, (256, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.arange(256) % 10, "tiny")
    config = make_config("resnet20", "sgd(alpha=0.1, mu=0.9, wd=1e-4) / sgd_per_param(alpha=1e-5, mu=1e-5)", 3, profile="smoke")
    whole = train_run(config, images, images.head(40))
    saved = []
    train_run(config, images, images.head(40), checkpoint_every=1, on_checkpoint=lambda c: saved.append(to_bytes(c)))
    resumed = train_run(config, images, images.head(40), resume=from_bytes(saved[0]))
    assert [r.train_loss for r in resumed.epochs] == [r.train_loss for r in whole.epochs]
    assert resumed.epochs[-1].hyperparameters == whole.epochs[-1].hyperparameters


def test_a_lost_attempt_with_a_checkpoint_of_another_format_trains_again(store, tmp_path, monkeypatch):
    """A retried run finds its lost attempt's checkpoint written by older code: noted, not resumed."""
    import io

    from training.remote import CHECKPOINT_PATH, earlier_attempt

    monkeypatch.chdir(tmp_path)  # the store's artifacts go beside it
    config = make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke", seed=0)
    lost = RunLogger.open(config, "mlp_long")
    old = tmp_path / "latest.pt"
    buffer = io.BytesIO()
    torch.save({"format": 1, "epoch": 1}, buffer)
    old.write_bytes(buffer.getvalue())
    store.log_artifact(lost.run_id, str(old), str(Path(CHECKPOINT_PATH).parent))
    store.set_tag(lost.run_id, "checkpoint_epoch", "1")
    assert earlier_attempt("mlp_long", config) == (None, None)
    run = store.get_run(lost.run_id)
    assert run.info.status == "KILLED" and "not resumed" in run.data.tags["mlflow.note.content"]
