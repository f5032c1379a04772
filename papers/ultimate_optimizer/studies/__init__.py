"""Named studies: the grids of runs the claims need, per profile, and how far each is cut.

``STUDIES`` names every study's builder (MLP ones in ``mlp``, ResNet-20 and
char-LSTM ones in ``large``); ``build_study`` builds one once per process.
``reductions`` says, from the study definitions themselves, how a profile
departs from the published protocol (the ``paper`` profile).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache

from papers.ultimate_optimizer.studies import beyond, labels, large, mlp
from training.core.benchmark import BENCHMARKS as RECORDS
from training.core.config import Profile
from training.studies.base import Cell, Study

STUDIES: dict[str, Callable[[Profile], Study]] = {**mlp.STUDIES, **large.STUDIES, **beyond.STUDIES}
BEYOND = tuple(beyond.STUDIES)  # ours, beyond the paper: trained only when asked
DERIVED = {labels.MLP_RERUNS: labels.MLP_TABLE1}  # built from the finished runs of another study
ALL_STUDIES = (*STUDIES, *DERIVED)


@cache
def build_study(name: str, profile: Profile) -> Study:
    """The study ``name`` at ``profile`` (studies are immutable: built once per process)."""
    return STUDIES[name](profile)


# the benchmarks these studies train, which a claims run chooses from (other records serve another paper's studies)
BENCHMARKS = tuple(model for model in RECORDS if any(model in build_study(name, "paper").models for name in STUDIES))
BENCHMARK_REACH = {name: RECORDS[name].reach for name in BENCHMARKS}  # a verdict on one benchmark, in words


def studies_for(benchmarks: tuple[str, ...], profile: Profile, beyond: bool = False) -> list[str]:
    """Names of the studies whose models are all among ``benchmarks`` (with ``beyond``, ours beyond the paper too);
    the timing studies last."""
    chosen = [name for name in STUDIES if set(build_study(name, profile).models) <= set(benchmarks) and (beyond or not build_study(name, profile).beyond)]
    return sorted(chosen, key=lambda name: build_study(name, profile).exclusive)


def parse_benchmarks(text: str) -> tuple[str, ...]:
    """'mlp' (default), 'all', or a comma list of mlp, resnet20, charlstm; ValueError naming a bad one."""
    names = BENCHMARKS if text.strip() == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise ValueError(f"benchmarks must be 'all' or a comma list of {', '.join(BENCHMARKS)}, got {text!r}")
    return names


def _study_cuts(here: Study, paper: Study) -> list[str]:
    """How ``here`` differs from the same study at the paper's protocol, in words."""
    theirs = {cell.label: cell for cell in paper.cells}
    parts = []
    epochs = Counter((c.epochs, theirs[c.label].epochs) for c in here.cells if c.label in theirs and c.epochs != theirs[c.label].epochs)
    parts += [f"{ours} of {published} epochs ({n} cells)" for (ours, published), n in sorted(epochs.items())]
    parts += [f"{c.label} schedule {c.schedule} (paper {theirs[c.label].schedule})" for c in here.cells
              if c.label in theirs and c.schedule != theirs[c.label].schedule]
    own = {cell.label for cell in here.cells}
    if own != set(theirs):
        parts.append(f"{len(own & set(theirs))} of the paper-protocol study's {len(theirs)} cells"
                     + (f", plus {len(own - set(theirs))} of its own" if own - set(theirs) else ""))
    return parts


def reductions(profile: Profile) -> list[str]:
    """Every way ``profile`` departs from the published protocol: data slices, then study by study."""
    lines = []
    for model in BENCHMARKS:
        record = RECORDS[model]
        train, test = record.sizes[profile]
        if (train, test) != record.sizes["paper"]:
            lines.append(f"{model}: the first {train:,} training and {test:,} test {record.data_units} (paper: all).")
    for name in STUDIES:
        cuts = _study_cuts(build_study(name, profile), build_study(name, "paper"))
        if cuts:
            lines.append(f"{name}: " + "; ".join(cuts) + ".")
    return lines


__all__ = ["ALL_STUDIES", "BENCHMARKS", "BEYOND", "DERIVED", "STUDIES", "Cell", "Study", "build_study", "labels", "parse_benchmarks", "reductions", "studies_for"]
