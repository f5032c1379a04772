"""Building blocks the claims share: paired seeds, intersection-union tests, published numbers.

A claim such as "every stack beats the baseline" holds only if each of its
comparisons does; its p-value is the largest of theirs (an intersection-union
test, valid at level alpha with no correction inside the claim). It is refuted
if any one comparison goes significantly the other way (Bonferroni over them).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.runs import RunTables
from claims.stats import bootstrap_ci, sign_flip_test
from claims.verdict import Evidence, NotRun

REFERENCE = Path(__file__).resolve().parent / "reference"


@lru_cache(maxsize=None)
def published(name: str) -> pd.DataFrame:
    """A published table from ``claims/reference`` (see SOURCES.md there)."""
    return pd.read_csv(REFERENCE / f"{name}.csv", comment="#")


def paper_table1(panel: str) -> pd.DataFrame:
    table = published("paper_table1_mlp")
    return table[table.panel == panel]


def values(tables: RunTables, study: str, label: str, column: str = "test_error") -> pd.Series:
    """One cell's per-seed values of ``column`` (NaN rows dropped); NotRun if the cell is absent."""
    rows = tables.cell(study, label)
    if rows.empty:
        raise NotRun(f"no finished runs of {study}/{label}")
    return rows[column].dropna() if column in rows else pd.Series(dtype=float)


def paired(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The two series restricted to their common seeds, as arrays in seed order."""
    common = first.index.intersection(second.index)
    return first.loc[common].to_numpy(float), second.loc[common].to_numpy(float)


def comparison(label: str, diffs: np.ndarray, shift: float = 0.0, **extra) -> dict:
    """One row of a claim's table: the per-seed differences, their mean, CI and one-sided p's."""
    low, high = bootstrap_ci(diffs)
    return {
        "comparison": label,
        "n": len(diffs),
        "mean_diff": float(np.mean(diffs)) if len(diffs) else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "p_greater": sign_flip_test(diffs, "greater", shift) if len(diffs) else float("nan"),
        "p_less": sign_flip_test(diffs, "less", shift) if len(diffs) else float("nan"),
        "_diffs": np.asarray(diffs, float),
        "_shift": shift,
        **extra,
    }


def all_of(rows: list[dict], test: str, effect_label: str, ours: str, direction: str = "greater", notes=None) -> Evidence:
    """Intersection-union evidence: supported only if every row goes the claimed way.

    ``direction`` is the claimed side of each row's differences ('greater' or 'less').
    The headline effect is the weakest row's (the one with the largest support p).
    """
    if not rows or any(row["n"] == 0 for row in rows):
        raise NotRun("a comparison has no paired seeds")
    opposite = "less" if direction == "greater" else "greater"
    support = [row[f"p_{direction}"] for row in rows]
    weakest = rows[int(np.argmax(support))]
    p_refute = min(1.0, min(row[f"p_{opposite}"] for row in rows) * len(rows))
    return Evidence(
        p_support=float(max(support)),
        p_refute=float(p_refute),
        effect=weakest["mean_diff"],
        ci=(weakest["ci_low"], weakest["ci_high"]),
        effect_label=f"{effect_label} (weakest: {weakest['comparison']})",
        ours=ours,
        n=min(row["n"] for row in rows),
        test=test,
        diffs=weakest["_diffs"] if direction == "greater" else -weakest["_diffs"],
        shift=weakest["_shift"] if direction == "greater" else -weakest["_shift"],
        table=[{k: v for k, v in row.items() if not k.startswith("_")} for row in rows],
        notes=list(notes or []),
    )


def fmt_mean(series) -> str:
    """'4.81% (sd 0.10, n=8)' for a per-seed series of percentages."""
    array = np.asarray(series, float)
    if len(array) == 0:
        return "no runs"
    spread = f", sd {np.std(array, ddof=1):.2f}" if len(array) > 1 else ""
    return f"{np.mean(array):.2f}%{spread}, n={len(array)}"
