"""Each optimizer's step against its formula written out by hand, and the hypergradient chain."""

import math

import pytest
import torch

from training.hyper.rules import Relative
from training.hyper.stack import HyperStack
from training.hyper.stackspec import parse_stack

D = torch.float64


def one_step(text, w, g):
    stack = HyperStack(parse_stack(text), w)
    (new,) = stack.step([w], [g])
    return new, stack


W = torch.tensor([1.0, -2.0, 0.5], dtype=D)
G = torch.tensor([0.3, -0.1, 2.0], dtype=D)


def test_sgd_step():
    new, _ = one_step("sgd(alpha=0.1)", W, G)
    torch.testing.assert_close(new, W - 0.1 * G, rtol=0, atol=1e-15)


def test_sgd_momentum_two_steps():
    stack = HyperStack(parse_stack("sgd(alpha=0.1, mu=0.9)"), W)
    (w1,) = stack.step([W], [G])
    (w2,) = stack.step([w1], [G])
    torch.testing.assert_close(w2, W - 0.1 * G - 0.1 * (0.9 * G + G), rtol=0, atol=1e-15)


def test_weight_decay_joins_the_gradient():
    new, _ = one_step("sgd(alpha=0.1, wd=0.01)", W, G)
    torch.testing.assert_close(new, W - 0.1 * (G + 0.01 * W), rtol=0, atol=1e-15)


def test_adagrad_step():
    new, _ = one_step("adagrad(alpha=0.1)", W, G)
    torch.testing.assert_close(new, W - 0.1 * G / torch.sqrt(0.1 + G**2 + 1e-10), rtol=1e-14, atol=0)


def test_rmsprop_step_and_its_parametrisation():
    new, stack = one_step("rmsprop(alpha=0.04, gamma=0.9)", W, G)
    s = 0.1 * G**2
    torch.testing.assert_close(new, W - 0.04 * G / torch.sqrt(s + 1e-8), rtol=1e-12, atol=0)
    raw = stack.raw[0]
    assert raw[0].item() == pytest.approx(0.2)  # alpha is stored as its square root
    assert (math.tanh(raw[1].item()) + 1) / 2 == pytest.approx(0.9)
    assert stack.hyperparameter_values().tolist() == pytest.approx([0.04, 0.9])


def test_adam_first_step_is_sign_like():
    new, stack = one_step("adam(alpha=0.01)", W, G)
    m_hat = G  # (1 - b1) g / (1 - b1)
    v_hat = (0.999 * 1e-8 + 0.001 * G**2) / 0.001
    torch.testing.assert_close(new, W - 0.01 * m_hat / (v_hat.sqrt() + 1e-8), rtol=1e-10, atol=0)
    assert stack.hyperparameter_names == ["0.alpha", "0.beta1", "0.beta2"]
    assert stack.hyperparameter_values().tolist() == pytest.approx([0.01, 0.9, 0.999])


def test_sgd_hypergradient_is_minus_dot_of_successive_gradients():
    """For sgd/sgd, dL_t/dalpha = -<g_t, g_{t-1}>: alpha moves by kappa times that dot product."""
    stack = HyperStack(parse_stack("sgd(alpha=0.1) / sgd(alpha=0.5)"), W)
    g0, g1 = G, torch.tensor([1.0, 1.0, -1.0], dtype=D)
    (w1,) = stack.step([W], [g0])
    assert stack.raw[0][0].item() == 0.1  # no hypergradient before the first update
    (w2,) = stack.step([w1], [g1])
    alpha = 0.1 - 0.5 * (-(g1 @ g0).item())
    assert stack.raw[0][0].item() == pytest.approx(alpha, rel=1e-14)
    torch.testing.assert_close(w2, w1 - alpha * g1, rtol=1e-14, atol=0)


