"""Shared pytest configuration: the slow marker, hypothesis profiles, shared-graph paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# --import-mode=importlib keeps tests/ off sys.path; the test helpers live here
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: the published benchmark graphs, read in place (never copied into the project)
SHARED_GRAPHS = Path(
    os.environ.get(
        "CHECKMATE_SHARED_GRAPHS", Path(__file__).resolve().parents[2] / "shared" / "graphs"
    )
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (nox -s slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def shared_graphs() -> Path:
    """Folder of the published graphs; skips visibly when it is absent."""
    if not SHARED_GRAPHS.is_dir():
        pytest.skip(f"shared graphs not found at {SHARED_GRAPHS} (set CHECKMATE_SHARED_GRAPHS)")
    return SHARED_GRAPHS
