"""Paper-scale analysis: how long a store of thousands of runs takes to become verdicts and a report.

Generates a store (once; ``--reuse`` keeps it) whose runs look like the paper
profile's MLP studies, seed after seed until ``--runs``: the same params and tags
the sweep logs, per-epoch metrics and every level's hyperparameters sampled every
10 steps, logged for real through MLflow in batches by the project's own
``RunLogger``. Then times, in one process each: loading the run tables, deciding
every claim, writing the report; on SQLite, and with ``--server`` through a local
``mlflow server`` on 127.0.0.1 reading the same database. Peak memory is the
process's maximum resident set.

    python benchmarks/analysis_scale.py --runs 10000 --store /tmp/scale --server
    python benchmarks/analysis_scale.py --dry-run          # 120 runs in a temporary folder: checks the script
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from papers.ultimate_optimizer.studies import build_study
from papers.ultimate_optimizer.studies.mlp import STUDIES as MLP_STUDIES
from training.core.loop import EpochRecord, RunResult
from training.core.tasks import steps_per_epoch
from training.tracking.writer import MAX_BATCH, RunLogger, epoch_metrics, run_params, study_tags

MNIST_TRAIN = 60_000


def synthetic_result(config, rng: np.random.Generator) -> RunResult:
    """Numbers of the shape a real run logs: per epoch train loss, test error, step time; every level's values every 10 steps."""
    steps = steps_per_epoch(config.model, MNIST_TRAIN, config.batch_size)
    names = [f"{depth}.{name}" for depth, level in enumerate(config.levels) for name in level.tuned]  # as HyperStack names them
    values = {name: abs(rng.normal(0.01, 0.005)) for name in names}
    records, step = [], 0
    for epoch in range(1, config.epochs + 1):
        samples = []
        for _ in range(steps // 10):
            step += 10
            values = {name: value * float(np.exp(rng.normal(0, 0.01))) for name, value in values.items()}
            samples.append((step, dict(values)))
        step = epoch * steps
        records.append(EpochRecord(epoch, float(rng.uniform(0.05, 0.5)), float(rng.uniform(2, 12)), float(rng.uniform(1, 3)), dict(values), samples))
    now = int(time.time() * 1000)
    return RunResult(records, False, None, step, 4096, 407_080, seeds_in_pass=8, started_ms=now - 60_000, ended_ms=now)


def planned_runs(count: int) -> list[tuple[str, object, object]]:
    """(study, cell, config) of the paper profile's MLP studies, seed block after seed block, ``count`` in all."""
    blocks = [(name, cell, config) for name in MLP_STUDIES for cell, config in build_study(name, "paper").configs("paper", seeds=1)]
    runs, seed = [], 0
    while len(runs) < count:
        runs += [(name, cell, replace(config, seed=seed)) for name, cell, config in blocks][: count - len(runs)]
        seed += 1
    return runs


def log_whole_run(study: str, cell, config, result: RunResult) -> None:
    """One run as the sweep logs it (params, tags, metrics, outcome), its metrics in full batches rather than one call per epoch."""
    logger = RunLogger.open(config, study, run_params(config, "cpu", MNIST_TRAIN, "MNIST"), study_tags(study, cell.label, build_study(study, "paper").claims),
                            start_time=result.started_ms)
    metrics = [m for record in result.epochs for m in epoch_metrics(record, result.ended_ms)]
    for start in range(0, len(metrics), MAX_BATCH):
        logger.mlflow.log_batch(logger.run_id, metrics=metrics[start : start + MAX_BATCH])
    logger.finish(result)


def generate(count: int) -> float:
    """Log ``count`` runs to the store in MLFLOW_TRACKING_URI; seconds taken."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for index, (study, cell, config) in enumerate(planned_runs(count)):
        log_whole_run(study, cell, config, synthetic_result(config, rng))
        if (index + 1) % max(count // 20, 1) == 0:
            print(f"  generated {index + 1}/{count} runs, {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def analyse(out: Path) -> dict[str, float]:
    """Load, decide, report from the store in MLFLOW_TRACKING_URI (in a fresh process: cold, as a user runs it)."""
    code = f"""
import json, resource, time
from pathlib import Path
t0 = time.perf_counter()
from papers.ultimate_optimizer.catalogue import drop_stale, evaluate
from papers.ultimate_optimizer.report import write_report
from papers.ultimate_optimizer.studies import ALL_STUDIES
from training.tracking.runs import load_runs
t1 = time.perf_counter()
tables = drop_stale(load_runs(list(ALL_STUDIES), "paper"), "paper")
t2 = time.perf_counter()
verdicts = evaluate(tables)
t3 = time.perf_counter()
write_report("paper", tables, verdicts, Path({str(out)!r}))
t4 = time.perf_counter()
print(json.dumps({{"runs": len(tables.runs), "import_s": t1 - t0, "load_s": t2 - t1, "verdicts_s": t3 - t2, "report_s": t4 - t3,
                  "total_s": t4 - t0, "histories_read": len(tables._histories),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}}))
"""
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def through_server(database: Path, out: Path) -> dict[str, float]:
    """The same analysis through a local tracking server reading ``database``."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{database}", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        uri = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        os.environ["MLFLOW_TRACKING_URI"] = uri
        return analyse(out)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--store", default="", help="folder of the generated store (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="use the store in --store as it is (generated before)")
    parser.add_argument("--server", action="store_true", help="also time the analysis through a local mlflow server")
    parser.add_argument("--dry-run", action="store_true", help="120 runs in a temporary folder, both stores: checks the script")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    runs = 120 if args.dry_run else args.runs
    folder = Path(args.store) if args.store and not args.dry_run else Path(tempfile.mkdtemp(prefix="hyperclaims-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "mlflow.db"
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{database}"
    os.chdir(folder)  # artifacts (none but the report's) beside the store
    figures: dict[str, object] = {"runs": runs}
    if not args.reuse:
        figures["generate_s"] = generate(runs)
        print(f"generated {runs} runs in {figures['generate_s']:.0f}s", flush=True)
    figures["sqlite"] = analyse(folder / "report-sqlite")
    print(f"sqlite: {json.dumps(figures['sqlite'])}", flush=True)
    if args.server or args.dry_run:
        figures["server"] = through_server(database, folder / "report-server")
        print(f"server: {json.dumps(figures['server'])}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
