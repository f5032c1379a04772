"""Which studies a claims job trains: those that can inform a verdict at the profile.

A study whose every claim is about duration and would fall below its minimum
protocol at this profile (``claims.scope``) would only produce NOT_RUN verdicts:
the job skips it and says why (at ``cpu``: the A6 long runs; with the larger
benchmarks, the ResNet-20 schedule study and the char-LSTM grid). Its figures
are not drawn either, since they belong to claims that are not run.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from claims.runs import RunTables
from claims.scope import NONE, REDUCED, Minimum, assess
from claims.verdict import NOT_RUN, Claim, Verdict
from papers.ultimate_optimizer.catalogue import CATALOGUE
from papers.ultimate_optimizer.studies import BENCHMARKS, build_study, studies_for
from training.core.benchmark import BENCHMARKS as RECORDS
from training.core.config import Profile
from training.tracking.runs import RUN_COLUMNS

FULL_TRAIN = {name: record.full_size[0] for name, record in RECORDS.items()}  # whole training sets (War and Peace: characters), checksummed


def planned_tables(profile: Profile, benchmarks: tuple[str, ...] = BENCHMARKS, train_sizes: dict[str, int] = FULL_TRAIN,
                   beyond: bool = True) -> RunTables:
    """The runs the profile's studies would make (one seed, no metrics), as a run table: enough to read scopes off.

    ``train_sizes``: each benchmark's whole training set (examples, or characters for the char-LSTM);
    ``beyond``: with our studies beyond the paper.
    """
    rows = []
    for name in studies_for(benchmarks, profile, beyond):
        for cell, config in build_study(name, profile).configs(profile, seeds=1):
            used = min(train_sizes[config.model], config.train_size or train_sizes[config.model])
            rows.append({"study": name, "cell": cell.label, "seed": 0, "run_id": cell.label, "epochs": config.epochs, "diverged": False,
                         "steps_per_epoch": RECORDS[config.model].steps_per_epoch(used, config.batch_size),
                         "train_size": "all" if config.train_size is None else str(config.train_size)})
    return RunTables(pd.DataFrame(rows) if rows else pd.DataFrame(columns=RUN_COLUMNS), {})


def serves(claim: Claim, study: str) -> bool:
    """Whether the claim reads the study (required, or joining when it ran)."""
    return study in claim.studies or any(r.study == study for r in claim.minimum.requirements)


def decidable(claim: Claim, tables: RunTables) -> bool:
    """Whether the planned runs could decide the claim: they include its studies, and, if it is about duration, meet its minimum."""
    if not all(tables.has(study) for study in claim.studies):
        return False
    return not (claim.minimum.duration and assess(claim.minimum, tables).level == REDUCED)


def studies_to_train(profile: Profile, benchmarks: tuple[str, ...], only: tuple[str, ...] = (), beyond: bool = False) -> tuple[list[str], dict[str, str]]:
    """(the studies to train, in order; {skipped study: why none of its claims can be decided}), among ``only`` when given;
    ``beyond``: our studies beyond the paper too."""
    tables = planned_tables(profile, benchmarks, beyond=beyond)
    chosen, skipped = [], {}
    for name in studies_for(benchmarks, profile, beyond):
        if only and name not in only:
            continue
        claims = [claim for claim in CATALOGUE if serves(claim, name)]
        if any(decidable(claim, tables) for claim in claims):
            chosen.append(name)
            continue
        skipped[name] = "; ".join(_why_not(claim, name, tables, profile) for claim in claims)
    return chosen, skipped


def _why_not(claim: Claim, study: str, tables: RunTables, profile: Profile) -> str:
    """Why the planned runs cannot decide ``claim``, in words."""
    missing = [name for name in claim.studies if not tables.has(name)]
    if missing:
        return f"{claim.id} also needs {', '.join(missing)}, not among the benchmarks asked for"
    own = assess(Minimum(tuple(r for r in claim.minimum.requirements if r.study == study), ""), tables)
    return f"{claim.id} is about duration, and at {profile}: {'; '.join(own.cuts)}"


def explain_not_run(verdicts: list[Verdict], profile: Profile) -> list[Verdict]:
    """A claim NOT_RUN for want of runs that this profile would not train (they would fall below its minimum
    protocol) says so, with the scope its runs would have had."""
    tables = planned_tables(profile)
    out = []
    for verdict in verdicts:
        claim = verdict.claim
        if verdict.verdict == NOT_RUN and verdict.scope.level == NONE and claim.minimum.duration and assess(claim.minimum, tables).level == REDUCED:
            scope = assess(claim.minimum, tables)
            verdict = replace(verdict, scope=scope, reason=f"below its minimum protocol ({'; '.join(scope.cuts)}): not trained at {profile}, "
                                                              "where a claim about duration cannot be decided")
        out.append(verdict)
    return out
