"""Time one hyperoptimized step side by side: torch.optim, the authors' package, ours.

Same model (the paper's MLP), same batches, one process, repetitions interleaved
across methods so that drift of the machine hits every method alike; the figure
per method is the median over repetitions of the mean step time. Ratios are
what to read: absolute milliseconds depend on the machine. "Ours" is the
training loop's own step (``Replicas.loss_and_grads`` then ``HyperStack.step``);
"ours compiled" the same with each rule's elementwise arithmetic fused by
``torch.compile`` (``HyperStack(compiled=True)``). Many seeds:
S seeds in one pass (each on its own batch) against S single-seed steps. Learning-rate-free
optimizers (family F, from their packages, in our loop) beside our plain SGD and Adam steps
and the height-3 hyperoptimized SGD: F3's ratios, measured at the step.

    python benchmarks/hyperstep.py --quick --json results.json
    python benchmarks/hyperstep.py --dry-run --no-mlflow     # one step of everything: checks the script
    python benchmarks/hyperstep.py --device cuda

Needs the test extra (the authors' package) for the reference rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from papers.ultimate_optimizer.studies.beyond import ADAM_BASED_METHODS, LRFREE_METHODS, hyper_tower
from training.core.loop import make_stack, train_step
from training.core.models import MLP
from training.core.replicas import Replicas
from training.core.tasks import ImageTask
from training.data import Split
from training.hyper import HyperOptimizer
from training.hyper.stack import HyperStack
from training.hyper.stackspec import parse_stack

STACKS = {
    "sgd_sgd": "sgd(alpha=0.01) / sgd(alpha=0.01)",
    "adam_sgd": "adam(alpha=0.001) / sgd(alpha=1e-5)",
    "adam_adam": "adam(alpha=0.001) / adam(alpha=0.001)",
    "rmsprop_sgd": "rmsprop(alpha=0.01) / sgd(alpha=1e-4)",
}
SEED_COUNTS = (1, 4, 8, 16)
BATCH, BATCHES = 256, 16


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_task(device: torch.device) -> ImageTask:
    """MNIST-shaped random data, 16 batches' worth, behind the real task (batches, loss)."""
    generator = torch.Generator().manual_seed(0)
    data = Split(torch.rand(BATCH * BATCHES, 784, generator=generator), torch.randint(0, 10, (BATCH * BATCHES,), generator=generator))
    return ImageTask(data, data.head(BATCH), BATCH, device)


def batches(task: ImageTask, seeds: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of batches for ``seeds`` seeds: [seeds, 256, 784] inputs, [seeds, 256] labels."""
    return list(task.epoch([torch.Generator().manual_seed(seed) for seed in range(seeds)]))


def ours(stack: str, device: torch.device, task, seeds: int = 1, compiled: bool = False):
    """A step function of our training step; and its HyperStack."""
    replicas = Replicas("mlp", list(range(seeds)), device)
    levels = parse_stack(stack)
    hyper = HyperStack(levels, replicas.flat, seeds=seeds, compiled=True) if compiled else make_stack(levels, replicas.flat, seeds)
    state = {"weights": [replicas.flat]}

    def step(x, y):
        _, state["weights"] = train_step(replicas, task, hyper, state["weights"], (x, y))

    return step, hyper


def torch_optim(name: str, device: torch.device):
    model = MLP().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01) if name == "sgd" else torch.optim.Adam(model.parameters(), lr=0.001)

    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        F.nll_loss(model(x[0]), y[0]).backward()
        optimizer.step()

    return step


def dropin(stack: str, device: torch.device, compiled: bool = False):
    """HyperOptimizer, the drop-in torch.optim optimizer, in the same loop as torch_optim's."""
    model = MLP().to(device)
    optimizer = HyperOptimizer(model.parameters(), stack, compiled=compiled)

    def step(x, y):
        optimizer.zero_grad()
        F.nll_loss(model(x[0]), y[0]).backward()
        optimizer.step()

    return step


def reference(stack: str, device: torch.device):
    from gradient_descent_the_ultimate_optimizer import gdtuo  # the test extra: imported only when the reference is timed

    from training.hyper.reference import build_reference

    if device.type == "cuda":
        torch.set_default_device(device)  # gdtuo creates its tensors on the default device
    wrapper = gdtuo.ModuleWrapper(MLP().to(device), optimizer=build_reference(parse_stack(stack)))
    wrapper.initialize()
    torch.set_default_device(None)

    def step(x, y):
        wrapper.begin()
        loss = F.nll_loss(wrapper.forward(x[0]), y[0])
        wrapper.zero_grad()
        loss.backward(create_graph=True)
        wrapper.step()

    return step


def time_methods(methods: dict, data, device: torch.device, steps: int, repetitions: int, warmup: int) -> dict[str, float]:
    """Median over interleaved repetitions of the mean step time (ms) of each method.

    ``data``: one list of batches for every method, or a dict of them by method.
    """
    data_of = data if isinstance(data, dict) else {name: data for name in methods}
    for name, step in methods.items():
        for x, y in data_of[name][:warmup]:
            step(x, y)
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repetitions):
        for name, step in methods.items():
            own = data_of[name]
            synchronize(device)
            started = time.perf_counter()
            for i in range(steps):
                x, y = own[i % len(own)]
                step(x, y)
            synchronize(device)
            samples[name].append(1000 * (time.perf_counter() - started) / steps)
    return {name: statistics.median(values) for name, values in samples.items()}


