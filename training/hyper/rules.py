"""Update rules of the optimizers a stack is built from, as pure functions.

Each rule maps (targets, gradients, state, hyperparameters) to (new targets,
new state). Targets are the model weights for the weight level, or the raw
hyperparameter vector of the level below for a hyper level. Hyperparameters
arrive as one raw tensor per level, in the parametrisation of the authors'
package (gdtuo 1.0), which is what a level above learns:

    sgd            [alpha, mu]
    sgd_nesterov   [alpha]                                 mu fixed (ours: not in gdtuo)
    sgd_per_param  [alpha_<name> for each tuned name of the level below]
    adagrad        [alpha]
    rmsprop        [sqrt(alpha), atanh-like(gamma)]        gamma = (tanh(x) + 1) / 2
    rmsprop_alpha  [sqrt(alpha)]                           gamma fixed
    adam           [alpha, atanh-like(beta1), atanh-like(beta2)]
    adam_alpha     [alpha]                                 betas fixed
    relative       [alpha]                                 gamma fixed (ours: not in gdtuo)

Raw vectors may carry a leading seed dimension ([S, n] for S seeds trained in
one pass); targets are then [S, P] and every hyperparameter applies to its own
seed's row.

The formulas and constants follow the reference; fused operations (addcmul)
change only the rounding, and float64 runs agree with it to 1e-9
(tests/test_oracle.py). Gradients and states are inputs (never differentiated),
as in the reference, which detaches them. The elementwise arithmetic of the
multi-operation rules is a pure function per tensor (``*_kernel``), which
``Rule.compile`` can fuse with torch.compile.

No update runs under autograd. Asked for ``tangents``, a rule also returns the
derivative of its new targets with respect to each of its raw hyperparameters
in closed form, as a few target-sized ``basis`` tensors and a ``pull`` that
turns their inner products with the next gradient of those targets into
dL/d(raw). That is the first-order hypergradient autograd would give through
a kept graph of the update, without the graph (and so without a graph through
every weight, or an autograd call per step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

ADAM_EPS = 10.0**-8.0
RMSPROP_EPS = 1e-8
ADAGRAD_EPS = 1e-10
ADAGRAD_INITIAL_ACCUMULATOR = 1e-1
RELATIVE_EPS = 1e-12


def squash(raw: Tensor) -> Tensor:
    """Map the real line onto (0, 1): how betas and gamma are kept in their domain."""
    return (raw.tanh() + 1.0) / 2.0


def squash_slope(raw: Tensor) -> Tensor:
    """d squash / d raw."""
    return (1.0 - raw.tanh().square()) / 2.0


def unsquash(value: Tensor) -> Tensor:
    """Inverse of ``squash``, computed as the reference does."""
    z = value * 2.0 - 1.0
    return ((1.0 + z) / (1.0 - z)).log() / 2.0


class LevelSpec(Protocol):
    """What a rule reads of its level (``training.hyper.stackspec.LevelSpec``, whose grammar entries name the rules)."""

    optimizer: str

    @property
    def tuned(self) -> tuple[str, ...]: ...

    def value(self, name: str) -> float: ...


@dataclass
class Update:
    """What one rule's step produced.

    ``basis``: lists of tensors shaped like the targets; ``pull(dots)`` maps their inner
    products with the next gradient, one [*lead, 1] tensor per basis entry, to the
    hypergradient [*lead, n_raw]. Both are empty unless tangents were asked for.
    """

    targets: list[Tensor]
    state: list
    basis: list[list[Tensor]] = field(default_factory=list)
    pull: Callable[[list[Tensor]], Tensor] | None = None


@dataclass
class Rule:
    """The update rule of one level, with its fixed constants read off the spec.

    Per-seed hyperparameters are read as columns ``[*lead, 1]`` of the raw vector,
    which broadcast over targets ``[*lead, P]`` (one flat vector per seed) and, with
    no seed dimension, over targets of any shape.
    """

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

    def step_size(self, raw: Tensor) -> Tensor:
        """alpha as a user reads it, shape ``raw.shape[:-1]`` (every rule tunes alpha first)."""
        return raw.select(-1, 0)

    def update(self, targets: list[Tensor], grads: list[Tensor], state: list, raw: Tensor, count: int, tangents: bool = False,
               in_place: bool = False) -> Update:
        """One step. ``in_place`` (asked of the weight level only): write the new targets into ``targets`` themselves;
        no tangent or state refers to the old values, so nothing the stack keeps changes with them."""
        raise NotImplementedError

    def pull(self, raw: Tensor, count: int) -> Callable[[list[Tensor]], Tensor]:
        """The pull of the update made with hyperparameters ``raw`` at step ``count``: a function of them alone,
        so a saved update (its basis tensors) can be rebuilt exactly without the targets it moved."""
        raise NotImplementedError

    def compile(self) -> None:
        """Fuse the rule's elementwise arithmetic with torch.compile (rules of one operation have none)."""
        if hasattr(self, "kernel"):
            self.kernel = torch.compile(self.kernel)


