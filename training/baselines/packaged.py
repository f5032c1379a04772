"""Learning-rate-free optimizers from their maintained packages, as the weight level of a run.

Prodigy (``prodigyopt``), D-Adaptation's Adam (``dadaptation``), DoG (``dog-optimizer``)
and schedule-free SGD (``schedulefree``) are used as published, never re-implemented:
``PackageStack`` only feeds them the gradients our loop computes and reads back what
they chose. It stands where a ``HyperStack`` stands in ``training.core.loop``.

Seeds: each seed has its own optimizer over its own row of one [S, P] weight buffer
(a view, so the packages' in-place updates land in the buffer the vmapped forward
reads). The packages' global quantities (Prodigy's and D-Adaptation's d, DoG's
distance) are then those of one seed's whole model, as in a single run.

State that needs care:
- schedule-free SGD trains at the interpolation y and is evaluated at the average x
  (its ``eval()``); we read x and put y back bit for bit, so evaluating changes nothing.
- DoG is evaluated at its polynomial-decay average (its package's ``PolynomialDecayAverager``,
  gamma 8), which its authors call crucial; the average is part of the checkpoint.
- DoG keeps "first step" as an attribute outside its state dict: restored explicitly.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from training.hyper.stackspec import OPTIMIZERS, Stack, format_stack


class MissingPackage(ImportError):
    """A learning-rate-free optimizer's package is not installed."""


@dataclass(frozen=True)
class Packaged:
    """How to build one package's optimizer over one tensor and read its current step size."""

    module: str  # what to import
    build: Callable[[object, Tensor, dict[str, float]], torch.optim.Optimizer]  # (module, param, values) -> optimizer
    step_size: Callable[[torch.optim.Optimizer, dict[str, float]], float]  # the effective step size, logged as 0.alpha


def _group(optimizer: torch.optim.Optimizer) -> dict:
    return optimizer.param_groups[0]


def _dog_step_size(optimizer: torch.optim.Optimizer, values: dict[str, float]) -> float:
    eta = _group(optimizer).get("eta")
    return float("nan") if eta is None else float(eta[0])  # DoG's first step size follows from the first gradient


PACKAGED: dict[str, Packaged] = {
    "prodigy": Packaged("prodigyopt", lambda m, p, v: m.Prodigy([p], lr=v["lr"], d0=v["d0"]),
                        lambda o, v: float(_group(o)["d"] * _group(o)["lr"])),
    "dadapt_adam": Packaged("dadaptation", lambda m, p, v: m.DAdaptAdam([p], lr=v["lr"], d0=v["d0"]),
                            lambda o, v: float(_group(o)["d"] * _group(o)["lr"])),
    "dog": Packaged("dog", lambda m, p, v: m.DoG([p], reps_rel=v["r_eps"], lr=v["lr"]), _dog_step_size),
    "sgd_schedulefree": Packaged("schedulefree", lambda m, p, v: m.SGDScheduleFree([p], lr=v["alpha"], momentum=v["momentum"],
                                                                                  warmup_steps=int(v["warmup"])),
                                 lambda o, v: float(_group(o)["scheduled_lr"] if _group(o)["k"] else v["alpha"] / max(v["warmup"], 1.0))),
}
DOG_AVERAGING_GAMMA = 8.0  # the package's default


def import_package(optimizer: str):
    """The module of ``optimizer``'s package, or one clear line on how to get it."""
    try:
        return importlib.import_module(PACKAGED[optimizer].module)
    except ImportError:
        raise MissingPackage(f"{optimizer} needs the {OPTIMIZERS[optimizer].package} package: pip install -e '.[baselines]'") from None


class _Holder(nn.Module):
    """A module around the weight buffer, for DoG's averager (which averages a module's state dict)."""

    def __init__(self, weights: Tensor):
        super().__init__()
        self.weights = nn.Parameter(weights, requires_grad=False)