def test_hypergradients_reach_the_third_level():
    stack = HyperStack(parse_stack("sgd(alpha=0.1) / sgd(alpha=0.1) / sgd(alpha=0.1) / sgd(alpha=0.1)"), W)
    w = W
    gradients = [G, -G + 0.5, G * 2.0, G - 1.0, G + 0.3]
    for g in gradients:
        (w,) = stack.step([w], [g])
    assert all(stack.raw[level][0].item() != 0.1 for level in range(3))
    assert stack.raw[3][0].item() == 0.1  # the top is never learned


def test_finite_flags_a_nan_hyperparameter():
    stack = HyperStack(parse_stack("sgd / sgd"), W)
    assert bool(stack.finite())
    stack.raw[0] = torch.tensor([float("nan"), 0.0], dtype=D)
    assert not bool(stack.finite())


def test_untuned_momentum_stays_exactly_zero():
    stack = HyperStack(parse_stack("sgd(alpha=0.1) / adam(alpha=0.1)"), W)
    w = W
    for k in range(5):
        (w,) = stack.step([w], [G * (k + 1) - 1])
    assert stack.raw[0][1].item() == 0.0
    assert stack.raw[0][0].item() != 0.1


def test_compiled_rules_step_as_eager_ones():
    """HyperStack(compiled=True) fuses the rules' arithmetic; the numbers stay those of the eager rules."""
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(2, 50, generator=generator)
    text = "adam(alpha=0.01) / rmsprop(alpha=0.001) / adagrad(alpha=0.01)"
    eager, compiled = HyperStack(parse_stack(text), weights, seeds=2), HyperStack(parse_stack(text), weights, seeds=2, compiled=True)
    mine, theirs = [weights], [weights]
    for _ in range(4):
        grads = torch.randn(2, 50, generator=generator)
        mine, theirs = eager.step(mine, [grads]), compiled.step(theirs, [grads])
    torch.testing.assert_close(theirs[0], mine[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled.hyperparameter_values(), eager.hyperparameter_values(), rtol=1e-5, atol=1e-7)


def test_a_step_in_place_writes_the_same_numbers_into_the_weights_themselves():
    """Every rule a weight level can have, with tangents for every hyperparameter (and a scalar weight): the in-place step
    (the drop-in optimizer's) leaves in the caller's tensors exactly what the functional step returns. (Compiled rules
    step in place too: test_optimizer.py trains them against the eager ones.)"""
    generator = torch.Generator().manual_seed(0)
    for text in ("sgd(0.1, mu=0.9) / sgd(0.01)", "adam(0.01) / sgd(0.01)", "rmsprop(0.01) / sgd(0.01)", "adagrad(0.1) / sgd(0.01)",
                 "sgd(0.1, wd=0.1) / sgd(0.01)"):
        functional = HyperStack(parse_stack(text), W)
        in_place = HyperStack(parse_stack(text), W)
        returned = [W.clone(), torch.tensor(0.5, dtype=D)]
        owned = [w.clone() for w in returned]
        storage = [w.data_ptr() for w in owned]
        for _ in range(3):
            grads = [torch.randn(3, generator=generator, dtype=D), torch.randn((), generator=generator, dtype=D)]
            returned = functional.step(returned, [g.clone() for g in grads])
            assert all(new is old for new, old in zip(in_place.step(owned, grads, in_place=True), owned))
        assert [w.data_ptr() for w in owned] == storage, text
        for mine, theirs in zip(owned, returned):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0, msg=text)


@pytest.mark.parametrize("text", ["sgd(alpha=0.1) / sgd(alpha=0.1)", "sgd(alpha=0.1, mu=0.9) / sgd(alpha=0.1)"])
def test_a_gradient_changed_in_place_after_step_is_refused(text):
    """SGD keeps the caller's gradient (its tangent, its first momentum buffer): reusing the buffer must not go unnoticed."""
    stack = HyperStack(parse_stack(text), W)
    grad = G.clone()
    (w1,) = stack.step([W], [grad])
    grad.mul_(2.0)  # e.g. a gradient accumulated into the same buffer
    with pytest.raises(ValueError, match="changed in place"):
        stack.step([w1], [grad.clone()])