def _average(old: Tensor, new: Tensor, keep) -> Tensor:
    """keep * old + (1 - keep) * new, for a fixed (float) or learned ([*lead, 1]) ``keep``: one pass over the numbers."""
    return torch.lerp(new, old, keep)


def _descend(p: Tensor, direction: Tensor, alpha: Tensor, in_place: bool) -> Tensor:
    """p - alpha * direction; written into ``p`` itself with ``in_place``."""
    return p.addcmul_(direction, alpha, value=-1.0) if in_place else torch.addcmul(p, direction, alpha, value=-1.0)


def adagrad_kernel(p: Tensor, g: Tensor, accumulated: Tensor, alpha: Tensor, in_place: bool) -> tuple[Tensor, Tensor, Tensor]:
    """AdaGrad on one tensor: (new p, new accumulator, direction)."""
    accumulated = accumulated + g * g
    direction = g / torch.sqrt(accumulated + ADAGRAD_EPS)
    return _descend(p, direction, alpha, in_place), accumulated, direction


def rmsprop_kernel(p: Tensor, g: Tensor, s: Tensor, alpha: Tensor, gamma, with_part: bool, in_place: bool) -> tuple[Tensor, ...]:
    """RMSProp on one tensor: (new p, new average, direction, gamma tangent part or None)."""
    squared = g * g
    new_s = _average(s, squared, gamma)
    denominator = new_s + RMSPROP_EPS
    direction = g / denominator.sqrt()
    part = (s - squared).mul_(direction).div_(denominator) if with_part else None
    return _descend(p, direction, alpha, in_place), new_s, direction, part


def adam_kernel(p: Tensor, g: Tensor, m: Tensor, v: Tensor, alpha: Tensor, beta1, beta2, c1, c2, slope2, with_parts: bool,
                in_place: bool) -> tuple[Tensor, ...]:
    """Adam on one tensor: (new p, new m, new v, direction, beta1 part, beta2 part; parts None without ``with_parts``)."""
    new_m = _average(m, g, beta1)
    if with_parts:  # v - g^2 makes both the new average and beta2's part: one pass fewer than g^2 first
        v_minus_square = torch.addcmul(v, g, g, value=-1.0)
        new_v = torch.addcmul(v, v_minus_square, 1.0 - beta2, value=-1.0)
    else:
        new_v = _average(v, g * g, beta2)
    v_hat = new_v / c2
    root = v_hat.sqrt()
    denominator = root + ADAM_EPS
    direction = (new_m / c1).div_(denominator)
    new_p = _descend(p, direction, alpha, in_place)
    if not with_parts:
        return new_p, new_m, new_v, direction, None, None
    part1 = (m - g).div_(denominator)
    part2 = v_minus_square.addcmul_(v_hat, slope2).mul_(direction).div_(denominator.mul_(root))
    return new_p, new_m, new_v, direction, part1, part2


