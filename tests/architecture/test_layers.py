"""The import graph of training/, claims/, papers/, analysis/ and pipeline/: layers only import downward, no cycles,
internal imports at the top of each file, the hyperoptimizer library needs torch alone, and the claims engine
needs neither MLflow, torch nor training (a paper's package brings those)."""

from __future__ import annotations

import ast

import pytest
from support.cli import REPO

PACKAGES = ("training", "claims", "papers", "analysis", "pipeline")
# lower numbers are lower layers; a module may import its own layer or lower ones
LAYERS = {
    "claims": 0,  # the engine: pure, any paper's
    "training.hyper": 0,
    "training.data": 0,
    "training.baselines": 0,
    "training.core": 1,
    "training.studies": 2,
    "training.tracking": 3,
    "training.runners": 4,
    "training.sweep": 5,
    "training.train": 5,
    "analysis": 6,  # the verdict document any claims share
    "papers": 7,  # a paper on trial: its claims, report and figures over the studies it trains
    "pipeline": 8,
}
# what the claims engine may import besides itself: the scientific stack, never a store, a framework or the training side
ENGINE_EXTERNAL = {"numpy", "pandas", "scipy", "statsmodels", "math", "itertools", "functools", "collections", "dataclasses", "datetime", "sys",
                   "typing", "__future__"}
# what the standalone hyperoptimizer library may import besides itself (the oracle module needs the authors' package)
HYPER_EXTERNAL = {"torch", "math", "re", "warnings", "dataclasses", "collections", "contextlib", "typing", "__future__",
                  "gradient_descent_the_ultimate_optimizer"}


def module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text()) for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def imports(tree: ast.Module, known: set[str]) -> list[tuple[str, bool]]:
    """(imported module, at the top of the file) for every import in ``tree``; internal names resolved to modules."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.append((candidate if candidate in known else node.module, id(node) in top))
    return found


def layer(module: str) -> int | None:
    for prefix, rank in sorted(LAYERS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return None


def graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    known = set(trees)
    return {module: {name for name, _ in imports(tree, known) if name in known and name != module} for module, tree in trees.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return [f"{a} -> {b}" for a, targets in edges.items() for b in targets
            if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (one per back edge)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


@pytest.fixture(scope="module")
def trees():
    return sources()


def test_every_module_has_a_layer(trees):
    assert len(trees) > 50 and sum(len(targets) for targets in graph(trees).values()) > 100  # the graph is really read
    assert [m for m in trees if layer(m) is None and m not in ("training",)] == []


def test_no_module_imports_a_higher_layer(trees):
    assert upward_imports(graph(trees)) == []


def test_no_import_cycles(trees):
    assert cycles(graph(trees)) == []


def test_internal_imports_are_at_the_top_of_each_file(trees):
    known = set(trees)
    late = [f"{module} imports {name} inside a function" for module, tree in trees.items()
            for name, at_top in imports(tree, known) if name in known and not at_top]
    assert late == []


def test_the_hyperoptimizer_library_needs_only_torch(trees):
    outside = {name.split(".")[0] for module, tree in trees.items() if module.startswith("training.hyper")
               for name, _ in imports(tree, set(trees)) if not name.startswith("training.hyper")}
    assert outside <= HYPER_EXTERNAL, outside - HYPER_EXTERNAL


def engine_outside_imports(trees: dict[str, ast.Module]) -> set[str]:
    """Top-level packages the claims engine imports besides itself."""
    return {name.split(".")[0] for module, tree in trees.items() if module == "claims" or module.startswith("claims.")
            for name, _ in imports(tree, set(trees)) if not name.startswith("claims")}


def test_the_claims_engine_needs_no_store_framework_or_training(trees):
    outside = engine_outside_imports(trees)
    assert outside <= ENGINE_EXTERNAL, outside - ENGINE_EXTERNAL


def test_the_engine_check_catches_a_planted_import(trees):
    planted = {**trees, "claims.planted": ast.parse("import numpy\nfrom mlflow.tracking import MlflowClient\n"
                                                    "def f():\n    from training.studies.base import Study\n")}
    assert engine_outside_imports(planted) - ENGINE_EXTERNAL == {"mlflow", "training"}


def test_the_checks_catch_a_planted_cycle_and_an_upward_import():
    planted = {"training.core.loop": {"papers.ultimate_optimizer.catalogue"}, "claims.verdict": {"claims.stats"}, "claims.stats": {"claims.verdict"}}
    assert upward_imports(planted) == ["training.core.loop -> papers.ultimate_optimizer.catalogue"]
    (cycle,) = cycles(planted)
    assert set(cycle) == {"claims.verdict", "claims.stats"} and cycle[0] == cycle[-1]
    late = ast.parse("def f():\n    from training.core import loop\n")
    assert imports(late, {"training.core.loop"}) == [("training.core.loop", False)]
