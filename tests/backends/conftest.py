"""The ``backend`` fixture: every registered backend, skipped visibly when not installed."""

from __future__ import annotations

import pytest

from checkmate_opt.backends import BACKENDS, Backend


@pytest.fixture(
    params=[pytest.param(name, marks=getattr(pytest.mark, name)) for name in BACKENDS], ids=str
)
def backend(request: pytest.FixtureRequest) -> Backend:
    cls = BACKENDS[request.param]
    if not cls.is_available():
        pytest.skip(f"{request.param} not installed ({cls.install_hint})")
    return cls()
