"""What a claims job trains, and the profiles' seed counts: they let every headline claim (and C1) be decided wherever it runs, at cpu and at paper.

An exact one-sided test over n seeds cannot give p below 2^-n, and Holm's first
threshold in a family of m decided claims is 0.05/m. Which claims are decided at
a profile follows from their minimum protocols: a duration claim below its
minimum is NOT_RUN (B5 and C3 at cpu: scope before coverage).
"""

import pytest
from support.tables import run_tables

from claims.verdict import ALPHA
from papers.ultimate_optimizer.catalogue import CATALOGUE, evaluate
from papers.ultimate_optimizer.studies import BENCHMARKS, build_study
from pipeline.plan import decidable, explain_not_run, planned_tables, studies_to_train

HEADLINE_AND_C1 = ("B5", "C2", "C3", "D1", "D2", "C1")
HEADLINE_PARTS = tuple(c.id for c in CATALOGUE if c.id in HEADLINE_AND_C1 and not c.parts) + tuple(
    part for c in CATALOGUE if c.id in HEADLINE_AND_C1 for part in c.parts)


def decided(profile: str, benchmarks: tuple[str, ...]) -> dict[str, int]:
    """Claims that would be decided (not NOT_RUN), with the fewest seeds among their studies."""
    tables = planned_tables(profile, benchmarks)
    return {claim.id: min(build_study(study, profile).seeds for study in claim.studies if not study.endswith("reruns"))
            for claim in CATALOGUE if all(tables.has(study) for study in claim.studies) and decidable(claim, tables)}


@pytest.mark.parametrize("profile, benchmarks", [("cpu", ("mlp",)), ("cpu", ("mlp", "resnet20", "charlstm")), ("paper", ("mlp", "resnet20", "charlstm"))])
def test_headline_claims_and_c1_can_reach_holms_first_threshold(profile, benchmarks):
    """A claim decided through parts (C2[mlp], ...) is decided where its parts are; a whole claim takes no part in Holm."""
    found = decided(profile, benchmarks)
    for claim_id in HEADLINE_PARTS:
        if claim_id not in found:
            continue
        family = claim_id[0]
        decided_in_family = sum(1 for c in CATALOGUE if c.family == family and c.id in found and not c.parts)
        assert 0.5 ** found[claim_id] < ALPHA / decided_in_family, (claim_id, found[claim_id], decided_in_family)


def test_scope_before_coverage_at_cpu():
    """B5 and C3 need 30 epochs of the towers: at cpu they are not decided, however many seeds."""
    found = decided("cpu", ("mlp",))
    assert "B5[mlp]" not in found and "C3[mlp]" not in found
    assert {"C2[mlp]", "D1", "D2", "A1", "A2", "A7", "B1[adam/sgd]", "B1[adam/adam]"} <= set(found)
    paper = decided("paper", ("mlp", "resnet20", "charlstm"))
    assert set(HEADLINE_PARTS) <= set(paper)


def test_studies_that_cannot_inform_a_verdict_are_skipped_and_said_so():
    chosen, skipped = studies_to_train("cpu", BENCHMARKS)
    assert set(skipped) == {"mlp_long", "resnet_schedule", "charlstm_grid"}
    assert "A6" in skipped["mlp_long"] and "3 of 30 epochs" in skipped["mlp_long"]
    assert {"mlp_table1", "mlp_towers", "resnet_grid", "charlstm_towers"} <= set(chosen) and chosen[-1] == "mlp_cost"
    assert studies_to_train("paper", BENCHMARKS)[1] == {}  # at the published protocol everything can speak


def test_a_claim_whose_runs_were_not_trained_says_why():
    verdicts = explain_not_run(evaluate(run_tables([])), "cpu")
    by_id = {v.claim.id: v for v in verdicts}
    assert by_id["A6"].scope.level == "reduced" and "not trained at cpu" in by_id["A6"].reason
    assert by_id["A1"].scope.level == "none" and "no finished runs" in by_id["A1"].reason  # not a duration claim: simply not run yet
