"""Our first-order stacks against the authors' package, number for number (float64).

Every optimizer appears as the weight level (alone and under SGD), as a hyper
level, and in height-3 stacks that mix them. Agreement is asked to relative
1e-9 on the loss, every weight tensor and every level's hyperparameters at every
one of 60 steps. "Relative" is tensor-wise, max|ours - ref| <= 1e-9 * max|ref|: an
element that crosses zero has no meaningful relative error of its own, and
rounding differences (1e-16) grow chaotically over steps when a stack learns a
large step size, so an elementwise rule would fail on noise, not on a formula.
"""

import pytest
import torch
from support.oracle import run_side_by_side

from training.hyper.stackspec import parse_stack

STEPS = 60
RTOL = 1e-9

STACKS = [
    # each optimizer alone, as the weight level
    "sgd(alpha=0.1)",
    "sgd(alpha=0.1, mu=0.9)",
    "adagrad(alpha=0.1)",
    "rmsprop(alpha=0.01, gamma=0.9)",
    "rmsprop_alpha(alpha=0.01, gamma=0.9)",
    "adam(alpha=0.01)",
    "adam_alpha(alpha=0.01)",
    # each optimizer as the weight level, learned by SGD
    "sgd(alpha=0.1) / sgd(alpha=0.1)",
    "sgd(alpha=0.1, mu=0.5) / sgd(alpha=0.1)",
    "adagrad(alpha=0.1) / sgd(alpha=0.1)",
    "rmsprop(alpha=0.01, gamma=0.9) / sgd(alpha=0.001)",
    "rmsprop_alpha(alpha=0.01, gamma=0.9) / sgd(alpha=0.001)",
    "adam(alpha=0.01) / sgd(alpha=0.001)",
    "adam_alpha(alpha=0.01) / sgd(alpha=0.001)",
    "sgd(alpha=0.1, mu=0.5) / sgd_per_param(alpha=0.1, mu=0.01)",
    # each optimizer as a hyper level
    "sgd(alpha=0.1) / sgd(alpha=0.1, mu=0.5)",
    "sgd(alpha=0.1) / adagrad(alpha=0.01)",
    "sgd(alpha=0.1) / rmsprop(alpha=0.01)",
    "sgd(alpha=0.1) / rmsprop_alpha(alpha=0.01)",
    "sgd(alpha=0.1) / adam(alpha=0.01)",
    "sgd(alpha=0.1) / adam_alpha(alpha=0.01)",
    "adam(alpha=0.01) / adam(alpha=0.001)",
    # height 3, mixed
    "sgd(alpha=0.1) / sgd(alpha=0.1) / sgd(alpha=0.1) / sgd(alpha=0.1)",
    "adam(alpha=0.01) / sgd(alpha=0.001) / adam(alpha=0.01) / sgd(alpha=0.01)",
    "rmsprop(alpha=0.01) / adagrad(alpha=0.001) / rmsprop_alpha(alpha=0.01) / adam_alpha(alpha=0.01)",
    "sgd(alpha=0.1, mu=0.5) / sgd_per_param(alpha=0.1, mu=0.01) / adam(alpha=0.001) / sgd(alpha=0.001, mu=0.9)",
    "adagrad(alpha=0.1) / rmsprop(alpha=0.001) / sgd(alpha=0.01) / adagrad(alpha=0.01)",
    # sgd_per_param over sgd_per_param: gdtuo names the lower level's own parameters '<name>_alpha'
    "sgd(alpha=0.1, mu=0.5) / sgd_per_param(alpha=0.1, mu=0.01) / sgd_per_param(alpha=0.01, mu=0.01)",
]


def close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    assert ours.shape == ref.shape and ours.dtype == ref.dtype == torch.float64
    error = (ours - ref).abs().max().item()
    scale = ref.abs().max().item()
    assert error <= RTOL * scale or error == 0.0, f"max abs error {error:.3e} vs scale {scale:.3e}"


@pytest.mark.parametrize("text", STACKS)
def test_stack_matches_reference(text):
    stack = parse_stack(text)
    history = list(run_side_by_side(stack, STEPS))
    assert len(history) == STEPS
    for step, (ref_loss, loss, ref_w, our_w, ref_hp, our_hp) in enumerate(history):
        try:
            close(loss, ref_loss)
            for a, b in zip(our_w, ref_w, strict=True):
                close(a, b)
            for a, b in zip(our_hp, ref_hp, strict=True):
                close(a, b)
        except AssertionError as error:
            raise AssertionError(f"{text}: step {step} differs from the reference: {error}") from None
    # the comparison must not be vacuous: learned hyperparameters really moved
    first_hp, last_hp = history[0][5], history[-1][5]
    for depth in range(len(stack) - 1):
        assert not torch.equal(first_hp[depth], last_hp[depth]), f"level {depth} hyperparameters never moved"
    early = sum(h[1] for h in history[:10])
    late = sum(h[1] for h in history[-10:])
    assert late < early, "training did not lower the loss"


def test_an_untuned_entry_of_sgd_per_param_learns_here_and_freezes_in_gdtuo():
    """Our one deliberate deviation (training/hyper/reference.py): the top level tunes only kappa_mu of the level
    below; we still learn alpha with its fixed kappa_alpha, gdtuo's detach leaves alpha where it started."""
    stack = parse_stack("sgd(0.1, mu=0.9) / sgd_per_param(mu=1e-3, alpha=1e-3) / sgd_per_param(mu=1e-4)")
    history = list(run_side_by_side(stack, 30))
    ref_alpha = [step[4][0][0].item() for step in history]
    our_alpha = [step[5][0][0].item() for step in history]
    assert set(ref_alpha) == {0.1}
    assert our_alpha[-1] != 0.1
    # the learned part agrees where both learn it: the top level's own step sizes never move
    assert history[-1][4][2].tolist() == history[-1][5][2].tolist() == [1e-4]
