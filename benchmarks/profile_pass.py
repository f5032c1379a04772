"""Where the time of one training pass goes: the main job's typical work, profiled.

One pass of the default sweep (the MLP on full MNIST, ``cpu`` profile, 8 seeds of
one config together, one torch thread as in a sweep worker) under the torch
profiler, its time split into labelled regions: the network's forward and
backward, the stack's hypergradients and updates, evaluation, and the rest.

    python benchmarks/profile_pass.py --stack "adam(alpha=0.001) / sgd(alpha=1e-5)" --seeds 8 --epochs 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.config import make_config  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.hyperstack import HyperStack  # noqa: E402
from training.loop import train_seeds  # noqa: E402
from training.replicas import Replicas  # noqa: E402

REGIONS = {  # method -> what it does in a step
    (Replicas, "loss_and_grads"): "forward and backward of the network",
    (HyperStack, "hypergradients"): "hypergradients (inner products, walk up the stack)",
    (HyperStack, "apply"): "updates of every level, tangents",
    (Replicas, "evaluate"): "test-set evaluation after each epoch",
}


def label_regions() -> None:
    """Wrap each method of REGIONS in a profiler label (instrumentation of this script only)."""
    for (owner, name), label in REGIONS.items():
        method = getattr(owner, name)

        def labelled(*args, _method=method, _label=label, **kwargs):
            with record_function(_label):
                return _method(*args, **kwargs)

        setattr(owner, name, labelled)


def region_seconds(prof) -> dict[str, float]:
    """CPU seconds spent inside each labelled region."""
    totals = {event.key: event.cpu_time_total / 1e6 for event in prof.key_averages() if event.key in REGIONS.values()}
    return {label: totals.get(label, 0.0) for label in REGIONS.values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="adam(alpha=0.001) / sgd(alpha=1e-5)")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a sweep worker uses 1)")
    parser.add_argument("--dry-run", action="store_true", help="a few steps only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train, test = load_dataset("mlp")
    configs = [make_config(stack=args.stack, epochs=args.epochs, profile=args.profile, seed=seed) for seed in range(args.seeds)]
    label_regions()
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        results = train_seeds(configs, train, test, progress=False, max_steps=5 if args.dry_run else None)
    wall = time.perf_counter() - started
    steps = results[0].steps
    print(f"{args.seeds} seeds x {steps} steps of {args.stack}, {args.threads} thread(s): {wall:.1f} s profiled "
          f"({1000 * wall / steps:.2f} ms per step of the pass)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    regions = region_seconds(prof)
    for label, seconds in {**regions, "the rest (batches, divergence checks, records)": wall - sum(regions.values())}.items():
        print(f"  {label:<55} {seconds:7.2f} s  {100 * seconds / wall:5.1f}%")
    matrix = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm", "aten::bmm")) / 1e6
    print(f"  of which matrix products (aten::mm, addmm, bmm)            {matrix:7.2f} s  {100 * matrix / wall:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
