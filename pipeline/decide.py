"""Claims over runs the toolkit did not train: a user's claims file, decided over an MLflow experiment's runs.

    python -m pipeline.decide --claims my_claims.py --experiment my-runs     # `mlflow run . -e decide -P claims=... -P experiment=...`

The claims file declares ``RUNS`` (``claims.declare.Runs``: which key is the cell, which the seed) and
``CLAIMS`` (``claims.declare.better`` and any ``claims.verdict.Claim`` over the study ``claims.declare.STUDY``).
Every FINISHED run of the experiment is read; a (cell, seed) trained twice counts once, the newest. The same
engine as the paper's decides (Holm within each family), the same verdict document is written under
``--out``, and a claims run is logged in experiment ``claims`` with a tag per verdict and the report.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from functools import partial
from pathlib import Path
from types import ModuleType

import pandas as pd
from mlflow.entities import Run, ViewType

from analysis.verdicts import write_verdicts_report
from claims import engine
from claims.declare import STUDY, Runs
from claims.runs import RunTables, newest_only
from claims.verdict import Claim, Verdict
from pipeline.claims_run import claim_metrics, print_verdicts, verdict_tags
from pipeline.publish import verdict_frame
from training.tracking import schema
from training.tracking.runs import read_histories
from training.tracking.store import STORE_ERRORS, StoreUnavailable, check_store, client, first_line, redact, tracking_uri, ui_link
from training.tracking.writer import log_claims_run


class ClaimsFileError(ValueError):
    """A claims file that cannot be used, in one line."""


def load_claims_file(path: Path) -> tuple[Runs, list[Claim]]:
    """(RUNS, CLAIMS) of a claims file; ClaimsFileError saying what is wrong with it."""
    if not path.is_file():
        raise ClaimsFileError(f"no claims file at {path}")
    spec = importlib.util.spec_from_file_location(f"user_claims_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ClaimsFileError(f"{path}, line {error.lineno}: {error.msg}") from None
    except Exception as error:  # the user's code: any failure is theirs to fix, said in one line
        raise ClaimsFileError(f"{path} failed to load: {first_line(error)}") from None
    return _declared(module, path)


def _declared(module: ModuleType, path: Path) -> tuple[Runs, list[Claim]]:
    runs, claims = getattr(module, "RUNS", None), getattr(module, "CLAIMS", None)
    if not isinstance(runs, Runs):
        raise ClaimsFileError(f"{path} must define RUNS = claims.declare.Runs(title=..., cell='params.<name>', seed='params.<name>')")
    if not isinstance(claims, list | tuple) or not claims or not all(isinstance(c, Claim) for c in claims):
        raise ClaimsFileError(f"{path} must define CLAIMS, a non-empty list of claims (claims.declare.better(...))")
    ids = [c.id for c in claims]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ClaimsFileError(f"{path}: claim ids must differ, repeated: {', '.join(repeated)}")
    return runs, list(claims)


def _raw(run: Run, key: str):
    kind, _, name = key.partition(".")
    return {"metrics": run.data.metrics, "params": run.data.params, "tags": run.data.tags}[kind].get(name)


def _value(run: Run, key: str):
    """A run's value of ``key``: a number where a param reads as one (MLflow keeps params as text)."""
    found = _raw(run, key)
    if key.startswith("params.") and found is not None:
        try:
            return float(found)
        except ValueError:
            return found
    return found


def _as_seed(value) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def run_frame(found: list[Run], spec: Runs) -> tuple[pd.DataFrame, dict[str, int]]:
    """The runs as the claims read them (one row per cell and seed: the newest), and what was left out, by reason."""
    rows, excluded = [], {}
    for run in found:
        cell, seed = _raw(run, spec.cell), _as_seed(_raw(run, spec.seed))
        if cell is None or seed is None:
            reason = f"without {spec.cell if cell is None else spec.seed + ' as a whole number'}"
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        row = {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "study": STUDY, "cell": str(cell),
               "seed": seed, "start_time": run.info.start_time, "epochs": (_as_seed(_raw(run, spec.epochs)) or 0) if spec.epochs else 0,
               "steps_per_epoch": 0, "train_size": "all"}
        row |= {f"metrics.{k}": v for k, v in run.data.metrics.items()}
        row |= {f"params.{k}": _value(run, f"params.{k}") for k in run.data.params}
        row |= {f"tags.{k}": v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else ["run_id", "study", "cell", "seed", "start_time", "epochs", "steps_per_epoch", "train_size"])
    return newest_only(frame, ["cell", "seed"], excluded, "an older run of the same cell and seed"), excluded


