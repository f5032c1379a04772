"""Claims over any runs: a few shapes a user declares in a claims file, decided by the same engine as a paper's.

A claims file (see the README, "Claims over your own runs") names where the runs are and how to read them
(``Runs``), and lists its ``CLAIMS``:

    RUNS = Runs(title="SGD against Adam on my task", cell="params.optimizer", seed="params.seed")
    CLAIMS = [better("H1", "Adam ends with a lower test loss than SGD", "metrics.test_loss", "adam", than="sgd")]

Every run of the experiment becomes a row of one study (``STUDY``): its cell is the value of ``Runs.cell``,
its seed the value of ``Runs.seed``, and each key a claim names ("metrics.test_loss", "params.width",
"tags.note") a column. The seed is the unit: a cell's runs are paired with another cell's by seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from claims.evidence import all_of, comparison, fmt_mean, paired, values
from claims.runs import RunTables
from claims.scope import ANY, Minimum, Requirement
from claims.verdict import Change, Claim, Evidence

STUDY = "runs"  # the one study a claims file's runs form
FAMILY = "H"  # the default family: Holm's correction runs over every claim of a family
KINDS = ("metrics", "params", "tags")


def check_key(key: str) -> str:
    """``key`` if it reads 'metrics.x', 'params.x' or 'tags.x'; ValueError saying how it should read."""
    kind, _, name = key.partition(".")
    if kind not in KINDS or not name:
        raise ValueError(f"{key!r} is not a run key: write metrics.<name>, params.<name> or tags.<name>")
    return key


@dataclass(frozen=True)
class Runs:
    """Where a claims file's runs are and how to read them: ``cell`` and ``seed`` are keys such as 'params.optimizer'."""

    title: str
    cell: str
    seed: str
    experiment: str | None = None  # default: given on the command line
    epochs: str | None = None  # the key of a run's epoch count, for claims that declare a minimum number of epochs

    def __post_init__(self):
        for key in (self.cell, self.seed, self.epochs):
            if key:
                check_key(key)


def _minimum(min_epochs: int | None, cells: tuple[str, ...]) -> Minimum:
    if min_epochs is None:
        return ANY
    return Minimum((Requirement(STUDY, f"cells {', '.join(cells)}", epochs=min_epochs, cells=lambda label: label in cells),),
                   "declared in the claims file")


def better(claim_id: str, statement: str, metric: str, cell: str, than: str, *, lower_is_better: bool = True, margin: float = 0.0,
           source: str = "the claims file", published: str = "not stated", family: str = FAMILY, min_epochs: int | None = None,
           declared: str | None = None, headline: bool = False) -> Claim:
    """The claim that ``cell`` ends better than ``than`` on ``metric`` by more than ``margin``, paired over seeds.

    Statistic: per seed, ``than``'s value minus ``cell``'s (the other way round when higher is better). SUPPORTED when
    its mean is above ``margin`` (one-sided exact sign-flip test, Holm within ``family``); REFUTED when significantly
    below it. A negative margin makes it a non-inferiority claim ("no worse than by more than |margin|").
    ``declared``: the ISO date the claim was declared (default: today), the first entry of its pre-registration log.
    """
    check_key(metric)
    direction = "lower" if lower_is_better else "higher"
    hypothesis = (f"mean over seeds of the paired difference in {metric} ({than} minus {cell}" + ("" if lower_is_better else ", negated")
                  + f") > {margin:g}: {cell} ends {direction} by more than {margin:g}")

    def evaluate(tables: RunTables) -> Evidence:
        mine, theirs = paired(values(tables, STUDY, cell, metric), values(tables, STUDY, than, metric))
        diffs = (theirs - mine) if lower_is_better else (mine - theirs)
        row = comparison(f"{cell} vs {than}", diffs, shift=margin)
        return all_of([row], "one-sided exact sign-flip test over seeds (paired by seed)", f"{metric}: {than} - {cell}" if lower_is_better
                      else f"{metric}: {cell} - {than}", f"{cell} {fmt_mean(mine, '', '.4g')}; {than} {fmt_mean(theirs, '', '.4g')}")

    first = Change(declared or date.today().isoformat(), "first declared in the claims file", "the claim as its author states it",
                   runs_existed=True, kind="test")
    return Claim(claim_id, family, source, statement, published, (STUDY,), hypothesis, evaluate, headline=headline,
                 minimum=_minimum(min_epochs, (cell, than)), history=(first,))
