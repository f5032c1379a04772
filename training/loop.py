"""One training run: a model, its data and a hyperoptimizer stack, epoch by epoch.

The weights are plain tensors; each step takes one ordinary first-order
gradient of the task's loss and hands it to the HyperStack. Divergence (a non-finite loss or
hyperparameter) is detected on the device, read every few steps, and ends the
run cleanly as ``diverged`` at the step where it happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm import tqdm

from training import checkpoint as checkpoints
from training.config import RunConfig, schedule_factor
from training.data import Split
from training.hyperstack import HyperStack
from training.models import build_model
from training.stackspec import parse_stack
from training.tasks import make_task

DIVERGENCE_CHECK_EVERY = 50


@dataclass
class EpochRecord:
    """What one epoch produced; ``hp_steps`` holds (global step, {name: value}) samples."""

    epoch: int
    train_loss: float
    test_value: float  # the task's metric: test error in % or test perplexity
    step_time_ms: float
    hyperparameters: dict[str, float]
    hp_steps: list[tuple[int, dict[str, float]]] = field(default_factory=list)


@dataclass
class RunResult:
    epochs: list[EpochRecord]
    diverged: bool
    diverged_step: int | None
    steps: int
    stack_bytes: int  # memory the hyperoptimizer holds beyond the weights (see HyperStack.memory_bytes)
    weight_bytes: int
    metric: str = "test_error"  # the name of EpochRecord.test_value

    @property
    def final_test_value(self) -> float:
        return self.epochs[-1].test_value


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; an explicit 'cuda' without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but no CUDA GPU is available")
    return device


def _all_finite(tensors: list[Tensor]) -> Tensor:
    """0-d bool tensor: no NaN or inf in any of ``tensors`` (no host sync)."""
    return torch.stack([torch.isfinite(t).all() for t in tensors]).all()


def _first_bad_step(flags: list[Tensor]) -> int | None:
    """Index of the first True among per-step 0-d bool tensors (one host sync)."""
    if not flags:
        return None
    stacked = torch.stack(flags)
    if not bool(stacked.any()):
        return None
    return int(stacked.nonzero()[0, 0])


def train_run(
    config: RunConfig,
    train: Split,
    test: Split,
    device: torch.device = torch.device("cpu"),
    hp_every: int = 10,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    max_steps: int | None = None,
    progress: bool | None = None,
    measure_memory: bool = False,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict], None] | None = None,
    resume: dict | None = None,
) -> RunResult:
    """Train ``config`` on ``train``, evaluating on ``test`` after every epoch.

    ``hp_every``: sample every level's hyperparameters every this many steps.
    ``max_steps``: stop early (for dry runs). ``progress``: None = a bar on terminals only.
    ``measure_memory``: account the storage of the graphs the stack keeps (slower).
    ``checkpoint_every``: hand ``on_checkpoint`` a checkpoint after every this many epochs
    (0: never); ``resume``: such a checkpoint, to carry on after its epoch (see
    ``training.checkpoint``). The records of the epochs before it are in the result again.
    """
    task = make_task(config.model, train.head(config.train_size), test.head(config.test_size), config.batch_size, device)
    model = build_model(config.model, config.seed, **({"vocab": len(train.vocab)} if train.vocab else {})).to(device)
    names = [name for name, _ in model.named_parameters()]
    weights = [p.detach().clone() for p in model.parameters()]
    stack = HyperStack(parse_stack(config.stack), weights[0])
    hp_names = stack.hyperparameter_names
    order = torch.Generator().manual_seed(config.seed)
    n_batches = task.steps_per_epoch
    total = config.epochs * n_batches if max_steps is None else min(max_steps, config.epochs * n_batches)
    bar = tqdm(total=total, disable=None if progress is None else not progress, unit="step", leave=False)
    records: list[EpochRecord] = []
    step, diverged_step, first_epoch = 0, None, 1
    samples = [(0, stack.hyperparameter_values())]  # the initial values start every trajectory
    if resume is not None:
        weights = checkpoints.restore(resume, stack, model, order, device)
        records = [EpochRecord(**record) for record in resume["records"]]
        step, first_epoch, samples = resume["step"], resume["epoch"] + 1, []
        bar.update(step)
    for epoch in range(first_epoch, config.epochs + 1):
        snap = None
        bar.set_description(f"epoch {epoch}/{config.epochs}")
        if config.schedule:
            stack.scale_weight_step_size(schedule_factor(config.schedule, epoch))
        losses, flags = [], []
        started = time.perf_counter()
        for batch, data in enumerate(task.epoch(order)):
            for w in weights:
                w.requires_grad_()
            loss = task.loss(model, dict(zip(names, weights)), data)
            grads = torch.autograd.grad(loss, weights)
            stack.track_memory = measure_memory and step == total - 1  # hooks only on the last step: they must not weigh on the timing
            chain = stack.hypergradients(list(grads))
            if checkpoint_every and epoch % checkpoint_every == 0 and batch == n_batches - 1:
                snap = checkpoints.snapshot(weights, stack, chain, model)
            weights = stack.apply(weights, chain)
            losses.append(loss.detach())
            flags.append(~(torch.isfinite(loss) & stack.finite() & _all_finite(weights)))
            step += 1
            if step % hp_every == 0:
                samples.append((step, stack.hyperparameter_values()))
            bar.update()
            if len(flags) % DIVERGENCE_CHECK_EVERY == 0 or batch == n_batches - 1 or step == max_steps:
                bad = _first_bad_step(flags[-DIVERGENCE_CHECK_EVERY:])
                if bad is not None:
                    diverged_step = step - len(flags[-DIVERGENCE_CHECK_EVERY:]) + bad
                    break
            if step == max_steps:
                break
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed_ms = 1000.0 * (time.perf_counter() - started) / max(len(losses), 1)
        if not samples or samples[-1][0] != step:
            samples.append((step, stack.hyperparameter_values()))
        final_values = samples[-1][1]
        record = EpochRecord(
            epoch=epoch,
            train_loss=float(torch.stack(losses).mean()),
            test_value=task.evaluate(model, dict(zip(names, weights))),
            step_time_ms=elapsed_ms,
            hyperparameters=dict(zip(hp_names, final_values.tolist())),
            hp_steps=[(s, dict(zip(hp_names, v.tolist()))) for s, v in samples],
        )
        samples = []
        records.append(record)
        bar.set_postfix_str(f"{task.metric} {record.test_value:.4g} after epoch {epoch}")
        if on_epoch is not None:
            on_epoch(record)
        if snap is not None and on_checkpoint is not None and diverged_step is None and epoch < config.epochs:
            on_checkpoint(checkpoints.complete(snap, config.config_hash, epoch, step, order, records))
        if diverged_step is not None or step == max_steps:
            break
    bar.close()
    return RunResult(records, diverged=diverged_step is not None, diverged_step=diverged_step, steps=step,
                     stack_bytes=stack.memory_bytes(), weight_bytes=sum(w.numel() * w.element_size() for w in weights),
                     metric=task.metric)