def tower(height: int) -> str:
    return " / ".join(["sgd(alpha=0.01)"] * (height + 1))


REPEATS = {"full": (20, 40, 10), "quick": (10, 15, 5), "dry-run": (1, 1, 1)}  # steps, repetitions, warm-up steps


def run(device: torch.device, mode: str) -> dict:
    steps, repetitions, warmup = REPEATS[mode]  # many short repetitions: a burst of noise spoils few
    task = make_task(device)
    data = batches(task, 1)
    methods = {"torch_sgd": torch_optim("sgd", device), "torch_adam": torch_optim("adam", device)}
    for key in ("sgd_sgd", "adam_sgd"):
        methods[f"dropin_{key}"] = dropin(STACKS[key], device)
        methods[f"dropin_compiled_{key}"] = dropin(STACKS[key], device, compiled=True)
    for key, stack in STACKS.items():
        methods[f"ours_{key}"] = ours(stack, device, task)[0]
        methods[f"ours_compiled_{key}"] = ours(stack, device, task, compiled=True)[0]
        methods[f"reference_{key}"] = reference(stack, device)
    times = time_methods(methods, data, device, steps, repetitions, warmup)
    lrfree = {"ours_sgd": ours("sgd(alpha=0.01)", device, task)[0], "ours_adam": ours("adam(alpha=0.001)", device, task)[0],
              "ours_hyper3": ours(hyper_tower(0.01), device, task)[0]}
    lrfree |= {f"lrfree_{name}": ours(stack(recommended), device, task)[0] for name, (stack, _, recommended) in LRFREE_METHODS.items()}
    lrfree_times = time_methods(lrfree, data, device, steps, repetitions, warmup)
    heights = range(0, 11)
    towers = {h: ours(tower(h), device, task) for h in heights}
    tower_times = time_methods({h: step for h, (step, _) in towers.items()}, data, device, steps, repetitions, warmup)
    base = tower_times[0]
    per_level = statistics.median((tower_times[h] - tower_times[1]) / (h - 1) / base for h in heights if h >= 2)
    memory, peaks = {}, {}
    for h, (step, hyper) in towers.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        step(*data[0])
        step(*data[1])
        memory[h] = hyper.memory_bytes()
        if device.type == "cuda":  # the whole step's peak: weights, activations, gradients, the stack
            peaks[str(h)] = torch.cuda.max_memory_allocated(device)
    seed_steps = {s: ours(STACKS["sgd_sgd"], device, task, seeds=s)[0] for s in SEED_COUNTS}
    seed_times = time_methods(seed_steps, {s: batches(task, s) for s in SEED_COUNTS}, device, steps, repetitions, warmup)
    speedups = {s: s * seed_times[1] / seed_times[s] for s in SEED_COUNTS}
    return {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "date": time.strftime("%Y-%m-%d"),
        "step_ms": times,
        "tower_step_ms": {str(h): t for h, t in tower_times.items()},
        "tower_stack_bytes": {str(h): b for h, b in memory.items()},
        "tower_peak_gpu_bytes": peaks or None,
        "seeds_step_ms": {str(s): t for s, t in seed_times.items()},
        "seeds_speedup_vs_sequential": {str(s): v for s, v in speedups.items()},
        "sgd_sgd_vs_torch_sgd": times["ours_sgd_sgd"] / times["torch_sgd"],
        "adam_sgd_vs_torch_adam": times["ours_adam_sgd"] / times["torch_adam"],
        "dropin_sgd_sgd_vs_torch_sgd": times["dropin_sgd_sgd"] / times["torch_sgd"],
        "dropin_adam_sgd_vs_torch_adam": times["dropin_adam_sgd"] / times["torch_adam"],
        "dropin_compiled_sgd_sgd_vs_torch_sgd": times["dropin_compiled_sgd_sgd"] / times["torch_sgd"],
        "dropin_compiled_adam_sgd_vs_torch_adam": times["dropin_compiled_adam_sgd"] / times["torch_adam"],
        "compiled_sgd_sgd_vs_torch_sgd": times["ours_compiled_sgd_sgd"] / times["torch_sgd"],
        "compiled_adam_sgd_vs_torch_adam": times["ours_compiled_adam_sgd"] / times["torch_adam"],
        "first_level_fraction": tower_times[1] / base - 1.0,
        "per_level_fraction": per_level,
        "speedup_vs_reference_min": min(times[f"reference_{k}"] / times[f"ours_{k}"] for k in STACKS),
        "vmap8_speedup_vs_sequential": speedups[8],
        "lrfree_step_ms": lrfree_times,
        "hyper3_vs_sgd": lrfree_times["ours_hyper3"] / lrfree_times["ours_sgd"],
        "lrfree_vs_base": {name: lrfree_times[f"lrfree_{name}"] / lrfree_times["ours_adam" if name in ADAM_BASED_METHODS else "ours_sgd"]
                           for name in LRFREE_METHODS},
    }