def read_experiment(name: str, spec: Runs) -> RunTables:
    """The FINISHED runs of experiment ``name`` as run tables; ClaimsFileError when there is no such experiment."""
    tracking = client()
    experiment = tracking.get_experiment_by_name(name)
    if experiment is None:
        known = sorted(e.name for e in tracking.search_experiments() if e.name not in ("Default", schema.CLAIMS_EXPERIMENT))
        raise ClaimsFileError(f"no experiment named {name!r} in {redact(tracking_uri())}" + (f"; there: {', '.join(known)}" if known else ""))
    found = tracking.search_runs([experiment.experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=50_000)
    unfinished = [r for r in found if r.info.status != "FINISHED"]
    frame, excluded = run_frame([r for r in found if r.info.status == "FINISHED"], spec)
    for run in unfinished:
        excluded[run.info.status] = excluded.get(run.info.status, 0) + 1
    return RunTables(frame, excluded, partial(read_histories, tracking))


def decide(claims: list[Claim], tables: RunTables) -> list[Verdict]:
    """Every claim's verdict, Holm within each family (families in the order the file first names them)."""
    return engine.evaluate(claims, tables, tuple(dict.fromkeys(c.family for c in claims)))


def about(name: str, tables: RunTables, claims_file: Path) -> list[str]:
    counts = tables.runs.groupby("cell").seed.nunique() if len(tables.runs) else pd.Series(dtype=int)
    cells = ", ".join(f"{cell} ({n} seeds)" for cell, n in counts.items()) or "none"
    left = ", ".join(f"{n} {why}" for why, n in tables.excluded.items()) or "none"
    return [f"Claims of {claims_file.name}, decided over the finished runs of MLflow experiment '{name}' at {redact(tracking_uri())}: "
            f"{len(tables.runs)} runs; cells {cells}. Left out: {left}.",
            "Each claim's minimum protocol and pre-registration log are as its claims file declares them: the toolkit did not train "
            "these runs and cannot tell whether a claim was declared before they existed."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.decide", description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=Path, required=True, help="the claims file (a Python file defining RUNS and CLAIMS)")
    parser.add_argument("--experiment", default="", help="the MLflow experiment whose runs it judges (default: RUNS.experiment)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="the report goes to OUT/decide-<experiment>/ (default: reports)")
    args = parser.parse_args(argv)
    try:
        spec, claims = load_claims_file(args.claims)
        name = args.experiment or spec.experiment
        if not name:
            raise ClaimsFileError(f"which experiment? give --experiment (-P experiment=...) or RUNS.experiment in {args.claims}")
        check_store()
        tables = read_experiment(name, spec)
        verdicts = decide(claims, tables)
        folder = args.out / f"decide-{name}"
        report = write_verdicts_report(spec.title, about(name, tables, args.claims), tables, verdicts, folder)
        run_id, experiment = log_claims_run(f"decide {name}", {"claims_file": str(args.claims), "experiment": name},
                                            {schema.NOTE: f"**{spec.title}**: claims of `{args.claims.name}` over experiment `{name}`; "
                                             f"the report is the artifact `{schema.REPORT_ARTIFACTS}/report.html`.", **verdict_tags(verdicts)},
                                            claim_metrics(verdicts), verdict_frame(verdicts), folder)
    except ClaimsFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except STORE_ERRORS as error:
        print(f"error: the tracking store {redact(tracking_uri())} failed ({first_line(error)})", file=sys.stderr)
        return 3
    print_verdicts(verdicts)
    print(f"report: {report.html.resolve()} (and report.md); claims run {run_id} in experiment '{schema.CLAIMS_EXPERIMENT}'")
    print(f"in the MLflow UI: {ui_link(experiment, run_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
