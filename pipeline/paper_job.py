"""The main job for a paper other than the default one: train its studies, decide its claims, write its report.

    python -m pipeline.paper_job --paper hd2018 --profile cpu      # `mlflow run . -e claims -P paper=hd2018`

The same parts as the default paper's job (``pipeline.claims_job``): runs tracked in MLflow, one experiment per
study, skipped when already FINISHED; the engine decides (Holm within each family); the verdict document goes to
OUT/<paper>-<profile>/ (or a published folder) and a claims run is logged with a tag per verdict.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from analysis.verdicts import write_verdicts_report
from claims import engine
from claims.runs import RunTables
from papers import hd2018
from papers.paper import Paper
from pipeline import publish
from pipeline.claims_run import claim_metrics, print_verdicts, verdict_tags
from training.core import interrupt
from training.core.config import MAX_SEEDS, MAX_WORKERS, PROFILES, ConfigError, parse_count
from training.core.loop import resolve_device
from training.data import DataError
from training.runners import choice
from training.runners.local import sweep_data
from training.sweep import run_study
from training.tracking import schema
from training.tracking.runs import load_runs
from training.tracking.store import STORE_ERRORS, StoreUnavailable, first_line, redact, tracking_uri, ui_link
from training.tracking.store_setup import hold_store, ready_store
from training.tracking.writer import log_claims_run

PAPERS: dict[str, Paper] = {hd2018.PAPER.name: hd2018.PAPER}  # the default paper runs through pipeline.claims_job


def train(paper: Paper, profile: str, runner, seeds: int | None, tags: dict[str, str]) -> None:
    """Every study of ``paper`` at ``profile``: what is not yet FINISHED is trained, one summary line per study."""
    for name, builder in paper.studies.items():
        summary = run_study(builder(profile), profile, runner, seeds, tags)
        print(f"  {summary.line()}", flush=True)


def decide_and_report(paper: Paper, profile: str, folder: Path, params: dict[str, str], published: bool) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.paper_job", description=__doc__.split("\n\n")[0])
    parser.add_argument("--paper", required=True, help=f"one of {', '.join(PAPERS)}")
    parser.add_argument("--profile", default="cpu", help="smoke (checks the pipeline, decides nothing), cpu (default) or paper")
    parser.add_argument("--seeds", default=None, help="override every study's seed count")
    parser.add_argument("--workers", default="2", help="worker processes for training (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--out", default="reports", help="the report goes to OUT/<paper>-<profile>/ (default reports/)")
    parser.add_argument("--publish", default="", help="write the report, verdicts.json, plan.json and provenance.json to this folder instead")
    parser.add_argument("--no-sweep", action="store_true", help="train nothing; decide from tracked runs and rebuild the report")
    choice.add_arguments(parser)
    return parser


def run_job(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    held = ExitStack()
    try:
        if args.paper not in PAPERS:
            raise ConfigError(f"unknown paper {args.paper!r}; expected one of ultimate_optimizer, {', '.join(PAPERS)}")
        if args.profile not in PROFILES:
            raise ConfigError(f"unknown profile {args.profile!r}; expected one of {', '.join(PROFILES)}")
        paper = PAPERS[args.paper]
        seeds = parse_count("seeds", args.seeds, 2, MAX_SEEDS)
        workers = parse_count("workers", args.workers, 1, MAX_WORKERS) or 2
        device = str(resolve_device(args.device))
        folder = publish.publish_folder(args.publish) or publish.writable_folder(args.out, "report") / f"{paper.name}-{args.profile}"
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
        try:
            return decide_and_report(paper, args.profile, folder, params, bool(args.publish))
        except KeyboardInterrupt as interruption:
            print(f"{interrupt.describe(interruption)} while deciding and reporting: every run is kept and the previous report left whole",
                  file=sys.stderr)
            return interrupt.exit_status(interruption)
        except STORE_ERRORS as error:
            print(f"error: the tracking store {redact(tracking_uri())} failed while deciding and reporting ({first_line(error)}); "
                  "every run is kept", file=sys.stderr)
            return 3


def main(argv: list[str] | None = None) -> int:
    interrupt.handle_interruptions(follow_parent=schema.LAUNCHER_ENV in os.environ)
    try:
        code = run_job(argv)
        if code == 0:
            interrupt.raise_if_received()
    except KeyboardInterrupt as interruption:
        print(f"{interrupt.describe(interruption)}: every finished run is kept", file=sys.stderr)
        code = interrupt.exit_status(interruption)
    return code


if __name__ == "__main__":
    sys.exit(main())
