"""Reorganising the code must not change a run or a verdict: the runs every profile plans, the smoke job's
trained runs and its verdicts, scopes and effects, against ``tests/golden/fingerprint.json`` (written from the
code before the claims engine was split from the paper; see ``support.fingerprint``)."""

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from support.fingerprint import PROFILES, claims_table, decided, planned_hashes, trained_hashes

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "fingerprint.json").read_text())


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_plans_the_same_runs(profile):
    planned, before = planned_hashes(profile), GOLDEN["planned"][profile]
    changed = sorted(name for name in set(planned) | set(before) if planned.get(name) != before.get(name))
    assert not changed, f"studies whose runs (cells, seeds or config hashes) changed at {profile}: {changed}"


def test_the_smoke_job_trains_the_same_runs_and_decides_the_same(smoke_job):
    _, uri, _ = smoke_job
    client = MlflowClient(uri)
    assert trained_hashes(client) == GOLDEN["smoke_trained"]
    now, before = decided(claims_table(client)), GOLDEN["smoke_decided"]
    assert set(now) == set(before)
    assert {claim: row for claim, row in now.items() if row != before[claim]} == {}
