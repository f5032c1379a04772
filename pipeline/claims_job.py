"""The main job: run the sweeps the claims need, decide every claim, log and report.

    python -m pipeline.claims_job --profile cpu                   # what `mlflow run . -e claims` runs (MLP claims)
    python -m pipeline.claims_job --profile cpu --benchmarks all  # + ResNet-20 and char-LSTM (30 to 40 more minutes)
    python -m pipeline.claims_job --profile cpu --no-sweep        # decide from the runs already tracked (`-e report`)

Logs one run in experiment ``claims``: tags ``verdict.<ID>``, metrics per claim
(effect, CI, p-values, seeds), the verdict table, and the report under
``report/``. Prints the verdict table and the report's path. This module sits
above every other: it trains (training), decides (claims) and reports (analysis).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch

from analysis.verdicts import decided_first, lead, scope_counts, summary_rows
from claims.runs import RunTables
from claims.verdict import Verdict
from papers.ultimate_optimizer.catalogue import CATALOGUE, drop_stale, evaluate
from papers.ultimate_optimizer.report import write_report
from papers.ultimate_optimizer.studies import ALL_STUDIES, BEYOND, DERIVED, STUDIES, build_study, labels, parse_benchmarks
from papers.ultimate_optimizer.studies.mlp import reruns
from pipeline import estimate, paper_job, publish
from pipeline.claims_run import claim_metrics, print_verdicts, report_guarded, verdict_tags
from pipeline.plan import explain_not_run, studies_to_train
from training.baselines import PACKAGED
from training.core import interrupt
from training.core.config import MAX_SEEDS, MAX_WORKERS, ConfigError, Profile, parse_count, require_package
from training.core.loop import resolve_device
from training.data import DataError
from training.hyper.stackspec import parse_stack
from training.runners import choice
from training.runners.base import Runner
from training.runners.local import sweep_data
from training.sweep import SweepSummary, run_study
from training.tracking import schema
from training.tracking.runs import load_runs
from training.tracking.store import StoreUnavailable, redact, sqlite_file, tracking_uri, ui_link
from training.tracking.store_setup import hold_store, ready_store
from training.tracking.writer import describe_experiments, finish_launched, log_claims_run

DEFAULT_PAPER = "ultimate_optimizer"  # decided here; another paper's job is pipeline.paper_job


def learned_hyperparameters(tables: RunTables) -> list[tuple[str, int, str, dict[str, float]]]:
    """(cell, seed, stack, {name: final value at level 0}) of every finished, non-diverged Table 1 stack run."""
    runs = tables.runs
    stacks = runs[(runs.study == labels.MLP_TABLE1) & runs.cell.map(labels.is_stack) & ~runs.diverged]
    prefix = schema.hp_metric("0.")
    out = []
    for _, run in stacks.iterrows():
        learned = {key.removeprefix(prefix): float(run[key]) for key in run.index if key.startswith(prefix) and np.isfinite(run[key])}
        out.append((run.cell, int(run.seed), run["stack"], learned))
    return out


def run_sweeps(profile: Profile, runner: Runner, seeds: int | None = None, extra_tags: dict[str, str] | None = None,
               benchmarks: tuple[str, ...] = ("mlp",), only: tuple[str, ...] = (), beyond: bool = False) -> list[SweepSummary]:
    """Train every study of ``benchmarks`` (of ``only``, when given; with ``beyond``, ours beyond the paper too) that can
    inform a verdict at ``profile`` with an entered runner; the timing studies last, alone."""
    chosen, skipped = studies_to_train(profile, benchmarks, only, beyond)
    for name, why in skipped.items():
        print(f"  {name}: skipped, {why}", file=sys.stderr)
    summaries = []
    for name in chosen:
        summaries.append(run_study(build_study(name, profile), profile, runner, seeds, extra_tags))
        if name == DERIVED[labels.MLP_RERUNS]:
            learned = learned_hyperparameters(load_runs([name], profile))
            summaries.append(run_study(reruns(profile, learned), profile, runner, None, extra_tags))
    for summary in summaries:
        print(f"  {summary.line()}", file=sys.stderr)
    return summaries


def evaluate_profile(profile: Profile, tables: RunTables | None = None) -> tuple[RunTables, list[Verdict]]:
    """Every verdict from the store's runs of ``profile`` (``tables``: those runs, if already read)."""
    tables = drop_stale(tables if tables is not None else load_runs(list(ALL_STUDIES), profile), profile)
    return tables, explain_not_run(evaluate(tables), profile)


