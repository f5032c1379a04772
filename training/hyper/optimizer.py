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
  steps is harmless. A group mixing dtypes is stepped as one vector in its
  widest dtype and copied back; one mixing devices is stepped tensor by tensor
  (in place), and then the stack keeps the gradients themselves (changing them
  in place before the next ``step()`` is refused with a ValueError).
- A group's stack computes in its parameters' widest dtype and follows them:
  ``model.double()`` after the optimizer was made casts the stack's values and
  state at the next step, and a saved state loads into any floating dtype.
- A parameter whose ``.grad`` is None at a step counts as having gradient zero
  (unlike torch's optimizers, which skip it): under momentum or Adam its state
  keeps moving it. Put frozen parameters in no group.
- Refused in one line: torch.optim keys in a group (``lr``, ``weight_decay``,
  ...: write them in the group's stack), complex and 16-bit parameters (beta2 =
  0.999 rounds to 1 in bfloat16; autocast keeps float32 weights), sparse
  gradients, and a saved state whose parameter shapes differ from the group's.
- ``state_dict()`` is ``{'stacks', 'states', 'shapes'}`` and ``optimizer.state``
  stays empty: tools that walk ``state`` see nothing. torch's state-dict hooks
  run; copies (``copy.deepcopy``, pickle) carry the stacks. torch's ``foreach``,
  ``fused``, ``capturable``, ``maximize`` and ``differentiable`` flags do not
  apply (one group is one vector already; nothing is differentiable through a
  step). One-level ``adam`` and ``rmsprop`` follow the authors' package, not
  torch: Adam's second moment starts at eps and RMSProp's eps sits inside the
  square root, so on small gradients they step differently (README,
  "Differences from torch.optim").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from training.hyper.stack import HyperStack
from training.hyper.stackspec import Stack, format_stack, parse_stack

GROUP_KEYS = ("params", "stack")  # what a HyperOptimizer group takes; torch's options (lr, momentum, ...) belong in the stack
LOW_PRECISION = (torch.float16, torch.bfloat16)


class HyperOptimizer(torch.optim.Optimizer):
    def __init__(self, params: Iterable[Tensor] | Iterable[dict], stack: str | Stack = "sgd(alpha=0.01)", compiled: bool = False):
        """``compiled``: fuse each rule's elementwise arithmetic with torch.compile (the first steps compile; worth it on long runs)."""
        self.compiled = compiled
        self.stacks: list[HyperStack] = []
        self.buffers: list[_GroupBuffer | None] = []  # per group: the one buffer its parameters are views of
        self.dtypes: list[list[torch.dtype]] = []  # per group: its parameters' dtypes when last checked
        self._warned = False
        super().__init__(params, {"stack": stack})

    def add_param_group(self, param_group: dict) -> None:
        index = len(self.param_groups)
        if isinstance(param_group, dict):
            unknown = [key for key in param_group if key not in GROUP_KEYS]
            if unknown:
                raise ValueError(f"HyperOptimizer: param group {index} has {', '.join(map(repr, unknown))}, torch.optim options; a group takes "
                                 "'params' and 'stack': write the initial step size and weight decay in its stack, e.g. "
                                 "{'params': [...], 'stack': 'sgd(alpha=0.5, wd=0.1) / sgd(alpha=0.01)'}")
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _check_params(group["params"], index)
        levels = parse_stack(group["stack"]) if isinstance(group["stack"], str) else tuple(group["stack"])
        group["stack"] = format_stack(levels)
        self._attach(group, HyperStack(levels, _like(group["params"]), compiled=self.compiled))

    def _attach(self, group: dict, hyper: HyperStack) -> None:
        """Take ``hyper`` as the stack of ``group`` (the next group): its parameters' dtypes, their one buffer, its published lr."""
        self.stacks.append(hyper)
        self.dtypes.append([p.dtype for p in group["params"]])
        self.buffers.append(_GroupBuffer.gather(group["params"]) if group["params"] and _one_vector(group["params"]) else None)
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
        for index, group in enumerate(self.param_groups):
            if self._written(group) and not self._warned:
                warnings.warn("param_groups[...]['lr'] is the learned step size of a HyperOptimizer: a value written to it (a scheduler's) "
                              "is overwritten at the next step", stacklevel=2)
                self._warned = True
            params = group["params"]
            if not params:
                continue
            hyper = self._follow_dtype(index, params)
            grads = _gradients(params, index)
            buffer = self.buffers[index]
            if buffer is not None and buffer.holds(params):  # the weights are already one vector: stepped where they lie
                hyper.step([buffer.flat], [_flatten(grads)], in_place=True)
            elif _one_device(params):  # every level's arithmetic once over all the group's numbers, in its widest dtype
                dtype = hyper.raw[0].dtype
                new = hyper.step([_flatten(params, dtype)], [_flatten(grads, dtype)])
                torch._foreach_copy_(params, [part.view_as(p) for part, p in zip(new[0].split([p.numel() for p in params]), params)])
            else:
                hyper.step([p.detach() for p in params], grads, in_place=True)  # in place: references stay valid
            self._publish(group, hyper)
        return loss

    def _follow_dtype(self, index: int, params: list[Tensor]) -> HyperStack:
        """The group's stack, moved to its parameters' widest dtype if they changed since (``model.double()`` after building)."""
        hyper = self.stacks[index]
        dtypes = [p.dtype for p in params]
        if dtypes != self.dtypes[index]:
            _check_params(params, index)
            like = _like(params)
            if hyper.raw[0].dtype != like.dtype:
                self.stacks[index] = hyper = _rebuilt(hyper, like, self.compiled)
            self.dtypes[index] = dtypes
        return hyper

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
        """Each group's stack (the tangents of its last updates included: a resumed optimizer continues bit for bit) and the
        shapes of its parameters (checked on load). torch's state-dict hooks run as for its own optimizers."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        state = {"stacks": [group["stack"] for group in self.param_groups], "states": [hyper.state_dict(tangents=True) for hyper in self.stacks],
                 "shapes": [[list(p.shape) for p in group["params"]] for group in self.param_groups]}
        for hook in self._optimizer_state_dict_post_hooks.values():
            state = hook(self, state) or state
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            state_dict = hook(self, state_dict) or state_dict
        if state_dict["stacks"] != [group["stack"] for group in self.param_groups]:
            raise ValueError(f"saved stacks {state_dict['stacks']} do not match this optimizer's {[g['stack'] for g in self.param_groups]}")
        shapes = [[list(p.shape) for p in group["params"]] for group in self.param_groups]
        if "shapes" in state_dict and state_dict["shapes"] != shapes:
            raise ValueError(f"saved parameter shapes {state_dict['shapes']} do not match this optimizer's {shapes}")
        for group, hyper, state in zip(self.param_groups, self.stacks, state_dict["states"]):
            like = hyper.raw[0]
            hyper.load_state_dict(_on(state, like.device, like.dtype))
            self._publish(group, hyper)
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def __getstate__(self) -> dict:
        """torch.optim.Optimizer pickles defaults, state and param groups only: the stacks travel as their state dicts."""
        state = super().__getstate__()
        state.update(compiled=self.compiled, _warned=self._warned, stack_states=[hyper.state_dict(tangents=True) for hyper in self.stacks])
        return state

    def __setstate__(self, state: dict) -> None:
        stack_states = state.pop("stack_states")
        super().__setstate__(state)
        self.stacks, self.buffers, self.dtypes = [], [], []
        for group, saved in zip(self.param_groups, stack_states):
            hyper = HyperStack(parse_stack(group["stack"]), _like(group["params"]), compiled=self.compiled)
            hyper.load_state_dict(saved)
            self._attach(group, hyper)


def _like(params: list[Tensor]) -> Tensor:
    """A 0-d tensor of the dtype a group's stack computes in (its parameters' widest) on their first device; float32 for none."""
    if not params:
        return torch.zeros(())
    dtype = params[0].dtype
    for p in params[1:]:
        dtype = torch.promote_types(dtype, p.dtype)
    return torch.zeros((), dtype=dtype, device=params[0].device)


def _rebuilt(hyper: HyperStack, like: Tensor, compiled: bool) -> HyperStack:
    """The same stack, its values and state cast to ``like``'s dtype and device."""
    moved = HyperStack(hyper.stack, like, compiled=compiled)
    moved.load_state_dict(_on(hyper.state_dict(tangents=True), like.device, like.dtype))
    return moved


