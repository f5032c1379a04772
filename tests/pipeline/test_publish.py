"""A published result: the report, verdicts, plan and provenance written to a folder from a store.

The job's ``main`` runs here, in this process, on the test's store (a subprocess would spend seconds on imports)."""

import json
import shutil
import signal

import pytest
from support.signals import SignalsWhileCollected
from support.tables import run_tables

from papers.ultimate_optimizer.catalogue import CATALOGUE
from pipeline import claims_job, publish
from training.core import interrupt


def test_publish_writes_a_result_folder_from_the_store(smoke_job, store, tmp_path, monkeypatch, capsys):
    folder, _, _ = smoke_job
    shutil.copy(folder / "mlflow.db", tmp_path / "mlflow.db")  # into the test's store: the shared job's stays as it was
    monkeypatch.chdir(tmp_path)
    result = tmp_path / "results" / "smoke-sample"
    (result / "figures").mkdir(parents=True)
    (result / "figures" / "a-figure-the-new-report-does-not-draw.png").write_bytes(b"stale")
    assert claims_job.main(["--no-sweep", "--profile", "smoke", "--publish", str(result)]) == 0, capsys.readouterr().err[-2000:]
    assert {"report.md", "report.html", "figures", "verdicts.json", "plan.json", "provenance.json"} <= {p.name for p in result.iterdir()}
    verdicts = json.loads((result / "verdicts.json").read_text())
    assert [v["claim"] for v in verdicts] == [c.id for c in CATALOGUE] and all(v["scope"] in ("protocol", "reduced", "none") for v in verdicts)
    plan = {study["study"]: study for study in json.loads((result / "plan.json").read_text())}
    assert plan["mlp_table1"]["seeds"] == [0, 1] and plan["mlp_table1"]["epochs"] == [1] and plan["mlp_table1"]["train_size"] == ["2048"]
    provenance = json.loads((result / "provenance.json").read_text())
    assert provenance["profile"] == "smoke" and provenance["devices"] == ["cpu"] and provenance["sweep_wall_seconds"] >= provenance["sweep_busy_seconds"] > 0
    assert provenance["code_trained"] and provenance["machine"]["cpus"] >= 1 and provenance["runs"] == sum(s["runs"] for s in plan.values())
    assert "## Fidelity against Table 1" in (result / "report.md").read_text()
    assert not (result / "figures" / "a-figure-the-new-report-does-not-draw.png").exists()  # what it replaces is cleared


def test_busy_time_leaves_out_the_pauses_of_a_resumed_sweep():
    """Runs [0, 10] s and [5, 15] s overlap, then the sweep resumes 85 s later for [100, 110] s: busy 25 s, span 110 s."""
    rows = [{"study": "s", "cell": "c", "seed": seed, "run_id": str(seed), "start_time": start * 1000, "end_time": end * 1000}
            for seed, (start, end) in enumerate([(5, 15), (0, 10), (100, 110)])]
    tables = run_tables(rows)
    assert publish.busy_seconds(tables) == 25.0 and publish.wall_seconds(tables) == 110.0
    assert publish.busy_seconds(run_tables([])) is None


def test_an_unwritable_publish_folder_is_one_line_before_any_work(store, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    assert claims_job.main(["--profile", "smoke", "--publish", str(blocker / "result")]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "cannot write to the publish folder" in said
    assert not (tmp_path / "mlflow.db").exists()  # refused before the store was touched


def test_an_interruption_swallowed_while_the_report_is_drawn_leaves_the_previous_report(handlers, tmp_path):
    """CI once saw a SIGTERM sent while the report was written end in exit 0 with the new report in place: the signal had
    landed in a finaliser, where its exception is only printed."""
    folder = tmp_path / "smoke"
    folder.mkdir()
    (folder / "report.md").write_text("previous")
    with pytest.raises(interrupt.Terminated):
        with publish.written_whole(folder) as staging:
            (staging / "report.md").write_text("half")
            victim = SignalsWhileCollected(signal.SIGTERM)
            del victim
    assert (folder / "report.md").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["smoke"]
