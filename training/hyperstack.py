"""A stack of optimizers in which each level learns the hyperparameters of the one below.

The authors' package detaches every gradient and optimizer state, so each
hypergradient is first order: the loss at step t reaches level k's
hyperparameters only through the chain of single updates that produced the
current weights (W_t <- theta_0 <- theta_1 <- ...). We therefore never call
``backward(create_graph=True)``. Each step

1. takes the ordinary weight gradient dL_t/dW_t,
2. pulls it back through the graph of the previous weight update to get
   dL_t/dtheta_0, then through the previous level-1 update to get
   dL_t/dtheta_1, and so on up the stack,
3. updates top-down: the top level moves theta_{H-2}, ..., level 0 moves the
   weights, each with the hyperparameters its level above has just set, and
   keeps the (one update deep) graph of those updates for the next step.

Step 2 is one backward call through the kept chain, as the reference's
single backward is, but from the weight gradient rather than the loss.

Hyperparameters are tensors on the weights' device; nothing here syncs the
host, so the caller decides when to read values or check divergence.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor

from training.optimizers import Rule, make_rule
from training.stackspec import Stack, format_stack


class HyperStack:
    """Optimizer state of a whole stack for one set of weights.

    ``step(weights, grads)`` returns the new weights (detached tensors); the
    caller owns the weights and computes their gradient however it likes.
    """

    def __init__(self, stack: Stack, like: Tensor):
        self.stack = stack
        self.rules: list[Rule] = [make_rule(level, stack[depth - 1] if depth else None) for depth, level in enumerate(stack)]
        self.raw: list[Tensor] = [rule.initial_raw(like.dtype, like.device) for rule in self.rules]
        self.states: list[list] = [[] for _ in stack]
        # The last step's chain, kept one update deep: the new weights (with graph) and the
        # new hyperparameters theta_0..theta_{H-2} they were computed from (graph nodes).
        self._outputs: list[Tensor] = []
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
        """Effective values in the order of ``hyperparameter_names``, shape [n], on device."""
        parts = [rule.effective(raw) for rule, raw in zip(self.rules, self.raw)]
        return torch.cat([part.detach().reshape(-1) for part in parts])

    def hypergradients(self, grads: list[Tensor]) -> list[list[Tensor]]:
        """dL_t/d(targets of level k) for every level: [weight grads, [dL/dtheta_0], ...].

        One backward call pulls the weight gradient through the chain of last updates
        W_t <- theta_0 <- theta_1 <- ... and reads the gradient at every theta_k on the way.
        """
        levels = len(self.stack) - 1
        if not self._nodes:
            return [list(grads)] + [[torch.zeros_like(self.raw[depth])] for depth in range(levels)]
        found = torch.autograd.grad(self._outputs, self._nodes, grad_outputs=list(grads), allow_unused=True)
        return [list(grads)] + [[torch.zeros_like(self.raw[depth]) if g is None else g] for depth, g in enumerate(found)]

    def step(self, weights: list[Tensor], grads: list[Tensor]) -> list[Tensor]:
        """One step of the whole stack; returns the new weights, detached.

        Top-down: the top level moves theta_{H-2} (no graph: its own hyperparameters are
        fixed) and that new value becomes the leaf of this step's chain; each level below
        moves its targets with the new hyperparameters of the level above, keeping the graph,
        down to the weights.
        """
        return self.apply(weights, self.hypergradients(grads))

    def apply(self, weights: list[Tensor], chain: list[list[Tensor]]) -> list[Tensor]:
        """The update half of ``step``, from the gradients ``hypergradients`` returned.

        Separate so that a checkpoint can hold (state, chain) and a resumed run can
        replay the update, rebuilding the kept graph the next step needs.
        """
        self.count += 1
        top = len(self.stack) - 1
        hyper = list(self.raw)  # hyperparameters each level updates with (graph nodes below the top)
        outputs: list[Tensor] = []
        for depth in range(top, -1, -1):
            targets = [w.detach() for w in weights] if depth == 0 else [self.raw[depth - 1]]
            target_grads = chain[depth]
            if depth == 0 and self.weight_decay:
                target_grads = [g + self.weight_decay * w for g, w in zip(target_grads, targets)]
            with torch.set_grad_enabled(depth < top), self._saved_tensor_accounting(depth):
                outputs, self.states[depth] = self.rules[depth].update(targets, target_grads, self.states[depth], hyper[depth], self.count)
            if depth > 0:
                hyper[depth - 1] = outputs[0].detach().requires_grad_() if depth == top else outputs[0]
        self.raw = [h.detach() for h in hyper]
        self._nodes, self._outputs = (hyper[:top], outputs) if top > 0 else ([], [])
        return [out.detach() for out in outputs]

    def state_dict(self) -> dict:
        """Copies of what the stack carries between steps, except the kept graph (see ``apply``)."""
        def copy(entry):
            return tuple(t.detach().clone() for t in entry) if isinstance(entry, tuple) else entry.detach().clone()

        return {"raw": [r.clone() for r in self.raw], "states": [[copy(e) for e in state] for state in self.states], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; the kept graph is rebuilt by replaying ``apply``."""
        self.raw, self.states, self.count = list(state["raw"]), [list(s) for s in state["states"]], state["count"]
        self._outputs, self._nodes = [], []

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
        self.raw[0][index] = rule.to_raw("alpha", value)

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
        """Bytes the stack holds beyond the weights: hyperparameters, states, kept graphs.

        Graph storage is known only for steps taken with ``track_memory`` set.
        """
        tensors = list(self.raw)
        for state in self.states:
            for entry in state:
                tensors += list(entry) if isinstance(entry, tuple) else [entry]
        held = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors if t is not None}
        return sum(held.values()) + sum(size for (_, ptr), size in self._saved.items() if ptr not in held)

    def finite(self) -> Tensor:
        """A 0-d bool tensor: every hyperparameter is finite (no host sync)."""
        return torch.isfinite(torch.cat([raw.reshape(-1) for raw in self.raw])).all()