def print_table(result: dict) -> None:
    print(f"{result['device']} | {result['machine']} | {result['date']}")
    for name, ms in sorted(result["step_ms"].items()):
        print(f"  {name:<22} {ms:8.3f} ms")
    print("  tower heights 0..10:   " + " ".join(f"{float(t):.3f}" for t in result["tower_step_ms"].values()) + " ms")
    print("  seeds per pass:        " + "  ".join(f"{s}: {t:.3f} ms ({result['seeds_speedup_vs_sequential'][s]:.2f}x)" for s, t in result["seeds_step_ms"].items()))
    print("  learning-rate-free, over their base (our loop): " + ", ".join(f"{k} {v:.2f}x" for k, v in result["lrfree_vs_base"].items())
          + f"; hyperoptimized SGD height 3 over SGD {result['hyper3_vs_sgd']:.2f}x")
    for key in ("sgd_sgd_vs_torch_sgd", "adam_sgd_vs_torch_adam", "dropin_sgd_sgd_vs_torch_sgd", "dropin_adam_sgd_vs_torch_adam",
                "dropin_compiled_sgd_sgd_vs_torch_sgd", "dropin_compiled_adam_sgd_vs_torch_adam", "compiled_sgd_sgd_vs_torch_sgd", "compiled_adam_sgd_vs_torch_adam", "first_level_fraction", "per_level_fraction",
                "speedup_vs_reference_min", "vmap8_speedup_vs_sequential"):
        value = result[key]
        print(f"  {key:<30} {'not measured' if value is None else f'{value:.3f}'}")


def log_to_mlflow(result: dict) -> None:
    from mlflow.entities import Metric, Param

    from training.tracking.store import client, experiment_id

    tracking = client()
    run_id = tracking.create_run(experiment_id(tracking, "benchmarks"), run_name=f"hyperstep {result['device']}").info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in result.items() if isinstance(v, float)]
    metrics += [Metric(f"step_ms.{k}", v, now, 0) for k, v in result["step_ms"].items()]
    metrics += [Metric(f"seeds_step_ms.{k}", v, now, 0) for k, v in result["seeds_step_ms"].items()]
    metrics += [Metric(f"lrfree_vs_base.{k}", v, now, 0) for k, v in result["lrfree_vs_base"].items()]
    tracking.log_batch(run_id, metrics=metrics, params=[Param("device", result["device"]), Param("machine", result["machine"][:500])])
    tracking.set_terminated(run_id, "FINISHED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: under a minute on 2 CPU cores")
    parser.add_argument("--dry-run", action="store_true", help="one step of everything: checks the script, measures nothing")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to the 'benchmarks' experiment")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's; a sweep worker uses 1)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda asked for, but no CUDA GPU is available", file=sys.stderr)
        return 2
    result = run(device, "dry-run" if args.dry_run else "quick" if args.quick else "full")
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if not args.no_mlflow:
        log_to_mlflow(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