def description(profile: Profile, verdicts: list[Verdict], studies: dict[str, str]) -> str:
    """The claims run's page (Markdown): the counts by scope, the verdict table, where the report and the study runs are.

    ``studies``: {study name: its experiment id}, linked in the UI's model-training view.
    """
    ordered = decided_first(verdicts)
    rows = ["| claim | verdict | scope | effect [95% CI] (not run: why) |", "|---|---|---|---|"]
    rows += [f"| {row[0]} | {row[1]} | {row[2]} | {row[3].replace('|', '/')} |" for row in summary_rows(ordered)]
    links = ", ".join(f"[{name}](#/experiments/{ident}?{schema.UI_VIEW})" for name, ident in studies.items())
    return "\n".join([
        f"**hyperclaims verdicts, profile `{profile}`.** {lead(verdicts)}", "",
        f"The report: `{schema.REPORT_ARTIFACTS}/report.html` in this run's Artifacts tab (self-contained, opens offline). "
        f"{scope_counts(verdicts)}", "",
        *rows, "",
        f"Report: the artifact `{schema.REPORT_ARTIFACTS}/report.html` of this run (Artifacts tab; self-contained, opens offline), "
        f"and `{schema.REPORT_ARTIFACTS}/report.md`; the table as `{schema.VERDICT_TABLE}`.",
        f"Study runs: {links}; the ones this verdict used are those with `tags.{schema.PROFILE} = '{profile}'`.",
    ])


def study_notes(profile: Profile, studies: dict[str, str], run_id: str, claims_experiment: str) -> dict[str, str]:
    """{experiment id: its description}: what the study is for, the claims it serves, and the claims run that last used it."""
    notes = {}
    for name, ident in studies.items():
        if name in STUDIES:
            purpose, serves = (STUDIES[name].__doc__ or name).strip().splitlines()[0], ", ".join(build_study(name, profile).claims)
        else:  # derived from another study's runs
            purpose, serves = f"plain re-runs from the values {DERIVED[name]}'s stacks learned", f"those of {DERIVED[name]}"
        notes[ident] = (f"**{name}**: {purpose} Serves claims: {serves}. The runs of one profile: `tags.{schema.PROFILE} = '<profile>'`; "
                        f"a run's full stack is its param `stack`. Last decided by the claims run "
                        f"[{run_id}](#/experiments/{claims_experiment}/runs/{run_id}?{schema.UI_VIEW}) (profile `{profile}`).")
    return notes


def claim_tags(profile: Profile, verdicts: list[Verdict], studies: dict[str, str]) -> dict[str, str]:
    """verdict.<ID> and scope.<ID> of every claim, and the run's description."""
    return {schema.NOTE: description(profile, verdicts, studies), **verdict_tags(verdicts)}


def decide_and_report(profile: Profile, out: Path, params: dict[str, str], publish_to: Path | None = None, tables: RunTables | None = None) -> int:
    """Decide every claim from the tracked runs (``tables``, if already read), write the report (to ``publish_to`` as a published
    result, if given), log the claims run."""
    tables, verdicts = evaluate_profile(profile, tables)
    assert [v.claim.id for v in verdicts] == [c.id for c in CATALOGUE]
    folder = publish_to or out / profile
    with publish.written_whole(folder) as staging:
        report = write_report(profile, tables, verdicts, staging)
        if publish_to is not None:
            written = publish.write_result_files(staging, tables, verdicts, profile)
    if publish_to is not None:
        print(f"published to {folder}: report.md, report.html, figures/, {', '.join(p.name for p in written)}")
    studies = {name: tables.runs[tables.runs.study == name].experiment_id.iloc[0] for name in ALL_STUDIES if tables.has(name)}
    run_id, experiment = log_claims_run(profile, params, claim_tags(profile, verdicts, studies), claim_metrics(verdicts), publish.verdict_frame(verdicts), folder)
    describe_experiments(study_notes(profile, studies, run_id, experiment))
    print_verdicts(verdicts)
    print(f"report: {(folder / report.html.name).resolve()} (and report.md); claims run {run_id} in experiment '{schema.CLAIMS_EXPERIMENT}' at {redact(tracking_uri())}")
    print(f"in the MLflow UI: {ui_link(experiment, run_id)} (it opens the model-training view; one click on 'Model training' "
          "at the top of a page makes that view the default)")
    return 0


