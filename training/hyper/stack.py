"""A stack of optimizers in which each level learns the hyperparameters of the one below.

The authors' package detaches every gradient and optimizer state, so each
hypergradient is first order: the loss at step t reaches level k's
hyperparameters only through the chain of single updates that produced the
current weights (W_t <- theta_0 <- theta_1 <- ...). The reference builds that
chain as an autograd graph; we carry it in closed form. Each step

1. takes the ordinary weight gradient dL_t/dW_t,
2. walks up the chain: the last update of level k left the derivative of its
   new targets with respect to theta_k as a few target-sized tensors (its
   tangents, see ``training.hyper.rules``), so dL_t/dtheta_k is their inner
   products with dL_t/d(targets of level k), pulled through a few scalars;
3. updates top-down: the top level moves theta_{H-2}, ..., level 0 moves the
   weights, each with the hyperparameters its level above has just set, and
   each level below the top keeps its tangents for the next step.

No autograd graph spans the weights, nor any step: updates run under no_grad.

Leading seed dimension: with ``seeds=S`` the raw hyperparameters are [S, n]
and the weights one flat [S, P] tensor; every seed has its own
hyperparameters and its own hypergradients (inner products never mix seeds).

Hyperparameters are tensors on the weights' device; nothing here syncs the
host, so the caller decides when to read values or check divergence.

The stack keeps the gradients it is handed (SGD's tangent is the gradient
itself, and its first momentum buffer), so a caller must not change them in
place before the next step: it is checked (a tensor's version counter) and
refused with ValueError rather than giving silently wrong hypergradients.
0-d weights (a scalar parameter) keep their shape.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor

from training.hyper.rules import Rule, Update
from training.hyper.stackspec import Stack, format_stack, make_rule

SMALL = 4096  # below this many numbers per seed, one batched operation beats a BLAS call per seed


def inner(xs: list[Tensor], ys: list[Tensor], lead: int) -> Tensor:
    """Sum over tensors of the inner products of ``xs`` and ``ys`` per seed: [seeds, 1], or [1] with no seed dimension.

    Weight-sized vectors go through ``torch.dot`` row by row (it reads both once and
    makes no temporary; batched matrix products of this shape are many times slower on
    CPU); a hyper level's few numbers through one multiply-and-sum.
    """
    total = None
    for x, y in zip(xs, ys):
        if x.dim() != lead + 1:  # one vector per seed (the training loop's weights already are)
            x, y = x.flatten(lead), y.flatten(lead)
        if x.shape[-1] < SMALL:
            dot = (x * y).sum(-1, keepdim=True)
        else:
            dot = (torch.stack([torch.dot(a, b) for a, b in zip(x, y)]) if lead else torch.dot(x, y)).unsqueeze(-1)
        total = dot if total is None else total + dot
    return total


def _no_grad():
    """torch.no_grad(), or nothing when gradients are off already (a caller such as an optimizer's step): a step is short
    enough that entering the context counts."""
    return torch.no_grad() if torch.is_grad_enabled() else contextlib.nullcontext()


def _at_least_1d(tensor: Tensor) -> Tensor:
    """A 0-d tensor as shape [1] (a view), so that per-level columns broadcast the same way for every weight."""
    return tensor.view(1) if tensor.dim() == 0 else tensor


class HyperStack:
    """Optimizer state of a whole stack for one set of weights (or S seeds' sets, stacked).

    ``step(weights, grads)`` returns the new weights; the caller owns the weights
    and computes their gradient however it likes.
    """

    def __init__(self, stack: Stack, like: Tensor, seeds: int | None = None, compiled: bool = False):
        """``compiled``: fuse each rule's elementwise arithmetic with torch.compile (worth it on long runs)."""
        self.stack = stack
        self.rules: list[Rule] = [make_rule(level, stack[depth - 1] if depth else None) for depth, level in enumerate(stack)]
        for rule in self.rules if compiled else []:
            rule.compile()
        self.raw: list[Tensor] = [rule.initial_raw(like.dtype, like.device) for rule in self.rules]
        if seeds is not None:
            self.raw = [raw.expand(seeds, -1).clone() for raw in self.raw]
        self.lead = 0 if seeds is None else 1
        self.states: list[list] = [[] for _ in stack]
        self.tangents: list[Update | None] = [None] * (len(stack) - 1)  # each level's last update, below the top
        self.kept: list[tuple[Tensor, int]] = []  # tensors of the weight level's last update that the caller may own, with their versions
        self.count = 0
        self.weight_decay = stack[0].weight_decay

    def __repr__(self) -> str:
        return f"HyperStack({format_stack(self.stack)!r}, step={self.count})"

    @property
    def hyperparameter_names(self) -> list[str]:
        """Names ``<level>.<name>`` of every learned or fixed-by-top hyperparameter."""
        return [f"{depth}.{name}" for depth, level in enumerate(self.stack) for name in level.tuned]

    def hyperparameter_values(self) -> Tensor:
        """Effective values in the order of ``hyperparameter_names``: shape [*lead, n], on device."""
        return torch.cat([rule.effective(raw) for rule, raw in zip(self.rules, self.raw)], dim=-1)

    def hypergradients(self, grads: list[Tensor]) -> list[list[Tensor]]:
        """dL_t/d(targets of level k) for every level: [weight grads, [dL/dtheta_0], ...]."""
        self._check_kept()
        chain = [list(grads)]
        with _no_grad():
            for depth, last in enumerate(self.tangents):
                if last is None:  # no update yet: the loss does not depend on theta_depth
                    chain.append([torch.zeros_like(self.raw[depth])])
                else:
                    chain.append([last.pull([inner(chain[-1], basis, self.lead) for basis in last.basis])])
        return chain

    def step(self, weights: list[Tensor], grads: list[Tensor], in_place: bool = False) -> list[Tensor]:
        """One step of the whole stack; returns the new weights (with ``in_place``, ``weights`` themselves, overwritten:
        nothing the stack keeps refers to their old values)."""
        return self.apply(weights, self.hypergradients(grads), in_place)

    def apply(self, weights: list[Tensor], chain: list[list[Tensor]], in_place: bool = False) -> list[Tensor]:
        """The update half of ``step``, from the gradients ``hypergradients`` returned.

        Top-down: the top level moves theta_{H-2} with its fixed hyperparameters; each
        level below moves its targets with the hyperparameters just set above it and
        keeps its tangents. Separate from ``step`` so that a checkpoint can hold
        (state, chain) and a resumed run replays the update, tangents included.
        """
        self.count += 1
        top = len(self.stack) - 1
        shapes = [w.shape for w in weights]
        with _no_grad():
            for depth in range(top, -1, -1):
                targets = [_at_least_1d(w.detach() if w.requires_grad else w) for w in weights] if depth == 0 else [self.raw[depth - 1]]
                target_grads = chain[depth] if depth else [_at_least_1d(g) for g in chain[0]]
                if depth == 0 and self.weight_decay:
                    target_grads = [g + self.weight_decay * w for g, w in zip(target_grads, targets)]
                update = self.rules[depth].update(targets, target_grads, self.states[depth], self.raw[depth], self.count, tangents=depth < top,
                                                 in_place=in_place and depth == 0)
                self.states[depth] = update.state
                if depth < top:
                    self.tangents[depth] = update
                if depth > 0:
                    self.raw[depth - 1] = update.targets[0]
        self._keep(update)
        return weights if in_place else [new.view(shape) for new, shape in zip(update.targets, shapes)]

    def _keep(self, update: Update) -> None:
        """Remember the versions of the weight level's tangents and state (they may be the caller's gradients)."""
        if torch.compiler.is_compiling():  # version counters are not tracked through a compiled region: nothing to check against
            self.kept = []
            return
        held = [t for basis in update.basis for t in basis] + [t for entry in update.state for t in (entry if isinstance(entry, tuple) else (entry,))]
        self.kept = [(t, t._version) for t in held]

    def _check_kept(self) -> None:
        """Called where the kept tensors are first read in a step (``hypergradients``; ``apply`` follows it, or a restore)."""
        if torch.compiler.is_compiling():
            return
        if any(t._version != version for t, version in self.kept):
            raise ValueError("a gradient handed to HyperStack.step was changed in place before the next step; the stack keeps it "
                             "(as SGD's tangent and first momentum buffer): pass a fresh gradient tensor each step, or a clone")

    def state_dict(self, tangents: bool = False) -> dict:
        """Copies of what the stack carries between steps. The tangents of the last updates are weight-sized: with
        ``tangents`` they are saved too (a resumed stack then needs nothing else); without, a resumed run rebuilds
        them by replaying ``apply`` (``training.core.checkpoint``)."""
        def copy(entry):
            return tuple(t.detach().clone() for t in entry) if isinstance(entry, tuple) else entry.detach().clone()

        state = {"raw": [r.clone() for r in self.raw], "states": [[copy(e) for e in state] for state in self.states], "count": self.count}
        if tangents:
            state["tangents"] = [None if last is None else [[t.detach().clone() for t in basis] for basis in last.basis] for last in self.tangents]
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``: the tangents too when it holds them (their pulls follow from the restored
        hyperparameters and step count), else they are rebuilt by replaying ``apply``."""
        self.raw, self.states, self.count = list(state["raw"]), [list(s) for s in state["states"]], state["count"]
        saved = state.get("tangents") or [None] * (len(self.stack) - 1)
        self.tangents = [None if basis is None else Update([], [], [list(b) for b in basis], self.rules[depth].pull(self.raw[depth], self.count))
                         for depth, basis in enumerate(saved)]
        self.kept = []

    def evaluation_weights(self, weights: Tensor) -> Tensor:
        """The weights to evaluate: the trained ones (a stack keeps no averaged copy)."""
        return weights

    def scale_weight_step_size(self, factor: float) -> None:
        """Set the weight level's alpha to ``factor`` times its initial value (hand-made schedules).

        Only for stacks of height 0: above that, alpha belongs to the level that learns it.
        """
        if len(self.stack) > 1:
            raise ValueError("a schedule would overwrite a learned step size")
        rule = self.rules[0]
        index = rule.spec.tuned.index("alpha")
        value = torch.tensor(rule.spec.value("alpha") * factor, dtype=self.raw[0].dtype, device=self.raw[0].device)
        self.raw[0] = self.raw[0].clone()
        self.raw[0][..., index] = rule.to_raw("alpha", value)

    def memory_bytes(self) -> int:
        """Bytes the stack holds beyond the weights: hyperparameters, states and tangents."""
        tensors = list(self.raw)
        for state in self.states:
            for entry in state:
                tensors += list(entry) if isinstance(entry, tuple) else [entry]
        for last in self.tangents:
            tensors += [t for basis in (last.basis if last else []) for t in basis]
        held = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
        return sum(held.values())

    def finite(self) -> Tensor:
        """Bool [*lead] (0-d for one seed): every hyperparameter of the seed is finite (no host sync)."""
        return torch.isfinite(torch.cat(self.raw, dim=-1)).all(dim=-1)
