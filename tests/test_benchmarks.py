"""The benchmark scripts' smoke paths run (their timings are never asserted)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_profile_pass_dry_run_splits_the_time_into_regions():
    out = subprocess.run([sys.executable, "benchmarks/profile_pass.py", "--dry-run", "--seeds", "2"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "2 seeds x 5 steps" in out.stdout
    for region in ("drawing batches", "forward and backward of the network", "hypergradients", "updates of every level", "test-set evaluation", "the rest"):
        assert region in out.stdout
