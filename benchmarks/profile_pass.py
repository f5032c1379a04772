"""Where the time of one training pass goes: the main job's typical work, timed by region.

One pass of the default sweep (the MLP on full MNIST, ``cpu`` profile, 8 seeds of
one config together, one torch thread as in a sweep worker). Wall-clock time is
split into regions: drawing batches, the network's forward and backward, the
stack's hypergradients and its updates, evaluation, and the rest (divergence
checks, records, the loop itself). ``--ops`` adds the torch profiler's table of
operators (the profiler slows every operator, so the regions are timed without it).

    python benchmarks/profile_pass.py --stack "adam(alpha=0.001) / sgd(alpha=1e-5)" --seeds 8 --epochs 1
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from training.core.benchmark import load_dataset
from training.core.config import make_config
from training.core.loop import train_seeds
from training.core.replicas import Replicas
from training.core.tasks import ImageTask
from training.hyper.stack import HyperStack

REGIONS = {  # method -> what it does in a step
    (Replicas, "loss_and_grads"): "forward and backward of the network",
    (HyperStack, "hypergradients"): "hypergradients (inner products, walk up the stack)",
    (HyperStack, "apply"): "updates of every level, tangents",
    (Replicas, "evaluate"): "test-set evaluation after each epoch",
}
BATCHES = "drawing batches (index the in-memory data)"


def time_regions(seconds: dict[str, float]) -> None:
    """Wrap each method of REGIONS, and each batch drawn, in a timer adding to ``seconds``.

    Instrumentation of this script only; the regions never nest.
    """
    for (owner, name), label in REGIONS.items():
        method = getattr(owner, name)

        def timed(*args, _method=method, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                seconds[_label] += time.perf_counter() - started

        setattr(owner, name, timed)
    original = ImageTask.epoch

    def epoch(self, generators):  # a generator: time each next()
        batches = original(self, generators)
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            seconds[BATCHES] += time.perf_counter() - started
            if batch is None:
                return
            yield batch

    ImageTask.epoch = epoch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="adam(alpha=0.001) / sgd(alpha=1e-5)")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a sweep worker uses 1)")
    parser.add_argument("--ops", action="store_true", help="also run the pass under the torch profiler and print its operator table")
    parser.add_argument("--dry-run", action="store_true", help="a few steps only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train, test = load_dataset("mlp")
    configs = [make_config(stack=args.stack, epochs=args.epochs, profile=args.profile, seed=seed) for seed in range(args.seeds)]
    max_steps = 5 if args.dry_run else None
    seconds: dict[str, float] = defaultdict(float)
    time_regions(seconds)
    started = time.perf_counter()
    results = train_seeds(configs, train, test, progress=False, max_steps=max_steps)
    wall = time.perf_counter() - started
    steps = results[0].steps
    print(f"{args.seeds} seeds x {steps} steps of {args.stack}, {args.threads} thread(s): {wall:.2f} s "
          f"({1000 * wall / steps:.2f} ms per step of the pass, {1000 * wall / steps / args.seeds:.2f} ms per seed-step)")
    labels = [*REGIONS.values(), BATCHES]
    for label, spent in {**{label: seconds[label] for label in labels}, "the rest (set-up, divergence checks, records, the loop)": wall - sum(seconds.values())}.items():
        print(f"  {label:<58} {spent:7.2f} s  {100 * spent / wall:5.1f}%")
    if args.ops:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            train_seeds(configs, train, test, progress=False, max_steps=max_steps)
        matrix = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm", "aten::bmm")) / 1e6
        total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e6
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
        print(f"matrix products (aten::mm, addmm, bmm): {matrix:.2f} s of {total:.2f} s of operator time ({100 * matrix / total:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
