"""The learning-rate-free optimizers through their real packages, in our loop: they learn, log their
step size, batch over seeds as single runs do, resume exactly from a checkpoint, and refuse misuse in one line."""

import math
import re
import signal
import sys
from dataclasses import replace

import pytest
import torch
from support.tables import run_tables

from papers.ultimate_optimizer.catalogue import drop_stale
from papers.ultimate_optimizer.studies import BEYOND, build_study, labels
from pipeline import claims_job, train
from training.baselines import PACKAGED, PackageStack
from training.core.checkpoint import from_bytes, to_bytes
from training.core.config import ConfigError, make_config, require_package
from training.core.loop import train_run, train_seeds
from training.hyper.stackspec import StackSpecError, parse_stack

SETTINGS = {"prodigy": "prodigy", "dadapt_adam": "dadapt_adam", "dog": "dog(r_eps=1e-4)", "sgd_schedulefree": "sgd_schedulefree(alpha=0.5)"}


def test_every_packaged_optimizer_is_exercised():
    assert set(SETTINGS) == set(PACKAGED)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_short_run_learns_and_logs_its_step_size(mnist, name):
    result = train_run(make_config(stack=SETTINGS[name], epochs=3, profile="smoke", seed=1), *mnist)
    losses = [e.train_loss for e in result.epochs]
    assert losses[-1] < losses[0] and not result.diverged
    assert result.epochs[-1].test_value < 80.0  # chance is 90%
    steps = [values["0.alpha"] for _, values in result.epochs[-1].hp_steps]
    assert steps and all(math.isfinite(v) and v > 0 for v in steps)
    assert result.stack_bytes > 0


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_seeds_in_one_pass_match_their_single_runs(mnist, name):
    config = make_config(stack=SETTINGS[name], epochs=1, profile="smoke", seed=0)
    together = train_seeds([config, replace(config, seed=5)], *mnist)
    alone = train_run(replace(config, seed=5), *mnist)
    assert together[1].epochs[-1].test_value == alone.epochs[-1].test_value
    # to rounding: a package's norms over a row that starts elsewhere in memory may sum in another order (DoG's do)
    assert together[1].epochs[-1].hyperparameters == pytest.approx(alone.epochs[-1].hyperparameters, rel=1e-5)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_resuming_from_a_checkpoint_gives_the_uninterrupted_run(mnist, name):
    config = make_config(stack=SETTINGS[name], epochs=3, profile="smoke", seed=2)
    whole = train_run(config, *mnist)
    saved = []
    train_run(config, *mnist, checkpoint_every=2, on_checkpoint=lambda c: saved.append(to_bytes(c)))
    resumed = train_run(config, *mnist, resume=from_bytes(saved[0]))
    assert [r.test_value for r in resumed.epochs] == [r.test_value for r in whole.epochs]
    assert [r.train_loss for r in resumed.epochs] == [r.train_loss for r in whole.epochs]
    assert resumed.epochs[-1].hp_steps == whole.epochs[-1].hp_steps


def test_schedule_free_is_evaluated_at_its_average_and_training_is_untouched_by_it(mnist):
    """Evaluating puts y back bit for bit: a run evaluated every epoch trains as one evaluated once."""
    config = make_config(stack=SETTINGS["sgd_schedulefree"], epochs=2, profile="smoke", seed=3)
    every_epoch = train_run(config, *mnist)
    assert every_epoch.epochs[0].test_value != every_epoch.epochs[1].test_value
    assert every_epoch.epochs[-1].train_loss == train_run(config, *mnist).epochs[-1].train_loss


@pytest.mark.parametrize("text", ["prodigy / sgd(alpha=1e-5)", "sgd(alpha=0.01) / dog", "dadapt_adam(d0=0)", "sgd_schedulefree(warmup=2.5)"])
def test_misuse_is_refused_in_one_line(text):
    with pytest.raises(StackSpecError) as caught:
        parse_stack(text)
    assert "\n" not in str(caught.value)


def test_a_missing_package_is_one_line_naming_the_extra(monkeypatch, capsys):
    """Training it needs the package: one line naming the extra, from each entry point that would train it."""
    monkeypatch.setitem(sys.modules, "prodigyopt", None)  # as if not installed: importing it fails
    message = "prodigy needs the prodigyopt package: pip install -e '.[baselines]'"
    with pytest.raises(ConfigError, match=re.escape(message)):
        require_package(make_config(stack="prodigy", profile="smoke").levels)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert train.main(["--stack", "prodigy", "--profile", "smoke", "--dry-run"]) == 2
    finally:  # a command's main takes over the signals: give them back
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert capsys.readouterr().err.strip() == f"error: {message}"
    with pytest.raises(ConfigError, match=r"--beyond trains family F: " + re.escape(message)):
        claims_job.check_packages()


def test_without_the_packages_every_study_is_still_described(monkeypatch):
    """The main job builds every study's configs (to leave out redefined cells, to plan) and needs no package for it:
    a plain `pip install -e .` runs it (a fresh clone's main job once failed here)."""
    for module in ("prodigyopt", "dadaptation", "dog", "schedulefree"):
        monkeypatch.setitem(sys.modules, module, None)
    for name in BEYOND:
        assert build_study.__wrapped__(name, "cpu").configs("cpu", seeds=1)
    assert drop_stale(run_tables([{"study": labels.MLP_LRFREE, "cell": labels.lrfree("prodigy", 1e-6), "seed": 0, "run_id": "r",
                                   "stack": "prodigy(d0=1e-06, lr=1.0)", "epochs": 2}]), "cpu").runs.shape[0] == 1


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_one_unbatched_run_is_evaluated_at_weights_of_its_own_shape(name):
    """Without a seed dimension (``PackageStack(stack, weights)``), the evaluation weights keep the weights' shape."""
    weights = torch.linspace(-1.0, 1.0, 12)
    stack = PackageStack(parse_stack(SETTINGS[name]), weights)
    for step in range(3):
        (weights,) = stack.step([weights], [torch.sin(weights * (step + 1))])
    assert weights.shape == (12,) and stack.evaluation_weights(weights).shape == (12,)
