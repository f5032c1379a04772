"""What a study is: labelled cells (model + stack + epochs + batch size) run over seeds.

Cell labels are stable names a paper's claims refer to (each paper keeps its own, e.g.
``papers.ultimate_optimizer.studies.labels``); the run configs behind them follow the profile.
Shared here too: ``PerProfile``, how a study states its size at each profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from training.core.config import Profile, RunConfig, make_config

T = TypeVar("T")


@dataclass(frozen=True)
class PerProfile(Generic[T]):
    """One setting of a study at each profile, named: ``PerProfile(smoke=1, cpu=2, paper=30)``."""

    smoke: T
    cpu: T
    paper: T

    def __post_init__(self) -> None:
        assert set(Profile) == {"smoke", "cpu", "paper"}, "PerProfile names every profile"

    def at(self, profile: Profile) -> T:
        return getattr(self, profile)


@dataclass(frozen=True)
class Cell:
    label: str
    stack: str
    epochs: int
    batch_size: int | None = None
    model: str = "mlp"
    seed: int | None = None  # pinned seed (derived cells), else one run per sweep seed
    schedule: str = ""  # hand-made step-size schedule (plain optimizers only)


@dataclass(frozen=True)
class Study:
    name: str
    claims: tuple[str, ...]
    cells: tuple[Cell, ...]
    seeds: int
    exclusive: bool = False  # timing study: run alone, one worker, nothing beside it
    beyond: bool = False  # ours, beyond the paper and the reproduction: trained only when a job asks for it
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def models(self) -> tuple[str, ...]:
        """The models the study trains (their data must be loaded)."""
        return tuple(sorted({cell.model for cell in self.cells}))

    def configs(self, profile: Profile, seeds: int | None = None) -> list[tuple[Cell, RunConfig]]:
        """Every (cell, run config) of the study: unpinned cells x seeds 0..n-1.

        A timing study comes seed by seed, every cell within a seed back to back, so
        that a seed is a block in time and slow drift of the machine is not confounded
        with the cells' order.
        """
        n = self.seeds if seeds is None else seeds
        pairs = [(cell, seed) for cell in self.cells for seed in ([cell.seed] if cell.seed is not None else range(n))]
        if self.exclusive:
            pairs.sort(key=lambda pair: pair[1])
        return [(cell, make_config(cell.model, cell.stack, cell.epochs, seed, profile, cell.batch_size, cell.schedule)) for cell, seed in pairs]
