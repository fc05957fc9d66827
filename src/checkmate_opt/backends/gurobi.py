"""Gurobi through gurobipy (the paper's solver)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from checkmate_opt.backends.base import (
    Backend,
    BackendResult,
    Capability,
    CompiledModel,
    finish_result,
    solver_log_to_stderr,
)
from checkmate_opt.errors import BackendUnavailableError, SolverError
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination

__all__ = ["GurobiBackend"]

#: Gurobi status code -> our vocabulary (codes from gurobipy.GRB.Status)
STATUS_MAP: dict[int, Termination] = {
    2: Termination.COMPLETED,  # OPTIMAL
    3: Termination.INFEASIBLE,  # INFEASIBLE
    # bounded variables, objective >= 0: "infeasible or unbounded" is infeasible
    4: Termination.INFEASIBLE,  # INF_OR_UNBD
    5: Termination.ERROR,  # UNBOUNDED
    6: Termination.OTHER_LIMIT,  # CUTOFF
    7: Termination.OTHER_LIMIT,  # ITERATION_LIMIT
    8: Termination.OTHER_LIMIT,  # NODE_LIMIT
    9: Termination.TIME_LIMIT,  # TIME_LIMIT
    10: Termination.OTHER_LIMIT,  # SOLUTION_LIMIT
    11: Termination.INTERRUPTED,  # INTERRUPTED
    12: Termination.ERROR,  # NUMERIC
    13: Termination.UNKNOWN,  # SUBOPTIMAL
    16: Termination.OTHER_LIMIT,  # WORK_LIMIT
    17: Termination.OTHER_LIMIT,  # MEM_LIMIT
}

_SIZE_LIMIT_ERRNO = 10010
_NO_LICENSE_ERRNOS = (10009, 10010)


class GurobiBackend(Backend):
    """Gurobi (``gurobipy``): MILP and LP, MIP starts, progress callbacks, Ctrl-C.

    The pip package carries a size-limited licence (2000 variables and 2000 rows); a larger
    model raises :class:`BackendUnavailableError` saying what to do.
    """

    name: ClassVar[str] = "gurobi"
    required_modules: ClassVar[tuple[str, ...]] = ("gurobipy",)
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    install_hint: ClassVar[str] = "pip install 'checkmate-opt[gurobi]'"

    def _solve_compiled(
        self,
        cm: CompiledModel,
        options: SolveOptions,
        *,
        start: np.ndarray | None,
        progress: Any,
    ) -> BackendResult:
        import gurobipy as gp
        from gurobipy import GRB

        # LogToConsole 0: the log reaches us through the callback and goes to stderr
        native: dict[str, object] = {"OutputFlag": 1 if options.verbose else 0, "LogToConsole": 0}
        if options.time_limit_s is not None:
            native["TimeLimit"] = float(options.time_limit_s)
        if options.mip_rel_gap is not None:
            native["MIPGap"] = float(options.mip_rel_gap)
        if options.mip_abs_gap is not None:
            native["MIPGapAbs"] = float(options.mip_abs_gap)
        if options.threads is not None:
            native["Threads"] = int(options.threads)
        if options.seed is not None:
            native["Seed"] = int(options.seed)
        native.update(options.backend_options)
        try:
            env = gp.Env(empty=True)
            env.setParam("OutputFlag", 0)  # silence the licence banner too
            env.start()
            model = gp.Model("checkmate", env=env)
            for key, value in native.items():
                model.setParam(key, value)  # type: ignore[call-overload]
        except gp.GurobiError as err:
            if err.errno in _NO_LICENSE_ERRNOS:
                raise BackendUnavailableError(_licence_message(err)) from err
            raise SolverError(f"Gurobi setup failed: {err}") from err

        vtype = np.where(cm.integer, GRB.INTEGER, GRB.CONTINUOUS)
        lo = np.where(np.isinf(cm.col_lo), -GRB.INFINITY, cm.col_lo)
        hi = np.where(np.isinf(cm.col_hi), GRB.INFINITY, cm.col_hi)
        x = model.addMVar(cm.num_variables, lb=lo, ub=hi, vtype=vtype)
        model.setObjective(cm.c @ x + cm.offset, GRB.MINIMIZE)
        A = cm.A.tocsr()
        eq = cm.row_lo == cm.row_hi
        le = ~eq & np.isfinite(cm.row_hi)
        ge = ~eq & np.isfinite(cm.row_lo)
        if eq.any():
            model.addMConstr(A[eq], x, "=", cm.row_hi[eq])
        if le.any():
            model.addMConstr(A[le], x, "<", cm.row_hi[le])
        if ge.any():
            model.addMConstr(A[ge], x, ">", cm.row_lo[ge])
        is_mip = bool(cm.integer.any())
        if start is not None and is_mip:
            x.Start = np.where(np.isnan(start), GRB.UNDEFINED, start)  # type: ignore[assignment]

        def callback(_model: Any, where: int) -> None:
            if where == GRB.Callback.MESSAGE:
                solver_log_to_stderr(_model.cbGet(GRB.Callback.MSG_STRING))
            elif where == GRB.Callback.MIP:
                progress(
                    _model.cbGet(GRB.Callback.MIP_OBJBST), _model.cbGet(GRB.Callback.MIP_OBJBND)
                )
            elif where == GRB.Callback.MIPSOL:
                progress(
                    _model.cbGet(GRB.Callback.MIPSOL_OBJBST),
                    _model.cbGet(GRB.Callback.MIPSOL_OBJBND),
                )

        t0 = time.perf_counter()
        interrupted = False
        try:
            model.optimize(callback if is_mip or options.verbose else None)
        except KeyboardInterrupt:
            # Gurobi normally turns Ctrl-C into status INTERRUPTED itself; this catches one
            # that lands in our Python callback instead
            interrupted = True
        except gp.GurobiError as err:
            if err.errno == _SIZE_LIMIT_ERRNO:
                raise BackendUnavailableError(_licence_message(err, cm)) from err
            raise SolverError(f"Gurobi failed: {err}") from err
        wall = time.perf_counter() - t0
        status_code = int(model.Status)
        termination = STATUS_MAP.get(status_code, Termination.UNKNOWN)
        if interrupted:
            termination = Termination.INTERRUPTED
        values = None
        objective = None
        if model.SolCount > 0 and termination is not Termination.INFEASIBLE:
            values = cm.split(np.asarray(x.X, dtype=float))
            objective = float(model.ObjVal)
        mip_bound: float | None = None
        if is_mip:
            try:
                mip_bound = float(model.ObjBound)
            except (gp.GurobiError, AttributeError):
                mip_bound = None
        model.dispose()
        env.dispose()
        return finish_result(
            cm,
            solver="gurobi",
            version=".".join(str(v) for v in gp.gurobi.version()),
            native=native,
            termination=termination,
            values=values,
            objective=objective,
            mip_bound=mip_bound,
            is_mip=is_mip,
            wall_time_s=wall,
            progress=progress,
            message=f"Gurobi status {status_code}",
        )


def _licence_message(err: Exception, cm: CompiledModel | None = None) -> str:
    size = (
        f" (this model has {cm.num_variables} variables and {cm.num_constraints} rows; the pip "
        "licence allows 2000 of each)"
        if cm is not None
        else ""
    )
    return (
        f"Gurobi cannot solve this model with the installed licence: {err}{size}. "
        "Use a full Gurobi licence (academic licences are free), solve a smaller graph, "
        "or use solver='highs'."
    )
