"""The profiles' seed counts let every headline claim (and C1) be decided wherever it runs, at cpu and at paper.

An exact one-sided test over n seeds cannot give p below 2^-n, and Holm's first
threshold in a family of m decided claims is 0.05/m. Which claims are decided at
a profile follows from their minimum protocols: a duration claim below its
minimum is NOT_RUN (B5 and C3 at cpu: scope before coverage).
"""

import pytest
from support.tables import run_tables

from claims.catalogue import CATALOGUE
from claims.scope import REDUCED, assess
from claims.verdict import ALPHA
from training.core.config import PROFILES
from training.studies import build_study, studies_for

# optimizer steps in one pass over the whole training set (MNIST 60,000 / 256; CIFAR-10 50,000 / 128; War and Peace: 1,152)
FULL_STEPS = {"mlp": 235, "resnet20": 391, "charlstm": 1152}
HEADLINE_AND_C1 = ("B5", "C2", "C3", "D1", "D2", "C1")


def planned_tables(profile: str, benchmarks: tuple[str, ...]):
    """The runs a profile would make, as a run table (no metrics): enough to read each claim's scope off it."""
    rows = []
    for name in studies_for(benchmarks, profile):
        for cell, config in build_study(name, profile).configs(profile, seeds=1):
            sliced = PROFILES[profile].sizes[config.model][0]
            steps = FULL_STEPS[config.model] if sliced is None else 1
            rows.append({"study": name, "cell": cell.label, "seed": 0, "run_id": cell.label, "epochs": config.epochs,
                         "steps_per_epoch": steps, "train_size": "all" if sliced is None else str(sliced)})
    return run_tables(rows)


def decided(profile: str, benchmarks: tuple[str, ...]) -> dict[str, int]:
    """Claims that would be decided (not NOT_RUN), with the fewest seeds among their studies."""
    tables = planned_tables(profile, benchmarks)
    out = {}
    for claim in CATALOGUE:
        if not all(tables.has(study) for study in claim.studies):
            continue
        if claim.minimum.duration and assess(claim.minimum, tables).level == REDUCED:
            continue
        out[claim.id] = min(build_study(study, profile).seeds for study in claim.studies if not study.endswith("reruns"))
    return out


@pytest.mark.parametrize("profile, benchmarks", [("cpu", ("mlp",)), ("cpu", ("mlp", "resnet20", "charlstm")), ("paper", ("mlp", "resnet20", "charlstm"))])
def test_headline_claims_and_c1_can_reach_holms_first_threshold(profile, benchmarks):
    found = decided(profile, benchmarks)
    for claim_id in HEADLINE_AND_C1:
        if claim_id not in found:
            continue
        family = claim_id[0]
        decided_in_family = sum(1 for c in CATALOGUE if c.family == family and c.id in found)
        assert 0.5 ** found[claim_id] < ALPHA / decided_in_family, (claim_id, found[claim_id], decided_in_family)


def test_scope_before_coverage_at_cpu():
    """B5 and C3 need 30 epochs of the towers: at cpu they are not decided, however many seeds."""
    found = decided("cpu", ("mlp",))
    assert "B5" not in found and "C3" not in found
    assert {"C2", "D1", "D2", "A1", "A2", "A7", "B1"} <= set(found)
    paper = decided("paper", ("mlp", "resnet20", "charlstm"))
    assert set(HEADLINE_AND_C1) <= set(paper)
