"""Runs as the claims read them: plain pandas frames, and a history reader passed in.

``RunTables.runs`` has one row per run that counts (columns: ``study``, ``cell``, ``seed``,
``run_id`` and whatever params, metrics and tags a claim reads, e.g. ``test_error``,
``epochs``, ``steps_per_epoch``, ``train_size``, ``hp.*``). Where those rows come from is
not this package's business: ``training.tracking.runs.load_runs`` reads them from an MLflow
store, ``pipeline.decide`` from any experiment, a test builds them by hand. Metric histories
(one value per step) come through ``read_histories(run_ids, key) -> {run_id: Series by step}``,
called lazily, cell by cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

HistoryReader = Callable[[list[str], str], dict[str, pd.Series]]


def newest_only(frame: pd.DataFrame, identity: list[str], excluded: dict[str, int], reason: str) -> pd.DataFrame:
    """``frame`` with one row per value of the ``identity`` columns, the one with the latest ``start_time`` (a run
    retried after a crash, or trained twice, counts once); the others are counted in ``excluded[reason]``."""
    if frame.empty:
        return frame
    frame = frame.sort_values("start_time")
    older = frame.duplicated(identity, keep="last")
    if older.any():
        excluded[reason] = excluded.get(reason, 0) + int(older.sum())
    return frame[~older].reset_index(drop=True)


def no_histories(run_ids: list[str], key: str) -> dict[str, pd.Series]:
    """The reader of tables that hold no histories: every history is empty."""
    return {run: pd.Series(dtype=float) for run in run_ids}


@dataclass
class RunTables:
    """The runs that count (shape: runs x columns), what was left out, and where histories come from."""

    runs: pd.DataFrame
    excluded: dict[str, int]  # e.g. {"FAILED": 2, "duplicate": 1}
    read_histories: HistoryReader = field(default=no_histories, repr=False)
    _histories: dict = field(default_factory=dict, repr=False)
    _positions: dict = field(default_factory=dict, repr=False)  # (study, cell) -> row positions in the table held in _indexed
    _cells: dict = field(default_factory=dict, repr=False)  # (study, cell) -> its rows by seed, built on first use
    _indexed: pd.DataFrame | None = field(default=None, repr=False)
    _by_seed: pd.DataFrame | None = field(default=None, repr=False)  # the table indexed by seed

    def cell(self, study: str, label: str) -> pd.DataFrame:
        """Rows of one cell, indexed by seed (pinned re-run cells have one row per seed). Shared between callers: do not modify."""
        if self._indexed is not self.runs:  # first call, or the table was replaced (runs of redefined cells left out)
            seeds = self.runs["seed"].to_numpy()
            groups = self.runs.groupby(["study", "cell"], sort=False).indices if len(self.runs) else {}
            self._positions = {key: rows[np.argsort(seeds[rows], kind="stable")] for key, rows in groups.items()}  # in seed order
            self._by_seed = self.runs.set_index("seed")  # once for the table, not once per cell
            self._cells, self._indexed = {}, self.runs
        key = (study, label)
        if key not in self._cells:
            positions = self._positions.get(key)
            self._cells[key] = self._by_seed.iloc[positions if positions is not None else slice(0, 0)]
        return self._cells[key]

    def serving(self, claim_id: str) -> list[str]:
        """The studies here whose runs serve ``claim_id`` (a part, 'C2[mlp]', by its claim's id), from the runs' column ``claims``."""
        if "claims" not in self.runs or self.runs.empty:
            return []
        base = claim_id.split("[")[0]
        return sorted(set(self.runs[self.runs.claims.fillna("").str.split(",").map(lambda ids: base in ids)].study))

    def has(self, study: str) -> bool:
        return bool((self.runs.study == study).any())

    def history(self, run_id: str, key: str) -> pd.Series:
        """A metric's history as a Series indexed by step.

        The first read of a run's history reads those of every run of its cell (the claims and
        figures read a cell's seeds together) in one call of the reader.
        """
        if (run_id, key) not in self._histories:
            row = self.runs[self.runs.run_id == run_id]
            cell = self.runs[(self.runs.study == row.study.iloc[0]) & (self.runs.cell == row.cell.iloc[0])].run_id if len(row) else [run_id]
            wanted = [r for r in cell if (r, key) not in self._histories] or [run_id]
            for found, series in self.read_histories(list(wanted), key).items():
                self._histories[(found, key)] = series
        return self._histories[(run_id, key)]
