"""Solver backends behind one interface: HiGHS (default), Gurobi and SCIP.

Importing this package imports no vendor package; availability is probed with
``importlib.util.find_spec``.
"""

from __future__ import annotations

from checkmate_opt.backends.base import (
    Backend,
    BackendResult,
    Capability,
    Progress,
    ProgressCallback,
    log_progress,
)
from checkmate_opt.backends.gurobi import GurobiBackend
from checkmate_opt.backends.highs import HighsBackend
from checkmate_opt.backends.scip import ScipBackend
from checkmate_opt.errors import BackendUnavailableError, UnknownBackendError

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendResult",
    "Capability",
    "Progress",
    "ProgressCallback",
    "available_backends",
    "get_backend",
    "log_progress",
]

#: registry, in preference order
BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (HighsBackend, GurobiBackend, ScipBackend)}


def available_backends() -> tuple[str, ...]:
    """Names of the registered backends whose vendor package is installed, preferred first."""
    return tuple(name for name, cls in BACKENDS.items() if cls.is_available())


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name`` (``None``: the first available one; an instance: itself).

    Raises
    ------
    UnknownBackendError
        For an unregistered name (the message lists the registered ones).
    BackendUnavailableError
        When the vendor package is not installed (the message says what to install).
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        avail = available_backends()
        if not avail:
            raise BackendUnavailableError(
                "no MILP backend is installed; pip install highspy (or checkmate-opt[gurobi])"
            )
        name = avail[0]
    key = str(name).lower()
    try:
        cls = BACKENDS[key]
    except KeyError:
        raise UnknownBackendError(
            f"unknown solver {name!r}; choose one of: {', '.join(BACKENDS)}"
        ) from None
    if not cls.is_available():
        raise BackendUnavailableError(
            f"solver {key!r} is not installed: {cls.install_hint}, or use solver='highs'"
        )
    return cls()
