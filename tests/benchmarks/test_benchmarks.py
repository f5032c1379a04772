"""The benchmark scripts' smoke paths run (their timings are never asserted)."""

import json
import os
import subprocess
import sys

import pytest
from support.cli import REPO

pytestmark = pytest.mark.slow  # the benchmark scripts end to end: left out of the quick lane (README)


def test_profile_pass_dry_run_splits_the_time_into_regions():
    out = subprocess.run([sys.executable, "benchmarks/profile_pass.py", "--dry-run", "--seeds", "2"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "2 seeds x 5 steps" in out.stdout
    for region in ("drawing batches", "forward and backward of the network", "hypergradients", "updates of every level", "test-set evaluation", "the rest"):
        assert region in out.stdout


def test_hyperstep_dry_run_reports_every_key_of_the_issue(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/hyperstep.py", "--dry-run", "--no-mlflow", "--json", str(tmp_path / "r.json")], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    for key in ("sgd_sgd_vs_torch_sgd", "adam_sgd_vs_torch_adam", "per_level_fraction", "vmap8_speedup_vs_sequential", "speedup_vs_reference_min",
                "dropin_sgd_sgd_vs_torch_sgd", "dropin_adam_sgd_vs_torch_adam", "hyper3_vs_sgd"):
        assert isinstance(result[key], float) and result[key] == result[key], key  # measured, not NaN or missing
    assert set(result["seeds_step_ms"]) == {"1", "4", "8", "16"} and len(result["tower_step_ms"]) == 11
    assert {"ours_compiled_adam_sgd", "reference_rmsprop_sgd", "torch_adam"} <= set(result["step_ms"])
    assert set(result["lrfree_vs_base"]) == {"prodigy", "dadapt_adam", "dog", "sgd_schedulefree"} and all(v > 0 for v in result["lrfree_vs_base"].values())


def test_gpu_check_runs_its_figures_on_a_cpu(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--quick", "--json", str(tmp_path / "g.json")], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    figures = json.loads((tmp_path / "g.json").read_text())
    assert figures["resnet20"]["epoch_s_1_seed"] > 0 and figures["charlstm"]["throughput_gain"] > 0 and figures["mlp"]["run_s_2_seeds"] > 0
    assert figures["estimate"]["line"].startswith("estimate: ") and "on cpu with 1 worker" in figures["estimate"]["line"]
    assert figures["dropin_step_syncs"] == "not checked on cpu"  # CUDA's sync debug mode exists only on a GPU


def test_gpu_check_without_a_gpu_says_so_in_one_line():
    out = subprocess.run(["bash", "benchmarks/gpu_check.sh"], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable})
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "no CUDA device" in out.stderr


def test_estimate_accuracy_runs_the_dry_run_and_the_job_side_by_side(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/estimate_accuracy.py", "--profile", "smoke", "--studies", "mlp_cost", "--json", str(tmp_path / "e.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads((tmp_path / "e.json").read_text())
    assert figures["measured_s"] > 0 and figures["estimate_s"] >= 0 and "estimate: 22 runs" in out.stdout