class PackageStack:
    """A learning-rate-free optimizer per seed, over the rows of a [S, P] weight buffer."""

    def __init__(self, stack: Stack, like: Tensor, seeds: int | None = None):
        (level,) = stack
        self.stack, self.level, self.count = stack, level, 0
        self.values = dict(level.values)
        self.packaged = PACKAGED[level.optimizer]
        module = import_package(level.optimizer)
        self.lead = seeds is not None
        self.buffer = (like if self.lead else like.unsqueeze(0)).detach().clone()
        self.optimizers = [self.packaged.build(module, self.buffer[seed], self.values) for seed in range(len(self.buffer))]
        if level.optimizer == "sgd_schedulefree":
            for optimizer in self.optimizers:
                optimizer.train()
        self.averager = None
        if level.optimizer == "dog":
            self.holder = _Holder(self.buffer)
            self.averager = module.PolynomialDecayAverager(self.holder, gamma=DOG_AVERAGING_GAMMA)

    def __repr__(self) -> str:
        return f"PackageStack({format_stack(self.stack)!r}, step={self.count})"

    @property
    def hyperparameter_names(self) -> list[str]:
        return ["0.alpha"]

    def hyperparameter_values(self) -> Tensor:
        """Each seed's effective step size, [S, 1] ([1] for one unbatched run)."""
        values = torch.tensor([[self.packaged.step_size(o, self.values)] for o in self.optimizers], dtype=self.buffer.dtype)
        return values.to(self.buffer.device) if self.lead else values[0].to(self.buffer.device)

    def hypergradients(self, grads: list[Tensor]) -> list[list[Tensor]]:
        return [list(grads)]  # nothing above the weights

    def step(self, weights: list[Tensor], grads: list[Tensor]) -> list[Tensor]:
        return self.apply(weights, self.hypergradients(grads))

    def apply(self, weights: list[Tensor], chain: list[list[Tensor]]) -> list[Tensor]:
        """Step every seed's optimizer on its row; returns the buffer (the packages update it in place)."""
        (given,), (grads,) = weights, chain[0]
        rows = given if self.lead else given.unsqueeze(0)
        if rows.data_ptr() != self.buffer.data_ptr():  # a restore, or the caller's own tensor: start from it
            self.buffer.copy_(rows)
        grads = grads if self.lead else grads.unsqueeze(0)
        with torch.no_grad():
            for seed, optimizer in enumerate(self.optimizers):
                optimizer.param_groups[0]["params"][0].grad = grads[seed].detach()
                optimizer.step()
            if self.averager is not None:
                self.averager.step()
        self.count += 1
        return [self.buffer if self.lead else self.buffer[0]]

    def evaluation_weights(self, weights: Tensor) -> Tensor:
        """The weights a package evaluates: schedule-free's average x, DoG's averaged iterate, else the weights."""
        if self.averager is not None and self.count:
            averaged = self.averager.averaged_model.weights.detach()
            return averaged if self.lead else averaged[0]
        if self.level.optimizer != "sgd_schedulefree" or not self.count:
            return weights
        trained = self.buffer.clone()
        for optimizer in self.optimizers:
            optimizer.eval()
        averaged = self.buffer.clone()
        for optimizer in self.optimizers:
            optimizer.train()
        self.buffer.copy_(trained)  # train() recomputes y with rounding: put the exact y back
        return averaged if self.lead else averaged[0]

    def state_dict(self, tangents: bool = False) -> dict:
        state = {"optimizers": [copy.deepcopy(o.state_dict()) for o in self.optimizers], "count": self.count}
        if self.averager is not None:
            state["averaged"] = self.averager.averaged_model.weights.detach().clone()
            state["averaged_steps"] = self.averager.t
            state["first_step"] = [o._first_step for o in self.optimizers]
        return state

    def load_state_dict(self, state: dict) -> None:
        for optimizer, saved in zip(self.optimizers, state["optimizers"]):
            optimizer.load_state_dict(copy.deepcopy(saved))
        self.count = state["count"]
        if self.averager is not None:
            self.averager.averaged_model.weights.data.copy_(state["averaged"])
            self.averager.t = state["averaged_steps"]
            for optimizer, first in zip(self.optimizers, state["first_step"]):
                optimizer._first_step = first

    def scale_weight_step_size(self, factor: float) -> None:
        raise ValueError(f"{self.level.optimizer} sets its own step size: a schedule would fight it")

    def memory_bytes(self) -> int:
        """Bytes of the packages' state beyond the weights (and DoG's averaged copy)."""
        entries = [entry for o in self.optimizers for entry in o.state.values() if isinstance(entry, dict)]
        tensors = [t for entry in entries for t in entry.values() if isinstance(t, Tensor)]
        tensors += [t for o in self.optimizers for value in _group(o).values() for t in (value if isinstance(value, list) else [value])
                    if isinstance(t, Tensor) and t.numel() > 1]
        if self.averager is not None:
            tensors.append(self.averager.averaged_model.weights)
        return sum(t.numel() * t.element_size() for t in tensors)

    def finite(self) -> Tensor:
        """Bool [S] (0-d for one run): every seed's step size is finite (DoG's before its first step counts as finite)."""
        values = self.hyperparameter_values()
        flags = torch.isfinite(values).all(dim=-1) | (self.count == 0)
        return flags
