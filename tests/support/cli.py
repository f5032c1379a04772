"""Running the project's commands as a user would: in a subprocess, against a given store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def environment(uri: str, **extra: str) -> dict[str, str]:
    """This process's environment with the store ``uri``, the venv's tools first on PATH, the repository importable,
    and no enclosing `mlflow run` (its MLFLOW_RUN_ID would make our runs its children)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO), **extra}
    env.pop("MLFLOW_RUN_ID", None)
    return env
