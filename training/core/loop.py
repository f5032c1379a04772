"""Training runs: a model, its data and a hyperoptimizer stack, epoch by epoch.

The weights of S seeds of one config are one flat [S, P] tensor (``Replicas``);
each step takes one ordinary first-order gradient of the task's loss per seed
and hands it to the HyperStack. With S = 1 this is one run. Divergence (a
non-finite loss, weight or hyperparameter) is detected on the device per seed,
read every few steps, and ends that seed's run cleanly as ``diverged`` at the
step where it happened; the other seeds train on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor
from tqdm import tqdm

from training.baselines import PackageStack
from training.core import checkpoint as checkpoints
from training.core import interrupt
from training.core.benchmark import BENCHMARKS, data_sizes
from training.core.config import ConfigError, RunConfig, schedule_factor
from training.core.divergence import DivergenceTracker
from training.core.replicas import Replicas
from training.core.tasks import Task
from training.data import Split
from training.hyper.stack import HyperStack
from training.hyper.stackspec import Stack


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
    seeds_in_pass: int = 1  # seeds trained together with this one (step_time_ms is the shared step's)
    started_ms: int | None = None  # wall-clock time (ms since the epoch) training began; seeds of one pass share it
    ended_ms: int | None = None  # ... and ended

    @property
    def final_test_value(self) -> float:
        return self.epochs[-1].test_value


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; an explicit 'cuda' without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; expected cpu, cuda or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is available")
    return device


def configure_device(device: torch.device) -> None:
    """Float32 arithmetic as published on a GPU: TF32 (a 10-bit mantissa in matrix products and convolutions,
    cuDNN's default on Ampere and later) is switched off, so a GPU run computes what a CPU run computes."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def make_stack(levels: Stack, like: Tensor, seeds: int | None = None) -> HyperStack | PackageStack:
    """The optimizer state of a run: a hyperoptimizer stack, or a learning-rate-free optimizer from its package."""
    return PackageStack(levels, like, seeds) if levels[0].info.package else HyperStack(levels, like, seeds=seeds)


def train_run(config: RunConfig, train: Split, test: Split, device: torch.device = torch.device("cpu"), **options) -> RunResult:
    """Train one run; see ``train_seeds`` for the options (``on_epoch`` takes the record alone)."""
    on_epoch = options.pop("on_epoch", None)
    return train_seeds([config], train, test, device, on_epoch=None if on_epoch is None else lambda _, record: on_epoch(record), **options)[0]


def train_step(replicas: Replicas, task: Task, stack: HyperStack | PackageStack, weights: list[Tensor], batch: tuple[Tensor, ...],
               before_update: Callable[[list[list[Tensor]]], None] | None = None) -> tuple[Tensor, list[Tensor]]:
    """One optimizer step of every seed: (per-seed losses [S], new weights [[S, P]]).

    ``before_update(chain)`` sees the step's gradients and hypergradients before the
    update (where a checkpoint is taken). The benchmarks time this very function.
    """
    loss, grads = replicas.loss_and_grads(task, weights[0], batch)
    chain = stack.hypergradients([grads])
    if before_update is not None:
        before_update(chain)
    return loss, stack.apply(weights, chain)


class _Recorder:
    """The per-seed records of a pass: each seed's epoch closes when it ends, as it would alone."""

    def __init__(self, replicas: Replicas, task: Task, stack: HyperStack | PackageStack, device: torch.device,
                 on_epoch: Callable[[int, EpochRecord], None] | None, records: list[list[EpochRecord]]):
        self.replicas, self.task, self.stack, self.device, self.on_epoch = replicas, task, stack, device, on_epoch
        self.names = stack.hyperparameter_names
        self.records = records

    def close(self, seeds: list[int], epoch: int, started: float, losses: list[Tensor], weights: Tensor,
              samples: list[tuple[int, Tensor]], step: int) -> None:
        """End ``epoch`` for ``seeds`` at ``step``: time per step, test metric, train loss, hyperparameter samples."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed_ms = 1000.0 * (time.perf_counter() - started) / max(len(losses), 1)
        test_values = self.replicas.evaluate(self.task, self.stack.evaluation_weights(weights), seeds)
        current = self.stack.hyperparameter_values()
        trajectory = samples if samples and samples[-1][0] == step else samples + [(step, current)]
        mean_losses = torch.stack(losses).mean(dim=0).tolist()
        for seed, value in zip(seeds, test_values):
            record = EpochRecord(epoch=epoch, train_loss=mean_losses[seed], test_value=value, step_time_ms=elapsed_ms,
                                 hyperparameters=dict(zip(self.names, current[seed].tolist())),
                                 hp_steps=[(s, dict(zip(self.names, v[seed].tolist()))) for s, v in trajectory])
            self.records[seed].append(record)
            if self.on_epoch is not None:
                self.on_epoch(seed, record)


def train_seeds(
    configs: list[RunConfig],
    train: Split,
    test: Split,
    device: torch.device = torch.device("cpu"),
    hp_every: int = 10,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
    max_steps: int | None = None,
    progress: bool | None = None,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict], None] | None = None,
    resume: dict | None = None,
) -> list[RunResult]:
    """Train ``configs`` (the same config with different seeds) in one pass; one result per config.

    Every seed has its own initialisation, data order, hyperparameters and divergence:
    a diverged seed's run ends at the step it diverged (its later steps are computed
    with the others and thrown away). ``step_time_ms`` is the time of the shared step.

    ``hp_every``: sample every level's hyperparameters every this many steps.
    ``on_epoch(i, record)``: called as config i finishes an epoch.
    ``max_steps``: stop early (for dry runs). ``progress``: None = a bar on terminals only.
    ``checkpoint_every``: hand ``on_checkpoint`` a checkpoint after every this many epochs
    (0: never); ``resume``: such a checkpoint, to carry on after its epoch (see
    ``training.core.checkpoint``). The records of the epochs before it are in the result again.
    Checkpoints are for one seed per pass.
    """
    config = configs[0]
    if any(replace(c, seed=config.seed) != config for c in configs):
        raise ValueError("seeds trained in one pass must share every setting but the seed")
    if (checkpoint_every or resume is not None) and len(configs) > 1:
        raise ValueError("checkpoints are taken of one seed per pass")
    configure_device(device)
    task = BENCHMARKS[config.model].task(train.head(config.train_size), test.head(config.test_size), config.batch_size, device)
    replicas = Replicas(config.model, [c.seed for c in configs], device, **data_sizes(train))
    seeds = len(configs)
    weights = [replicas.flat]
    stack = make_stack(config.levels, replicas.flat, seeds)
    orders = [torch.Generator().manual_seed(c.seed) for c in configs]
    n_batches = task.steps_per_epoch
    total = config.epochs * n_batches if max_steps is None else min(max_steps, config.epochs * n_batches)
    bar = tqdm(total=total, disable=None if progress is None else not progress, unit="step", leave=False)
    records: list[list[EpochRecord]] = [[] for _ in configs]
    step, first_epoch = 0, 1
    divergence = DivergenceTracker(seeds)
    done: set[int] = set()  # seeds whose run has ended
    samples = [(0, stack.hyperparameter_values())]  # the initial values start every trajectory
    if resume is not None:
        weights = checkpoints.restore(resume, stack, replicas.buffers, orders[0], device)
        records = [[EpochRecord(**record) for record in resume["records"]]]
        step, first_epoch, samples = resume["step"], resume["epoch"] + 1, []
        bar.update(step)
    recorder = _Recorder(replicas, task, stack, device, on_epoch, records)
    started_ms = int(time.time() * 1000)
    for epoch in range(first_epoch, config.epochs + 1):
        interrupt.raise_if_received()
        snaps: list[dict] = []
        bar.set_description(f"epoch {epoch}/{config.epochs}")
        if config.schedule:
            stack.scale_weight_step_size(schedule_factor(config.schedule, epoch))
        losses: list[Tensor] = []
        divergence.start_epoch()
        started = time.perf_counter()
        for batch, data in enumerate(task.epoch(orders)):
            last = batch == n_batches - 1
            # a checkpoint holds the last step's state before its update (see training.core.checkpoint)
            take = (lambda chain: snaps.append(checkpoints.snapshot(weights, stack, chain, replicas.buffers))) \
                if checkpoint_every and epoch % checkpoint_every == 0 and last else None
            loss, weights = train_step(replicas, task, stack, weights, data, take)
            losses.append(loss)
            divergence.record(loss, stack.finite(), weights[0])
            step += 1
            if step % hp_every == 0:
                samples.append((step, stack.hyperparameter_values()))
            bar.update()
            if divergence.due() or last or step == max_steps:
                caught = divergence.check(step)
                if caught and not last and step != max_steps:
                    recorder.close(caught, epoch, started, losses, weights[0], samples, step)
                    done.update(caught)
                if divergence.all_ended:
                    break
            if step == max_steps:
                break
        open_seeds = [seed for seed in range(seeds) if seed not in done]
        if open_seeds:
            recorder.close(open_seeds, epoch, started, losses, weights[0], samples, step)
            done.update(seed for seed in open_seeds if divergence.ended[seed] is not None)
        samples = []
        bar.set_postfix_str(f"best {task.metric} {min(r[-1].test_value for r in records if r):.4g} after epoch {epoch}")
        if snaps and on_checkpoint is not None and divergence.ended[0] is None and epoch < config.epochs:
            on_checkpoint(checkpoints.complete(snaps[-1], config.config_hash, epoch, step, orders[0], records[0]))
        if divergence.all_ended or step == max_steps:
            break
    bar.close()
    weight_bytes = replicas.flat[0].numel() * replicas.flat.element_size()
    ended, stopped = divergence.ended, divergence.stopped
    ended_ms = int(time.time() * 1000)
    return [RunResult(records[seed], diverged=ended[seed] is not None, diverged_step=ended[seed], steps=step if ended[seed] is None else stopped[seed],
                      stack_bytes=stack.memory_bytes() // seeds, weight_bytes=weight_bytes, metric=task.metric, seeds_in_pass=seeds,
                      started_ms=started_ms, ended_ms=ended_ms)
            for seed in range(seeds)]
