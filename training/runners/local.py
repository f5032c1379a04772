"""Local runs: worker processes on this machine (one torch thread each), or this process.

Workers train and hand their results back; only the driver writes to the
tracking store, so a SQLite store is never written by two processes at once.
The seeds of one config train together in one pass (``seeds_per_pass``; by
default 8, except for ResNet-20 and the char-LSTM on a CPU: ``pass_size``),
each still its own run.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from functools import cache

import torch

from training.core import interrupt
from training.core.benchmark import BENCHMARKS, load_dataset
from training.core.config import RunConfig
from training.core.loop import RunResult, train_seeds
from training.data import Split
from training.runners.base import WAKE_SECONDS, Job, Outcome

SEEDS_PER_PASS = 8  # seeds of one config trained together by default (see benchmarks/RESULTS.md)
# On a CPU a batched ResNet-20 or char-LSTM step costs more per seed than one seed alone (measured in
# benchmarks/RESULTS.md): there, by default, only the MLP batches seeds; on a GPU every model does.
# workers killed mid-pass (``LocalRunner.__exit__``) leave semaphores the resource tracker would list in a warning at exit
KILLED_WORKERS_WARNING = "ignore:resource_tracker:UserWarning"


def pass_size(model: str, device: str, asked: int | None) -> int:
    """Seeds of ``model`` per pass on ``device``: ``asked`` when given, else the default for the pair."""
    if asked is not None:
        return asked
    return SEEDS_PER_PASS if device.startswith("cuda") or BENCHMARKS[model].cpu_batched else 1


@cache
def sweep_data(model: str = "mlp") -> tuple[Split, Split]:
    """A model's (train, test), loaded and checked once per process (the driver needs it for run params)."""
    return load_dataset(model)


def _worker_init() -> None:
    torch.set_num_threads(1)  # two workers on two cores: one thread each beats sharing
    # Ctrl-C (and a scheduler's SIGTERM) reaches the whole process group: only the driver acts on it (cancels, keeps what finished)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def train_pass(configs: list[RunConfig], device: str) -> list[RunResult]:
    """Train the seeds of one config together (in a worker or in process) on its model's data."""
    train, test = sweep_data(configs[0].model)
    return train_seeds(configs, train, test, torch.device(device), progress=False)


def group_passes(jobs: list[Job], per_pass: int, workers: int) -> list[list[Job]]:
    """Jobs grouped into training passes, in the jobs' order: seeds of one cell's config together.

    Passes hold at most ``per_pass`` seeds,
    and are cut so that the sweep's passes fill every worker for as many rounds as the
    work needs (5 cells of 8 seeds on 2 workers: 10 passes of 4, not 5 passes of 8, the last alone).
    """
    groups: dict[object, list[Job]] = {}
    for index, (cell, config) in enumerate(jobs):
        key = (cell.label, replace(config, seed=0)) if per_pass > 1 else index
        groups.setdefault(key, []).append((cell, config))
    rounds = math.ceil(len(jobs) / (workers * per_pass)) if jobs else 0
    size = max(1, math.ceil(len(jobs) / (workers * rounds))) if jobs else 1
    passes = []
    for group in groups.values():
        count = math.ceil(len(group) / size)
        cut = math.ceil(len(group) / count)
        passes += [group[start : start + cut] for start in range(0, len(group), cut)]
    return passes


def costliest_first(passes: list[list[Job]]) -> list[list[Job]]:
    """Passes ordered for a pool of workers: the longest (seeds x epochs) start first, the short ones fill in."""
    return sorted(passes, key=lambda p: -len(p) * p[0][1].epochs)


class LocalRunner:
    """Trains runs in worker processes (one torch thread each), or in this process.

    One pool serves every study of a claims run, so workers start (and load
    their data) once. ``completed`` yields each run's ``Outcome`` in the order runs finish.
    """

    logs_runs = False  # the driver logs each finished run (single writer)

    def __init__(self, workers: int = 2, device: str = "cpu", seeds_per_pass: int | None = None):
        self.workers = 1 if device.startswith("cuda") else max(1, workers)
        self.device = device
        self.seeds_per_pass = seeds_per_pass
        self.pool: ProcessPoolExecutor | None = None

    def for_study(self, study: str, tags: dict[str, str]) -> "LocalRunner":
        return self  # runs are logged by the driver, which knows the study

    def __enter__(self) -> "LocalRunner":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is None:
            return
        if exc[0] is None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        else:
            # interrupted or failed: the workers ignore signals, and the interpreter would wait at exit for the passes
            # under way (minutes at the paper's protocol); they log nothing, so ending them loses only unfinished work.
            # The executor then fails every pending future itself (cancelling them too would race it)
            for process in list(self.pool._processes.values()):  # the executor offers no public way to end its workers
                process.kill()
            self.pool.shutdown(wait=True)
        self.pool = None

    def completed(self, jobs: list[Job], in_process: bool = False) -> Iterator[Outcome]:
        """A timing study (``in_process``) trains one seed per pass, so its clock times one run."""
        per_pass = 1 if in_process or not jobs else pass_size(jobs[0][1].model, self.device, self.seeds_per_pass)
        passes = group_passes(jobs, per_pass, self.workers)
        if in_process or self.workers == 1:
            yield from self._in_process(passes)
            return
        if self.pool is None:
            if KILLED_WORKERS_WARNING not in sys.warnoptions:  # read by the resource tracker this pool starts
                sys.warnoptions.append(KILLED_WORKERS_WARNING)
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)
        pending: dict[Future, list[Job]] = {self.pool.submit(train_pass, [c for _, c in group], self.device): group for group in costliest_first(passes)}
        # what is pending when the caller stops is __exit__'s: cancelling it here would race the executor failing it
        while pending:
            finished, _ = wait(pending, timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
            interrupt.raise_if_received()
            for future in finished:
                group = pending.pop(future)
                error = future.exception()
                yield from _outcomes(group, None if error else future.result(), error)

    def _in_process(self, passes: list[list[Job]]) -> Iterator[Outcome]:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)  # as in a worker, and steady for timing studies
        try:
            for group in passes:
                try:
                    results = train_pass([c for _, c in group], self.device)
                except Exception as error:  # one broken pass must not lose the sweep
                    yield from _outcomes(group, None, error)
                else:
                    yield from _outcomes(group, results, None)
        finally:
            torch.set_num_threads(previous)


def _outcomes(group: list[Job], results: list[RunResult] | None, error: BaseException | None) -> Iterator[Outcome]:
    """The outcome of every run of a pass."""
    for index, (cell, config) in enumerate(group):
        yield Outcome(cell, config, None if results is None else results[index], error)
