"""A stack of optimizers in which each level learns the hyperparameters of the one below.

The authors' package detaches every gradient and optimizer state, so each
hypergradient is first order: the loss at step t reaches level k's
hyperparameters only through the chain of single updates that produced the
current weights (W_t <- theta_0 <- theta_1 <- ...). We therefore never call
``backward(create_graph=True)``. Each step

1. takes the ordinary weight gradient dL_t/dW_t,
2. gets dL_t/dtheta_0 in closed form: the weight level's last update left the
   derivative of W_t with respect to theta_0 as a few weight-sized tensors
   (see ``training.optimizers``), and the hypergradient is their inner
   products with the weight gradient; then one backward call pulls it
   through the kept graph of the hyper levels' last updates (theta_0 <-
   theta_1 <- ..., a handful of numbers each) for dL_t/dtheta_1 and above,
3. updates top-down: the top level moves theta_{H-2}, ..., level 0 moves the
   weights, each with the hyperparameters its level above has just set. The
   hyper levels keep the (one update deep) graph of their updates; the
   weight level keeps its tangents instead, so no autograd graph ever spans
   the weights.

Leading seed dimensions: with ``seeds=S`` the raw hyperparameters are [S, n]
and the weights [S, ...]; every seed has its own hyperparameters and its own
hypergradient (inner products never mix seeds).

Hyperparameters are tensors on the weights' device; nothing here syncs the
host, so the caller decides when to read values or check divergence.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor

from training.optimizers import Rule, Update, make_rule
from training.stackspec import Stack, format_stack


def inner(xs: list[Tensor], ys: list[Tensor], lead: int) -> Tensor:
    """Sum over tensors of the inner products of ``xs`` and ``ys`` per seed: shape [*lead]."""
    total = None
    for x, y in zip(xs, ys):
        dot = torch.linalg.vecdot(x.flatten(lead), y.flatten(lead))
        total = dot if total is None else total + dot
    return total


class HyperStack:
    """Optimizer state of a whole stack for one set of weights (or S seeds' sets, stacked).

    ``step(weights, grads)`` returns the new weights (detached tensors); the
    caller owns the weights and computes their gradient however it likes.
    """

    def __init__(self, stack: Stack, like: Tensor, seeds: int | None = None):
        self.stack = stack
        self.rules: list[Rule] = [make_rule(level, stack[depth - 1] if depth else None) for depth, level in enumerate(stack)]
        self.raw: list[Tensor] = [rule.initial_raw(like.dtype, like.device) for rule in self.rules]
        if seeds is not None:
            self.raw = [raw.expand(seeds, -1).clone() for raw in self.raw]
        self.lead = 0 if seeds is None else 1
        self.states: list[list] = [[] for _ in stack]
        # What the last step leaves for the next one's hypergradients: the weight level's
        # tangents, and the hyper levels' kept graph from theta_0 (its output) to theta_1.. theta_{H-2}.
        self._tangents: Update | None = None
        self._nodes: list[Tensor] = []
        self.count = 0
        self.weight_decay = stack[0].weight_decay
        self.track_memory = False  # when set, step() records what the kept graphs hold
        self._saved: dict[tuple[int, int], int] = {}  # (level, storage pointer) -> bytes

    def __repr__(self) -> str:
        return f"HyperStack({format_stack(self.stack)!r}, step={self.count})"

    @property
    def hyperparameter_names(self) -> list[str]:
        """Names ``<level>.<name>`` of every learned or fixed-by-top hyperparameter."""
        return [f"{depth}.{name}" for depth, level in enumerate(self.stack) for name in level.tuned]

    def hyperparameter_values(self) -> Tensor:
        """Effective values in the order of ``hyperparameter_names``: shape [*lead, n], on device."""
        parts = [rule.effective(raw) for rule, raw in zip(self.rules, self.raw)]
        return torch.cat([part.detach() for part in parts], dim=-1)

    def hypergradients(self, grads: list[Tensor]) -> list[list[Tensor]]:
        """dL_t/d(targets of level k) for every level: [weight grads, [dL/dtheta_0], ...]."""
        levels = len(self.stack) - 1
        chain = [list(grads)]
        if levels == 0:
            return chain
        if self._tangents is None:
            return chain + [[torch.zeros_like(self.raw[depth])] for depth in range(levels)]
        first = self._tangents.pull([inner(grads, basis, self.lead) for basis in self._tangents.basis])
        chain.append([first])
        if levels > 1:
            found = torch.autograd.grad([self._nodes[0]], self._nodes[1:], grad_outputs=[first], allow_unused=True)
            chain += [[torch.zeros_like(self.raw[depth + 1]) if g is None else g] for depth, g in enumerate(found)]
        return chain

    def step(self, weights: list[Tensor], grads: list[Tensor]) -> list[Tensor]:
        """One step of the whole stack; returns the new weights, detached.

        Top-down: the top level moves theta_{H-2} (no graph: its own hyperparameters are
        fixed) and that new value becomes the leaf of this step's chain; each hyper level below
        moves its targets with the new hyperparameters of the level above, keeping the graph;
        the weight level moves the weights without a graph and keeps its tangents.
        """
        return self.apply(weights, self.hypergradients(grads))

    def apply(self, weights: list[Tensor], chain: list[list[Tensor]]) -> list[Tensor]:
        """The update half of ``step``, from the gradients ``hypergradients`` returned.

        Separate so that a checkpoint can hold (state, chain) and a resumed run can
        replay the update, rebuilding what the next step needs.
        """
        self.count += 1
        top = len(self.stack) - 1
        hyper = list(self.raw)  # hyperparameters each level updates with (graph nodes below the top)
        for depth in range(top, 0, -1):
            target_grads = chain[depth]
            with torch.set_grad_enabled(depth < top), self._saved_tensor_accounting(depth):
                update = self.rules[depth].update([self.raw[depth - 1]], target_grads, self.states[depth], hyper[depth], self.count)
            self.states[depth] = update.state
            below = update.targets[0]
            hyper[depth - 1] = below.detach().requires_grad_(top > 1) if depth == top else below
        targets = [w.detach() for w in weights]
        target_grads = chain[0]
        if self.weight_decay:
            target_grads = [g + self.weight_decay * w for g, w in zip(target_grads, targets)]
        with torch.no_grad():
            update = self.rules[0].update(targets, target_grads, self.states[0], hyper[0].detach(), self.count, tangents=top > 0)
        self.states[0] = update.state
        self.raw = [h.detach() for h in hyper]
        self._tangents = update if top > 0 else None
        self._nodes = hyper[:top]
        return update.targets

    def state_dict(self) -> dict:
        """Copies of what the stack carries between steps, except the kept graph (see ``apply``)."""
        def copy(entry):
            return tuple(t.detach().clone() for t in entry) if isinstance(entry, tuple) else entry.detach().clone()

        return {"raw": [r.clone() for r in self.raw], "states": [[copy(e) for e in state] for state in self.states], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; the kept graph is rebuilt by replaying ``apply``."""
        self.raw, self.states, self.count = list(state["raw"]), [list(s) for s in state["states"]], state["count"]
        self._tangents, self._nodes = None, []

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

    def _saved_tensor_accounting(self, depth: int):
        """Count the storages autograd saves for the graph kept from this update."""
        if not self.track_memory:
            return nullcontext()
        self._saved = {key: size for key, size in self._saved.items() if key[0] != depth}

        def pack(tensor: Tensor) -> Tensor:
            storage = tensor.untyped_storage()
            self._saved[(depth, storage.data_ptr())] = storage.nbytes()
            return tensor

        return torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor)

    def memory_bytes(self) -> int:
        """Bytes the stack holds beyond the weights: hyperparameters, states, tangents, kept graphs.

        The hyper levels' graph storage is known only for steps taken with ``track_memory`` set.
        """
        tensors = list(self.raw)
        if self._tangents is not None:
            tensors += [t for basis in self._tangents.basis for t in basis]
        for state in self.states:
            for entry in state:
                tensors += list(entry) if isinstance(entry, tuple) else [entry]
        held = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors if t is not None}
        return sum(held.values()) + sum(size for (_, ptr), size in self._saved.items() if ptr not in held)

    def finite(self) -> Tensor:
        """Bool [*lead] (0-d for one seed): every hyperparameter of the seed is finite (no host sync)."""
        return torch.isfinite(torch.cat(self.raw, dim=-1)).all(dim=-1)
