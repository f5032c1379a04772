"""Several seeds in one pass: each seed's run equals the run it would be alone."""

import math

import pytest
import torch

from training.core.config import make_config
from training.core.loop import train_run, train_seeds
from training.data import Split
from training.hyper.stack import HyperStack
from training.hyper.stackspec import parse_stack

STACKS = [
    "sgd(alpha=0.1, mu=0.5) / sgd(alpha=0.01)",
    "adam(alpha=0.01) / adam(alpha=0.001)",
    "rmsprop(alpha=0.01) / sgd_per_param(alpha=0.001) / sgd(alpha=0.001)",
    "adagrad(alpha=0.1) / sgd(alpha=0.01, mu=0.9) / adam_alpha(alpha=0.01)",
]


@pytest.mark.parametrize("text", STACKS)
def test_stacked_seeds_step_as_separate_stacks(text):
    """A stack over [S, P] weights equals S stacks over [P] weights, hyperparameters included (float64)."""
    generator = torch.Generator().manual_seed(0)
    seeds, size = 3, 7
    weights = torch.randn(seeds, size, generator=generator, dtype=torch.float64)
    together = HyperStack(parse_stack(text), weights, seeds=seeds)
    alone = [HyperStack(parse_stack(text), weights[s]) for s in range(seeds)]
    current, singles = [weights], [[weights[s]] for s in range(seeds)]
    for _ in range(6):
        grads = torch.randn(seeds, size, generator=generator, dtype=torch.float64) + current[0] * 0.1
        current = together.step(current, [grads])
        singles = [stack.step(w, [grads[s]]) for s, (stack, w) in enumerate(zip(alone, singles))]
    for s, stack in enumerate(alone):
        torch.testing.assert_close(current[0][s], singles[s][0], rtol=1e-12, atol=1e-14)
        for level, raw in enumerate(stack.raw):
            torch.testing.assert_close(together.raw[level][s], raw, rtol=1e-12, atol=1e-14)
    assert together.hyperparameter_values().shape == (seeds, len(together.hyperparameter_names))


def assert_same_run(together, alone):
    """Same records within float32 tolerance; the test error may differ by one borderline example."""
    assert (together.diverged, together.diverged_step, together.steps) == (alone.diverged, alone.diverged_step, alone.steps)
    assert len(together.epochs) == len(alone.epochs)
    for mine, theirs in zip(together.epochs, alone.epochs):
        assert mine.epoch == theirs.epoch
        assert mine.train_loss == pytest.approx(theirs.train_loss, rel=1e-4, nan_ok=True)
        assert abs(mine.test_value - theirs.test_value) <= 0.1 + 1e-9  # 1 of the 1,000 smoke test examples
        assert [s for s, _ in mine.hp_steps] == [s for s, _ in theirs.hp_steps]
        for (_, a), (_, b) in zip(mine.hp_steps, theirs.hp_steps):
            assert a == pytest.approx(b, rel=1e-4, abs=1e-7, nan_ok=True)


def test_seeds_in_one_pass_equal_single_seed_runs(mnist):
    configs = [make_config(stack="adam(alpha=0.001) / sgd(alpha=1e-5)", epochs=2, profile="smoke", seed=seed) for seed in (0, 1, 5)]
    together = train_seeds(configs, *mnist)
    for config, result in zip(configs, together):
        assert_same_run(result, train_run(config, *mnist))
    assert together[0].epochs[-1].train_loss != together[1].epochs[-1].train_loss  # seeds differ


def test_a_diverged_seed_stops_alone(mnist):
    """One poisoned example: each seed meets it at its own step and diverges there; the others train on."""
    train, test = mnist
    poisoned = Split(train.images.clone(), train.labels)
    poisoned.images[100, 0] = float("nan")
    configs = [make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke", seed=seed) for seed in (0, 1, 2, 3)]
    together = train_seeds(configs, poisoned, test)
    alone = [train_run(config, poisoned, test) for config in configs]
    for result, single in zip(together, alone):
        assert_same_run(result, single)
    assert all(r.diverged for r in together) and len({r.diverged_step for r in together}) > 1
    assert math.isnan(together[0].epochs[-1].train_loss)


def test_mixed_configs_are_refused(mnist):
    configs = [make_config(stack="sgd(0.01)", epochs=1, profile="smoke", seed=0), make_config(stack="sgd(0.02)", epochs=1, profile="smoke", seed=1)]
    with pytest.raises(ValueError, match="share every setting"):
        train_seeds(configs, *mnist)


def test_resnet20_seeds_in_one_pass_keep_their_own_batch_norm_statistics():
    """Each seed's running statistics are its own: evaluation (which reads them) equals the seed trained alone."""
    generator = torch.Generator().manual_seed(0)
    images = Split(torch.randint(0, 256, (192, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.arange(192) % 10, "tiny")
    configs = [make_config("resnet20", "sgd(alpha=0.05, mu=0.9) / sgd(alpha=1e-4)", 2, seed, "smoke", batch_size=64) for seed in (0, 3)]
    together = train_seeds(configs, images, images.head(96))
    for config, result in zip(configs, together):
        alone = train_run(config, images, images.head(96))
        assert [r.test_value for r in result.epochs] == pytest.approx([r.test_value for r in alone.epochs], abs=1.05)  # 1 of 96 may flip
        assert [r.train_loss for r in result.epochs] == pytest.approx([r.train_loss for r in alone.epochs], rel=1e-4)
        for (_, a), (_, b) in zip(result.epochs[-1].hp_steps, alone.epochs[-1].hp_steps):
            assert a == pytest.approx(b, rel=1e-4, abs=1e-7)
    assert together[0].epochs[-1].test_value != together[1].epochs[-1].test_value or \
        together[0].epochs[-1].train_loss != together[1].epochs[-1].train_loss


def test_char_lstm_seeds_in_one_pass_carry_their_own_hidden_state():
    text = torch.randint(0, 30, (20 * 50 * 6,), generator=torch.Generator().manual_seed(1))
    train, test = Split(text, text, "tiny text", vocab="x" * 30), Split(text[:2_000], text[:2_000], "tiny text", vocab="x" * 30)
    configs = [make_config("charlstm", "adam(alpha=0.01) / sgd(alpha=1e-4)", 2, seed, "smoke", batch_size=20) for seed in (0, 1, 4)]
    together = train_seeds(configs, train, test)
    for config, result in zip(configs, together):
        alone = train_run(config, train, test)
        assert result.steps == alone.steps == 2 * 5
        assert [r.train_loss for r in result.epochs] == pytest.approx([r.train_loss for r in alone.epochs], rel=1e-4)
        assert [r.test_value for r in result.epochs] == pytest.approx([r.test_value for r in alone.epochs], rel=1e-4)
    assert len({r.epochs[-1].train_loss for r in together}) == 3  # the seeds' initial weights differ
