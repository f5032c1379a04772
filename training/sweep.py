"""Run a study: expand cells x seeds, skip what is finished, train the rest, log each run.

A run is logged only once it has completed (or, on a cluster, logs itself and
is FINISHED only at its end), so an interrupted sweep leaves no half-made runs
and a re-run trains exactly what is missing. Where the runs train is the
runner's business (``training.runners``). The command line over any paper's studies is
``python -m pipeline.sweep`` (``main`` here does its work, given the studies by name):

    python -m pipeline.sweep --study mlp_table1 --profile cpu --seeds 8 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass

from tqdm import tqdm

from training.core import interrupt
from training.core.config import MAX_SEEDS, MAX_WORKERS, ConfigError, Profile, parse_count, require_package
from training.core.loop import resolve_device
from training.data import DataError
from training.runners import choice
from training.runners.base import Runner
from training.runners.local import sweep_data
from training.studies.base import Study
from training.tracking import schema
from training.tracking.store import STORE_ERRORS, StoreUnavailable, client, experiment_id, first_line, redact, tracking_uri
from training.tracking.store_setup import hold_store
from training.tracking.writer import close_running_attempts, dataset_inputs, finished_hashes, log_failure, log_result, run_params, study_tags


@dataclass
class SweepSummary:
    study: str
    planned: int
    skipped: int
    trained: int
    failed: int
    seconds: float

    def line(self) -> str:
        return (f"{self.study}: {self.planned} planned, {self.skipped} already finished, {self.trained} trained, "
                f"{self.failed} failed, {self.seconds:.0f}s")


class _Progress:
    """A bar with ETA on terminals; a line every tenth of the way elsewhere (CI logs)."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done, self.started = total, label, 0, time.perf_counter()
        self.bar = tqdm(total=total, desc=label, unit="run") if sys.stderr.isatty() else None

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


def _close_failed_attempts(study: Study, config, error: BaseException) -> None:
    """A run that logged itself and then failed for good: mark its attempts still RUNNING as FAILED.

    If the store no longer answers, say so: the sweep cannot go on, and nothing finished is lost.
    """
    try:
        close_running_attempts(study.name, config, "FAILED", f"failed: {str(error)[:500]}")
    except STORE_ERRORS:
        raise StoreUnavailable(f"the tracking store at {redact(tracking_uri())} stopped answering during the sweep") from None


def _log_outcome(write, *args) -> None:
    """``write(*args)``: log one run's outcome; a store that refuses the write (a full disk, a read-only file) ends the
    sweep as StoreUnavailable, one line, with every run logged before kept."""
    try:
        write(*args)
    except STORE_ERRORS as error:
        raise StoreUnavailable(f"the tracking store at {redact(tracking_uri())} refused a write ({first_line(error)})") from None


def run_study(study: Study, profile: Profile, runner: Runner, seeds: int | None = None,
              extra_tags: dict[str, str] | None = None) -> SweepSummary:
    """Train every run of ``study`` not yet FINISHED and log each as it completes."""
    started = time.perf_counter()
    planned = study.configs(profile, seeds)
    try:
        experiment_id(client(), study.name)
        done = finished_hashes(study.name)
    except STORE_ERRORS as error:
        raise StoreUnavailable(f"the tracking store at {redact(tracking_uri())} cannot be read ({type(error).__name__})") from None
    todo = [(cell, config) for cell, config in planned if config.config_hash not in done]
    progress = _Progress(len(todo), f"{study.name} ({profile})")
    trained = failed = 0
    runner = runner.for_study(study.name, {schema.CLAIMS: ",".join(study.claims), **(extra_tags or {})})
    try:
        # a timing study runs alone and in process, so no other work perturbs its clock
        for cell, config, result, error in runner.completed(todo, in_process=study.exclusive):
            if error is not None:
                if runner.logs_runs:
                    _close_failed_attempts(study, config, error)
                else:
                    _log_outcome(log_failure, study.name, config, study_tags(study.name, cell.label), error)
                failed += 1
            else:
                if not runner.logs_runs:
                    train, test = sweep_data(config.model)
                    tags = {**study_tags(study.name, cell.label, study.claims), **(extra_tags or {})}
                    _log_outcome(log_result, study.name, config, run_params(config, runner.device, len(train), train.label), tags, result,
                                 dataset_inputs(config, train, test))
                trained += 1
            progress.update()
            interrupt.raise_if_received()
    finally:
        progress.close()
    return SweepSummary(study.name, len(planned), len(planned) - len(todo), trained, failed, time.perf_counter() - started)


def build_parser(studies: Mapping[str, Callable[[Profile], Study]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sweep", description="Run one study's grid of runs over seeds; finished runs are skipped.")
    parser.add_argument("--study", required=True, help=f"one of {', '.join(studies)}")
    parser.add_argument("--profile", default="cpu", help=f"one of {', '.join(Profile)}")
    parser.add_argument("--seeds", default=None, help="number of seeds (default: the study's for the profile)")
    parser.add_argument("--workers", default="2", help="worker processes (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained, train nothing")
    choice.add_arguments(parser)
    return parser


def main(argv: list[str] | None, studies: Mapping[str, Callable[[Profile], Study]]) -> int:
    """The command line's work over ``studies`` (each study's builder by name: ``builder(profile) -> Study``)."""
    interrupt.handle_interruptions(follow_parent=schema.LAUNCHER_ENV in os.environ)
    args = build_parser(studies).parse_args(argv)
    held = ExitStack()
    try:
        if args.study not in studies:
            raise ConfigError(f"unknown study {args.study!r}; expected one of {', '.join(studies)}")
        args.profile = Profile.parse(args.profile)  # the typed value from here down
        seeds = parse_count("seeds", args.seeds, 1, MAX_SEEDS)
        workers = parse_count("workers", args.workers, 1, MAX_WORKERS) or 2
        device = str(resolve_device(args.device))
        study = studies[args.study](args.profile)
        if args.dry_run:
            planned = study.configs(args.profile, seeds)
            for cell, config in planned:
                print(f"{cell.label}\tseed={config.seed}\t{config.stack}\tepochs={config.epochs}")
            print(f"{len(planned)} runs planned")
            return 0
        for _, config in study.configs(args.profile, seeds=1):
            require_package(config.levels)
        runner = choice.make_runner(args, workers, device)
        hold_store(held)
        for model in study.models:
            sweep_data(model)
    except (ConfigError, DataError, StoreUnavailable) as error:
        held.close()
        return choice.refuse(error)
    tags = {schema.SWEEP_RUN: os.environ[schema.LAUNCHER_ENV]} if schema.LAUNCHER_ENV in os.environ else {}
    summaries = []
    with held:
        code = choice.run_guarded(runner, lambda r: summaries.append(run_study(study, args.profile, r, seeds, tags)))
    if code is not None:
        return code
    summary = summaries[0]
    print(summary.line())
    return 1 if summary.failed else 0
