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

from training import checkpoint as checkpoints
from training.config import RunConfig, schedule_factor
from training.data import Split
from training.hyperstack import HyperStack
from training.replicas import Replicas
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
    seeds_in_pass: int = 1  # seeds trained together with this one (step_time_ms is the shared step's)

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


def _finite_rows(flat: Tensor) -> Tensor:
    """Bool [S]: the seed's weights are finite, read off their sum (a NaN or inf survives it).

    One fast reduction, where ``isfinite(...).all()`` costs a tenth of a training step. It
    also flags weights so large that their float32 sum overflows (|w| ~ 1e33): diverged too.
    """
    return torch.isfinite(flat.sum(dim=-1))


def _first_bad_steps(flags: list[Tensor]) -> list[int | None]:
    """Per seed, the index of the first True among per-step bool [S] flags (one host sync)."""
    stacked = torch.stack(flags)  # [steps, S]
    first, bad = torch.stack([stacked.to(torch.int8).argmax(dim=0), stacked.any(dim=0)]).tolist()
    return [index if is_bad else None for index, is_bad in zip(first, bad)]


def train_run(config: RunConfig, train: Split, test: Split, device: torch.device = torch.device("cpu"), **options) -> RunResult:
    """Train one run; see ``train_seeds`` for the options (``on_epoch`` takes the record alone)."""
    on_epoch = options.pop("on_epoch", None)
    return train_seeds([config], train, test, device, on_epoch=None if on_epoch is None else lambda _, record: on_epoch(record), **options)[0]


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
    ``training.checkpoint``). The records of the epochs before it are in the result again.
    Checkpoints are for one seed per pass.
    """
    config = configs[0]
    if any(replace(c, seed=config.seed) != config for c in configs):
        raise ValueError("seeds trained in one pass must share every setting but the seed")
    if (checkpoint_every or resume is not None) and len(configs) > 1:
        raise ValueError("checkpoints are taken of one seed per pass")
    task = make_task(config.model, train.head(config.train_size), test.head(config.test_size), config.batch_size, device)
    replicas = Replicas(config.model, [c.seed for c in configs], device, **({"vocab": len(train.vocab)} if train.vocab else {}))
    seeds = len(configs)
    weights = [replicas.flat]
    stack = HyperStack(parse_stack(config.stack), replicas.flat, seeds=seeds)
    hp_names = stack.hyperparameter_names
    orders = [torch.Generator().manual_seed(c.seed) for c in configs]
    n_batches = task.steps_per_epoch
    total = config.epochs * n_batches if max_steps is None else min(max_steps, config.epochs * n_batches)
    bar = tqdm(total=total, disable=None if progress is None else not progress, unit="step", leave=False)
    records: list[list[EpochRecord]] = [[] for _ in configs]
    step, first_epoch = 0, 1
    ended: list[int | None] = [None] * seeds  # the step a seed diverged at
    stopped = [0] * seeds  # the step a diverged seed's run stopped at (where its divergence was caught)
    done: set[int] = set()  # seeds whose run has ended
    samples = [(0, stack.hyperparameter_values())]  # the initial values start every trajectory
    if resume is not None:
        weights = checkpoints.restore(resume, stack, replicas.module, orders[0], device)
        records = [[EpochRecord(**record) for record in resume["records"]]]
        step, first_epoch, samples = resume["step"], resume["epoch"] + 1, []
        bar.update(step)
    for epoch in range(first_epoch, config.epochs + 1):
        snap = None
        bar.set_description(f"epoch {epoch}/{config.epochs}")
        if config.schedule:
            stack.scale_weight_step_size(schedule_factor(config.schedule, epoch))
        losses, flags = [], []
        started = time.perf_counter()

        def close(seeds_closing: list[int]) -> None:
            """End this epoch for these seeds now, at the current step, as each would end it alone."""
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elapsed_ms = 1000.0 * (time.perf_counter() - started) / max(len(losses), 1)
            test_values = replicas.evaluate(task, weights[0][seeds_closing])
            current = stack.hyperparameter_values()
            trajectory = samples if samples and samples[-1][0] == step else samples + [(step, current)]
            mean_losses = torch.stack(losses).mean(dim=0).tolist()
            for seed, value in zip(seeds_closing, test_values):
                record = EpochRecord(epoch=epoch, train_loss=mean_losses[seed], test_value=value, step_time_ms=elapsed_ms,
                                     hyperparameters=dict(zip(hp_names, current[seed].tolist())),
                                     hp_steps=[(s, dict(zip(hp_names, v[seed].tolist()))) for s, v in trajectory])
                records[seed].append(record)
                if on_epoch is not None:
                    on_epoch(seed, record)

        for batch, data in enumerate(task.epoch(orders)):
            loss, grads = replicas.loss_and_grads(task, weights[0], data)
            chain = stack.hypergradients([grads])
            if checkpoint_every and epoch % checkpoint_every == 0 and batch == n_batches - 1:
                snap = checkpoints.snapshot(weights, stack, chain, replicas.module)
            weights = stack.apply(weights, chain)
            losses.append(loss)
            flags.append(~(torch.isfinite(loss) & stack.finite() & _finite_rows(weights[0])))
            step += 1
            if step % hp_every == 0:
                samples.append((step, stack.hyperparameter_values()))
            bar.update()
            if len(flags) % DIVERGENCE_CHECK_EVERY == 0 or batch == n_batches - 1 or step == max_steps:
                window = flags[-DIVERGENCE_CHECK_EVERY:]
                first_bad = _first_bad_steps(window)
                caught = [seed for seed, bad in enumerate(first_bad) if bad is not None and ended[seed] is None]
                for seed in caught:
                    ended[seed] = step - len(window) + first_bad[seed]
                    stopped[seed] = step
                if caught and batch < n_batches - 1 and step != max_steps:
                    close(caught)
                    done.update(caught)
                if all(end is not None for end in ended):
                    break
            if step == max_steps:
                break
        open_seeds = [seed for seed in range(seeds) if seed not in done]
        if open_seeds:
            close(open_seeds)
            done.update(seed for seed in open_seeds if ended[seed] is not None)
        samples = []
        bar.set_postfix_str(f"best {task.metric} {min(r[-1].test_value for r in records if r):.4g} after epoch {epoch}")
        if snap is not None and on_checkpoint is not None and ended[0] is None and epoch < config.epochs:
            on_checkpoint(checkpoints.complete(snap, config.config_hash, epoch, step, orders[0], records[0]))
        if all(end is not None for end in ended) or step == max_steps:
            break
    bar.close()
    weight_bytes = replicas.flat[0].numel() * replicas.flat.element_size()
    return [RunResult(records[seed], diverged=ended[seed] is not None, diverged_step=ended[seed], steps=step if ended[seed] is None else stopped[seed],
                      stack_bytes=stack.memory_bytes() // seeds, weight_bytes=weight_bytes, metric=task.metric, seeds_in_pass=seeds)
            for seed in range(seeds)]
