"""Fidelity against the published numbers: Table 1 ([P], [R]) and the depth study ([R] 3.4), row by row beside ours.

Not a test of a claim: a side-by-side of every Table 1 row (baselines, hyperoptimized
stacks, and the plain re-runs from the learned values), with our mean +- sd over
seeds, n, a 95% bootstrap interval of the mean, [P]'s mean +- its stated spread,
[R]'s single run where it has one, and a flag where [P]'s mean lies outside our
interval. The learned hyperparameters come the same way, against the values [P]
re-ran with. A gap is a finding; nothing here is tuned to close one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from claims.runs import RunTables
from claims.stats import bootstrap_ci
from claims.verdict import NotRun
from papers.ultimate_optimizer.family_d import depth_cells
from papers.ultimate_optimizer.published import REFERENCE, published
from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.mlp import DEPTH_REPRODUCTION, TABLE1_PANELS
from training.tracking import schema

DEPTH_HEIGHTS = (0, 1, 2, 3, 4, 5, 10, 15, 20)  # [R] 3.4 prints every height 0..20; the rest repeat the last digits
REPORT_DEPTH_EPOCHS = "10"  # [R] 3.4: 10 epochs, batch 1024, one seed
# [R]'s names of the optimizers (its table has no alpha-only variants)
_REPORT_NAMES = {"sgd": "SGD", "adam": "Adam", "adagrad": "AdaGrad", "rmsprop": "RMSProp"}
# which learned values [P]'s re-run rows state, per weight-level optimizer
_LEARNED = {"sgd": ("alpha",), "adam": ("alpha", "beta1"), "adam_alpha": ("alpha",), "adagrad": ("alpha",),
            "rmsprop": ("alpha", "gamma"), "rmsprop_alpha": ("alpha",)}


def printed(text: str) -> tuple[float, float]:
    """A published number and half a unit of its last printed digit ('0.0040' -> (0.004, 5e-5)): how far rounding can have moved it."""
    text = str(text).strip()
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
    if "e" in text.lower():
        mantissa = text.lower().split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return float(text), 0.5 * 10.0 ** (int(text.lower().split("e")[1]) - decimals)
    return float(text), 0.5 * 10.0 ** -decimals


@dataclass(frozen=True)
class Row:
    """One published row beside ours. ``ours``: per-seed values [n]."""

    what: str  # e.g. "sgd / adam(0.1)" or "re-run of sgd / adam(0.1)"
    cell: str
    ours: np.ndarray
    paper: tuple[float, float] | None  # mean, stated spread (NaN: none stated)
    report: float | None
    epochs: tuple[int | None, str] = (None, "")  # ours, [P]'s as published ("30", "unclear(5 or 30)")
    rounding: float = 0.0  # half a unit of the last digit [P] printed

    @property
    def comparable(self) -> bool:
        """Trained as long as [P] trained it (a row at other epochs is shown, not judged)."""
        ours, theirs = self.epochs
        return ours is not None and (not theirs or str(ours) in theirs.replace("(", " ").replace(")", " ").split())

    @property
    def interval(self) -> tuple[float, float]:
        if len(self.ours) < 2:
            return (float("nan"), float("nan"))
        return bootstrap_ci(self.ours)

    @property
    def outside(self) -> bool:
        """[P]'s mean (or, where [P] has none, [R]'s number), give or take its rounding, outside our 95% interval, at the same
        epochs (a fidelity gap)."""
        low, high = self.interval
        judged = self.paper[0] if self.paper is not None else self.report
        if judged is None or not np.isfinite(low) or not self.comparable:
            return False
        return judged + self.rounding < low or judged - self.rounding > high


def _ours(tables: RunTables, study: str, cell: str, column: str) -> np.ndarray:
    rows = tables.cell(study, cell)
    if rows.empty or column not in rows:
        return np.array([])
    return rows[column].dropna().to_numpy(float)


def _epochs(tables: RunTables, study: str, cell: str) -> int | None:
    rows = tables.cell(study, cell)
    return None if rows.empty else int(rows.epochs.iloc[0])


def _paper_rows(panel: str) -> pd.DataFrame:
    """[P]'s Table 1 rows of ``panel`` as printed (text, so that the digits [P] gave are kept)."""
    table = pd.read_csv(REFERENCE / "paper_table1_mlp.csv", dtype=str)
    return table[table.panel == panel].reset_index(drop=True)


def _row(what: str, tables: RunTables, study: str, cell: str, column: str, published: pd.Series | None, value: str, spread: str,
         report: float | None = None) -> Row:
    """Ours for ``cell`` beside the published ``value`` +- ``spread`` (column names of [P]'s row; '' = none)."""
    mean, rounding = printed(published[value]) if published is not None and pd.notna(published[value]) else (None, 0.0)
    stated = float(published[spread]) if published is not None and spread and pd.notna(published[spread]) else float("nan")
    return Row(what, cell, _ours(tables, study, cell, column), None if mean is None else (mean, stated), report,
               (_epochs(tables, study, cell), "" if published is None else str(published.epochs)), rounding)


