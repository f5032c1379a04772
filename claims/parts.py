"""A claim that names several benchmarks (or stacks), declared as one claim per part.

Each part is a claim of its own (``C2[mlp]``): its studies, its minimum protocol,
its evaluation and its reach in words ("MLP only"), so a verdict on the MLP's
runs can never pass for a verdict on every benchmark. The whole claim keeps the
statement and history and is composed from its parts (``claims.verdict.compose``)
once every part has run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from claims.scope import Minimum
from claims.verdict import Change, Claim, Evidence, NotRun


@dataclass(frozen=True)
class Part:
    """One part of a claim: ``name`` is its id's suffix ('mlp', 'adam/sgd')."""

    name: str
    studies: tuple[str, ...]
    minimum: Minimum
    evaluate: Callable[..., Evidence]
    covers: str = ""  # default: its reach in words, from the ``reach`` given to ``split``
    published: str = ""  # default: the whole claim's
    published_effect: float | None = None


def through_parts(tables) -> Evidence:
    """The evaluation of a whole claim: never called for its own evidence (``claims.verdict.compose`` decides it)."""
    raise NotRun("decided through its parts")


def split(whole: Claim, parts: list[Part], change: Change, reach: Mapping[str, str] | None = None) -> list[Claim]:
    """[the whole claim, its parts...]: the whole one composed from the parts, each part a claim of the same family.

    ``change``: the history entry that split it (added to the whole claim's history and each part's); ``reach``: a part's
    reach in words by its name ({"mlp": "MLP only"}), for parts that do not state their own ``covers``.
    """
    history = whole.history + (change,)
    members = []
    for part in parts:
        covers = part.covers or (reach or {})[part.name]
        members.append(replace(
            whole, id=f"{whole.id}[{part.name}]", statement=f"{whole.statement} ({covers})", studies=part.studies,
            minimum=part.minimum, evaluate=part.evaluate, history=history, published=part.published or whole.published,
            published_effect=part.published_effect, covers=covers, parts=()))
    requirements = tuple(replace(r, optional=False) for p in parts for r in p.minimum.requirements)
    composed = replace(whole, studies=tuple(dict.fromkeys(s for p in parts for s in p.studies)), history=history,
                       minimum=replace(whole.minimum, requirements=requirements),
                       parts=tuple(m.id for m in members), published_effect=None)
    return [composed, *members]
