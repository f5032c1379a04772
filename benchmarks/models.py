"""Seconds per epoch and memory of ResNet-20 and the char-LSTM, plain and hyperoptimized.

Times the real training step of ``training.core.loop`` (task batches, functional
model, HyperStack) for a number of steps after warm-up, then scales to a full
epoch of the paper profile (ResNet-20: 391 steps of 128 images; char-LSTM:
1,152 steps of 50 x 50 characters). Data are random tensors of the real
shapes, resident on the device, so the figure is the step's, not the loader's.

    python benchmarks/models.py --quick                 # CPU, a few steps each
    python benchmarks/models.py --device cuda --json benchmarks/results-<date>-<card>-models.json
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

from papers.ultimate_optimizer.studies.large import lstm_hyper, resnet_baseline, resnet_hyper
from training.core.benchmark import BENCHMARKS, build_model
from training.core.loop import train_step
from training.core.replicas import Replicas
from training.data import Split
from training.hyper import HyperOptimizer
from training.hyper.stack import HyperStack
from training.hyper.stackspec import parse_stack

CASES = {
    "resnet20_plain": ("resnet20", resnet_baseline(0.1, 0.9), 391),
    "resnet20_hyper": ("resnet20", resnet_hyper(0.1, 0.9), 391),
    "charlstm_plain": ("charlstm", "adam(alpha=0.002)", 1152),
    "charlstm_hyper": ("charlstm", lstm_hyper(2e-3), 1152),
}


def synthetic_data(model: str, steps: int) -> Split:
    """Random data of the real shape and type, enough for ``steps`` steps."""
    generator = torch.Generator().manual_seed(0)
    if model == "resnet20":
        n = 128 * steps
        return Split(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.randint(0, 10, (n,), generator=generator))
    ids = torch.randint(0, 80, (50 * (50 * steps + 1),), generator=generator)
    return Split(ids, ids, vocab="x" * 80)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(model: str, stack: str, steps: int, warmup: int, device: torch.device) -> dict:
    """Mean seconds per step over ``steps`` timed steps, and peak GPU memory."""
    data = synthetic_data(model, steps + warmup)
    task = BENCHMARKS[model].task(data, data.head(50 * 60 if model == "charlstm" else 256), 128 if model == "resnet20" else 50, device)
    replicas = Replicas(model, [0], device, **({"vocab": 80} if model == "charlstm" else {}))
    weights = [replicas.flat]
    stack = HyperStack(parse_stack(stack), replicas.flat, seeds=1)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = None
    for index, batch in enumerate(task.epoch([torch.Generator().manual_seed(0)])):
        if index == warmup:
            synchronize(device)
            started = time.perf_counter()
        if index == warmup + steps:
            break
        _, weights = train_step(replicas, task, stack, weights, batch)
    synchronize(device)
    seconds = (time.perf_counter() - started) / steps
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {"seconds_per_step": seconds, "peak_gpu_bytes": peak}


# ResNet-20 as an ordinary nn.Module in an ordinary loop: each drop-in stack beside the torch.optim optimizer of its weight level
MODULE_OPTIMIZERS = {
    "torch_sgd": lambda params: torch.optim.SGD(params, lr=0.1),
    "dropin_sgd_sgd": lambda params: HyperOptimizer(params, "sgd(alpha=0.1) / sgd(alpha=1e-4)"),
    "torch_adam": lambda params: torch.optim.Adam(params, lr=1e-3),
    "dropin_adam_sgd": lambda params: HyperOptimizer(params, "adam(alpha=0.001) / sgd(alpha=1e-5)"),
    "torch_sgd_momentum_wd": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4),
    "dropin_paper_resnet": lambda params: HyperOptimizer(params, resnet_hyper(0.1, 0.9)),  # [P]'s hyperoptimizer from (0.1, 0.9)
}
MODULE_RATIOS = {"dropin_sgd_sgd": "torch_sgd", "dropin_adam_sgd": "torch_adam", "dropin_paper_resnet": "torch_sgd_momentum_wd"}


def time_module_loops(steps: int, rounds: int, device: torch.device) -> dict[str, float]:
    """Seconds per step of ResNet-20 (batch 128) under each of ``MODULE_OPTIMIZERS``, in rounds of ``steps`` steps
    interleaved across optimizers (drift of the machine hits all alike); the median over rounds after one warm-up round."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(128, 3, 32, 32, generator=generator).to(device)
    y = torch.randint(0, 10, (128,), generator=generator).to(device)
    loops = {}
    for name, make in MODULE_OPTIMIZERS.items():
        model = build_model("resnet20", 0).to(device)
        loops[name] = (model, make(model.parameters()))
    seconds = {name: [] for name in loops}
    for round_ in range(rounds + 1):
        for name, (model, opt) in loops.items():
            synchronize(device)
            started = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                torch.nn.functional.nll_loss(model(x), y).backward()
                opt.step()
            synchronize(device)
            if round_:
                seconds[name].append((time.perf_counter() - started) / steps)
    return {name: statistics.median(found) for name, found in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per case (default 50; --quick 5)")
    parser.add_argument("--quick", action="store_true", help="a few steps per case, under a minute on 2 CPU cores")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda asked for, but no CUDA GPU is available", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    steps = args.steps or (5 if args.quick else 50)
    results = {}
    for name, (model, stack, epoch_steps) in CASES.items():
        found = time_case(model, stack, steps, warmup=2 if args.quick else 10, device=device)
        found["seconds_per_paper_epoch"] = found["seconds_per_step"] * epoch_steps
        results[name] = found
        memory = f", peak GPU memory {found['peak_gpu_bytes'] / 2**20:.0f} MiB" if found["peak_gpu_bytes"] else ""
        print(f"{name:16s} {1000 * found['seconds_per_step']:8.1f} ms/step  {found['seconds_per_paper_epoch']:8.1f} s/epoch (paper profile){memory}")
    module_steps = module_rounds = 2 if args.quick else 5
    for name, seconds in time_module_loops(module_steps, module_rounds, device).items():
        results[f"resnet20_module_{name}"] = {"seconds_per_step": seconds, "seconds_per_paper_epoch": seconds * 391, "peak_gpu_bytes": None}
        print(f"resnet20_module_{name:22s} {1000 * seconds:8.1f} ms/step  {seconds * 391:8.1f} s/epoch (paper profile)")
    for dropin, plain in MODULE_RATIOS.items():
        ratio = results[f"resnet20_module_{dropin}"]["seconds_per_step"] / results[f"resnet20_module_{plain}"]["seconds_per_step"]
        results[f"resnet20_module_{dropin}_vs_{plain}"] = ratio
        print(f"ResNet-20 module loop, {dropin} / {plain}: {ratio:.3f}")
    machine = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
               "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": steps}
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
