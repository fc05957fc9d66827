"""Schedules as (R, S) matrices, and recovering the cheapest R for a given S.

``R[t, i] = 1``: node ``i`` is (re)computed in stage ``t``. ``S[t, i] = 1``: node ``i``'s output
is held in memory at the start of stage ``t`` (a checkpoint). The operation list (computes and
frees) is derived from (R, S) by :func:`checkmate_opt.simulate.simulate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkmate_opt.errors import ScheduleError
from checkmate_opt.graph import Graph

__all__ = ["Schedule", "solve_r_opt"]


def _as_bool_matrix(a: object, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ScheduleError(f"{name} must be a square matrix, got shape {arr.shape}")
    if arr.dtype != bool:
        if not np.all((arr == 0) | (arr == 1)):
            raise ScheduleError(f"{name} must hold only 0 and 1 (round solver values first)")
        arr = arr.astype(bool)
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Schedule:
    """A rematerialization schedule: boolean ``R`` (computes) and ``S`` (checkpoints), n x n."""

    R: np.ndarray
    S: np.ndarray

    def __post_init__(self) -> None:
        r = _as_bool_matrix(self.R, "R")
        s = _as_bool_matrix(self.S, "S")
        if r.shape != s.shape:
            raise ScheduleError(f"R has shape {r.shape} but S has shape {s.shape}")
        object.__setattr__(self, "R", r)
        object.__setattr__(self, "S", s)

    @property
    def n(self) -> int:
        """Number of stages (= nodes)."""
        return int(self.R.shape[0])

    def compute_counts(self) -> np.ndarray:
        """How many times each node is computed."""
        return np.asarray(self.R.sum(axis=0), dtype=np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return bool(np.array_equal(self.R, other.R) and np.array_equal(self.S, other.S))

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: for each stage, the nodes set in R and in S."""
        return {
            "n": self.n,
            "R": [np.flatnonzero(row).tolist() for row in self.R],
            "S": [np.flatnonzero(row).tolist() for row in self.S],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Inverse of :meth:`to_dict`."""
        n = int(data["n"])
        mats = []
        for key in ("R", "S"):
            m = np.zeros((n, n), dtype=bool)
            rows: Sequence[Sequence[int]] = data[key]
            if len(rows) != n:
                raise ScheduleError(f"schedule field {key!r} has {len(rows)} rows for n={n}")
            for t, row in enumerate(rows):
                m[t, list(row)] = True
            mats.append(m)
        return cls(R=mats[0], S=mats[1])

    @classmethod
    def from_s(cls, graph: Graph, S: np.ndarray) -> Schedule:
        """The schedule with checkpoints ``S`` and the cheapest consistent ``R``."""
        s = _as_bool_matrix(S, "S")
        return cls(R=solve_r_opt(graph, s), S=s)


def solve_r_opt(graph: Graph, S: np.ndarray) -> np.ndarray:
    """Cheapest ``R`` consistent with checkpoints ``S`` under the frontier-advancing schedule.

    Start from the identity; a checkpoint that appears in stage ``t+1`` is computed
    in stage ``t``; then, scanning each stage from its frontier node down, every dependency of
    a computed node that is neither computed nor checkpointed in that stage is computed too.
    Ids are topological, so one descending pass propagates requirements transitively.
    """
    s = np.asarray(S, dtype=bool)
    n = graph.n
    if s.shape != (n, n):
        raise ScheduleError(f"S has shape {s.shape}, expected ({n}, {n})")
    r = np.eye(n, dtype=bool)
    if n > 1:
        r[:-1] |= s[1:] & ~s[:-1]
    args = graph.args
    for t in range(n):
        rt = r[t]
        st = s[t]
        for v in range(t, -1, -1):
            if rt[v]:
                for u in args[v]:
                    if not rt[u] and not st[u]:
                        rt[u] = True
    return r
