"""Command line: run one study of any paper over seeds, skipping what is finished (`mlflow run . -e sweep`).

    python -m pipeline.sweep --study mlp_table1 --profile cpu --seeds 8 --workers 2
    python -m pipeline.sweep --study hd2018_logreg --profile cpu      # a study of another paper (hd2018)

``training.sweep`` does the work over the studies named here: every paper's, by their (distinct) names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from papers.ultimate_optimizer import studies as default_paper
from pipeline.paper_job import PAPERS
from training import sweep
from training.core.config import Profile
from training.studies.base import Study
from training.tracking.writer import finish_launched

STUDIES: dict[str, Callable[[Profile], Study]] = {**default_paper.STUDIES,
                                              **{name: builder for paper in PAPERS.values() for name, builder in paper.studies.items()}}


def main(argv: list[str] | None = None) -> int:
    return sweep.main(argv, STUDIES)


if __name__ == "__main__":
    sys.exit(finish_launched(main()))
