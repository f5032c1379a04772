"""The main job: run the sweeps the claims need, decide every claim, log and report.

    python -m claims.cli --profile cpu                   # what `mlflow run . -e claims` runs (MLP claims)
    python -m claims.cli --profile cpu --benchmarks all  # + ResNet-20 and char-LSTM (30 to 40 more minutes)
    python -m claims.cli --profile cpu --no-sweep        # decide from the runs already tracked

Logs one run in experiment ``claims``: tags ``verdict.<ID>``, metrics per claim
(effect, CI, p-values, seeds), the verdict table, and the report under
``report/``. Prints the verdict table and the report's path.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from analysis.report import write_report
from claims.engine import CATALOGUE, evaluate_profile, parse_benchmarks, run_sweeps
from claims.verdict import Verdict
from training import executors
from training.config import PROFILES, ConfigError
from training.data import DataError
from training.loop import resolve_device
from training.remote import redact
from training.sweep import parse_count, sweep_data
from training.tracking import client, code_version, experiment_id, tracking_uri

EXPERIMENT = "claims"


def verdict_frame(verdicts: list[Verdict]) -> pd.DataFrame:
    rows = []
    for v in verdicts:
        e = v.evidence
        rows.append({
            "claim": v.claim.id, "family": v.claim.family, "source": v.claim.source, "published": v.claim.published,
            "verdict": v.verdict, "effect": e.effect if e else None, "ci_low": e.ci[0] if e else None, "ci_high": e.ci[1] if e else None,
            "effect_label": e.effect_label if e else "", "p_support_holm": v.p_support_adjusted, "p_refute_holm": v.p_refute_adjusted,
            "seeds": e.n if e else 0, "seeds_needed": v.seeds_needed, "ours": e.ours if e else "", "reason": v.reason,
        })
    return pd.DataFrame(rows)


def claim_metrics(verdicts: list[Verdict], when_ms: int) -> list[Metric]:
    metrics = []
    for v in verdicts:
        if v.evidence is None:
            continue
        e = v.evidence
        for key, value in (("effect", e.effect), ("ci_low", e.ci[0]), ("ci_high", e.ci[1]), ("p_support", e.p_support),
                           ("p_support_holm", v.p_support_adjusted), ("p_refute_holm", v.p_refute_adjusted), ("seeds", e.n)):
            metrics.append(Metric(f"{v.claim.id}.{key}", float(value), when_ms, 0))
    return metrics


def log_claims_run(profile: str, params: dict[str, str], verdicts: list[Verdict], report_dir: Path) -> str:
    """One run in experiment 'claims' holding the verdicts and the report."""
    tracking = client()
    run_id = tracking.create_run(experiment_id(tracking, EXPERIMENT), run_name=f"claims {profile}").info.run_id
    tags = {f"verdict.{v.claim.id}": v.verdict for v in verdicts}
    tags.update({"profile": profile, "code_version": code_version()})
    metrics = claim_metrics(verdicts, int(time.time() * 1000))
    tracking.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()], tags=[RunTag(k, v) for k, v in tags.items()])
    tracking.log_table(run_id, verdict_frame(verdicts), "verdicts.json")
    tracking.log_artifacts(run_id, str(report_dir), artifact_path="report")
    tracking.set_terminated(run_id, "FINISHED")
    launcher = os.environ.get("MLFLOW_RUN_ID")
    if launcher:
        tracking.set_tag(launcher, "claims_run_id", run_id)
    return run_id


def print_verdicts(verdicts: list[Verdict]) -> None:
    width = max(len(v.verdict) for v in verdicts)
    for v in verdicts:
        e = v.evidence
        detail = f"effect {e.effect:.3g} [{e.ci[0]:.3g}, {e.ci[1]:.3g}], p_holm {v.p_support_adjusted:.3g}, n={e.n}" if e else v.reason
        print(f"{v.claim.id:<4} {v.verdict:<{width}}  {detail}")


def decide_and_report(profile: str, out: Path, params: dict[str, str]) -> int:
    tables, verdicts = evaluate_profile(profile)
    assert [v.claim.id for v in verdicts] == [c.id for c in CATALOGUE]
    folder = out / profile
    report = write_report(profile, tables, verdicts, folder)
    run_id = log_claims_run(profile, params, verdicts, folder)
    print_verdicts(verdicts)
    print(f"report: {report.html.resolve()} (and report.md); claims run {run_id} in experiment '{EXPERIMENT}' at {redact(tracking_uri())}")
    return 0


def report_only(profile: str, out: Path) -> int:
    if profile not in PROFILES:
        print(f"error: unknown profile {profile!r}; expected one of {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    return decide_and_report(profile, out, {"profile": profile, "trained": "false"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m claims.cli", description="Run the sweeps the claims need, decide every claim, write the verdict report.")
    parser.add_argument("--profile", default="cpu", help="smoke (seconds, tests), cpu (default, about 15 minutes on 2 cores), paper (the published protocol)")
    parser.add_argument("--seeds", default=None, help="override every study's seed count")
    parser.add_argument("--workers", default="2", help="worker processes for training (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--out", default="reports", help="folder for the report (default reports/)")
    parser.add_argument("--benchmarks", default="mlp", help="which benchmarks to train: mlp (default), all, or a comma list of mlp, resnet20, charlstm; "
                        "claims of benchmarks not trained are decided from tracked runs, or NOT_RUN")
    parser.add_argument("--no-sweep", action="store_true", help="train nothing; decide from tracked runs")
    executors.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.profile not in PROFILES:
            raise ConfigError(f"unknown profile {args.profile!r}; expected one of {', '.join(PROFILES)}")
        seeds = parse_count("seeds", args.seeds, 2)
        workers = parse_count("workers", args.workers, 1) or 2
        device = str(resolve_device(args.device))
        benchmarks = parse_benchmarks(args.benchmarks)
        runner = executors.make_runner(args, workers, device)
        for model in benchmarks:
            sweep_data(model)  # checks the data up front; the sweeps reuse what it loaded
    except (ConfigError, DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    if not args.no_sweep:
        tags = {"claims_launcher": os.environ["MLFLOW_RUN_ID"]} if "MLFLOW_RUN_ID" in os.environ else {}
        code = executors.run_guarded(runner, lambda r: run_sweeps(args.profile, r, seeds, tags, benchmarks))
        if code is not None:
            return code
    params = {"profile": args.profile, "benchmarks": ",".join(benchmarks), "executor": args.executor, "seeds": str(seeds or "default"), "workers": str(workers), "device": device, "trained": str(not args.no_sweep).lower()}
    code = decide_and_report(args.profile, Path(args.out), params)
    print(f"total {time.perf_counter() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
