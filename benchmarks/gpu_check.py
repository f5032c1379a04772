"""The device check: what one GPU makes of the paper's protocol, in a few minutes.

Prints (and writes as JSON with ``--json``):
- ResNet-20: one paper epoch (391 steps of 128 + the 10,000-image evaluation) at 1 and 8 seeds per pass,
  timed on real steps and scaled to the epoch, and the throughput gain of batching;
- the char-LSTM: one paper epoch at 1 and 8 seeds per pass, the same way;
- the MLP: a whole paper-protocol run (sgd/sgd, 30 epochs, all of MNIST), trained for real at 1 and 10 seeds per pass;
- whether a step of the drop-in ``HyperOptimizer`` synchronises the host with the GPU (CUDA's sync debug mode "error");
- the estimator's figure for the whole ``paper`` profile with every benchmark on this device.

    bash benchmarks/gpu_check.sh                        # on a GPU machine, at most 8 minutes
    python benchmarks/gpu_check.py --device cpu --quick  # checks the script anywhere (a minute or two; figures meaningless)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from papers.ultimate_optimizer.studies import BENCHMARKS
from pipeline.estimate import Clock, describe, estimate, plan_studies
from pipeline.plan import studies_to_train
from training.core.benchmark import BENCHMARKS as RECORDS
from training.core.benchmark import load_dataset
from training.core.config import Profile, make_config
from training.core.loop import configure_device, train_seeds
from training.core.models import MLP
from training.hyper import HyperOptimizer

EPOCH = {"resnet20": (50_000, 10_000, "sgd(alpha=0.1, mu=0.9, wd=1e-4) / sgd(alpha=1e-4)"),
         "charlstm": (2_882_467, 160_137, "adam(alpha=0.002) / adam(alpha=1e-4)")}


def epoch_seconds(clock: Clock, model: str, seeds: int) -> float:
    """One paper epoch of ``seeds`` seeds trained together: timed steps scaled to the epoch, plus each seed's evaluation."""
    train, test, stack = EPOCH[model]
    config = make_config(model, stack, 1, 0, "paper")
    return RECORDS[model].steps_per_epoch(train, config.batch_size) * clock.step(config, seeds) + seeds * clock.evaluation(model, test)


def mlp_run_seconds(device: torch.device, seeds: int, epochs: int, profile: Profile = Profile.PAPER) -> float:
    """A real MLP run at ``profile`` (paper: sgd/sgd on all of MNIST) of ``seeds`` seeds in one pass, wall time."""
    train, test = load_dataset("mlp")
    configs = [make_config("mlp", "sgd(alpha=0.01) / sgd(alpha=0.01)", epochs, seed, profile) for seed in range(seeds)]
    started = time.perf_counter()
    train_seeds(configs, train, test, device, progress=False)
    return time.perf_counter() - started


def dropin_step_syncs(device: torch.device) -> str:
    """'none' if a step of the drop-in HyperOptimizer (adam/sgd on the paper's MLP) runs under CUDA's sync debug mode
    'error', else the error's first line; 'not checked on cpu' elsewhere."""
    if device.type != "cuda":
        return "not checked on cpu"
    model = MLP().to(device)
    opt = HyperOptimizer(model.parameters(), "adam(alpha=0.001) / sgd(alpha=1e-5)")
    x, y = torch.rand(256, 784, device=device), torch.randint(0, 10, (256,), device=device)
    try:
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.nll_loss(model(x), y).backward()
            torch.cuda.set_sync_debug_mode("error")
            opt.step()
            torch.cuda.set_sync_debug_mode("default")
    except RuntimeError as error:
        return str(error).splitlines()[0]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="1 timed step, 2 seeds for the batched figures, 1 MLP epoch, the smoke "
                        "profile's estimate: checks the script")
    parser.add_argument("--json", default="", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device here; run on a GPU machine, or pass --device cpu --quick to check the script", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    configure_device(device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # as a worker runs
    clock = Clock(device, steps=1, eval_probe=200) if args.quick else Clock(device, steps=10)
    out: dict[str, object] = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    batched, mlp_batched = (2, 2) if args.quick else (8, 10)
    for model in EPOCH:
        one, many = epoch_seconds(clock, model, 1), epoch_seconds(clock, model, batched)
        out[model] = {"epoch_s_1_seed": one, f"epoch_s_{batched}_seeds": many, "throughput_gain": batched * one / many}
        print(f"{model}: paper epoch {one:.1f}s at 1 seed, {many:.1f}s at {batched} seeds per pass "
              f"({batched * one / many:.1f}x the sequential throughput)", flush=True)
    epochs, profile = (1, Profile.SMOKE) if args.quick else (30, Profile.PAPER)
    one, many = mlp_run_seconds(device, 1, epochs, profile), mlp_run_seconds(device, mlp_batched, epochs, profile)
    out["mlp"] = {"run_s_1_seed": one, f"run_s_{mlp_batched}_seeds": many, "epochs": epochs, "profile": profile}
    print(f"mlp: a {profile} run ({epochs} epochs, sgd/sgd) {one:.1f}s at 1 seed, {many:.1f}s for {mlp_batched} seeds in one pass", flush=True)
    out["dropin_step_syncs"] = dropin_step_syncs(device)
    print(f"host syncs in a drop-in HyperOptimizer step: {out['dropin_step_syncs']}", flush=True)
    profile = Profile.SMOKE if args.quick else Profile.PAPER
    chosen, _ = studies_to_train(profile, BENCHMARKS)
    estimates = estimate(plan_studies(chosen, profile, None, None, 1, str(device)), clock, 1)
    line = describe(estimates, str(device), 1)[-1]
    out["estimate"] = {"profile": profile, "seconds": sum(e.seconds for e in estimates), "line": line}
    print(f"{profile} profile, every benchmark: {line}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
