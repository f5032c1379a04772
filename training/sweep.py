"""Run a study: expand cells x seeds, skip what is finished, train the rest, log each run.

Workers are separate processes (one torch thread each) that train and hand
their results back; only this process writes to the tracking store, so a
SQLite store is never written by two processes at once. The seeds of one
config train together in one pass (``--seeds-per-pass``, MLP only), each
still logged as its own run. A run is logged only
once it has completed, so an interrupted sweep leaves no half-made runs and
a re-run trains exactly what is missing.

    python -m training.sweep --study mlp_table1 --profile cpu --seeds 8 --workers 2
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import cache

import torch
from mlflow.entities import ViewType

from training.config import PROFILES, ConfigError, RunConfig, parse_number
from training.data import DataError, Split, load_dataset
from training.loop import RunResult, resolve_device, train_seeds
from training.remote import StoreUnavailable, close_running_attempts, redact
from training.replicas import can_batch_seeds
from training.studies import STUDIES, Cell, Study
from training.tracking import RunLogger, client, experiment_id, run_params, tracking_uri


@dataclass
class SweepSummary:
    study: str
    planned: int
    skipped: int
    trained: int
    failed: int
    seconds: float


@cache
def sweep_data(model: str = "mlp") -> tuple[Split, Split]:
    """A model's (train, test), loaded and checked once per process (the driver needs it for run params)."""
    return load_dataset(model)


def _worker_init() -> None:
    torch.set_num_threads(1)  # two workers on two cores: one thread each beats sharing
    # Ctrl-C reaches the whole process group: only the driver acts on it (cancels, keeps what finished)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def train_pass(configs: list[RunConfig], device: str) -> list[RunResult]:
    """Train the seeds of one config together (in a worker or in process) on its model's data."""
    train, test = sweep_data(configs[0].model)
    return train_seeds(configs, train, test, torch.device(device), progress=False)


def group_passes(jobs: list[Job], per_pass: int, workers: int) -> list[list[Job]]:
    """Jobs grouped into training passes, in the jobs' order: seeds of one cell's config together.

    Only models that can batch seeds are grouped. Passes hold at most ``per_pass`` seeds,
    and are cut so that the sweep's passes fill every worker for as many rounds as the
    work needs (5 cells of 8 seeds on 2 workers: 10 passes of 4, not 5 passes of 8, the last alone).
    """
    groups: dict[object, list[Job]] = {}
    for index, (cell, config) in enumerate(jobs):
        key = (cell.label, replace(config, seed=0)) if per_pass > 1 and can_batch_seeds(config.model) else index
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


def finished_hashes(experiment: str) -> set[str]:
    """config_hash of every FINISHED run in ``experiment``."""
    tracking = client()
    found = tracking.get_experiment_by_name(experiment)
    if found is None:
        return set()
    runs = tracking.search_runs([found.experiment_id], "attributes.status = 'FINISHED'", run_view_type=ViewType.ACTIVE_ONLY, max_results=50_000)
    return {run.data.tags.get("config_hash") for run in runs}


def _log_result(study: Study, cell: Cell, config: RunConfig, device: str, result: RunResult, extra_tags: dict[str, str]) -> None:
    train = sweep_data(config.model)[0]
    params = run_params(config, device, len(train), train.label)
    tags = {"study": study.name, "cell": cell.label, "claims": ",".join(study.claims), **extra_tags}
    logger = RunLogger.open(config, study.name, params, tags)
    for record in result.epochs:
        logger.log_epoch(record)
    logger.finish(result)


def _log_failure(study: Study, cell: Cell, config: RunConfig, error: BaseException) -> None:
    logger = RunLogger.open(config, study.name, tags={"study": study.name, "cell": cell.label, "mlflow.note.content": f"failed: {error!r}"})
    logger.fail("FAILED")


def _close_failed_attempts(study: Study, config: RunConfig, error: BaseException) -> None:
    """A run that logged itself and then failed for good: mark its attempts still RUNNING as FAILED.

    If the store no longer answers, say so: the sweep cannot go on, and nothing finished is lost.
    """
    try:
        close_running_attempts(study.name, config, "FAILED", f"failed: {str(error)[:500]}")
    except Exception:
        raise StoreUnavailable(f"the tracking store at {redact(tracking_uri())} stopped answering during the sweep") from None


