"""What a claims job will cost, before it runs: the plan study by study, and its wall time on this machine.

The plan is the job's own (``plan.studies_to_train``, the studies' configs, the
re-runs one per Table 1 stack run), grouped into passes exactly as the local
runner groups them. The clock is calibrated, not assumed: a few real optimizer
steps of every distinct stack shape (the optimizers of its levels) of every
model, on synthetic data of the real shapes (a step's cost does not depend on
the numbers it reads), at each pass size the plan uses, on the chosen device;
and one evaluation of a test batch, scaled to the test set. The passes are then scheduled on
the workers costliest first, study after study, as the runner does.

    python -m pipeline.claims_job --profile paper --studies mlp_table1,mlp_long --dry-run
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from papers.ultimate_optimizer.studies import DERIVED, build_study, labels
from papers.ultimate_optimizer.studies.mlp import reruns
from training.core.benchmark import BENCHMARKS, data_sizes
from training.core.config import Profile, RunConfig, make_config
from training.core.loop import make_stack, train_step
from training.core.replicas import Replicas
from training.core.tasks import EVAL_BATCH, SEQUENCE
from training.data import Split
from training.runners.base import Job
from training.runners.local import costliest_first, group_passes, pass_size

RUN_OVERHEAD_S = 0.4  # the driver logs each finished run to the store (params, ~100 metric points, dataset input); see RESULTS.md


@dataclass(frozen=True)
class StudyPlan:
    """One study's share of a job: its passes (lists of jobs, seeds of one config together)."""

    name: str
    passes: tuple[tuple[Job, ...], ...]
    exclusive: bool

    @property
    def runs(self) -> int:
        return sum(len(p) for p in self.passes)

    @property
    def seed_epochs(self) -> int:
        return sum(len(p) * p[0][1].epochs for p in self.passes)

    @property
    def largest_pass(self) -> int:
        return max((len(p) for p in self.passes), default=0)


def plan_studies(names: Iterable[str], profile: Profile, seeds: int | None, seeds_per_pass: int | None, workers: int,
                 device: str = "cpu") -> list[StudyPlan]:
    """The passes of every study in ``names`` on ``device``, grouped as the local runner groups them (``seeds_per_pass``:
    None for its default); the re-runs (one plain run per Table 1 stack run) follow Table 1."""
    plans = []
    for name in names:
        study = build_study(name, profile)
        jobs = study.configs(profile, seeds)
        per_pass = 1 if study.exclusive else pass_size(jobs[0][1].model, device, seeds_per_pass)
        plans.append(StudyPlan(name, tuple(map(tuple, group_passes(jobs, per_pass, workers))), study.exclusive))
        if name == DERIVED[labels.MLP_RERUNS]:
            learned = [(cell.label, config.seed, cell.stack, {}) for cell, config in jobs if labels.is_stack(cell.label)]
            rerun_jobs = reruns(profile, learned).configs(profile)
            plans.append(StudyPlan(labels.MLP_RERUNS, tuple(map(tuple, group_passes(rerun_jobs, per_pass, workers))), False))
    return plans


def _synthetic(model: str, size: int) -> Split:
    """Random data of the model's shapes (the same every call)."""
    return BENCHMARKS[model].synthetic(size, torch.Generator().manual_seed(0))


def shape_of(config: RunConfig) -> tuple:
    """What a step's cost depends on: the model, the batch size and the optimizers of the stack's levels."""
    return config.model, config.batch_size, tuple(level.optimizer for level in config.levels)


