"""S seeds of one model as one flat weight tensor, and their loss and gradient in one pass.

The optimizer sees the weights of seed s as row s of one [S, P] tensor (P
parameters, in ``named_parameters`` order), so every update is a handful of
large operations whatever the number of parameter tensors. The model sees
views of a row, shaped as its parameters.

With one seed the loss is the task's own; with several, ``torch.func.vmap``
runs the task's loss over the seed dimension, each seed on its own batch
([S, B, ...] inputs). Seeds never mix: the gradient of the summed loss with
respect to row s is seed s's own gradient. State that is not a weight is kept
per seed too: batch-norm running statistics as ``buffers`` [S, ...] (the
forward updates seed s's slice in place, as it would update the module's own
buffer), and a task's carried state (the char-LSTM's hidden state) as [S, ...].
"""

from __future__ import annotations

import torch
from torch import Tensor

from training.core.benchmark import build_model
from training.core.tasks import Task


def _stored(parameter: Tensor) -> Tensor:
    """A parameter in the order its numbers take in the flat vector.

    Matrices are stored transposed (input-major): a matrix product's gradient then
    comes out of the (batched) backward in storage order, where the other layout
    costs a strided copy of every weight gradient when several seeds are batched.
    """
    return parameter.T.contiguous() if parameter.dim() == 2 else parameter


def _viewed(part: Tensor, shape: torch.Size) -> Tensor:
    """Inverse of ``_stored`` on a slice of the flat vector: a view of the parameter's shape."""
    return part.view(shape[1], shape[0]).T if len(shape) == 2 else part.view(shape)


class Replicas:
    """The weights of S seeds of one model: ``flat`` [S, P], their buffers [S, ...], and the module that runs them."""

    def __init__(self, model: str, seeds: list[int], device: torch.device, **sizes):
        modules = [build_model(model, seed, **sizes) for seed in seeds]
        self.module = modules[0].to(device)  # the template functional_call runs (its own buffers are not used)
        self.buffers = {name: torch.stack([dict(m.named_buffers())[name].detach() for m in modules]).to(device)
                        for name, _ in self.module.named_buffers()}
        self.names = [name for name, _ in self.module.named_parameters()]
        self.shapes = [p.shape for p in self.module.parameters()]
        self.sizes = [p.numel() for p in self.module.parameters()]
        self.flat = torch.stack([torch.cat([_stored(p.detach()).reshape(-1) for p in m.parameters()]) for m in modules]).to(device)

    @property
    def seeds(self) -> int:
        return self.flat.shape[0]

    def weights(self, row: Tensor) -> dict[str, Tensor]:
        """One seed's row (P numbers) as the module's parameters (views, no copy)."""
        return {name: _viewed(part, shape) for name, part, shape in zip(self.names, row.split(self.sizes), self.shapes)}

    def seed_buffers(self, seed: int) -> dict[str, Tensor]:
        """Seed ``seed``'s buffers (views: the forward's in-place updates land in ``buffers``)."""
        return {name: buffer[seed] for name, buffer in self.buffers.items()}

    def loss_and_grads(self, task: Task, flat: Tensor, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        """Per-seed losses [S] and gradients [S, P] at ``flat``; ``batch``: tensors with a leading seed dimension."""
        flat = flat.detach().requires_grad_()
        carry = task.carried(self.module, self.seeds)
        if self.seeds == 1:  # a view, not a select: its backward is free
            loss, carried = task.loss(self.module, {**self.weights(flat.view(-1)), **self.seed_buffers(0)}, tuple(part[0] for part in batch),
                                      None if carry is None else carry[0])
            (grads,) = torch.autograd.grad(loss, flat)
            task.carry_on(None if carried is None else carried[None])
            return loss.detach().view(1), grads

        def one_seed(row: Tensor, buffers: dict[str, Tensor], state: Tensor | None, *data: Tensor):
            return task.loss(self.module, {**self.weights(row), **buffers}, data, state)

        losses, carried = torch.func.vmap(one_seed, in_dims=(0, 0, None if carry is None else 0) + (0,) * len(batch),
                                          out_dims=(0, None if carry is None else 0))(flat, self.buffers, carry, *batch)
        (grads,) = torch.autograd.grad(losses.sum(), flat)
        task.carry_on(carried)
        return losses.detach(), grads

    def evaluate(self, task: Task, flat: Tensor, seeds: list[int]) -> list[float]:
        """The task's test metric for each of ``seeds`` (row indices of ``flat``), with its own buffers."""
        flat = flat.detach()
        return [task.evaluate(self.module, {**self.weights(flat[s]), **self.seed_buffers(s)}) for s in seeds]
