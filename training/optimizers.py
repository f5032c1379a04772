"""Update rules of the optimizers a stack is built from, as pure functions.

Each rule maps (targets, gradients, state, hyperparameters) to (new targets,
new state). Targets are the model weights for the weight level, or the raw
hyperparameter vector of the level below for a hyper level. Hyperparameters
arrive as one raw 1-D tensor per level, in the parametrisation of the authors'
package (gdtuo 1.0), which is what a level above learns:

    sgd            [alpha, mu]
    sgd_per_param  [alpha_<name> for each tuned name of the level below]
    adagrad        [alpha]
    rmsprop        [sqrt(alpha), atanh-like(gamma)]        gamma = (tanh(x) + 1) / 2
    rmsprop_alpha  [sqrt(alpha)]                           gamma fixed
    adam           [alpha, atanh-like(beta1), atanh-like(beta2)]
    adam_alpha     [alpha]                                 betas fixed

The formulas, constants and the order of floating-point operations follow the
reference so that float64 runs agree to rounding. Gradients and states are
inputs (never differentiated), as in the reference, which detaches them: the
only graph a rule builds runs from its hyperparameters to its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from training.stackspec import LevelSpec

ADAM_EPS = 10.0**-8.0
RMSPROP_EPS = 1e-8
ADAGRAD_EPS = 1e-10
ADAGRAD_INITIAL_ACCUMULATOR = 1e-1


def squash(raw: Tensor) -> Tensor:
    """Map the real line onto (0, 1): how betas and gamma are kept in their domain."""
    return (raw.tanh() + 1.0) / 2.0


def unsquash(value: Tensor) -> Tensor:
    """Inverse of ``squash``, computed as the reference does."""
    z = value * 2.0 - 1.0
    return ((1.0 + z) / (1.0 - z)).log() / 2.0


@dataclass
class Rule:
    """The update rule of one level, with its fixed constants read off the spec."""

    spec: LevelSpec

    def initial_raw(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """The raw hyperparameter vector, shape [len(spec.tuned)]."""
        values = [torch.tensor(self.spec.value(name), dtype=dtype, device=device) for name in self.spec.tuned]
        return torch.stack([self.to_raw(name, value) for name, value in zip(self.spec.tuned, values)]) if values else torch.zeros(0, dtype=dtype, device=device)

    def to_raw(self, name: str, value: Tensor) -> Tensor:
        return value

    def effective(self, raw: Tensor) -> Tensor:
        """Hyperparameters as a user reads them (alpha, beta1, ...), shape of ``raw``."""
        return raw

    def update(self, targets: list[Tensor], grads: list[Tensor], state: list, raw: Tensor, count: int) -> tuple[list[Tensor], list]:
        raise NotImplementedError


class SGD(Rule):
    """Plain SGD, with heavy-ball momentum when the initial mu is non-zero.

    As in the reference, momentum is switched on by the *initial* mu: a stack
    that starts at mu = 0 never uses momentum and never learns mu.
    """

    def update(self, targets, grads, state, raw, count):
        alpha, mu = raw[0], raw[1]
        momentum = self.spec.value("mu") != 0.0
        new_targets, new_state = [], []
        for p, g, buf in zip(targets, grads, state or [None] * len(targets)):
            if momentum:
                g = g if buf is None else buf * mu + g
                new_state.append(g.detach())
            new_targets.append(p - g * alpha)
        return new_targets, new_state


class SGDPerParam(Rule):
    """SGD with one step size per hyperparameter of the level below; the rest stay put."""

    def __init__(self, spec: LevelSpec, below: LevelSpec):
        super().__init__(spec)
        self.index = [below.tuned.index(name) for name in spec.tuned]

    def update(self, targets, grads, state, raw, count):
        (p,), (g,) = targets, grads
        index = torch.tensor(self.index, device=p.device)
        step_sizes = torch.zeros_like(p).index_copy(0, index, raw)
        tuned = torch.zeros_like(p, dtype=torch.bool).index_fill(0, index, True)
        return [torch.where(tuned, p - g * step_sizes, p)], state


class AdaGrad(Rule):
    def update(self, targets, grads, state, raw, count):
        alpha = raw[0]
        if not state:
            state = [torch.zeros_like(p) + ADAGRAD_INITIAL_ACCUMULATOR for p in targets]
        new_targets, new_state = [], []
        for p, g, accumulated in zip(targets, grads, state):
            accumulated = accumulated + torch.square(g)
            new_state.append(accumulated)
            new_targets.append(p - alpha * g / torch.sqrt(accumulated + ADAGRAD_EPS))
        return new_targets, new_state


class RMSProp(Rule):
    """RMSProp learning sqrt(alpha) and, unless ``alpha_only``, gamma."""

    def __init__(self, spec: LevelSpec, alpha_only: bool = False):
        super().__init__(spec)
        self.alpha_only = alpha_only

    def to_raw(self, name, value):
        return torch.sqrt(value) if name == "alpha" else unsquash(value)

    def effective(self, raw):
        return torch.cat([torch.square(raw[:1]), squash(raw[1:])])

    def update(self, targets, grads, state, raw, count):
        alpha = torch.square(raw[0])
        gamma = self.spec.value("gamma") if self.alpha_only else squash(raw[1])
        if not state:
            state = [torch.zeros_like(p) for p in targets]
        new_targets, new_state = [], []
        for p, g, s in zip(targets, grads, state):
            s = gamma * s + (1.0 - gamma) * torch.square(g)
            new_state.append(s.detach())
            new_targets.append(p - alpha * g / torch.sqrt(s + RMSPROP_EPS))
        return new_targets, new_state


class Adam(Rule):
    """Adam learning alpha and, unless ``alpha_only``, beta1 and beta2.

    v starts at eps (the reference's fudge factor that keeps sqrt differentiable).
    """

    def __init__(self, spec: LevelSpec, alpha_only: bool = False):
        super().__init__(spec)
        self.alpha_only = alpha_only

    def to_raw(self, name, value):
        return value if name == "alpha" else unsquash(value)

    def effective(self, raw):
        return torch.cat([raw[:1], squash(raw[1:])])

    def update(self, targets, grads, state, raw, count):
        alpha = raw[0]
        if self.alpha_only:
            beta1, beta2 = self.spec.value("beta1"), self.spec.value("beta2")
        else:
            beta1, beta2 = squash(raw[1]), squash(raw[2])
        if not state:
            state = [(torch.zeros_like(p), torch.zeros_like(p) + ADAM_EPS) for p in targets]
        new_targets, new_state = [], []
        for p, g, (m, v) in zip(targets, grads, state):
            m = beta1 * m + (1.0 - beta1) * g
            v = beta2 * v + (1.0 - beta2) * g * g
            new_state.append((m.detach(), v.detach()))
            m_hat = m / (1.0 - beta1 ** float(count))
            v_hat = v / (1.0 - beta2 ** float(count))
            direction = m_hat / (v_hat**0.5 + ADAM_EPS)
            new_targets.append(p - alpha * direction)
        return new_targets, new_state


def make_rule(spec: LevelSpec, below: LevelSpec | None) -> Rule:
    """The rule for ``spec``; ``below`` is the level it tunes (None for the weight level)."""
    if spec.optimizer == "sgd":
        return SGD(spec)
    if spec.optimizer == "sgd_per_param":
        return SGDPerParam(spec, below)
    if spec.optimizer == "adagrad":
        return AdaGrad(spec)
    if spec.optimizer in ("rmsprop", "rmsprop_alpha"):
        return RMSProp(spec, alpha_only=spec.optimizer == "rmsprop_alpha")
    if spec.optimizer in ("adam", "adam_alpha"):
        return Adam(spec, alpha_only=spec.optimizer == "adam_alpha")
    raise ValueError(f"no update rule for optimizer {spec.optimizer!r}")
