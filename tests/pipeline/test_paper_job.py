"""A second paper through the main job (`-P paper=hd2018`): its studies trained, its claims decided, its report and a
claims run written; the default paper's options refused for it in one line. In this process, on the test's store."""

import json

from support.cli import REPO

from papers.hd2018.catalogue import CATALOGUE
from papers.ultimate_optimizer import studies as default_paper
from pipeline import claims_job, sweep
from pipeline.paper_job import PAPERS
from training.tracking.runs import load_runs


def test_the_main_job_trains_decides_and_publishes_a_second_paper(store, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = tmp_path / "hd2018-smoke"
    assert claims_job.main(["--paper", "hd2018", "--profile", "smoke", "--workers", "1", "--publish", str(result)]) == 0, capsys.readouterr().err[-2000:]
    out = capsys.readouterr().out
    assert "hd2018_logreg: 12 planned, 0 already finished, 12 trained" in out and "B1[logreg]" in out  # 6 cells x 2 seeds
    verdicts = {v["claim"]: v for v in json.loads((result / "verdicts.json").read_text())}
    assert list(verdicts) == [c.id for c in CATALOGUE]
    assert verdicts["B1[logreg]"]["scope"] == "reduced" and verdicts["B1[logreg]"]["verdict"] != "NOT_RUN"  # smoke: decided, labelled reduced
    assert verdicts["C2[logreg]"]["verdict"] == "NOT_RUN"  # a duration claim below its minimum protocol
    assert verdicts["B2[logreg]"]["verdict"] != "NOT_RUN" and "VGG-16" in verdicts["B2[vgg]"]["reason"]
    assert "training loss only" in verdicts["B1[logreg]"]["covers"]
    assert "Hypergradient descent" in (result / "report.md").read_text()
    assert len(load_runs(["hd2018_logreg", "hd2018_mlp", "hd2018_hr_logreg"], "smoke").runs) == 12 + 12 + 18 * 2  # the grid at smoke: 2 alpha_0 x (3 bases + 3 HD methods x 2 betas)
    again = ["--paper", "hd2018", "--profile", "smoke", "--workers", "1", "--out", str(tmp_path / "again"), "--publish", "none"]  # as MLproject
    assert claims_job.main(again) == 0
    assert "hd2018_logreg: 12 planned, 12 already finished, 0 trained" in capsys.readouterr().out  # a rerun trains nothing
    report = tmp_path / "again" / "hd2018-smoke"
    assert (report / "report.md").exists() and not (report / "verdicts.json").exists()  # 'none' publishes nothing


def test_the_default_papers_options_are_refused_for_another_in_one_line(store, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert claims_job.main(["--paper", "hd2018", "--benchmarks", "all"]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "--benchmarks chooses among ultimate_optimizer's studies" in said
    assert claims_job.main(["--paper", "nope"]) == 2
    assert "unknown paper 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()


def test_mlproject_passes_the_paper_to_the_main_job_and_the_report():
    text = (REPO / "MLproject").read_text()
    assert text.count("paper: {type: string, default: ultimate_optimizer}") == 2 and text.count("--paper {paper}") == 2


def test_the_sweep_command_knows_every_papers_studies_by_distinct_names(capsys):
    names = list(default_paper.STUDIES) + [name for paper in PAPERS.values() for name in paper.studies]
    assert len(names) == len(set(names)) == len(sweep.STUDIES)
    assert sweep.main(["--study", "hd2018_logreg", "--profile", "smoke", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip().endswith("runs planned")
