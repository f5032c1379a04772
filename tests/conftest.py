"""Fixtures every test package shares: a fresh tracking store, MNIST loaded once."""

import pytest

from training.data.mnist import load_mnist


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite tracking store for this test, set as MLFLOW_TRACKING_URI (for this process and its children)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    return uri


@pytest.fixture(scope="session")
def mnist():
    """(train, test) MNIST splits, loaded and checked once for the whole session."""
    return load_mnist()
