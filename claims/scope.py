"""What a verdict speaks to: a claim's minimum protocol, and whether its runs met it.

Each claim declares the least protocol its runs must follow (CLAIMS.md,
"Minimum protocol"): epochs or optimizer steps per study, the whole training
set, the cells that must have run. A verdict on runs that meet it has scope
``protocol``; otherwise ``reduced``, with the cuts in words ("2 of 30 epochs").
A claim about duration, late training or how far values travel says nothing
below its minimum: it is NOT_RUN there (``Minimum.duration``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from claims.runs import RunTables

PROTOCOL, REDUCED, NONE = "protocol", "reduced", "none"  # NONE: no runs to speak of


def every_cell(label: str) -> bool:
    return True


@dataclass(frozen=True)
class Requirement:
    """The least one study's runs must have done, for the cells ``cells`` selects."""

    study: str
    what: str  # the cells in words: "SGD and AdaGrad panels"
    epochs: int | None = None  # at least this many epochs
    steps: int | None = None  # at least this many optimizer steps (epochs x steps per epoch)
    needs: tuple[str, ...] = ()  # cells that must have run (e.g. the tallest tower)
    cells: Callable[[str], bool] = every_cell
    optional: bool = False  # a study that joins the claim only when it ran (C2's other benchmarks)
    train_size: int | None = None  # the protocol's training examples: the first this many (None: the whole training set)


@dataclass(frozen=True)
class Minimum:
    """A claim's minimum protocol: its requirements, their source, and whether it is a duration claim."""

    requirements: tuple[Requirement, ...]
    source: str
    duration: bool = False  # about duration, late training or how far values travel: NOT_RUN below it
    declared: bool = True  # False: no minimum declared yet (no study serves the claim), so no runs can be at its protocol

    def describe(self) -> str:
        if not self.declared:
            return f"none declared ({self.source})"
        if not self.requirements:
            return f"any ({self.source})"
        parts = []
        for r in self.requirements:
            amount = f"{r.epochs} epochs" if r.epochs else f"{r.steps:,} steps" if r.steps else ""
            needs = f", cells {', '.join(r.needs)}" if r.needs else ""
            data = "the whole training set" if r.train_size is None else f"the first {r.train_size:,} training examples"
            parts.append(f"{r.what}: {amount}{needs} on {data}".replace(": ,", ":"))
        return "; ".join(parts) + f" ({self.source})"


ANY = Minimum((), "a measurement: any protocol")


@dataclass(frozen=True)
class Scope:
    level: str  # PROTOCOL, REDUCED or NONE
    cuts: tuple[str, ...] = field(default_factory=tuple)  # how the runs fall short, in words
    covers: str = ""  # a part of a claim: its reach in words ("MLP only")

    def label(self) -> str:
        """The level with a part's reach: 'protocol (MLP only)'."""
        return f"{self.level} ({self.covers})" if self.covers else self.level

    def describe(self) -> str:
        return self.label() if not self.cuts else f"{self.label()}: " + "; ".join(self.cuts)


def _cuts(requirement: Requirement, runs: pd.DataFrame) -> str | None:
    """How the runs of one requirement fall short of it, in words ("SGD panel: 2 of 30 epochs"); None when they meet it."""
    parts = []
    if requirement.epochs is not None and int(runs.epochs.min()) < requirement.epochs:
        parts.append(f"{int(runs.epochs.min())} of {requirement.epochs} epochs")
    if requirement.steps is not None:
        steps = int((runs.epochs * runs.steps_per_epoch).min())
        if steps < requirement.steps:
            parts.append(f"{steps:,} of {requirement.steps:,} steps")
    if requirement.train_size is None:
        sliced = runs.train_size[runs.train_size != "all"]
        if len(sliced):
            parts.append(f"on the first {int(sliced.astype(int).min()):,} training examples, not all")
    else:  # a protocol on a slice: fewer examples fall short of it, and so does the whole set (another protocol)
        other = sorted({str(size) for size in runs.train_size if str(size) != str(requirement.train_size)})
        if other:
            parts.append(f"on {' and '.join(other)} training examples, not the first {requirement.train_size:,}")
    missing = [label for label in requirement.needs if label not in set(runs.cell)]
    if missing:
        parts.append(f"no runs of {', '.join(missing)}")
    return f"{requirement.what}: {', '.join(parts)}" if parts else None


def assess(minimum: Minimum, tables: RunTables) -> Scope:
    """The scope of a verdict on ``tables`` under ``minimum`` (runs that are absent are the verdict's business)."""
    if not minimum.declared:
        return Scope(NONE, ("no minimum protocol declared",))
    cuts = []
    for requirement in minimum.requirements:
        runs = tables.runs[tables.runs.study == requirement.study] if len(tables.runs) else tables.runs
        runs = runs[runs.cell.map(requirement.cells)] if len(runs) else runs
        if runs.empty:
            if not requirement.optional:
                return Scope(NONE, (f"{requirement.what}: no runs",))
            continue
        cut = _cuts(requirement, runs)
        if cut:
            cuts.append(cut)
    return Scope(REDUCED, tuple(cuts)) if cuts else Scope(PROTOCOL)