def _check_params(params: list[Tensor], group: int) -> None:
    """One line for what a HyperOptimizer cannot step: complex and 16-bit parameters."""
    for i, p in enumerate(params):
        if p.is_complex():
            raise ValueError(f"HyperOptimizer: parameter {i} of group {group} is complex ({p.dtype}); the stacks' rules are real: "
                             "hold its real and imaginary parts as two real parameters")
        if p.dtype in LOW_PRECISION:
            raise ValueError(f"HyperOptimizer: parameter {i} of group {group} is {p.dtype}; hyperparameters such as beta2 = 0.999 round to 1 "
                             "in 16-bit floats: keep float32 parameters (torch.autocast runs the model in 16 bits)")


def _gradients(params: list[Tensor], group: int) -> list[Tensor]:
    """Each parameter's gradient (zeros where it is None); one line for a sparse one, which the stacks cannot take."""
    grads = []
    for i, p in enumerate(params):
        g = p.grad
        if g is None:
            g = torch.zeros_like(p)
        elif g.is_sparse:
            raise ValueError(f"HyperOptimizer: parameter {i} of group {group} has a sparse gradient; the stacks need dense gradients "
                             "(e.g. nn.Embedding(..., sparse=False))")
        grads.append(g)
    return grads


def _flatten(tensors: list[Tensor], dtype: torch.dtype | None = None) -> Tensor:
    """The tensors' values, one after the other, in one new vector, in ``dtype`` if given (call under no_grad)."""
    return torch.cat([t.reshape(-1) if dtype is None else t.reshape(-1).to(dtype) for t in tensors])


def _one_vector(params: list[Tensor]) -> bool:
    """Whether a group's parameters can live in one buffer (one dtype, one device)."""
    return len({(p.dtype, p.device) for p in params}) == 1


def _one_device(params: list[Tensor]) -> bool:
    return len({p.device for p in params}) == 1


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


def _on(state, device: torch.device, dtype: torch.dtype):
    """``state`` (nested lists, tuples, dicts of tensors) copied onto ``device``, floating tensors cast to ``dtype``."""
    if isinstance(state, Tensor):
        return state.to(device, dtype=dtype if state.is_floating_point() else state.dtype).clone()
    if isinstance(state, (list, tuple)):
        return type(state)(_on(s, device, dtype) for s in state)
    if isinstance(state, dict):
        return {key: _on(value, device, dtype) for key, value in state.items()}
    return state
