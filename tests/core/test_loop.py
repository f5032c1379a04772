"""One run of the training loop: determinism, learning, divergence, checkpoints that resume bitwise."""

import math

import pytest
import torch

from training.core.checkpoint import from_bytes, to_bytes
from training.core.config import make_config
from training.core.loop import train_run
from training.data import Split


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


def test_resuming_from_a_checkpoint_gives_the_uninterrupted_run(mnist):
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
    generator = torch.Generator().manual_seed(0)
    images = Split(torch.randint(0, 256, (256, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.arange(256) % 10, "tiny")
    config = make_config("resnet20", "sgd(alpha=0.1, mu=0.9, wd=1e-4) / sgd_per_param(alpha=1e-5, mu=1e-5)", 3, profile="smoke")
    whole = train_run(config, images, images.head(40))
    saved = []
    train_run(config, images, images.head(40), checkpoint_every=1, on_checkpoint=lambda c: saved.append(to_bytes(c)))
    resumed = train_run(config, images, images.head(40), resume=from_bytes(saved[0]))
    assert [r.train_loss for r in resumed.epochs] == [r.train_loss for r in whole.epochs]
    assert resumed.epochs[-1].hyperparameters == whole.epochs[-1].hyperparameters
