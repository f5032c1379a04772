"""Checkpoints of a run in progress, and resuming from one with identical results.

A HyperStack keeps, between steps, each level's tangents of its last update
(what the next step's hypergradients are made of), several weight-sized
tensors. Rather than saving them, a checkpoint is taken inside the last step
of an epoch, after the gradients and hypergradients are known but before the
update: it holds the weights, the stack's state and those gradients (the
"chain"). Resuming restores them and replays the update, which rebuilds the
same tangents, then carries on with the next epoch: on CPU the resumed run is
bitwise the uninterrupted one. Checkpoints are of one seed per pass.

Also saved: batch-norm buffers, the data-order generator, the step counter
and the epochs already recorded, so a new MLflow run can log them again.
"""

from __future__ import annotations

import io
from dataclasses import asdict

import torch
from torch import Tensor

from training.hyper.stack import HyperStack

FORMAT = 2  # 2: weights as one flat [seeds, P] tensor


def snapshot(weights: list[Tensor], stack: HyperStack, chain: list[list[Tensor]], buffers: dict[str, Tensor]) -> dict:
    """What must be copied inside the step, before ``stack.apply(weights, chain)``. ``buffers``: [1, ...] each (one seed)."""
    return {
        "weights": [w.detach().clone() for w in weights],
        "stack": stack.state_dict(),
        "chain": [[t.detach().clone() for t in level] for level in chain],
        "buffers": {name: b[0].detach().clone() for name, b in buffers.items()},
    }


def complete(snap: dict, config_hash: str, epoch: int, step: int, order: torch.Generator, records: list) -> dict:
    """The checkpoint of the end of ``epoch``: the step's snapshot plus the run's progress."""
    return {**snap, "format": FORMAT, "config_hash": config_hash, "epoch": epoch, "step": step,
            "order": order.get_state(), "records": [asdict(r) for r in records]}


def restore(checkpoint: dict, stack: HyperStack, buffers: dict[str, Tensor], order: torch.Generator, device: torch.device) -> list[Tensor]:
    """Put a checkpoint back: stack state, buffers ([1, ...] each, one seed), data order; replay the update. Returns the weights."""
    stack.load_state_dict(_to(checkpoint["stack"], device))
    for name, buffer in buffers.items():
        buffer[0].copy_(checkpoint["buffers"][name])
    order.set_state(checkpoint["order"])
    return [w.detach() for w in stack.apply(_to(checkpoint["weights"], device), _to(checkpoint["chain"], device))]


def _to(state, device: torch.device):
    if isinstance(state, Tensor):
        return state.to(device)
    if isinstance(state, (list, tuple)):
        return type(state)(_to(s, device) for s in state)
    if isinstance(state, dict):
        return {key: _to(value, device) for key, value in state.items()}
    return state


def to_bytes(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(_to(checkpoint, torch.device("cpu")), buffer)
    return buffer.getvalue()


def from_bytes(data: bytes) -> dict:
    """A checkpoint written by ``to_bytes`` (plain tensors and containers only: loaded with weights_only)."""
    checkpoint = torch.load(io.BytesIO(data), weights_only=True)
    if checkpoint.get("format") != FORMAT:
        raise ValueError(f"checkpoint format {checkpoint.get('format')!r} is not {FORMAT}")
    return checkpoint
