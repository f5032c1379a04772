"""What a runner is: where a sweep's runs train, behind one interface.

A runner is a context manager (it starts and stops its workers or its cluster
connection) whose ``completed(jobs)`` trains the jobs and yields an ``Outcome``
for each as it finishes. A runner either hands each result back for the
driver to log (``logs_runs = False``: local workers, one writer) or lets each
run log itself to a shared tracking server (``logs_runs = True``: Ray).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol, runtime_checkable

from training.core.config import RunConfig
from training.core.loop import RunResult
from training.studies.base import Cell

Job = tuple[Cell, RunConfig]

# how often a runner waiting on its workers looks for an interruption the main thread did not raise
# (see training.core.interrupt): a pass can take minutes, a Ctrl-C should not
WAKE_SECONDS = 1.0


class Outcome(NamedTuple):
    """One run's end: exactly one of ``result`` and ``error`` is None."""

    cell: Cell
    config: RunConfig
    result: RunResult | dict | None  # a RunResult, or a remote run's summary dict
    error: BaseException | None


@runtime_checkable
class Runner(Protocol):
    logs_runs: bool
    device: str

    def __enter__(self) -> "Runner": ...

    def __exit__(self, *exc) -> None: ...

    def for_study(self, study: str, tags: dict[str, str]) -> "Runner":
        """The runner for one study's jobs (a runner whose runs log themselves needs their study and tags)."""
        ...

    def completed(self, jobs: list[Job], in_process: bool = False) -> Iterator[Outcome]:
        """Train ``jobs``, yielding each outcome as it comes; ``in_process``: alone, here (timing studies)."""
        ...
