"""The cost estimate before a run: the plan it counts is the job's own, its clock is real steps, and a dry run trains nothing.

How close the estimate comes to a measured job is a timing, so it lives in
benchmarks/estimate_accuracy.py (figures in benchmarks/RESULTS.md), not here.
"""

import re
import subprocess
import sys

import torch
from support.cli import environment

from papers.ultimate_optimizer.studies import build_study, labels
from pipeline.estimate import Clock, StudyPlan, describe, estimate, hours, makespan, plan_studies
from pipeline.plan import studies_to_train
from training.core.config import make_config


def test_plan_counts_every_run_of_the_job_once():
    chosen, _ = studies_to_train("smoke", ("mlp",))
    plans = plan_studies(chosen, "smoke", None, seeds_per_pass=8, workers=2)
    by_name = {plan.name: plan for plan in plans}
    for name in chosen:
        configs = build_study(name, "smoke").configs("smoke")
        planned = [config for group in by_name[name].passes for _, config in group]
        assert sorted(c.config_hash for c in planned) == sorted(c.config_hash for _, c in configs)
        assert by_name[name].seed_epochs == sum(c.epochs for _, c in configs)
    table1 = build_study(labels.MLP_TABLE1, "smoke")
    stack_runs = sum(table1.seeds for cell in table1.cells if labels.is_stack(cell.label))
    assert by_name[labels.MLP_RERUNS].runs == stack_runs  # one plain re-run per Table 1 stack run
    assert by_name[labels.MLP_COST].largest_pass == 1  # the timing study runs one seed at a time
    assert list(by_name).index(labels.MLP_RERUNS) == list(by_name).index(labels.MLP_TABLE1) + 1


def test_makespan_schedules_on_the_first_free_worker():
    assert makespan([3, 2, 2, 1], 2) == 4
    assert makespan([5, 1, 1], 1) == 7
    assert makespan([], 2) == 0


def test_clock_times_real_steps_once_per_shape():
    clock = Clock(torch.device("cpu"), steps=1)
    first = make_config("mlp", "sgd(alpha=0.01) / sgd(alpha=0.01)", 1, 0, "smoke")
    same_shape = make_config("mlp", "sgd(alpha=0.5) / sgd(alpha=1e-3)", 1, 3, "smoke")
    step = clock.step(first, 2)
    assert step > 0 and clock.step(same_shape, 2) == step
    assert clock.evaluation("mlp", 10_000) > clock.evaluation("mlp", 1_000) > 0


def test_estimate_adds_studies_and_says_so_in_one_line():
    chosen = [labels.MLP_TABLE1]
    plans = plan_studies(chosen, "smoke", 2, seeds_per_pass=2, workers=2)
    estimates = estimate(plans, Clock(torch.device("cpu"), steps=1), workers=2)
    lines = describe(estimates, "cpu", 2)
    runs = sum(plan.runs for plan in plans)
    assert re.fullmatch(rf"estimate: {runs} runs, \d+h\d\d on cpu with 2 workers", lines[-1])
    assert len(lines) == len(plans) + 1 and all(e.seconds > 0 for e in estimates)
    assert hours(3_900) == "1h05" and hours(59) == "0h01"
    assert isinstance(plans[0], StudyPlan)


def test_dry_run_prints_the_plan_and_touches_no_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # "--dry-run true": the form `mlflow run . -e claims -P dry_run=true` passes
    done = subprocess.run([sys.executable, "-m", "pipeline.claims_job", "--profile", "smoke", "--dry-run", "true"], cwd=tmp_path,
                          env=environment(uri), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    planned = sum(plan.runs for plan in plan_studies(studies_to_train("smoke", ("mlp",))[0], "smoke", None, 8, 2))
    assert re.search(rf"^estimate: {planned} runs, \d+h\d\d on cpu with 2 workers$", done.stdout, re.M), done.stdout
    assert "mlp_table1: " in done.stdout and not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
