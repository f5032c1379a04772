"""The main job for a paper other than the default one: train its studies, decide its claims, write its report.

    python -m pipeline.claims_job --paper hd2018 --profile cpu      # `mlflow run . -e claims -P paper=hd2018`

The same parts as the default paper's job (``pipeline.claims_job``): runs tracked in MLflow, one experiment per
study, skipped when already FINISHED; the engine decides (Holm within each family); the verdict document goes to
OUT/<paper>-<profile>/ (or a published folder) and a claims run is logged with a tag per verdict.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from analysis.verdicts import write_verdicts_report
from claims import engine
from claims.runs import RunTables
from papers import hd2018
from papers.paper import Paper
from pipeline import publish
from pipeline.claims_run import claim_metrics, print_verdicts, report_guarded, verdict_tags
from training.core.config import MAX_SEEDS, MAX_WORKERS, ConfigError, Profile, parse_count
from training.core.loop import resolve_device
from training.data import DataError
from training.runners import choice
from training.runners.local import sweep_data
from training.sweep import run_study
from training.tracking import schema
from training.tracking.runs import load_runs
from training.tracking.store import StoreUnavailable, ui_link
from training.tracking.store_setup import hold_store, ready_store
from training.tracking.writer import log_claims_run

PAPERS: dict[str, Paper] = {hd2018.PAPER.name: hd2018.PAPER}  # the default paper runs through pipeline.claims_job


def train(paper: Paper, profile: Profile, runner, seeds: int | None, tags: dict[str, str]) -> None:
    """Every study of ``paper`` at ``profile``: what is not yet FINISHED is trained, one summary line per study."""
    for name, builder in paper.studies.items():
        summary = run_study(builder(profile), profile, runner, seeds, tags)
        print(f"  {summary.line()}", flush=True)


def decide_and_report(paper: Paper, profile: Profile, folder: Path, params: dict[str, str], published: bool) -> int:
    """Read the runs of ``paper``'s studies, decide every claim, write the report into ``folder``, log the claims run."""
    tables: RunTables = load_runs(list(paper.studies), profile)
    verdicts = engine.evaluate(paper.catalogue, tables, paper.families, paper.missing_hint)
    with publish.written_whole(folder) as staging:
        report = write_verdicts_report(paper.title, paper.about(profile), tables, verdicts, staging, after=paper.sections)
        if published:
            publish.write_result_files(staging, tables, verdicts, profile, list(paper.studies))
    note = (f"**{paper.title}**, profile `{profile}`: the report is the artifact `{schema.REPORT_ARTIFACTS}/report.html` "
            f"(and `report.md`); the table as `{schema.VERDICT_TABLE}`.")
    run_id, experiment = log_claims_run(f"{paper.name} {profile}", params, {schema.NOTE: note, **verdict_tags(verdicts)},
                                        claim_metrics(verdicts), publish.verdict_frame(verdicts), folder)
    print_verdicts(verdicts)
    print(f"report: {(folder / report.html.name).resolve()} (and report.md); claims run {run_id} in experiment '{schema.CLAIMS_EXPERIMENT}'")
    print(f"in the MLflow UI: {ui_link(experiment, run_id)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """The job for ``args.paper`` with the main job's parsed options (``pipeline.claims_job`` parses and refuses the ones
    that choose among the default paper's studies)."""
    held = ExitStack()
    try:
        if args.paper not in PAPERS:
            raise ConfigError(f"unknown paper {args.paper!r}; expected one of ultimate_optimizer, {', '.join(PAPERS)}")
        args.profile = Profile.parse(args.profile)  # the typed value from here down
        paper = PAPERS[args.paper]
        seeds = parse_count("seeds", args.seeds, 2, MAX_SEEDS)
        workers = parse_count("workers", args.workers, 1, MAX_WORKERS) or 2
        device = str(resolve_device(args.device))
        publish_to = publish.publish_folder(args.publish)
        folder = publish_to or publish.writable_folder(args.out, "report") / f"{paper.name}-{args.profile}"
        if args.no_sweep:
            ready_store()
        else:
            runner = choice.make_runner(args, workers, device)
            hold_store(held)
            for model in sorted({model for builder in paper.studies.values() for model in builder(args.profile).models}):
                sweep_data(model)
    except (ConfigError, DataError, StoreUnavailable) as error:
        held.close()
        return choice.refuse(error)
    with held:
        if not args.no_sweep:
            code = choice.run_guarded(runner, lambda r: train(paper, args.profile, r, seeds, {}))
            if code is not None:
                return code
        params = {"paper": paper.name, "profile": args.profile, "trained": str(not args.no_sweep).lower(), "seeds": str(seeds or "default")}
        return report_guarded(lambda: decide_and_report(paper, args.profile, folder, params, publish_to is not None),
                              f"mlflow run . -e report -P paper={paper.name} -P profile={args.profile} --env-manager local")
