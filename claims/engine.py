"""Evaluate the catalogue: every claim of CLAIMS.md, decided family by family.

``run_sweeps`` trains what the claims need (skipping finished runs), including
the derived re-run study; ``evaluate`` turns the tracked runs into verdicts.
"""

from __future__ import annotations

import sys

import numpy as np

from analysis.runs import RunTables, load_runs
from claims import family_a, family_b, family_cd, family_e
from claims.verdict import Claim, NotRun, Verdict, decide_family
from training.studies import BENCHMARKS, DERIVED, STUDIES, reruns
from training.sweep import SweepSummary, run_study

CATALOGUE: list[Claim] = family_a.CLAIMS + family_b.CLAIMS + family_cd.CLAIMS + family_e.CLAIMS
FAMILIES = ("A", "B", "C", "D", "E")
ALL_STUDIES = list(STUDIES) + list(DERIVED)


def learned_hyperparameters(tables: RunTables) -> list[tuple[str, int, str, dict[str, float]]]:
    """(cell, seed, stack, {name: final value at level 0}) of every finished, non-diverged Table 1 stack run."""
    runs = tables.runs
    stacks = runs[(runs.study == "mlp_table1") & runs.cell.str.startswith("stack:") & ~runs.diverged]
    out = []
    for _, run in stacks.iterrows():
        learned = {key.split(".", 2)[2]: float(run[key]) for key in run.index if key.startswith("hp.0.") and np.isfinite(run[key])}
        out.append((run.cell, int(run.seed), run["stack"], learned))
    return out


def studies_for(benchmarks: tuple[str, ...], profile: str) -> list[str]:
    """Names of the studies whose models are all among ``benchmarks``; the timing study last."""
    chosen = [name for name in STUDIES if set(STUDIES[name](profile).models) <= set(benchmarks)]
    return sorted(chosen, key=lambda name: STUDIES[name](profile).exclusive)


def parse_benchmarks(text: str) -> tuple[str, ...]:
    """'mlp' (default), 'all', or a comma list of mlp, resnet20, charlstm; ValueError naming a bad one."""
    names = BENCHMARKS if text.strip() == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise ValueError(f"benchmarks must be 'all' or a comma list of {', '.join(BENCHMARKS)}, got {text!r}")
    return names


def run_sweeps(profile: str, runner, seeds: int | None = None, extra_tags: dict[str, str] | None = None,
               benchmarks: tuple[str, ...] = ("mlp",)) -> list[SweepSummary]:
    """Train every study of ``benchmarks`` the catalogue needs at ``profile`` with an entered runner; the timing study last, alone."""
    ordered = studies_for(benchmarks, profile)
    summaries = []
    for name in ordered:
        summaries.append(run_study(STUDIES[name](profile), profile, runner, seeds, extra_tags))
        if name == DERIVED["mlp_reruns"]:
            learned = learned_hyperparameters(load_runs([name], profile))
            summaries.append(run_study(reruns(profile, learned), profile, runner, None, extra_tags))
    for summary in summaries:
        print(f"  {summary.study}: {summary.planned} planned, {summary.skipped} already finished, "
              f"{summary.trained} trained, {summary.failed} failed, {summary.seconds:.0f}s", file=sys.stderr)
    return summaries


def evaluate(tables: RunTables, families: tuple[str, ...] = FAMILIES) -> list[Verdict]:
    """A verdict for every claim of ``families``, in catalogue order."""
    verdicts: dict[str, Verdict] = {}
    for family in families:
        entries = []
        for claim in (c for c in CATALOGUE if c.family == family):
            try:
                if not claim.studies:
                    raise NotRun(claim.hypothesis)
                missing = [s for s in claim.studies if not tables.has(s)]
                if missing:
                    hint = "" if all(s.startswith("mlp_") for s in missing) else " (the ResNet-20 and char-LSTM studies train with --benchmarks all)"
                    raise NotRun(f"no finished runs of {', '.join(missing)} at this profile{hint}")
                entries.append((claim, claim.evaluate(tables), ""))
            except NotRun as reason:
                entries.append((claim, None, str(reason)))
            except Exception as error:  # a broken claim must not take the other verdicts down
                print(f"warning: claim {claim.id} could not be evaluated: {error!r}", file=sys.stderr)
                entries.append((claim, None, f"evaluation failed: {error!r}"))
        for verdict in decide_family(entries):
            verdicts[verdict.claim.id] = verdict
    return [verdicts[c.id] for c in CATALOGUE if c.id in verdicts]


def drop_stale(tables: RunTables, profile: str) -> RunTables:
    """Leave out runs of a cell whose definition has changed since they ran (another stack or epoch count).

    They stay in the store, and in the report's count of what was excluded, but a verdict
    must not mix two versions of a study.
    """
    runs = tables.runs
    if runs.empty:
        return tables
    planned = {}
    for name, build in STUDIES.items():
        for cell, config in build(profile).configs(profile, seeds=1):
            planned[(name, cell.label)] = (config.stack, config.epochs)
    current = [planned.get((row.study, row.cell), (row.stack, row.epochs)) == (row.stack, row.epochs) for row in runs.itertuples()]
    stale = len(runs) - sum(current)
    if stale:
        tables.excluded["stale (cell redefined since)"] = stale
        tables.runs = runs[current].reset_index(drop=True)
    return tables


def evaluate_profile(profile: str) -> tuple[RunTables, list[Verdict]]:
    tables = drop_stale(load_runs(ALL_STUDIES, profile), profile)
    return tables, evaluate(tables)
