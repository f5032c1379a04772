"""The default paper lives in its package: outside ``papers/ultimate_optimizer/`` (and results/, the README and the
tests) no module cites it or its reproduction, except where a benchmark's definition or the oracle says what it follows."""

from __future__ import annotations

import re
from pathlib import Path

from support.cli import REPO

PACKAGES = ("training", "claims", "analysis", "pipeline", "papers")
OWN_PACKAGE = REPO / "papers" / "ultimate_optimizer"
CITATION = re.compile(r"\[P\]|\[R\]|Chandra|Sanati|Ultimate Optimizer|Gradient Descent: The")
ALLOWED = {  # modules that may cite it, and why
    "training/core/models.py": "a benchmark's module says which published choices it follows",
    "training/core/tasks.py": "the text task says which published choices it follows",
    "training/hyper/reference.py": "drives the authors' package, the oracle of our hyperoptimizers",
}


def citing(root: Path, own: Path) -> set[str]:
    """Python files under ``root``'s packages, outside ``own``, whose text cites the paper or its reproduction."""
    found = set()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if own not in path.parents and CITATION.search(path.read_text()):
                found.add(path.relative_to(root).as_posix())
    return found


def test_only_its_package_cites_the_default_paper():
    assert citing(REPO, OWN_PACKAGE) - set(ALLOWED) == set()


def test_the_check_catches_a_planted_citation(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "papers" / "ultimate_optimizer").mkdir()
    (tmp_path / "papers" / "ultimate_optimizer" / "family_a.py").write_text("# [P] Table 1\n")
    (tmp_path / "training" / "config.py").write_text("EPOCHS = 30  # [P] trains SGD for 30 epochs\n")
    (tmp_path / "pipeline" / "job.py").write_text("TITLE = 'Gradient Descent: The Ultimate Optimizer'\n")
    assert citing(tmp_path, tmp_path / "papers" / "ultimate_optimizer") == {"training/config.py", "pipeline/job.py"}
