"""How close the dry run's estimate comes to the job it estimates: both, side by side, on this machine.

Runs ``pipeline.claims_job --dry-run`` and then the same job for real on a fresh
store, and prints the estimate, the measured wall time of the sweeps (from the
job's first run's start to its last run's end, as a published result counts it)
and their ratio. The issue's bar: within a factor of 1.5 for the ``cpu`` profile.

    python benchmarks/estimate_accuracy.py --profile cpu                 # the main job: about 10 minutes on 2 cores
    python benchmarks/estimate_accuracy.py --profile smoke --studies mlp_cost   # seconds: checks the script
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mlflow.tracking import MlflowClient

from papers.ultimate_optimizer.studies import ALL_STUDIES
from pipeline.publish import wall_seconds
from training.core.config import Profile
from training.tracking.runs import load_runs

REPO = Path(__file__).resolve().parents[1]


def job(args: list[str], store: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pipeline.claims_job", *args, "--out", str(store / "reports")], cwd=store, env=env,
                          capture_output=True, text=True, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--studies", default="all")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    store = Path(tempfile.mkdtemp(prefix="hyperclaims-estimate-"))
    options = ["--profile", args.profile, "--studies", args.studies]
    planned = job([*options, "--dry-run"], store).stdout
    runs, hours, minutes = map(int, re.search(r"^estimate: (\d+) runs, (\d+)h(\d\d) on", planned, re.M).groups())
    if runs == 0:  # e.g. a study below its minimum protocol at this profile: the job skips it
        print(f"error: the job plans no run for --studies {args.studies} at --profile {args.profile}: nothing to measure", file=sys.stderr)
        return 2
    estimate_s = 3600 * hours + 60 * minutes
    job(options, store)
    measured_s = wall_seconds(load_runs(list(ALL_STUDIES), Profile.parse(args.profile), MlflowClient(f"sqlite:///{store / 'mlflow.db'}")))
    figures = {"profile": args.profile, "studies": args.studies, "estimate_s": estimate_s, "measured_s": measured_s,
               "estimate_over_measured": estimate_s / measured_s}
    print(planned.strip())
    print(f"measured: {measured_s:.0f}s; estimate / measured = {estimate_s / measured_s:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
