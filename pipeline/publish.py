"""A published result: a folder meant for the repository, written from a tracking store.

    python -m pipeline.claims_job --no-sweep --profile paper --publish results/paper-mlp-table1

``results/<name>/`` holds the report (report.md, report.html, figures/), the
verdicts (verdicts.json, one record per claim with its scope), the plan the runs
followed (plan.json: studies, cells, seeds, epochs, runs) and their provenance
(provenance.json: the code that trained and the code that decided, the machine,
the devices, the sweep's wall time from its first run's start to its last run's
end). Never the store: the runs stay in MLflow, the result names them by study.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from claims.runs import RunTables
from claims.verdict import Verdict
from papers.ultimate_optimizer.studies import ALL_STUDIES
from training.core.config import ConfigError, Profile
from training.core.interrupt import raise_if_received, uninterrupted
from training.tracking.store import code_version

VERDICTS_FILE, PLAN_FILE, PROVENANCE_FILE = "verdicts.json", "plan.json", "provenance.json"


def verdict_frame(verdicts: list[Verdict]) -> pd.DataFrame:
    """One row per claim: verdict, scope, effect and interval, Holm p-values, seeds, power, pre-registration version."""
    rows = []
    for v in verdicts:
        e = v.evidence
        rows.append({
            "claim": v.claim.id, "family": v.claim.family, "source": v.claim.source, "published": v.claim.published,
            "verdict": v.verdict, "scope": v.scope.level, "covers": v.scope.covers, "scope_cuts": "; ".join(v.scope.cuts),
            "minimum_protocol": v.claim.minimum.describe(), "parts": ", ".join(v.claim.parts),
            "effect": e.effect if e else None, "ci_low": e.ci[0] if e else None, "ci_high": e.ci[1] if e else None,
            "effect_label": e.effect_label if e else "", "p_support_holm": v.p_support_adjusted, "p_refute_holm": v.p_refute_adjusted,
            "seeds": e.n if e else 0, "seeds_needed": v.seeds_needed, "power_at_published_effect": v.power(),
            "version": v.claim.version, "changed_after_runs": v.claim.changed_after_runs, "preregistration": v.claim.preregistration(),
            "ours": e.ours if e else "", "reason": v.reason,
        })
    return pd.DataFrame(rows)


def plan_record(tables: RunTables, studies: Sequence[str] = ALL_STUDIES) -> list[dict]:
    """What the runs used followed, study by study (in the order of ``studies``): cells, seeds, epochs, runs."""
    runs = tables.runs
    out = []
    for name in studies:
        used = runs[runs.study == name] if len(runs) else runs
        if used.empty:
            continue
        out.append({"study": name, "cells": int(used.cell.nunique()), "seeds": sorted(int(s) for s in used.seed.unique()),
                    "epochs": sorted(int(e) for e in used.epochs.unique()), "runs": len(used),
                    "train_size": sorted(str(s) for s in used.train_size.unique())})
    return out


def wall_seconds(tables: RunTables) -> float | None:
    """From the first run's start to the last run's end (ms timestamps in the store); None without runs."""
    runs = tables.runs
    if runs.empty or runs.end_time.isna().all():
        return None
    return float((np.nanmax(runs.end_time.astype(float)) - np.nanmin(runs.start_time.astype(float))) / 1000)


def busy_seconds(tables: RunTables) -> float | None:
    """How long at least one run was training: the union of the runs' [start, end] intervals, so that the pauses of a
    sweep resumed later (another session, another day) are not counted; None without runs."""
    runs = tables.runs.dropna(subset=["start_time", "end_time"]) if len(tables.runs) else tables.runs
    if runs.empty:
        return None
    total, reach = 0.0, -np.inf
    for start, end in sorted(zip(runs.start_time.astype(float), runs.end_time.astype(float))):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total / 1000


def _hours(seconds: float | None) -> str | None:
    return None if seconds is None else f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}"


def provenance(tables: RunTables, profile: Profile) -> dict:
    """Who made the result, where, and how long the sweep took."""
    wall, busy = wall_seconds(tables), busy_seconds(tables)
    return {
        "profile": profile,
        "published": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "code_decided": code_version(),
        "code_note": "'+dirty': tracked files had uncommitted changes when this was made or trained (untracked files are not counted)",
        "code_trained": sorted(set(tables.runs.code_version.dropna())) if len(tables.runs) else [],
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "devices": sorted(set(tables.runs.device.dropna())) if len(tables.runs) else [],
        "runs": len(tables.runs),
        "sweep_wall_seconds": wall,
        "sweep_wall": _hours(wall),  # from the first run's start to the last's end, pauses between sessions included
        "sweep_busy_seconds": busy,
        "sweep_busy": _hours(busy),  # with at least one run training
    }


def write_result_files(folder: Path, tables: RunTables, verdicts: list[Verdict], profile: Profile,
                       studies: Sequence[str] = ALL_STUDIES) -> list[Path]:
    """verdicts.json, plan.json (``studies`` in this order) and provenance.json beside a report already written in ``folder``."""
    paths = [folder / VERDICTS_FILE, folder / PLAN_FILE, folder / PROVENANCE_FILE]
    frame = verdict_frame(verdicts)
    frame["studies"] = [tables.serving(v.claim.id) for v in verdicts]
    frame["run_ids"] = [sorted(tables.runs[tables.runs.study.isin(serving)].run_id) for serving in frame.studies]
    frame.to_json(paths[0], orient="records", indent=1)
    paths[1].write_text(json.dumps(plan_record(tables, studies), indent=1) + "\n")
    paths[2].write_text(json.dumps(provenance(tables, profile), indent=1) + "\n")
    return paths


@contextmanager
def written_whole(folder: Path) -> Iterator[Path]:
    """A fresh folder beside ``folder`` to write a report into; on success, what it holds replaces the same names in
    ``folder`` (other files there, such as a published result's README, stay), so an interruption never leaves half a
    report where the last whole one was. On failure it is removed and ``folder`` is untouched."""
    staging = folder.parent / f".{folder.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        raise_if_received()  # one that landed in a finaliser while the report was drawn was only printed
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _move_into(staging, folder)


@uninterrupted
def _move_into(staging: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for entry in staging.iterdir():
        target = folder / entry.name
        if target.is_dir():
            aside = staging.parent / f".{folder.name}.old-{entry.name}-{os.getpid()}"
            target.rename(aside)
            entry.rename(target)
            shutil.rmtree(aside)
        else:
            entry.replace(target)
    staging.rmdir()


def writable_folder(text: str, what: str) -> Path:
    """``text`` as a folder this job can write (made if absent), checked before any work; ConfigError otherwise."""
    folder = Path(text.strip())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".writable"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write to the {what} folder {folder}: {error.strerror or error}") from None
    return folder


def publish_folder(text: str) -> Path | None:
    """The folder to publish to ('' or 'none' = none); ConfigError if it cannot be written."""
    return None if text.strip() in ("", "none") else writable_folder(text, "publish")
