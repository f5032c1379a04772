"""The whole claims job at the smoke profile, through `mlflow run`, on a real SQLite store."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from support.cli import REPO, environment

from papers.ultimate_optimizer.catalogue import CATALOGUE
from papers.ultimate_optimizer.studies import ALL_STUDIES
from pipeline import sweep
from training.core.config import make_config
from training.core.loop import train_run
from training.tracking.runs import load_runs
from training.tracking.writer import RunLogger


def claims_runs(client: MlflowClient):
    experiment = client.get_experiment_by_name("claims")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def test_claims_run_is_logged_with_every_verdict(smoke_job):
    folder, uri, done = smoke_job
    client = MlflowClient(uri)
    (run,) = claims_runs(client)
    verdict_tags = {k.split(".", 1)[1]: v for k, v in run.data.tags.items() if k.startswith("verdict.")}
    assert sorted(verdict_tags) == sorted(c.key for c in CATALOGUE)  # a part's tag: verdict.C2.mlp
    assert set(verdict_tags.values()) <= {"SUPPORTED", "REFUTED", "INCONCLUSIVE", "NOT_RUN"}
    scope_tags = {k.split(".", 1)[1]: v for k, v in run.data.tags.items() if k.startswith("scope.")}
    assert sorted(scope_tags) == sorted(verdict_tags) and set(scope_tags.values()) <= {"protocol", "reduced", "none"}
    # smoke trains 1-2 epochs of slices: no MLP claim is at protocol, and the duration claims are not decided
    assert all(scope_tags[c] == "reduced" for c in ("A1", "A5", "C2.mlp", "D1")) and scope_tags["E3"] == "protocol"
    assert verdict_tags["C2"] == "NOT_RUN"  # decided only once every benchmark's part has run
    assert all(verdict_tags[c] == "NOT_RUN" and scope_tags[c] == "reduced" for c in ("A6", "A7", "B1", "B5", "B6", "C3"))
    # -P beyond=true trained our studies beyond the paper, and their claims were decided from them
    assert all(verdict_tags[c] != "NOT_RUN" and scope_tags[c] == "reduced" for c in ("D3", "D4", "F1.mlp", "F2.mlp", "F3"))
    assert run.data.params["beyond"] == "true"
    assert {"A1.effect", "A1.ci_low", "A1.ci_high", "A1.p_support_holm", "A1.seeds"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"verdicts.json", "report/report.html", "report/report.md", "report/figures"} <= artifacts
    # the table, with each verdict's scope, and the report path are printed
    assert any(line.startswith("A1 ") and " reduced " in line for line in done.stdout.splitlines()) and "report: " in done.stdout


def test_main_job_trains_the_seeds_of_a_config_together_each_as_its_own_run(smoke_job):
    _, uri, _ = smoke_job
    client = MlflowClient(uri)
    table = client.search_runs([client.get_experiment_by_name("mlp_table1").experiment_id])
    assert {run.data.tags["seeds_in_pass"] for run in table} == {"2"}  # smoke: 2 seeds, one pass per cell
    assert len({run.data.tags["config_hash"] for run in table}) == len(table) and {run.data.tags["seed"] for run in table} == {"0", "1"}
    cost = client.search_runs([client.get_experiment_by_name("mlp_cost").experiment_id])
    assert {run.data.tags["seeds_in_pass"] for run in cost} == {"1"}  # the timing study times one run at a time


def test_report_is_self_contained(smoke_job):
    folder, _, _ = smoke_job
    page = (folder / "reports" / "smoke" / "report.html").read_text()
    assert '<h2 id="summary">Summary</h2>' in page and 'src="data:image/png;base64,' in page
    assert "src=\"http" not in page and "src='http" not in page
    markdown = (folder / "reports" / "smoke" / "report.md").read_text()
    for heading in ("## Scope of reproducibility", "## Methodology", "## Results", "## What was easy, what was hard"):
        assert heading in markdown
    assert "evaluation failed" not in markdown  # no claim crashed
    # the first screen: the headline claims and what this result decides, counts by scope, contents, the forest plot, the summary
    lower = markdown.lower()
    assert lower.index("headline claim") < markdown.index("At the paper's protocol:") < markdown.index("Contents: [Summary](#summary)") \
        < markdown.index("figures/forest.png") < markdown.index("## Summary")
    assert markdown.count("figures/table1.png") == 1 and markdown.count("(#fig-table1)") >= 2
    assert "Pre-registration log, version" in markdown and "Minimum protocol:" in markdown
    assert "## Beyond the paper" in markdown and all(f"figures/{name}.png" in markdown for name in ("lrfree", "tall", "top"))


def test_second_run_trains_nothing_and_duplicates_nothing(smoke_job):
    folder, uri, _ = smoke_job
    before = len(load_runs(list(ALL_STUDIES), "smoke", MlflowClient(uri)).runs)
    done = subprocess.run([sys.executable, "-m", "pipeline.claims_job", "--profile", "smoke", "--out", str(folder / "again")],
                          cwd=REPO, env=environment(uri), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert " 0 trained" in done.stderr and "already finished" in done.stderr
    tables = load_runs(list(ALL_STUDIES), "smoke", MlflowClient(uri))
    assert len(tables.runs) == before and "duplicate" not in tables.excluded
    first, second = claims_runs(MlflowClient(uri))
    assert {k: v for k, v in first.data.tags.items() if k.startswith("verdict.")} == {k: v for k, v in second.data.tags.items() if k.startswith("verdict.")}


def test_report_entry_point_rebuilds_without_training(smoke_job):
    folder, uri, _ = smoke_job
    done = subprocess.run([sys.executable, "-m", "mlflow", "run", str(REPO), "-e", "report", "-P", "profile=smoke", "-P", f"out={folder / 'rebuilt'}",
                           "--env-manager", "local"], cwd=folder, env=environment(uri), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (folder / "rebuilt" / "smoke" / "report.html").exists()
    assert "trained" not in done.stderr


def test_verdict_table_artifact(smoke_job):
    folder, uri, _ = smoke_job
    client = MlflowClient(uri)
    run = claims_runs(client)[0]
    path = client.download_artifacts(run.info.run_id, "verdicts.json", str(folder))
    table = json.loads(Path(path).read_text())
    assert set(table["columns"]) >= {"claim", "verdict", "scope", "scope_cuts", "effect", "ci_low", "ci_high", "p_support_holm", "seeds",
                                     "version", "changed_after_runs", "power_at_published_effect"}
    assert len(table["data"]) == len(CATALOGUE)


def test_partial_store_counts_each_config_once(store, mnist):
    train, test = mnist
    config = make_config(stack="sgd(0.01) / sgd(0.01)", epochs=1, profile="smoke")
    result = train_run(config, train, test)
    for status in ("FINISHED", "FINISHED", "FAILED"):  # a retried run, and a dead attempt
        logger = RunLogger.open(config, "mlp_table1", tags={"study": "mlp_table1", "cell": "stack:sgd:0"})
        for record in result.epochs:
            logger.log_epoch(record)
        logger.finish(result) if status == "FINISHED" else logger.fail(status)
    tables = load_runs(["mlp_table1", "mlp_towers"], "smoke")
    assert len(tables.runs) == 1
    assert tables.excluded == {"FAILED": 1, "duplicate": 1}


@pytest.mark.parametrize("signum, status, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_interrupted_sweep_resumes_without_loss_or_duplicates(store, tmp_path, signum, status, said, monkeypatch, capsys):
    """Ctrl-C in a terminal, or a scheduler's SIGTERM (SLURM at the time limit, Kubernetes on eviction), to the whole process group."""
    uri = store
    command = [sys.executable, "-m", "pipeline.sweep", "--study", "mlp_depth", "--profile", "smoke"]  # 13 cells x 2 seeds
    # its own process group, so that the signal reaches the workers too, as Ctrl-C in a terminal does; and
    # SIGINT at its default, as in a terminal (a test run started in the background inherits it ignored)
    running = subprocess.Popen(command, cwd=REPO, env=environment(uri), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # the first progress line comes after a tenth of the runs were logged: interrupt right then
    line = ""
    for line in running.stderr:
        if "runs, " in line:
            break
    os.killpg(running.pid, signum)
    client = MlflowClient(uri)  # only now: two processes creating a new store's tables at once collide
    _, rest = running.communicate(timeout=120)
    stderr = line + rest
    assert running.returncode == status, stderr[-2000:]
    assert f"{said}: every finished run is kept" in stderr and "Traceback" not in stderr
    kept = len(load_runs(["mlp_depth"], "smoke", client).runs)
    assert 2 <= kept < 26
    if signum != signal.SIGINT:
        return  # what follows an interruption is the same whatever signal it was
    # the rerun, here in process on one worker (the imports and a worker pool would cost seconds): it trains only what is missing
    monkeypatch.chdir(tmp_path)
    assert sweep.main(command[3:] + ["--workers", "1"]) == 0
    assert f"{kept} already finished, {26 - kept} trained" in capsys.readouterr().out
    tables = load_runs(["mlp_depth"], "smoke", client)
    assert len(tables.runs) == 26 and "duplicate" not in tables.excluded
