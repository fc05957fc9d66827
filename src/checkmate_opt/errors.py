"""The exception and warning tree of checkmate_opt.

Outcomes (an infeasible budget, a time limit, a heuristic over budget) are data in a
:class:`~checkmate_opt.results.SolveResult`; exceptions are for misuse and failures.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "CapabilityError",
    "CheckmateError",
    "CheckmateWarning",
    "GraphError",
    "NoScheduleError",
    "OutputError",
    "ScheduleError",
    "SolverError",
    "UnknownBackendError",
    "UnknownStrategyError",
    "UnsupportedModelError",
]


class CheckmateError(Exception):
    """Root of every error raised by checkmate_opt (never raised itself)."""


class GraphError(CheckmateError, ValueError):
    """A graph (or graph file) is malformed: cycle, unknown dependency, bad cost, ..."""


class OutputError(CheckmateError, OSError):
    """An output file cannot be written (its path, as given, is in the message)."""


class ScheduleError(CheckmateError):
    """A schedule is invalid: a value used before it is computed or after it is freed."""


class BackendError(CheckmateError):
    """Base of the solver-backend errors."""


class UnknownBackendError(BackendError, ValueError):
    """No backend is registered under that name."""


class BackendUnavailableError(BackendError):
    """The backend's vendor package is not installed or not licensed for this model."""


class CapabilityError(BackendError):
    """An option was asked of a backend that cannot honour it."""


class SolverError(BackendError):
    """The solver crashed or reported an error."""


class UnknownStrategyError(CheckmateError, ValueError):
    """No strategy is registered under that name."""


class NoScheduleError(CheckmateError):
    """``SolveResult.unwrap()`` was called on a result that holds no schedule."""


class UnsupportedModelError(CheckmateError):
    """A Keras model uses a layer or structure the importer cannot represent."""


class CheckmateWarning(UserWarning):
    """Something suspicious that is not an error (e.g. fractional MILP values)."""