def _report_value(panel: str, stack: str | None) -> float | None:
    """[R]'s test error for the panel's optimizer under ``stack``'s hyperoptimizer (None: baseline), if it ran that pair."""
    table = published("report_mlp_optimizers")
    if stack is not None:
        levels = [part.strip().split("(")[0] for part in stack.split("/")]
        if levels[0] != panel or len(levels) != 2:
            return None  # an alpha-only variant: [R] did not run it
        hyper = _REPORT_NAMES[levels[1]]
    else:
        hyper = "NoOp"
    match = table[(table.Optimizer == _REPORT_NAMES[panel]) & (table.Hyperoptimizer == hyper)]
    return float(match["Test Error"].iloc[0]) if len(match) else None


def error_rows(tables: RunTables) -> list[Row]:
    """Every Table 1 row: the baseline, then each stack followed by its re-run, panel by panel."""
    rows = []
    for panel, (baseline, stacks) in TABLE1_PANELS.items():
        published = _paper_rows(panel)
        hyper = published[published.kind == "hyperopt"]
        reruns = published[published.kind == "rerun_learned"]
        base = published[published.kind == "baseline"].iloc[0]
        rows.append(_row(baseline, tables, labels.MLP_TABLE1, labels.baseline(panel), "test_error", base, "test_error_mean_pct",
                         "test_error_pm_pct", _report_value(panel, None)))
        for i, stack in enumerate(stacks):
            label = labels.stack(panel, i)
            rows.append(_row(stack, tables, labels.MLP_TABLE1, label, "test_error", hyper.iloc[i], "test_error_mean_pct", "test_error_pm_pct",
                             _report_value(panel, stack)))
            rows.append(_row(f"re-run of {stack} from its learned values", tables, labels.MLP_RERUNS, labels.rerun_of(label), "test_error",
                             reruns.iloc[i], "test_error_mean_pct", "test_error_pm_pct"))
    return rows


def learned_rows(tables: RunTables) -> list[Row]:
    """Every stack's learned weight-level values against those [P] re-ran with (no spread stated: the spread is ours)."""
    rows = []
    for panel, (_, stacks) in TABLE1_PANELS.items():
        reruns = _paper_rows(panel)
        reruns = reruns[reruns.kind == "rerun_learned"]
        for i, stack in enumerate(stacks):
            for name in _LEARNED[stack.split("(")[0].strip()]:
                rows.append(_row(f"{stack}: learned {name}", tables, labels.MLP_TABLE1, labels.stack(panel, i), schema.hp_metric(f"0.{name}"),
                                 reruns.iloc[i], name, ""))
    return rows


def depth_rows(tables: RunTables, heights: tuple[int, ...] = DEPTH_HEIGHTS) -> list[Row]:
    """[R] 3.4's single run at each base alpha and height beside ours under [R]'s own kappas (the 'reproduction' scheme)."""
    report = pd.read_csv(REFERENCE / "report_stacked_mlp.csv", dtype=str)
    rows = []
    for alpha in sorted({float(a) for a in report.alpha_init}):
        try:
            cells = depth_cells(tables, DEPTH_REPRODUCTION, alpha)
        except NotRun:
            continue
        theirs = report[report.alpha_init.astype(float) == alpha].set_index("height")
        for height in heights:
            if height not in cells or str(height) not in theirs.index:
                continue
            value, rounding = printed(theirs.test_error_pct[str(height)])
            label = labels.depth(labels.DEPTH_PLAIN, 0, alpha) if height == 0 else labels.depth(DEPTH_REPRODUCTION, height, alpha)
            rows.append(Row(f"alpha {alpha:g}, height {height}", label, cells[height].test_error.dropna().to_numpy(float),
                            None, value, (int(cells[height].epochs.iloc[0]), REPORT_DEPTH_EPOCHS), rounding))
    return rows


def table(rows: list[Row], digits: int = 4) -> list[list[str]]:
    """The rows as text: what, ours mean +- sd (n), our 95% CI, [P], [R], flag."""
    def number(x: float) -> str:
        return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"

    out = []
    for row in rows:
        n = len(row.ours)
        ours = f"{number(row.ours.mean())} +- {number(row.ours.std(ddof=1) if n > 1 else float('nan'))} (n={n})" if n else "not run"
        low, high = row.interval
        paper = "" if row.paper is None else number(row.paper[0]) + ("" if not np.isfinite(row.paper[1]) else f" +- {number(row.paper[1])}")
        flag = "outside" if row.outside else ("" if row.comparable or not n else f"not judged: {row.epochs[0]} of {row.epochs[1]} epochs")
        out.append([row.what, ours, f"[{number(low)}, {number(high)}]" if n > 1 else "", paper,
                    "" if row.report is None else number(row.report), flag])
    return out


COLUMNS = ["row", "ours: mean +- sd (n)", "our 95% CI", "[P]", "[R]", "[P] vs our CI"]
DEPTH_COLUMNS = ["row", "ours: mean +- sd (n)", "our 95% CI", "[P]", "[R]", "[R] vs our CI"]
