"""The paper's and the reproduction's published tables, as CSV in ``reference/`` (their sources: SOURCES.md there)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).resolve().parent / "reference"


@lru_cache(maxsize=None)
def published(name: str) -> pd.DataFrame:
    """A published table from ``reference/`` by file name, without its extension."""
    return pd.read_csv(REFERENCE / f"{name}.csv", comment="#")


def paper_table1(panel: str) -> pd.DataFrame:
    """[P] Table 1's rows of one panel ('sgd', 'adam', ...)."""
    table = published("paper_table1_mlp")
    return table[table.panel == panel]
