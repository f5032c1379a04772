"""What the main job needs of a paper on trial: its claims and families, the studies that train their runs, and the
words its report opens with. A paper's package exposes one ``Paper`` as ``PAPER``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from analysis.document import Document
from claims.engine import MissingHint, no_hint
from claims.runs import RunTables
from claims.verdict import Claim
from training.core.config import Profile
from training.studies.base import Study


@dataclass(frozen=True)
class Paper:
    """``studies``: each trainable study's builder by name (``builder(profile) -> Study``), in the order they train;
    ``about(profile)``: the paragraphs under the report's title (what the paper claims, what these runs can speak to);
    ``sections``: the report's own sections after the claims (a fidelity table), written from the run tables."""

    name: str
    title: str
    catalogue: tuple[Claim, ...]
    families: tuple[str, ...]
    studies: Mapping[str, Callable[[Profile], Study]]
    about: Callable[[str], list[str]]
    missing_hint: MissingHint = no_hint
    sections: Callable[[Document, RunTables], None] | None = None