def decide_and_report_guarded(profile: Profile, out: Path, params: dict[str, str], publish_to: Path | None = None, tables: RunTables | None = None) -> int:
    """``decide_and_report``, with an interruption or a store that fails on the way as one line and an exit status."""
    return report_guarded(lambda: decide_and_report(profile, out, params, publish_to, tables),
                          f"mlflow run . -e report -P profile={profile} --env-manager local")


def parse_studies(text: str) -> tuple[str, ...]:
    """A comma list of trainable study names ('' or 'all' = all); ConfigError naming an unknown one."""
    names = () if text.strip() == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise ConfigError(f"unknown study {unknown[0]!r}; expected a comma list of {', '.join(STUDIES)}")
    return names


def parse_flag(name: str, text: str) -> bool:
    """true/false (also yes/no, 1/0) as MLflow passes a flag; ConfigError otherwise."""
    value = str(text).strip().lower()
    if value not in ("true", "false", "yes", "no", "1", "0"):
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    return value in ("true", "yes", "1")


def check_packages() -> None:
    """Every learning-rate-free optimizer's package imports, or one line saying how to install them."""
    for name in PACKAGED:
        try:
            require_package(parse_stack(name))
        except ConfigError as error:
            raise ConfigError(f"--beyond trains family F: {error}") from None


