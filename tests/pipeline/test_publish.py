"""A published result: the report, verdicts, plan and provenance written to a folder from a store."""

import json
import shutil
import subprocess
import sys

from support.cli import environment

from claims.catalogue import CATALOGUE


def test_publish_writes_a_result_folder_from_the_store(smoke_job, tmp_path):
    folder, _, _ = smoke_job
    shutil.copy(folder / "mlflow.db", tmp_path / "mlflow.db")  # the shared job's store stays as it was
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = tmp_path / "results" / "smoke-sample"
    done = subprocess.run([sys.executable, "-m", "pipeline.claims_job", "--no-sweep", "--profile", "smoke", "--publish", str(result)],
                          cwd=tmp_path, env=environment(uri), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"report.md", "report.html", "figures", "verdicts.json", "plan.json", "provenance.json"} <= {p.name for p in result.iterdir()}
    verdicts = json.loads((result / "verdicts.json").read_text())
    assert [v["claim"] for v in verdicts] == [c.id for c in CATALOGUE] and all(v["scope"] in ("protocol", "reduced", "none") for v in verdicts)
    plan = {study["study"]: study for study in json.loads((result / "plan.json").read_text())}
    assert plan["mlp_table1"]["seeds"] == [0, 1] and plan["mlp_table1"]["epochs"] == [1] and plan["mlp_table1"]["train_size"] == ["2048"]
    provenance = json.loads((result / "provenance.json").read_text())
    assert provenance["profile"] == "smoke" and provenance["devices"] == ["cpu"] and provenance["sweep_wall_seconds"] > 0
    assert provenance["code_trained"] and provenance["machine"]["cpus"] >= 1 and provenance["runs"] == sum(s["runs"] for s in plan.values())
    assert "## Fidelity against Table 1" in (result / "report.md").read_text()


def test_an_unwritable_publish_folder_is_one_line_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "pipeline.claims_job", "--profile", "smoke", "--publish", str(blocker / "result")],
                          cwd=tmp_path, env=environment(f"sqlite:///{tmp_path / 'mlflow.db'}"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "cannot write to the publish folder" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "mlflow.db").exists()
