"""The hyperoptimizer as a drop-in ``torch.optim.Optimizer``: the paper's method in any PyTorch training loop.

    from training.hyper import HyperOptimizer
    opt = HyperOptimizer(model.parameters(), stack="adam(alpha=1e-3) / sgd(alpha=1e-5)")
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()     # an ordinary backward: no create_graph
        opt.step()

Each parameter group has its own ``HyperStack`` (``stack`` per group, or the
default). ``step()`` hands the stack the gradients ``backward`` left in
``.grad`` and writes the new weights into the parameters in place. The
hypergradients are first order and in closed form, so nothing else is needed
(the authors' package asks for a wrapped model and ``create_graph=True``).

Semantics worth knowing:
- The hypergradient uses the gradient ``step()`` sees: clip, unscale (AMP's
  GradScaler calls ``step()`` after unscaling) or accumulate before it, and the
  learned hyperparameters follow that gradient.
- ``param_groups[i]["lr"]`` is the weight level's current step size (alpha), a
  0-d tensor on the parameters' device (reading it is free; ``float()`` syncs).
  It is learned: a scheduler that writes it changes nothing (the next step
  writes the learned value back), and a warning says so once.
- A group's parameters are stepped as one vector: every level's arithmetic
  runs once per group, not once per tensor. So that the weights are stepped
  where they lie (no copy out and back), the optimizer moves a group's
  parameters into one buffer when it is built (each parameter's ``.data``
  becomes a view of its slice; the Parameter objects, their values, shapes and
  anything that holds them are unchanged). A parameter whose storage is later
  replaced (``p.data = ...``, ``model.to(...)``) is noticed at the next step,
  and the group is then copied in and out instead; so is a group holding a
  non-contiguous parameter (channels-last), which keeps its layout. The stack
  keeps its own copy of the gradients, so zeroing ``.grad`` in place between
  steps is harmless. A group mixing dtypes or devices is stepped tensor by
  tensor (in place), and then the stack keeps the gradients themselves
  (changing them in place before the next ``step()`` is refused with a
  ValueError).
- A parameter whose ``.grad`` is None at a step counts as having gradient zero.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from training.hyper.stack import HyperStack
from training.hyper.stackspec import Stack, format_stack, parse_stack


class HyperOptimizer(torch.optim.Optimizer):
    def __init__(self, params: Iterable[Tensor] | Iterable[dict], stack: str | Stack = "sgd(alpha=0.01)", compiled: bool = False):
        """``compiled``: fuse each rule's elementwise arithmetic with torch.compile (the first steps compile; worth it on long runs)."""
        self.compiled = compiled
        self.stacks: list[HyperStack] = []
        self.buffers: list[_GroupBuffer | None] = []  # per group: the one buffer its parameters are views of
        self._warned = False
        super().__init__(params, {"stack": stack})

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        levels = parse_stack(group["stack"]) if isinstance(group["stack"], str) else tuple(group["stack"])
        group["stack"] = format_stack(levels)
        hyper = HyperStack(levels, group["params"][0].detach(), compiled=self.compiled)
        self.stacks.append(hyper)
        self.buffers.append(_GroupBuffer.gather(group["params"]) if _one_vector(group["params"]) else None)
        self._publish(group, hyper)

    @staticmethod
    def _step_size(hyper: HyperStack) -> Tensor:
        """The weight level's alpha as a 0-d tensor of its own (no host sync): schedulers fill ``lr`` in place, and must
        not reach the learned value."""
        return hyper.rules[0].step_size(hyper.raw[0]).clone()

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for index, (group, hyper) in enumerate(zip(self.param_groups, self.stacks)):
            if self._written(group) and not self._warned:
                warnings.warn("param_groups[...]['lr'] is the learned step size of a HyperOptimizer: a value written to it (a scheduler's) "
                              "is overwritten at the next step", stacklevel=2)
                self._warned = True
            params = group["params"]
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            buffer = self.buffers[index]
            if buffer is not None and buffer.holds(params):  # the weights are already one vector: stepped where they lie
                hyper.step([buffer.flat], [_flatten(grads)], in_place=True)
            elif _one_vector(params):  # every level's arithmetic once over all the group's numbers, not once per tensor
                new = hyper.step([_flatten(params)], [_flatten(grads)])
                torch._foreach_copy_(params, [part.view_as(p) for part, p in zip(new[0].split([p.numel() for p in params]), params)])
            else:
                hyper.step([p.detach() for p in params], grads, in_place=True)  # in place: references stay valid
            self._publish(group, hyper)
        return loss

    def _publish(self, group: dict, hyper: HyperStack) -> None:
        group["lr"] = self._step_size(hyper)
        group["_lr"] = (group["lr"], group["lr"]._version)

    @staticmethod
    def _written(group: dict) -> bool:
        """Whether something (a scheduler) wrote ``lr`` since the last step: another object, or the same filled in place."""
        if "_lr" not in group:
            return False
        published, version = group["_lr"]
        return group["lr"] is not published or published._version != version

    def hyperparameters(self, group: int = 0) -> dict[str, float]:
        """Every level's current values, e.g. {'0.alpha': 0.0103, '1.alpha': 1e-5} (one host sync)."""
        hyper = self.stacks[group]
        return dict(zip(hyper.hyperparameter_names, hyper.hyperparameter_values().tolist()))

    def state_dict(self) -> dict:
        """Each group's stack (the tangents of its last updates included: a resumed optimizer continues bit for bit)."""
        return {"stacks": [group["stack"] for group in self.param_groups], "states": [hyper.state_dict(tangents=True) for hyper in self.stacks]}

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict["stacks"] != [group["stack"] for group in self.param_groups]:
            raise ValueError(f"saved stacks {state_dict['stacks']} do not match this optimizer's {[g['stack'] for g in self.param_groups]}")
        for group, hyper, state in zip(self.param_groups, self.stacks, state_dict["states"]):
            hyper.load_state_dict(_on(state, group["params"][0].device))
            self._publish(group, hyper)


def _flatten(tensors: list[Tensor]) -> Tensor:
    """The tensors' values, one after the other, in one new vector (call under no_grad: parameters require grad)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def _one_vector(params: list[Tensor]) -> bool:
    """Whether a group's parameters can be stepped as one vector (one dtype, one device)."""
    return len({(p.dtype, p.device) for p in params}) == 1


@dataclass
class _GroupBuffer:
    """One contiguous buffer that a group's parameters are views of, and where each view starts."""

    flat: Tensor
    addresses: list[int]

    @classmethod
    def gather(cls, params: list[Tensor]) -> _GroupBuffer | None:
        """Move ``params`` into one buffer (their values unchanged); None if one is not contiguous (its layout is kept)."""
        if not all(p.is_contiguous() for p in params):
            return None
        with torch.no_grad():
            flat = _flatten(params)
        for p, part in zip(params, flat.split([p.numel() for p in params])):
            p.data = part.view_as(p)
        return cls(flat, [p.data_ptr() for p in params])

    def holds(self, params: list[Tensor]) -> bool:
        """Whether every parameter is still the view it was made (not given new storage since)."""
        return [p.data_ptr() for p in params] == self.addresses


def _on(state, device: torch.device):
    """``state`` (nested lists, tuples, dicts of tensors) copied onto ``device``."""
    if isinstance(state, Tensor):
        return state.to(device).clone()
    if isinstance(state, (list, tuple)):
        return type(state)(_on(s, device) for s in state)
    if isinstance(state, dict):
        return {key: _on(value, device) for key, value in state.items()}
    return state
