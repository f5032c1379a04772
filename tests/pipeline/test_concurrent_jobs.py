"""Two claims jobs on one SQLite store: the second is refused in one line naming the first; nothing is lost or counted twice."""

import subprocess
import sys

from mlflow.tracking import MlflowClient
from support.cli import environment

from training.tracking.runs import load_runs


def test_two_jobs_started_at_once_on_one_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [sys.executable, "-m", "pipeline.claims_job", "--profile", "smoke", "--studies", "mlp_cost", "--out", str(tmp_path / "reports")]
    jobs = [subprocess.Popen(command, cwd=tmp_path, env=environment(uri), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(job.wait(timeout=600), *job.communicate()) for job in jobs]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], outcomes
    _, _, refused = next(o for o in outcomes if o[0] == 3)
    assert refused.count("\n") == 1 and "is in use by another job (pid " in refused and "claims_job.py --profile smoke --studies mlp_cost" in refused and "Traceback" not in refused
    tables = load_runs(["mlp_cost"], "smoke", MlflowClient(uri))
    assert len(tables.runs) == 22 and not tables.excluded  # 11 heights x 2 seeds, each once (a rerun training nothing: test_claims_pipeline)
