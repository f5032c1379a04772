"""Command line: train one run and track it in MLflow (`mlflow run . -e train`).

    python -m pipeline.train --model mlp --stack "sgd(alpha=0.01) / sgd(alpha=0.01)" --epochs 30 --seed 0 --profile cpu

``training.train`` does the work; here ``--epochs auto`` learns the default paper's published epoch counts (the
benchmarks of other papers carry their own).
"""

from __future__ import annotations

import sys

from papers.ultimate_optimizer.studies.mlp import EPOCHS_BY_OPTIMIZER
from training import train
from training.tracking.writer import finish_launched


def main(argv: list[str] | None = None) -> int:
    return train.main(argv, EPOCHS_BY_OPTIMIZER)


if __name__ == "__main__":
    sys.exit(finish_launched(main()))
