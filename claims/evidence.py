"""Building blocks claims share: paired seeds, intersection-union tests.

A claim such as "every stack beats the baseline" holds only if each of its
comparisons does; its p-value is the largest of theirs (an intersection-union
test, valid at level alpha with no correction inside the claim). It is refuted
if any one comparison goes significantly the other way (Bonferroni over them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from claims.runs import RunTables
from claims.stats import bootstrap_ci, sign_flip_test, smallest_p_value
from claims.verdict import Evidence, NotRun


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


@dataclass(frozen=True)
class Comparison:
    """One row of a claim's table: per-seed differences (shape [n]), their mean and bootstrap CI,
    and the one-sided p-values of both directions (against ``shift``)."""

    label: str
    diffs: np.ndarray
    mean: float
    ci: tuple[float, float]
    p_greater: float
    p_less: float
    shift: float = 0.0
    extra: dict = field(default_factory=dict)  # columns for the report (means, learned values)
    min_p: float | None = None  # the smallest p its tests can give (an exact sign-flip test over n seeds: 2^-n)

    @property
    def n(self) -> int:
        return len(self.diffs)

    def with_p(self, greater: float, less: float, min_p: float | None = None) -> "Comparison":
        """The same row decided by another test (e.g. TOST), whose p-values (and floor) replace the sign-flip ones."""
        return replace(self, p_greater=greater, p_less=less, min_p=min_p)

    def row(self) -> dict:
        """The row as the report's table shows it."""
        return {"comparison": self.label, "n": self.n, "mean_diff": self.mean, "ci_low": self.ci[0], "ci_high": self.ci[1],
                "p_greater": self.p_greater, "p_less": self.p_less, **self.extra}


def comparison(label: str, diffs: np.ndarray, shift: float = 0.0, refute_shift: float | None = None, **extra) -> Comparison:
    """Per-seed differences ``diffs`` [n] as a Comparison: mean, CI and exact one-sided sign-flip p's.

    ``p_greater`` tests mean > ``shift``; ``p_less`` tests mean < ``refute_shift`` (default: ``shift``), so a
    claim can be refuted only beyond a declared magnitude.
    """
    diffs = np.asarray(diffs, float)
    empty = len(diffs) == 0
    return Comparison(
        label=label,
        diffs=diffs,
        mean=float("nan") if empty else float(np.mean(diffs)),
        ci=bootstrap_ci(diffs),
        p_greater=float("nan") if empty else sign_flip_test(diffs, "greater", shift),
        p_less=float("nan") if empty else sign_flip_test(diffs, "less", shift if refute_shift is None else refute_shift),
        shift=shift,
        extra=extra,
        min_p=None if empty else smallest_p_value(len(diffs)),
    )


def all_of(rows: list[Comparison], test: str, effect_label: str, ours: str, direction: str = "greater", notes=None) -> Evidence:
    """Intersection-union evidence: supported only if every row goes the claimed way.

    ``direction`` is the claimed side of each row's differences ('greater' or 'less').
    The headline effect is the weakest row's (the one with the largest support p).
    """
    if not rows or any(row.n == 0 for row in rows):
        raise NotRun("a comparison has no paired seeds")
    support = [row.p_greater if direction == "greater" else row.p_less for row in rows]
    opposite = [row.p_less if direction == "greater" else row.p_greater for row in rows]
    weakest = rows[int(np.argmax(support))]
    sign = 1.0 if direction == "greater" else -1.0
    floors = [row.min_p for row in rows if row.min_p is not None]
    return Evidence(
        p_support=float(max(support)),
        p_refute=float(min(1.0, min(opposite) * len(rows))),
        effect=weakest.mean,
        ci=weakest.ci,
        effect_label=f"{effect_label} (weakest: {weakest.label})",
        ours=ours,
        n=min(row.n for row in rows),
        test=test,
        diffs=sign * weakest.diffs,
        shift=sign * weakest.shift,
        table=[row.row() for row in rows],
        notes=list(notes or []),
        min_p=max(floors) if floors else None,
    )


def fmt_mean(series, unit: str = "%", spec: str = ".2f") -> str:
    """'4.81%, sd 0.10, n=8' for a per-seed series [n] of percentages; ``unit`` and the number format ``spec`` for other values."""
    array = np.asarray(series, float)
    if len(array) == 0:
        return "no runs"
    spread = f", sd {np.std(array, ddof=1):{spec}}" if len(array) > 1 else ""
    return f"{np.mean(array):{spec}}{unit}{spread}, n={len(array)}"