class Clock:
    """Seconds per step and per evaluation on ``device``, measured on first use and remembered."""

    def __init__(self, device: torch.device, steps: int = 3, eval_probe: int = EVAL_BATCH):
        """``eval_probe``: test examples evaluated to time an evaluation (scaled to the test set)."""
        self.device, self.steps, self.eval_probe = device, steps, eval_probe
        self._step: dict[tuple, float] = {}
        self._eval: dict[str, float] = {}

    def step(self, config: RunConfig, seeds: int) -> float:
        """Seconds of one optimizer step of ``seeds`` seeds of ``config`` trained together."""
        key = (shape_of(config), seeds)
        if key not in self._step:
            self._step[key] = self._time_steps(config, seeds)
        return self._step[key]

    def evaluation(self, model: str, test_size: int) -> float:
        """Seconds to evaluate one seed on ``test_size`` test examples (characters)."""
        if model not in self._eval:
            config = _probe_config(model)
            data = _synthetic(model, self.eval_probe if not BENCHMARKS[model].text else max(2, self.eval_probe // 100) * SEQUENCE * config.batch_size)
            task = BENCHMARKS[model].task(data, data, config.batch_size, self.device)
            replicas = Replicas(model, [0], self.device, **data_sizes(data))
            replicas.evaluate(task, replicas.flat, [0])  # warm-up
            started = time.perf_counter()
            replicas.evaluate(task, replicas.flat, [0])
            self._sync()
            self._eval[model] = (time.perf_counter() - started) / len(data)
        return self._eval[model] * test_size

    def _time_steps(self, config: RunConfig, seeds: int) -> float:
        batches = self.steps + 1
        size = (batches + 1) * SEQUENCE * config.batch_size + 1 if BENCHMARKS[config.model].text else batches * config.batch_size
        data = _synthetic(config.model, size)
        task = BENCHMARKS[config.model].task(data, data, config.batch_size, self.device)
        replicas = Replicas(config.model, list(range(seeds)), self.device, **data_sizes(data))
        stack = make_stack(config.levels, replicas.flat, seeds)
        weights = [replicas.flat]
        batches_iter = task.epoch([torch.Generator().manual_seed(s) for s in range(seeds)])
        _, weights = train_step(replicas, task, stack, weights, next(batches_iter))  # warm-up: allocations, first kernels
        self._sync()
        started = time.perf_counter()
        for _ in range(self.steps):
            _, weights = train_step(replicas, task, stack, weights, next(batches_iter))
        self._sync()
        return (time.perf_counter() - started) / self.steps

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def _probe_config(model: str) -> RunConfig:
    return make_config(model, "sgd(alpha=0.01)", 1, 0, Profile.SMOKE)


def pass_seconds(group: tuple[Job, ...], clock: Clock) -> float:
    """Estimated wall time of one pass: its epochs of steps and evaluations, and the logging of its runs."""
    config = group[0][1]
    record = BENCHMARKS[config.model]
    train, test = record.full_size
    train, test = min(train, config.train_size or train), min(test, config.test_size or test)
    steps = record.steps_per_epoch(train, config.batch_size)
    seeds = len(group)
    per_step = clock.step(config, seeds)
    return config.epochs * (steps * per_step + seeds * clock.evaluation(config.model, test)) + seeds * RUN_OVERHEAD_S


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of tasks given to ``workers`` in order, each to the first worker free."""
    free = [0.0] * max(1, workers)
    for duration in durations:
        first = min(range(len(free)), key=free.__getitem__)
        free[first] += duration
    return max(free)


@dataclass(frozen=True)
class Estimate:
    study: StudyPlan
    seconds: float


def estimate(plans: list[StudyPlan], clock: Clock, workers: int) -> list[Estimate]:
    """Each study's wall time: its passes costliest first on the workers (a timing study alone, on one)."""
    out = []
    for plan in plans:
        passes = costliest_first([list(p) for p in plan.passes])
        durations = [pass_seconds(tuple(p), clock) for p in passes]
        out.append(Estimate(plan, makespan(durations, 1 if plan.exclusive else workers)))
    return out


def hours(seconds: float) -> str:
    """'1h05' for 3,900 s."""
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}"


def describe(estimates: list[Estimate], device: str, workers: int) -> list[str]:
    """The printed plan: one line per study, then the ``estimate:`` line."""
    lines = [f"  {e.study.name}: {e.study.runs} runs, {e.study.seed_epochs} seed-epochs, up to {e.study.largest_pass} seeds per pass, "
             f"about {hours(e.seconds)}" for e in estimates]
    runs = sum(e.study.runs for e in estimates)
    total = sum(e.seconds for e in estimates)
    lines.append(f"estimate: {runs} runs, {hours(total)} on {device} with {workers} worker{'s' if workers != 1 else ''}")
    return lines


def one_gpu(names: list[str], profile: Profile, seeds: int | None, seeds_per_pass: int | None) -> list[Estimate] | None:
    """The same job on one CUDA device (one worker), where one is present; None otherwise."""
    if not torch.cuda.is_available():
        return None
    return estimate(plan_studies(names, profile, seeds, seeds_per_pass, 1, "cuda"), Clock(torch.device("cuda")), 1)
