"""Validity by simulation: how often a rule gives each verdict on tables drawn at its least-favourable null."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.verdict import ALPHA, Evidence

REPETITIONS = 500
MODULES_WITH_INTERVALS = ("claims.evidence",) + tuple(f"papers.ultimate_optimizer.family_{f}" for f in "bcde")  # where bootstrap_ci is called


def limit(repetitions: int = REPETITIONS) -> float:
    """The most a rate at level ALPHA may show over ``repetitions`` draws: 5% plus two standard errors of the estimate."""
    return ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / repetitions)


def rates(simulate: Callable, evaluate: Callable[..., Evidence], seed: int, repetitions: int = REPETITIONS) -> tuple[float, float]:
    """(false-SUPPORTED rate, false-REFUTED rate) at level ALPHA over ``repetitions`` tables ``simulate(rng)``."""
    rng = np.random.default_rng(seed)
    found = [evaluate(simulate(rng)) for _ in range(repetitions)]
    return float(np.mean([e.p_support < ALPHA for e in found])), float(np.mean([e.p_refute < ALPHA for e in found]))


def without_intervals(monkeypatch, modules: tuple[str, ...] = MODULES_WITH_INTERVALS) -> None:
    """Validity is about p-values: skip the bootstrap interval (10,000 resamples) each row of ``modules`` also computes."""
    for module in modules:
        monkeypatch.setattr(f"{module}.bootstrap_ci", lambda values, *args, **kwargs: (float("nan"), float("nan")))
