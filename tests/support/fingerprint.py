"""What must not change when the code is reorganised: the runs every profile plans (config hashes) and what
the smoke job decides (verdicts, scopes, effects).

``tests/golden/fingerprint.json`` was written by this module from the code before the claims engine was
split from the paper (commit 5c5314a); ``tests/pipeline/test_fingerprint.py`` compares the code of today with
it. Rewrite it only for a change that is meant to alter runs or verdicts, and say so in the commit:

    cd tests && MLFLOW_TRACKING_URI=sqlite:///<store of a smoke job with beyond=true> python -m support.fingerprint > golden/fingerprint.json
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from mlflow.tracking import MlflowClient

from papers.ultimate_optimizer.studies import STUDIES, build_study

PROFILES = ("smoke", "cpu", "paper")
TIMED = {"E1", "E2", "E3", "F3"}  # decided on wall-clock timings of the machine: only their scope is the same from one run to the next
EFFECT_DIGITS = 6  # significant digits kept of effects and intervals: beyond them, summation order may differ between BLAS builds


def planned_hashes(profile: str) -> dict[str, dict]:
    """{study: {"runs": n, "digest": sha256 of its sorted 'cell|seed|config hash' lines}} for every study at ``profile``,
    at the seeds each study declares."""
    found = {}
    for name in sorted(STUDIES):
        lines = sorted(f"{cell.label}|{config.seed}|{config.config_hash}" for cell, config in build_study(name, profile).configs(profile))
        found[name] = {"runs": len(lines), "digest": hashlib.sha256("\n".join(lines).encode()).hexdigest()}
    return found


def _rounded(value) -> float | None:
    return None if value is None or value != value else float(f"{value:.{EFFECT_DIGITS}g}")


def decided(rows: list[dict]) -> dict[str, dict]:
    """{claim: verdict, scope, effect and interval} from a verdict table's rows (the scope alone of a timed claim)."""
    return {row["claim"]: {"scope": row["scope"]} if row["claim"].split("[")[0] in TIMED else
            {"verdict": row["verdict"], "scope": row["scope"], "effect": _rounded(row.get("effect")),
             "ci": [_rounded(row.get("ci_low")), _rounded(row.get("ci_high"))]} for row in rows}


def trained_hashes(client: MlflowClient) -> dict[str, str]:
    """{study: sha256 of its finished runs' sorted 'cell|seed|config hash' lines} in a store."""
    found = {}
    for experiment in client.search_experiments():
        runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'", max_results=50_000)
        lines = sorted(f"{r.data.tags['cell']}|{r.data.tags['seed']}|{r.data.tags['config_hash']}" for r in runs if "config_hash" in r.data.tags)
        if lines:
            found[experiment.name] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return found


def claims_table(client: MlflowClient) -> list[dict]:
    """The rows of the newest claims run's verdicts.json artifact."""
    experiment = client.get_experiment_by_name("claims")
    run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    with tempfile.TemporaryDirectory() as folder:
        table = json.loads(Path(client.download_artifacts(run.info.run_id, "verdicts.json", folder)).read_text())
    return [dict(zip(table["columns"], row)) for row in table["data"]]


def fingerprint(client: MlflowClient) -> dict:
    return {"planned": {profile: planned_hashes(profile) for profile in PROFILES}, "smoke_trained": trained_hashes(client),
            "smoke_decided": decided(claims_table(client))}


if __name__ == "__main__":
    json.dump(fingerprint(MlflowClient()), sys.stdout, indent=1, sort_keys=True)
    print()
