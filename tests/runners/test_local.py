"""The local runner: how a sweep's jobs become training passes, and the runner interface."""

import argparse

from training.core.config import make_config
from training.runners import choice
from training.runners.base import Runner
from training.runners.local import SEEDS_PER_PASS, LocalRunner, costliest_first, group_passes, pass_size
from training.runners.ray_cluster import RayRunner
from training.studies.base import Cell


def test_passes_group_seeds_of_one_config_and_keep_workers_busy():
    cell, other = Cell("a", "sgd(0.01)", 1), Cell("b", "sgd(0.02)", 1)
    jobs = [(c, make_config(stack=c.stack, epochs=1, profile="smoke", seed=s)) for c in (cell, other) for s in range(10)]
    passes = group_passes(jobs, per_pass=8, workers=2)
    assert sorted(len(p) for p in passes) == [5, 5, 5, 5]  # 10 seeds > 8: two passes per cell
    assert all(len({(c.label, config.stack) for c, config in p}) == 1 for p in passes)
    assert sorted(len(p) for p in group_passes(jobs[:10], per_pass=8, workers=2)) == [5, 5]  # one cell, two workers
    assert all(len(p) == 1 for p in group_passes(jobs, per_pass=1, workers=2))
    assert [p[0] for p in group_passes(jobs, per_pass=1, workers=2)] == jobs  # a timing study keeps its planned order
    five = [(Cell(f"c{c}", "sgd(0.01)", 1), make_config(stack="sgd(0.01)", epochs=1, profile="smoke", seed=s)) for c in range(5) for s in range(8)]
    assert [len(p) for p in group_passes(five, per_pass=8, workers=2)] == [4] * 10  # not 5 passes of 8: the fifth would run alone
    long = [(Cell("long", "sgd(0.01)", 9), make_config(stack="sgd(0.01)", epochs=9, profile="smoke", seed=s)) for s in range(2)]
    assert costliest_first(group_passes(five[:2] + long, per_pass=8, workers=2))[0] == long  # the costliest pass starts first


def test_pass_size_batches_the_large_models_on_a_gpu_only_by_default():
    assert pass_size("mlp", "cpu", None) == pass_size("mlp", "cuda", None) == SEEDS_PER_PASS
    assert pass_size("resnet20", "cpu", None) == pass_size("charlstm", "cpu", None) == 1  # slower per seed batched on a CPU
    assert pass_size("resnet20", "cuda:0", None) == pass_size("charlstm", "cuda", None) == SEEDS_PER_PASS
    assert pass_size("charlstm", "cpu", 3) == 3  # asked for: as asked


def test_both_runners_have_the_runner_interface():
    assert isinstance(LocalRunner(), Runner) and isinstance(RayRunner(), Runner)
    options = argparse.Namespace(executor="local", seeds_per_pass="4", ray_address="auto", cpus_per_run="1", gpus_per_run="auto", checkpoint_every="1")
    runner = choice.make_runner(options, 2, "cpu")
    assert isinstance(runner, LocalRunner) and runner.seeds_per_pass == 4 and not runner.logs_runs

