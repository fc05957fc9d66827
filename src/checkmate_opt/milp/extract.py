"""Reading solver values back into schedules, and writing schedules as MIP starts.

Solver values are rounded with a tolerance, never truncated (the published code truncated,
and ``int()`` of 0.99995 is 0). Values further than ``tol`` from 0 or 1 raise a
:class:`CheckmateWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from checkmate_opt.errors import CheckmateWarning
from checkmate_opt.milp.accounting import implied_free, milp_memory
from checkmate_opt.milp.formulation import MilpInstance
from checkmate_opt.schedule import Schedule, solve_r_opt

__all__ = ["matrices", "round_binary", "schedule_from_values", "start_from_schedule"]

DEFAULT_TOL = 1e-4


def round_binary(
    values: np.ndarray, *, tol: float = DEFAULT_TOL, what: str = "value"
) -> np.ndarray:
    """Round 0/1 solver values to bool, warning when one is fractional beyond ``tol``."""
    v = np.asarray(values, dtype=float)
    rounded = np.rint(v)
    off = np.abs(v - rounded)
    if off.size and float(off.max()) > tol:
        worst = int(off.argmax())
        warnings.warn(
            f"{what}: solver value {v.flat[worst]:.6g} is not within {tol} of 0 or 1 "
            f"({int((off > tol).sum())} such values); rounding to nearest",
            CheckmateWarning,
            stacklevel=2,
        )
    return np.clip(rounded, 0, 1).astype(bool)


def matrices(inst: MilpInstance, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Solver values of R and S as dense float ``(n, n)`` matrices (zeros where no variable)."""
    n = inst.graph.n
    out = []
    for name in ("R", "S"):
        mat = np.zeros((n, n))
        idx = inst.index(name)
        if idx.size:
            mat[idx[:, 0], idx[:, 1]] = values[name]
        out.append(mat)
    return out[0], out[1]


def schedule_from_values(
    inst: MilpInstance,
    values: Mapping[str, np.ndarray],
    *,
    tol: float = DEFAULT_TOL,
    recompute_r: bool | None = None,
) -> Schedule:
    """The schedule held by a solution: S rounded, R recomputed from S.

    ``recompute_r`` defaults to True for the ``"full"`` variant (``solve_r_opt`` gives the
    cheapest R for S, never costlier than the solver's) and False for the cover variants,
    whose R is not frontier-advancing.
    """
    r_val, s_val = matrices(inst, values)
    s = round_binary(s_val, tol=tol, what="S")
    if recompute_r is None:
        recompute_r = inst.variant == "full"
    r = solve_r_opt(inst.graph, s) if recompute_r else round_binary(r_val, tol=tol, what="R")
    return Schedule(R=r, S=s)


def start_from_schedule(inst: MilpInstance, schedule: Schedule) -> dict[str, np.ndarray]:
    """A complete MIP start (R, S, FREE, U, P) from a schedule, by the MILP's own accounting."""
    g = inst.graph
    R = np.asarray(schedule.R, dtype=bool)
    S = np.asarray(schedule.S, dtype=bool)
    free = implied_free(g, R, S)
    u = milp_memory(g, R, S) / inst.mem_unit
    out: dict[str, np.ndarray] = {}
    for name, mat in (("R", R), ("S", S), ("U", u)):
        idx = inst.index(name)
        out[name] = mat[idx[:, 0], idx[:, 1]].astype(float) if idx.size else np.zeros(0)
    fidx = inst.index("FREE")
    out["FREE"] = free[fidx[:, 0], fidx[:, 1]].astype(float) if fidx.size else np.zeros(0)
    out["P"] = np.array([float(u.max()) if u.size else 0.0])
    return out
