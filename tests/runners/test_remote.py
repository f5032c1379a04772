"""Runs that log themselves: retried attempts and their checkpoints."""

import io
from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

from training.core.config import make_config
from training.runners.remote import earlier_attempt
from training.tracking import schema
from training.tracking.writer import RunLogger


def test_a_lost_attempt_with_a_checkpoint_of_another_format_trains_again(store, tmp_path, monkeypatch):
    """A retried run finds its lost attempt's checkpoint written by older code: noted, not resumed."""
    tracking = MlflowClient(store)
    monkeypatch.chdir(tmp_path)  # the store's artifacts go beside it
    config = make_config(stack="sgd(0.01) / sgd(0.01)", epochs=2, profile="smoke", seed=0)
    lost = RunLogger.open(config, "mlp_long")
    old = tmp_path / "latest.pt"
    buffer = io.BytesIO()
    torch.save({"format": 1, "epoch": 1}, buffer)
    old.write_bytes(buffer.getvalue())
    tracking.log_artifact(lost.run_id, str(old), str(Path(schema.CHECKPOINT_ARTIFACT).parent))
    tracking.set_tag(lost.run_id, schema.CHECKPOINT_EPOCH, "1")
    assert earlier_attempt("mlp_long", config) == (None, None)
    run = tracking.get_run(lost.run_id)
    assert run.info.status == "KILLED" and "not resumed" in run.data.tags["mlflow.note.content"]