class _Progress:
    """A bar with ETA on terminals; a line every tenth of the way elsewhere (CI logs)."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done, self.started = total, label, 0, time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="run")

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update()
            return
        if self.done == self.total or self.done % max(self.total // 10, 1) == 0:
            elapsed = time.perf_counter() - self.started
            eta = elapsed / self.done * (self.total - self.done)
            print(f"{self.label}: {self.done}/{self.total} runs, {elapsed:.0f}s elapsed, ETA {eta:.0f}s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


Job = tuple[Cell, RunConfig]
SEEDS_PER_PASS = 8  # seeds of one config trained together by default (see benchmarks/RESULTS.md)


class LocalRunner:
    """Trains runs in worker processes (one torch thread each), or in this process.

    One pool serves every study of a claims run, so workers start (and load
    their data) once. ``completed`` yields (cell, config, result, error) in the
    order runs finish; exactly one of result and error is None.
    """

    logs_runs = False  # the driver logs each finished run (single writer)

    def __init__(self, workers: int = 2, device: str = "cpu", seeds_per_pass: int = SEEDS_PER_PASS):
        self.workers = 1 if device.startswith("cuda") else max(1, workers)
        self.device = device
        self.seeds_per_pass = seeds_per_pass
        self.pool: ProcessPoolExecutor | None = None

    def for_study(self, study: str, tags: dict[str, str]) -> "LocalRunner":
        return self  # runs are logged by the driver, which knows the study

    def __enter__(self) -> "LocalRunner":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self.pool = None

    def completed(self, jobs: list[Job], in_process: bool = False) -> Iterator[tuple]:
        """A timing study (``in_process``) trains one seed per pass, so its clock times one run."""
        passes = group_passes(jobs, 1 if in_process else self.seeds_per_pass, self.workers)
        if in_process or self.workers == 1:
            yield from self._in_process(passes)
            return
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)
        pending: dict[Future, list[Job]] = {self.pool.submit(train_pass, [c for _, c in group], self.device): group for group in costliest_first(passes)}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    group = pending.pop(future)
                    error = future.exception()
                    yield from _outcomes(group, None if error else future.result(), error)
        finally:
            for future in pending:
                future.cancel()

    def _in_process(self, passes: list[list[Job]]) -> Iterator[tuple]:
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


def _outcomes(group: list[Job], results: list[RunResult] | None, error: BaseException | None) -> Iterator[tuple]:
    """(cell, config, result, error) for every run of a pass."""
    for index, (cell, config) in enumerate(group):
        yield cell, config, None if results is None else results[index], error


def run_study(study: Study, profile: str, runner: LocalRunner, seeds: int | None = None,
              extra_tags: dict[str, str] | None = None) -> SweepSummary:
    """Train every run of ``study`` not yet FINISHED and log each as it completes."""
    started = time.perf_counter()
    planned = study.configs(profile, seeds)
    try:
        experiment_id(client(), study.name)
        done = finished_hashes(study.name)
    except Exception as error:
        raise StoreUnavailable(f"the tracking store at {redact(tracking_uri())} cannot be read ({type(error).__name__})") from None
    todo = [(cell, config) for cell, config in planned if config.config_hash not in done]
    progress = _Progress(len(todo), f"{study.name} ({profile})")
    trained = failed = 0
    runner = runner.for_study(study.name, {"claims": ",".join(study.claims), **(extra_tags or {})})
    try:
        # a timing study runs alone and in process, so no other work perturbs its clock
        for cell, config, result, error in runner.completed(todo, in_process=study.exclusive):
            if error is not None:
                if runner.logs_runs:
                    _close_failed_attempts(study, config, error)
                else:
                    _log_failure(study, cell, config, error)
                failed += 1
            else:
                if not runner.logs_runs:
                    _log_result(study, cell, config, runner.device, result, extra_tags or {})
                trained += 1
            progress.update()
    finally:
        progress.close()
    return SweepSummary(study.name, len(planned), len(planned) - len(todo), trained, failed, time.perf_counter() - started)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.sweep", description="Run one study's grid of runs over seeds; finished runs are skipped.")
    parser.add_argument("--study", required=True, help=f"one of {', '.join(STUDIES)}")
    parser.add_argument("--profile", default="cpu", help=f"one of {', '.join(PROFILES)}")
    parser.add_argument("--seeds", default=None, help="number of seeds (default: the study's for the profile)")
    parser.add_argument("--workers", default="2", help="worker processes (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained, train nothing")
    from training import executors

    executors.add_arguments(parser)
    return parser


def parse_count(name: str, value: str | None, minimum: int) -> int | None:
    """A whole number >= minimum, or None for '' / 'default'."""
    return None if value in (None, "", "default") else parse_number(name, value, minimum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.study not in STUDIES:
            raise ConfigError(f"unknown study {args.study!r}; expected one of {', '.join(STUDIES)}")
        if args.profile not in PROFILES:
            raise ConfigError(f"unknown profile {args.profile!r}; expected one of {', '.join(PROFILES)}")
        seeds = parse_count("seeds", args.seeds, 1)
        workers = parse_count("workers", args.workers, 1) or 2
        device = str(resolve_device(args.device))
        study = STUDIES[args.study](args.profile)
        if args.dry_run:
            planned = study.configs(args.profile, seeds)
            for cell, config in planned:
                print(f"{cell.label}\tseed={config.seed}\t{config.stack}\tepochs={config.epochs}")
            print(f"{len(planned)} runs planned")
            return 0
        from training import executors

        runner = executors.make_runner(args, workers, device)
        for model in study.models:
            sweep_data(model)
    except (ConfigError, DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tags = {"sweep_run_id": os.environ["MLFLOW_RUN_ID"]} if "MLFLOW_RUN_ID" in os.environ else {}
    summaries = []
    code = executors.run_guarded(runner, lambda r: summaries.append(run_study(study, args.profile, r, seeds, tags)))
    if code is not None:
        return code
    summary = summaries[0]
    print(f"{summary.study}: {summary.planned} planned, {summary.skipped} already finished, {summary.trained} trained, {summary.failed} failed, {summary.seconds:.0f}s")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    # run the imported module's main, so that every class and cache is the one other modules see
    from training.sweep import main as module_main

    sys.exit(module_main())