def dry_run(profile: Profile, benchmarks: tuple[str, ...], only: tuple[str, ...], seeds: int | None, workers: int, device: str,
            seeds_per_pass: int | None, beyond: bool = False) -> int:
    """Print what the job would train, study by study, and how long it would take here (and on one GPU, if present)."""
    chosen, skipped = studies_to_train(profile, benchmarks, only, beyond)
    for name, why in skipped.items():
        print(f"  {name}: would be skipped, {why}")
    workers = 1 if device.startswith("cuda") else workers
    plans = estimate.plan_studies(chosen, profile, seeds, seeds_per_pass, workers, device)
    print(f"calibrating: a few steps of each stack shape on {device} ...", file=sys.stderr, flush=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(1 if workers > 1 and device == "cpu" else previous)  # as each worker runs
    try:
        print("\n".join(estimate.describe(estimate.estimate(plans, estimate.Clock(torch.device(device)), workers), device, workers)))
    finally:
        torch.set_num_threads(previous)
    gpu = estimate.one_gpu(chosen, profile, seeds, seeds_per_pass) if device == "cpu" else None
    if gpu is not None:
        print(estimate.describe(gpu, "cuda", 1)[-1].replace("estimate:", "estimate on one GPU:"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.claims_job",
                                     description="Run the sweeps the claims need, decide every claim, write the verdict report.")
    parser.add_argument("--paper", default=DEFAULT_PAPER, help=f"the paper on trial: {DEFAULT_PAPER} (default) or "
                        f"{', '.join(paper_job.PAPERS)} (its own studies: --benchmarks, --studies, --beyond and --dry-run are this paper's)")
    parser.add_argument("--profile", default="cpu", help="smoke (about a minute: checks the pipeline, decides nothing about the paper), cpu (default: about 10 minutes of "
                        "training on 2 cores), paper (the published protocol: hours; --dry-run says how many)")
    parser.add_argument("--seeds", default=None, help="override every study's seed count")
    parser.add_argument("--workers", default="2", help="worker processes for training (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--out", default="reports", help="folder for the report (default reports/)")
    parser.add_argument("--benchmarks", default="mlp", help="which benchmarks to train: mlp (default), all, or a comma list of mlp, resnet20, charlstm; "
                        "claims of benchmarks not trained are decided from tracked runs, or NOT_RUN")
    parser.add_argument("--studies", default="", help=f"train only these studies, a comma list of {', '.join(STUDIES)} (e.g. mlp_table1,mlp_long: the Table 1 family; "
                        "the re-runs follow mlp_table1); every claim is still decided from the runs tracked")
    parser.add_argument("--beyond", nargs="?", const="true", default="false", help="also train our studies beyond the paper (family F: "
                        "learning-rate-free optimizers, needs pip install -e '.[baselines]'; D3, D4: towers to height 50); implied by --studies naming one")
    parser.add_argument("--dry-run", nargs="?", const="true", default="false", help="print the plan and its calibrated wall-time estimate "
                        "(a few real steps of each model on the device, seconds); train nothing; run directly, touch no store (under `mlflow run`, "
                        "MLflow's launcher makes the store and a run of its own first)")
    parser.add_argument("--publish", default="", help="write the report, verdicts.json, plan.json and provenance.json to this folder "
                        "(a published result, e.g. results/paper-mlp-table1) instead of OUT/PROFILE")
    parser.add_argument("--no-sweep", action="store_true", help="train nothing; decide from tracked runs and rebuild the report")
    choice.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The job; under `mlflow run` it stops with its launcher and records its exit status there (``finish_launched``)."""
    interrupt.handle_interruptions(follow_parent=schema.LAUNCHER_ENV in os.environ)
    try:
        code = run_job(argv)
        if code == 0:
            interrupt.raise_if_received()  # one swallowed by a finaliser late in the job still ends it as interrupted
    except KeyboardInterrupt as interruption:  # before the sweeps start or after the report: nothing half-done to keep
        print(f"{interrupt.describe(interruption)}: every finished run is kept", file=sys.stderr)
        code = interrupt.exit_status(interruption)
    return finish_launched(code)


def other_paper(args: argparse.Namespace) -> int:
    """The job for a paper other than the default one (``pipeline.paper_job``), with the options that apply to it."""
    own = {"benchmarks": "mlp", "studies": "all", "beyond": "false", "dry_run": "false"}
    given = [name.replace("_", "-") for name, default in own.items() if str(getattr(args, name)).strip() not in (default, "")]
    if given:
        return choice.refuse(ConfigError(f"--{given[0]} chooses among {DEFAULT_PAPER}'s studies; paper {args.paper!r} trains all of its own"))
    return paper_job.run(args)


def run_job(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.paper != DEFAULT_PAPER:
        return other_paper(args)
    held = ExitStack()
    try:
        args.profile = Profile.parse(args.profile)  # the typed value from here down
        seeds = parse_count("seeds", args.seeds, 2, MAX_SEEDS)
        workers = parse_count("workers", args.workers, 1, MAX_WORKERS) or 2
        device = str(resolve_device(args.device))
        try:
            benchmarks = parse_benchmarks(args.benchmarks)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        only = parse_studies(args.studies)
        beyond = parse_flag("beyond", args.beyond) or any(name in BEYOND for name in only)
        if beyond:
            check_packages()
        if parse_flag("dry-run", args.dry_run):  # touches no folder and no store
            return dry_run(args.profile, benchmarks, only, seeds, workers, device, choice.parse_seeds_per_pass(args.seeds_per_pass), beyond)
        publish_to = publish.publish_folder(args.publish)
        out = publish.writable_folder(args.out, "report") if publish_to is None else Path(args.out)
        if args.no_sweep:  # reads the store (a sweep may be writing it) and logs one run: no need to hold it
            nothing = (f"holds no finished runs of the {args.profile} profile: nothing to decide; train them first "
                       f"(mlflow run . -e claims -P profile={args.profile})")
            store_file = sqlite_file(tracking_uri())
            if store_file is not None and not store_file.exists():  # a report makes no store
                raise ConfigError(f"there is no store at {redact(tracking_uri())}: it {nothing}")
            ready_store()
            tracked = load_runs(list(ALL_STUDIES), args.profile)
            if tracked.runs.empty:
                raise ConfigError(f"the store at {redact(tracking_uri())} {nothing}")
            return decide_and_report_guarded(args.profile, out, {"profile": args.profile, "trained": "false"}, publish_to, tracked)
        runner = choice.make_runner(args, workers, device)
        hold_store(held)
        for model in benchmarks:
            sweep_data(model)  # checks the data up front; the sweeps reuse what it loaded
    except (ConfigError, DataError, StoreUnavailable) as error:
        held.close()
        return choice.refuse(error)
    started = time.perf_counter()
    tags = {schema.CLAIMS_LAUNCHER: os.environ[schema.LAUNCHER_ENV]} if schema.LAUNCHER_ENV in os.environ else {}
    with held:
        code = choice.run_guarded(runner, lambda r: run_sweeps(args.profile, r, seeds, tags, benchmarks, only, beyond))
        if code is not None:
            return code
        params = {"profile": args.profile, "benchmarks": ",".join(benchmarks), "studies": ",".join(only) or "all", "beyond": str(beyond).lower(),
                  "executor": args.executor,
                  "seeds": str(seeds or "default"), "workers": str(workers), "device": device, "trained": "true"}
        code = decide_and_report_guarded(args.profile, out, params, publish_to)
    print(f"total {time.perf_counter() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