def test_fresh_gradients_each_step_are_accepted_by_every_rule():
    for text in ("sgd(0.1) / sgd(0.1)", "sgd(0.1, mu=0.9) / sgd(0.1)", "adam(0.01) / sgd(0.01)", "rmsprop(0.01) / sgd(0.01)", "adagrad(0.1) / sgd(0.1)"):
        stack = HyperStack(parse_stack(text), W)
        weights = [W]
        for _ in range(3):
            weights = stack.step(weights, [G.clone()])


@pytest.mark.parametrize("text", ["sgd(alpha=0.1) / sgd(alpha=0.1)", "adam(alpha=0.01) / sgd(alpha=0.01)", "rmsprop(alpha=0.01) / adam(alpha=0.01)"])
def test_a_scalar_parameter_keeps_its_shape_and_steps_as_a_one_element_vector(text):
    scalar = HyperStack(parse_stack(text), W)
    vector = HyperStack(parse_stack(text), W)
    s, v = [torch.tensor(1.5, dtype=D), W], [torch.tensor([1.5], dtype=D), W]
    for _ in range(4):
        s = scalar.step(s, [2.0 * s[0], s[1] * G])
        v = vector.step(v, [2.0 * v[0], v[1] * G])
    assert s[0].shape == torch.Size([]) and s[1].shape == W.shape
    torch.testing.assert_close(s[0].view(1), v[0], rtol=0, atol=0)
    torch.testing.assert_close(scalar.raw[1], vector.raw[1], rtol=0, atol=0)


def test_relative_level_takes_a_sign_like_relative_step_whatever_the_scale():
    """The first step of a relative level scales its target by exp(-+alpha), for any target size and gradient size."""
    for scale in (1e-8, 1.0, 1e3):
        rule = Relative(parse_stack("sgd / relative(alpha=0.05)")[1])
        x, g = torch.tensor([[scale, 2 * scale]], dtype=D), torch.tensor([[3.0 / scale, -1e-4 / scale]], dtype=D)
        new = rule.update([x], [g], [], torch.tensor([[0.05]], dtype=D), count=1).targets[0]
        torch.testing.assert_close(new / x, torch.exp(torch.tensor([[-0.05, 0.05]], dtype=D)), rtol=1e-9, atol=0)


def test_relative_tangent_is_the_derivative_autograd_gives():
    rule = Relative(parse_stack("sgd / relative(alpha=0.05)")[1])
    x, g, s = torch.tensor([[0.3, 0.02]], dtype=D), torch.tensor([[1.5, -0.7]], dtype=D), [torch.tensor([[0.01, 0.2]], dtype=D)]
    raw, next_grad = torch.tensor([[0.05]], dtype=D, requires_grad=True), torch.tensor([[0.4, -2.0]], dtype=D)
    with torch.enable_grad():
        update = rule.update([x], [g], s, raw, count=3, tangents=True)
        (expected,) = torch.autograd.grad((update.targets[0] * next_grad).sum(), raw)
    dots = [(basis[0] * next_grad).sum(dim=-1, keepdim=True) for basis in update.basis]
    torch.testing.assert_close(update.pull(dots), expected, rtol=1e-12, atol=0)


def test_a_tall_relative_tower_keeps_every_step_size_positive_and_finite():
    stack = HyperStack(parse_stack(" / ".join(["sgd(alpha=1e-3)"] + ["relative(alpha=0.01)"] * 50)), W)
    w = W
    for step in range(30):
        (w,) = stack.step([w], [W * (1 + step % 3) - 0.5])
    values = stack.hyperparameter_values()
    assert stack.hyperparameter_names[:3] == ["0.alpha", "0.mu", "1.alpha"] and len(values) == 52
    assert bool(stack.finite()) and values[0] > 0 and bool((values[2:] > 0).all())
    assert values[0].item() != 1e-3 and values[2].item() != 0.01  # the levels below the top learn
