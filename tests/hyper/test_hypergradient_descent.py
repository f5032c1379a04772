"""Our height-1 `sgd / sgd(kappa)` against SGD-HD as Baydin et al. (ICLR 2018) wrote it ([H] hypergrad/sgd_hd.py,
restated in ../shared/papers/hd2018/CLAIMS.md):

    h_t = g_t . d_{t-1}   (d: the previous update direction, 0 at t = 1)
    alpha_t = alpha_{t-1} + beta h_t
    theta_t = theta_{t-1} - alpha_t d_t   (d_t = g_t + decay theta_{t-1})

The order matters: alpha is updated first and the weights step with the new alpha, so the first step keeps
alpha_0. Ours (gdtuo's order) is the same: the step size's hypergradient dL_t/dalpha = -g_t . d_{t-1} comes
through the previous weight update, the step size moves first, then the weights. Without weight decay the two
agree to rounding; with it they differ, and by how much is stated here: [H] takes g_t with the decay term
in h_t, ours takes the loss's gradient alone (the decay is part of the rule, not of the loss).
"""

import pytest
import torch

from training.hyper.stack import HyperStack
from training.hyper.stackspec import parse_stack

D = torch.float64
A = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=D)
B = torch.tensor([1.0, 0.0, 2.0, -1.0], dtype=D)
START = torch.tensor([0.5, -0.3, 0.2], dtype=D)


def loss_gradient(theta: torch.Tensor) -> torch.Tensor:
    """Of 1/2 |A theta - B|^2."""
    return A.T @ (A @ theta - B)


def sgd_hd(alpha: float, beta: float, decay: float, steps: int, decay_in_h: bool = True) -> tuple[list[float], torch.Tensor]:
    """[H]'s SGD-HD: (alpha after each step, final weights); ``decay_in_h=False``: h from the loss's gradient alone."""
    theta, previous, alphas = START.clone(), torch.zeros_like(START), []
    for _ in range(steps):
        gradient = loss_gradient(theta)
        direction = gradient + decay * theta
        alpha = alpha + beta * float((direction if decay_in_h else gradient) @ previous)
        theta = theta - alpha * direction
        previous = direction
        alphas.append(alpha)
    return alphas, theta


def ours(alpha: float, beta: float, decay: float, steps: int) -> tuple[list[float], torch.Tensor]:
    theta = START.clone()
    stack = HyperStack(parse_stack(f"sgd(alpha={alpha}, wd={decay}) / sgd(alpha={beta})" if decay else f"sgd(alpha={alpha}) / sgd(alpha={beta})"), theta)
    alphas = []
    for _ in range(steps):
        (theta,) = stack.step([theta], [loss_gradient(theta)])
        alphas.append(float(stack.hyperparameter_values()[0]))
    return alphas, theta


@pytest.mark.parametrize("beta", [1e-3, 1e-2])
def test_without_decay_ours_is_sgd_hd_step_by_step(beta):
    theirs_alpha, theirs_theta = sgd_hd(0.01, beta, 0.0, 30)
    our_alpha, our_theta = ours(0.01, beta, 0.0, 30)
    assert our_alpha[0] == theirs_alpha[0] == 0.01  # the first step keeps alpha_0: no previous direction yet
    torch.testing.assert_close(torch.tensor(our_alpha, dtype=D), torch.tensor(theirs_alpha, dtype=D), rtol=1e-12, atol=0)
    torch.testing.assert_close(our_theta, theirs_theta, rtol=1e-12, atol=1e-14)
    assert max(theirs_alpha) > 0.02  # the step size really moved: the comparison is not of two constants


def test_with_decay_ours_leaves_the_decay_out_of_the_hypergradient():
    decay = 0.05  # large enough that the difference shows above rounding
    our_alpha, our_theta = ours(0.01, 1e-3, decay, 30)
    without, theta_without = sgd_hd(0.01, 1e-3, decay, 30, decay_in_h=False)
    torch.testing.assert_close(torch.tensor(our_alpha, dtype=D), torch.tensor(without, dtype=D), rtol=1e-12, atol=0)
    torch.testing.assert_close(our_theta, theta_without, rtol=1e-12, atol=1e-14)
    theirs, _ = sgd_hd(0.01, 1e-3, decay, 30)
    assert abs(theirs[-1] - our_alpha[-1]) > 1e-6  # [H]'s own rule differs: a study that needs it must say which it ran


def sgdn_hd(alpha: float, beta: float, mu: float, steps: int) -> tuple[list[float], torch.Tensor]:
    """[H]'s SGDN-HD without decay: the same alpha rule, the direction torch's Nesterov one (buffer = mu buffer + g, first
    buffer g; d = g + mu buffer)."""
    theta, previous, buffer, alphas = START.clone(), torch.zeros_like(START), None, []
    for _ in range(steps):
        gradient = loss_gradient(theta)
        alpha = alpha + beta * float(gradient @ previous)
        buffer = gradient.clone() if buffer is None else mu * buffer + gradient
        direction = gradient + mu * buffer
        theta = theta - alpha * direction
        previous = direction
        alphas.append(alpha)
    return alphas, theta


def test_ours_is_sgdn_hd_step_by_step():
    theirs_alpha, theirs_theta = sgdn_hd(0.01, 1e-3, 0.9, 30)
    theta = START.clone()
    stack = HyperStack(parse_stack("sgd_nesterov(alpha=0.01, mu=0.9) / sgd(alpha=0.001)"), theta)
    our_alpha = []
    for _ in range(30):
        (theta,) = stack.step([theta], [loss_gradient(theta)])
        our_alpha.append(float(stack.hyperparameter_values()[0]))
    torch.testing.assert_close(torch.tensor(our_alpha, dtype=D), torch.tensor(theirs_alpha, dtype=D), rtol=1e-12, atol=0)
    torch.testing.assert_close(theta, theirs_theta, rtol=1e-12, atol=1e-14)
    assert our_alpha[0] == 0.01 and abs(max(theirs_alpha) - 0.01) > 1e-3  # alpha_0 kept at first, then really moved


def test_sgd_nesterov_alone_is_torchs_nesterov_sgd():
    ours_theta, theirs_theta = START.clone(), START.clone().requires_grad_(True)
    stack = HyperStack(parse_stack("sgd_nesterov(alpha=0.01, mu=0.9)"), ours_theta)
    optimizer = torch.optim.SGD([theirs_theta], lr=0.01, momentum=0.9, nesterov=True)
    for _ in range(20):
        (ours_theta,) = stack.step([ours_theta], [loss_gradient(ours_theta)])
        theirs_theta.grad = loss_gradient(theirs_theta.detach())
        optimizer.step()
    torch.testing.assert_close(ours_theta, theirs_theta.detach(), rtol=1e-12, atol=1e-14)
