"""Train one run and track it in MLflow: the work of the command line ``python -m pipeline.train``.

    python -m pipeline.train --model mlp --stack "sgd(alpha=0.01) / sgd(alpha=0.01)" \\
        --epochs 30 --seed 0 --profile cpu

A user's mistake (unknown model or profile, epochs < 1, a malformed stack,
missing data) ends with one line on stderr, exit status 2, and no run left
behind; a tracking store that does not answer, checked before anything is
loaded, with one line and exit status 3. A store that stops answering during
the run does not stop it: training goes on, and its whole result is saved as
``unlogged-<config hash>-seed<seed>.json`` in the working folder (exit status 3). ``--dry-run`` checks everything, trains two steps and logs nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from training.core import interrupt
from training.core.benchmark import BENCHMARKS, load_dataset
from training.core.config import ConfigError, Profile, make_config, require_package
from training.core.loop import RunResult, resolve_device, train_run
from training.data import DataError
from training.runners import choice
from training.tracking import schema
from training.tracking.store import STORE_ERRORS, StoreUnavailable, check_store, first_line, redact, tracking_uri
from training.tracking.writer import RunLogger, dataset_inputs, note_launcher, run_params


def build_parser(epochs_by_optimizer: Mapping[str, int]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.train", description="Train one hyperoptimized run and track it in MLflow.")
    published = ", ".join(f"{name} {n}" for name, n in epochs_by_optimizer.items())
    own = ", ".join(f"{record.name} {record.epochs}" for record in BENCHMARKS.values() if record.epochs)
    parser.add_argument("--model", default="mlp", help=f"one of {', '.join(BENCHMARKS)} (default mlp)")
    parser.add_argument("--stack", default="sgd(alpha=0.01)", help="optimizer stack, leftmost updates the weights, e.g. 'adam(alpha=0.001) / sgd(alpha=1e-5)'")
    parser.add_argument("--epochs", default="auto", help="whole number >= 1, or 'auto': 1 for smoke, else the benchmark's own count "
                        f"({own}), else the paper's for the weight level's optimizer ({published})")
    parser.add_argument("--seed", default="0", help="seed of initialisation and data order (default 0)")
    parser.add_argument("--profile", default="cpu", help="; ".join(f"{p}: {p.description}" for p in Profile))
    parser.add_argument("--batch-size", default="auto", help="default: the paper's (MLP 256, ResNet-20 128, char-LSTM 50 streams)")
    parser.add_argument("--schedule", default="", help="hand-made step-size schedule of a plain optimizer: 'step:100,150' divides alpha by 10 after epochs 100 and 150")
    parser.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when available)")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset files (default: the repository's data/, or $HYPERCLAIMS_DATA)")
    parser.add_argument("--experiment", default=None, help="MLflow experiment (default: the model name; under `mlflow run`, the experiment of the run it made, as its child)")
    parser.add_argument("--dry-run", action="store_true", help="check inputs and data, train two steps, log nothing")
    return parser


def _fail(message: str) -> int:
    """Report a user error on one line, exit status 2.

    Run directly, nothing is created. Under `mlflow run`, MLflow made its launcher
    run before we could check anything and marks it FAILED; we note why on it
    (it has no config_hash, so no sweep or claim ever counts it).
    """
    print(f"error: {message}", file=sys.stderr)
    note_launcher(schema.NOTE, f"rejected before training: {message}")
    return 2


def save_unlogged(config, result: RunResult, folder: Path) -> Path:
    """The run's config and every epoch's record, as JSON, when the store could not take them."""
    path = folder / f"unlogged-{config.config_hash}-seed{config.seed}.json"
    path.write_text(json.dumps({"config": config.to_params(), "diverged": result.diverged, "diverged_step": result.diverged_step,
                                "epochs": [asdict(record) for record in result.epochs]}, indent=1))
    return path


def main(argv: list[str] | None, epochs_by_optimizer: Mapping[str, int]) -> int:
    """The command line's work; ``epochs_by_optimizer``: what ``--epochs auto`` trains a stack for, by its weight level's
    optimizer, on a benchmark without epochs of its own (the paper's published counts)."""
    interrupt.handle_interruptions(follow_parent=schema.LAUNCHER_ENV in os.environ)
    args = build_parser(epochs_by_optimizer).parse_args(argv)
    try:
        config = make_config(args.model, args.stack, args.epochs, args.seed, args.profile, args.batch_size, args.schedule, epochs_by_optimizer)
        require_package(config.levels)
        device = resolve_device(args.device)
        if not args.dry_run:
            check_store()  # a new store is made by the run's first write
        train, test = load_dataset(config.model, args.data_dir)
    except (ConfigError, DataError) as error:
        return _fail(str(error))
    except StoreUnavailable as error:
        return choice.refuse(error)

    if args.dry_run:
        result = train_run(config, train, test, device, max_steps=2, progress=False)
        print(f"dry run ok: {config.model} {config.stack} for {config.epochs} epoch(s), {result.steps} steps on {device}, "
              f"{result.metric} {result.final_test_value:.4g}")
        return 0

    try:
        logger = RunLogger.open(config, args.experiment or config.model, run_params(config, str(device), len(train), train.label),
                                parent_run_id=os.environ.get(schema.LAUNCHER_ENV), inputs=dataset_inputs(config, train, test))
    except STORE_ERRORS as error:  # e.g. SQLite's "database is locked" past its wait: nothing has trained yet
        return choice.refuse(StoreUnavailable(f"the tracking store {redact(tracking_uri())} refused the new run ({first_line(error)})"))
    lost: list[int] = []  # epochs the store did not take: training goes on, and the result is saved beside it

    def log_epoch(record) -> None:
        if not lost:
            try:
                logger.log_epoch(record)
                return
            except STORE_ERRORS:
                pass
        lost.append(record.epoch)

    try:
        result: RunResult = train_run(config, train, test, device, on_epoch=log_epoch)
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM
        logger.fail("KILLED")
        print(f"{interrupt.describe(interruption)}: run {logger.run_id} marked KILLED", file=sys.stderr)
        return interrupt.exit_status(interruption)
    except BaseException:
        logger.fail("FAILED")
        raise
    if not lost:
        try:
            logger.finish(result)
        except STORE_ERRORS:
            lost.append(len(result.epochs))
    if lost:
        saved = save_unlogged(config, result, Path.cwd())
        print(f"error: the tracking store at {redact(tracking_uri())} stopped answering during run {logger.run_id} "
              f"(from epoch {lost[0]}); the whole result is saved in {saved}", file=sys.stderr)
        return 3
    outcome = f"diverged at step {result.diverged_step}" if result.diverged else "finished"
    print(f"run {logger.run_id} {outcome}: {result.metric} {result.final_test_value:.4g} after {len(result.epochs)} epoch(s)")
    return 0
