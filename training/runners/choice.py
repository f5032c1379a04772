"""Choosing where a sweep's runs train: ``local`` worker processes or a ``ray`` cluster.

Both command lines (``pipeline.sweep``, ``pipeline.claims_job``) take the same options;
``make_runner`` turns them into a runner, ``run_guarded`` turns what can go
wrong around a sweep into one line for the user and an exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from training.core import interrupt
from training.core.config import MAX_SEEDS, ConfigError, parse_number
from training.runners.base import Runner
from training.runners.local import LocalRunner
from training.runners.ray_cluster import RayError, RayRunner
from training.tracking.store import StoreUnavailable, TrackingError

EXECUTORS = ("local", "ray")
RESUME_HINT = "every finished run is kept; the same command resumes where this one stopped"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", default="local", help="local (worker processes here, the default) or ray (a Ray cluster; runs log to "
                        "the tracking server in MLFLOW_TRACKING_URI)")
    parser.add_argument("--ray-address", default="auto", help="Ray cluster to submit to (default auto: the one this machine joined; "
                        "'local' starts one here for this sweep)")
    parser.add_argument("--cpus-per-run", default="1", help="Ray: CPUs each run reserves (default 1)")
    parser.add_argument("--gpus-per-run", default="auto", help="Ray: GPUs each run reserves (default: 1 with --device cuda, else 0)")
    parser.add_argument("--seeds-per-pass", default="auto", help="local: seeds of one config trained together in one pass (1 = one run at a "
                        "time; default auto: 8, but 1 for ResNet-20 and the char-LSTM on a CPU, where batching them is slower). "
                        "Each seed is still its own run")
    parser.add_argument("--checkpoint-every", default="1", help="Ray: upload a checkpoint every this many epochs (default 1; 0 = never)")


def parse_seeds_per_pass(text: str) -> int | None:
    """'auto' (None: the default per model and device) or a whole number >= 1."""
    return None if str(text).strip() in ("auto", "", "default") else parse_number("seeds-per-pass", text, 1, maximum=MAX_SEEDS)


def make_runner(args: argparse.Namespace, workers: int, device: str) -> Runner:
    """A LocalRunner or RayRunner from the parsed options (ConfigError on a bad one)."""
    if args.executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {args.executor!r}; expected one of {', '.join(EXECUTORS)}")
    if args.executor == "local":
        return LocalRunner(workers, device, parse_seeds_per_pass(args.seeds_per_pass))
    gpus = None if args.gpus_per_run == "auto" else parse_number("gpus-per-run", args.gpus_per_run, 0, whole=False)
    return RayRunner(args.ray_address, device, parse_number("cpus-per-run", args.cpus_per_run, 0.01, whole=False), gpus,
                     parse_number("checkpoint-every", args.checkpoint_every, 0))


def refuse(error: Exception) -> int:
    """A problem found before any work, as one line on stderr; the exit status: 3 for the store, 2 for the user's input."""
    print(f"error: {error}", file=sys.stderr)
    return 3 if isinstance(error, StoreUnavailable) else 2


def run_guarded(runner: Runner, body: Callable[[Runner], object]) -> int | None:
    """Run ``body(runner)`` inside the runner; None on success, else the exit status after one line on stderr."""
    try:
        with runner:
            body(runner)
    except (TrackingError, RayError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"error: {error}; {RESUME_HINT} once it answers again", file=sys.stderr)
        return 3
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM (see training.core.interrupt)
        print(f"{interrupt.describe(interruption)}: {RESUME_HINT}", file=sys.stderr)
        return interrupt.exit_status(interruption)
    return None