class SGD(Rule):
    """Plain SGD, with heavy-ball momentum when the initial mu is non-zero.

    As in the reference, momentum is switched on by the *initial* mu: a stack
    that starts at mu = 0 never uses momentum and never learns mu.
    Tangents: d new/d alpha = -direction; d new/d mu = -alpha * previous buffer.
    """

    def __init__(self, spec: LevelSpec):
        super().__init__(spec)
        self.momentum = spec.value("mu") != 0.0
        self.only_alpha: Tensor | None = None  # [-1, 0]: the hypergradient's row when mu is not used

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):
        alpha = raw.narrow(-1, 0, 1)
        directions = list(grads)
        if self.momentum and state:
            mu = raw.narrow(-1, 1, 1)
            directions = [torch.addcmul(g, buf, mu) for g, buf in zip(grads, state)]
        new_state = directions if self.momentum else []
        new = [_descend(p, d, alpha, in_place) for p, d in zip(targets, directions)]
        if not tangents:
            return Update(new, new_state)
        basis = [directions, list(state)] if self.momentum and state else [directions]
        return Update(new, new_state, basis, self.pull(raw, count))

    def pull(self, raw, count):
        if self.momentum and count > 1:  # momentum acts from the second step on, through the previous buffer
            alpha = raw.narrow(-1, 0, 1)
            return lambda dots: torch.cat([-dots[0], -alpha * dots[1]], dim=-1)
        if self.only_alpha is None or self.only_alpha.device != raw.device or self.only_alpha.dtype != raw.dtype:
            self.only_alpha = torch.zeros(2, dtype=raw.dtype, device=raw.device)  # filled on the device: no copy from the host
            self.only_alpha[0] = -1.0
        return lambda dots: dots[0] * self.only_alpha  # mu not used: no gradient


class SGDNesterov(Rule):
    """SGD with Nesterov momentum as torch.optim.SGD(nesterov=True) writes it, mu fixed: the buffer starts at the first
    gradient, then buffer = mu buffer + g; the direction is g + mu buffer. (Not in gdtuo: Baydin et al.'s SGDN-HD is this rule
    under an sgd level.)

    Tangent: d new/d alpha = -direction (the buffer is state, as heavy-ball momentum's buffer is for SGD's alpha).
    """

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):
        alpha, mu = raw, self.spec.value("mu")  # alpha [*lead, 1]: its only tuned hyperparameter
        buffers = [torch.add(g, buf, alpha=mu) for g, buf in zip(grads, state)] if state else [g.clone() for g in grads]
        directions = [torch.add(g, buf, alpha=mu) for g, buf in zip(grads, buffers)]
        new = [_descend(p, d, alpha, in_place) for p, d in zip(targets, directions)]
        if not tangents:
            return Update(new, buffers)
        return Update(new, buffers, [directions], self.pull(raw, count))

    def pull(self, raw, count):
        return lambda dots: -dots[0]


