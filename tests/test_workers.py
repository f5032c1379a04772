"""The README's command runs the tests on two workers; those that start a Ray head or share a costly job must share one.
pytest 9.2 made pytest-xdist drop its groups without a word (pytest-dev/pytest-xdist#1386): this notices if they go."""

import os

import pytest


@pytest.mark.distributed  # tests/conftest.py puts every distributed test in the "ray" group
def test_the_groups_reach_the_scheduler(request):
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("one process: nothing to group")
    assert request.node.nodeid.endswith("@ray"), f"{request.node.nodeid}: pytest-xdist ignored the group (see pyproject's pytest pin)"