class SGDPerParam(Rule):
    """SGD with one step size per hyperparameter of the level below; the rest stay put.

    Tangent: d new/d alpha_j = -g at the position of the j-th tuned name, 0 elsewhere.
    """

    def __init__(self, spec: LevelSpec, below: LevelSpec):
        super().__init__(spec)
        self.index = [below.tuned.index(name) for name in spec.tuned]
        self.constants: tuple[Tensor, Tensor, Tensor] | None = None

    def _constants(self, p: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(index [n] of the tuned names' positions, tuned mask [m], picks [n, m]: one row per tuned name), built once per
        device on the device itself (a tensor made from a Python list is a copy from the host: on CUDA, a sync)."""
        if self.constants is None or self.constants[2].device != p.device or self.constants[2].dtype != p.dtype:
            eye = torch.eye(p.shape[-1], dtype=p.dtype, device=p.device)
            picks = torch.stack([eye[i] for i in self.index])
            self.constants = (picks.argmax(-1), picks.sum(0) > 0, picks)
        return self.constants

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):  # a hyper level: never asked in place
        (p,), (g,) = targets, grads
        index, tuned, picks = self._constants(p)
        step_sizes = torch.zeros_like(p).index_copy(-1, index, raw)
        new = [torch.where(tuned, p - g * step_sizes, p)]
        if not tangents:
            return Update(new, state)
        return Update(new, state, [[g * pick] for pick in picks], self.pull(raw, count))

    def pull(self, raw, count):
        return lambda dots: -torch.cat(dots, dim=-1)


class AdaGrad(Rule):
    """Tangent: d new/d alpha = -g / sqrt(accumulated + eps)."""

    kernel = staticmethod(adagrad_kernel)

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):
        alpha = raw  # [*lead, 1]: alpha is its only hyperparameter
        if not state:
            state = [torch.zeros_like(p) + ADAGRAD_INITIAL_ACCUMULATOR for p in targets]
        new, new_state, directions = (list(x) for x in zip(*(self.kernel(p, g, a, alpha, in_place) for p, g, a in zip(targets, grads, state))))
        if not tangents:
            return Update(new, new_state)
        return Update(new, new_state, [directions], self.pull(raw, count))

    def pull(self, raw, count):
        return lambda dots: -dots[0]


class RMSProp(Rule):
    """RMSProp learning sqrt(alpha) and, unless ``alpha_only``, gamma.

    With d = g / sqrt(s' + eps), s' = gamma s + (1 - gamma) g^2:
    d new/d sqrt(alpha) = -2 sqrt(alpha) d;  d new/d gamma = alpha/2 * d (s - g^2) / (s' + eps).
    """

    kernel = staticmethod(rmsprop_kernel)

    def __init__(self, spec: LevelSpec, alpha_only: bool = False):
        super().__init__(spec)
        self.alpha_only = alpha_only

    def to_raw(self, name, value):
        return torch.sqrt(value) if name == "alpha" else unsquash(value)

    def effective(self, raw):
        return torch.cat([torch.square(raw[..., :1]), squash(raw[..., 1:])], dim=-1)

    def step_size(self, raw):
        return torch.square(raw.select(-1, 0))

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):
        root = raw.narrow(-1, 0, 1)
        alpha = torch.square(root)
        gamma = self.spec.value("gamma") if self.alpha_only else squash(raw.narrow(-1, 1, 1))
        if not state:
            state = [torch.zeros_like(p) for p in targets]
        with_part = tangents and not self.alpha_only
        new, new_state, directions, gamma_parts = (list(x) for x in zip(*(self.kernel(p, g, s, alpha, gamma, with_part, in_place)
                                                                   for p, g, s in zip(targets, grads, state))))
        if not tangents:
            return Update(new, new_state)
        return Update(new, new_state, [directions] if self.alpha_only else [directions, gamma_parts], self.pull(raw, count))

    def pull(self, raw, count):
        root = raw.narrow(-1, 0, 1)
        if self.alpha_only:
            return lambda dots: -2.0 * root * dots[0]
        alpha, slope = torch.square(root), squash_slope(raw.narrow(-1, 1, 1))
        return lambda dots: torch.cat([-2.0 * root * dots[0], alpha / 2.0 * slope * dots[1]], dim=-1)


class Adam(Rule):
    """Adam learning alpha and, unless ``alpha_only``, beta1 and beta2.

    v starts at eps (the reference's fudge factor that keeps sqrt differentiable).
    Updates run under no_grad, so they may work in place on their own fresh temporaries.
    With c_i = 1 - beta_i^t, D = m_hat / (sqrt(v_hat) + eps), r = sqrt(v_hat) + eps:
    d new/d alpha = -D;  d new/d beta1 = -alpha/c1 * ((m - g)/r + t beta1^(t-1) D);
    d new/d beta2 = alpha/(2 c2) * D ((v - g^2) + t beta2^(t-1) v_hat) / (r sqrt(v_hat)).
    """

    kernel = staticmethod(adam_kernel)

    def __init__(self, spec: LevelSpec, alpha_only: bool = False):
        super().__init__(spec)
        self.alpha_only = alpha_only

    def to_raw(self, name, value):
        return value if name == "alpha" else unsquash(value)

    def effective(self, raw):
        return torch.cat([raw[..., :1], squash(raw[..., 1:])], dim=-1)

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):
        alpha = raw.narrow(-1, 0, 1)
        t = float(count)
        if self.alpha_only:
            beta1, beta2 = self.spec.value("beta1"), self.spec.value("beta2")
            c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t
        else:
            betas = squash(raw.narrow(-1, 1, 2))  # both at once: on a few numbers, each operation is pure overhead
            powers = betas ** (t - 1.0)
            (beta1, beta2), (c1, c2) = betas.split(1, dim=-1), (1.0 - powers * betas).split(1, dim=-1)
        if not state:
            state = [(torch.zeros_like(p), torch.zeros_like(p) + ADAM_EPS) for p in targets]
        with_parts = tangents and not self.alpha_only
        slope2 = t * powers.narrow(-1, 1, 1) if with_parts else None  # t beta2^(t-1) = d(beta2^t)/d beta2
        outputs = [self.kernel(p, g, m, v, alpha, beta1, beta2, c1, c2, slope2, with_parts, in_place)
                   for p, g, (m, v) in zip(targets, grads, state)]
        new, new_m, new_v, directions, parts1, parts2 = (list(x) for x in zip(*outputs))
        new_state = list(zip(new_m, new_v))
        if not tangents:
            return Update(new, new_state)
        if self.alpha_only:
            return Update(new, new_state, [directions], self.pull(raw, count))
        return Update(new, new_state, [directions, parts1, parts2], self._pull(alpha, t, powers, c1, c2, raw))

    def pull(self, raw, count):
        if self.alpha_only:
            return lambda dots: -dots[0]
        t = float(count)
        betas = squash(raw.narrow(-1, 1, 2))
        powers = betas ** (t - 1.0)
        c1, c2 = (1.0 - powers * betas).split(1, dim=-1)
        return self._pull(raw.narrow(-1, 0, 1), t, powers, c1, c2, raw)

    @staticmethod
    def _pull(alpha, t, powers, c1, c2, raw):
        slopes = squash_slope(raw.narrow(-1, 1, 2))

        def pull(dots: list[Tensor]) -> Tensor:
            d_beta1 = -alpha / c1 * (dots[1] + t * powers.narrow(-1, 0, 1) * dots[0])
            d_beta2 = alpha / (2.0 * c2) * dots[2]
            return torch.cat([-dots[0], slopes * torch.cat([d_beta1, d_beta2], dim=-1)], dim=-1)

        return pull


class Relative(Rule):
    """A hyper level whose step is a relative change of each (positive) target, normalised (ours).

    With u = x * g (the gradient with respect to log x), s' = gamma s + (1 - gamma) u^2 and
    r = u / (sqrt(s' / (1 - gamma^t)) + eps), the target moves to x * exp(-alpha r): about
    a factor exp(+-alpha) per step whatever the target's scale and the loss's, so one alpha
    serves every level of a tower and every base step size. A target never changes sign.
    Tangent: d new/d alpha = -new * r.
    """

    def update(self, targets, grads, state, raw, count, tangents=False, in_place=False):  # a hyper level: never asked in place
        alpha, gamma = raw, self.spec.value("gamma")
        if not state:
            state = [torch.zeros_like(x) for x in targets]
        correction = 1.0 - gamma ** float(count)
        new, new_state, steps = [], [], []
        for x, g, s in zip(targets, grads, state):
            u = x * g
            s = _average(s, u * u, gamma)
            r = u / ((s / correction).sqrt() + RELATIVE_EPS)
            new.append(x * torch.exp(-alpha * r))
            new_state.append(s)
            steps.append(r)
        if not tangents:
            return Update(new, new_state)
        return Update(new, new_state, [[n * r for n, r in zip(new, steps)]], self.pull(raw, count))

    def pull(self, raw, count):
        return lambda dots: -dots[0]
