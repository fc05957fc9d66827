"""SCIP through ``pyscipopt`` (open source, Apache 2.0): MILP and LP, MIP starts, Ctrl-C.

The compiled model reaches SCIP as an MPS file written by HiGHS (one pass, no per-row Python
objects); columns are named ``x<j>`` so values map back by position.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from typing import Any, ClassVar

import numpy as np

from checkmate_opt.backends.base import (
    Backend,
    BackendResult,
    Capability,
    CompiledModel,
    finish_result,
)
from checkmate_opt.errors import SolverError
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination

__all__ = ["ScipBackend"]

#: SCIP status -> our vocabulary ("gaplimit": stopped at the requested MIP gap)
STATUS_MAP: dict[str, Termination] = {
    "optimal": Termination.COMPLETED,
    "gaplimit": Termination.COMPLETED,
    "infeasible": Termination.INFEASIBLE,
    # every variable is bounded and the objective is >= 0: "unbounded or infeasible" is infeasible
    "inforunbd": Termination.INFEASIBLE,
    "unbounded": Termination.ERROR,
    "timelimit": Termination.TIME_LIMIT,
    "userinterrupt": Termination.INTERRUPTED,
    "terminate": Termination.INTERRUPTED,
    "nodelimit": Termination.OTHER_LIMIT,
    "totalnodelimit": Termination.OTHER_LIMIT,
    "stallnodelimit": Termination.OTHER_LIMIT,
    "memlimit": Termination.OTHER_LIMIT,
    "sollimit": Termination.OTHER_LIMIT,
    "bestsollimit": Termination.OTHER_LIMIT,
    "restartlimit": Termination.OTHER_LIMIT,
    "primallimit": Termination.OTHER_LIMIT,
    "duallimit": Termination.OTHER_LIMIT,
    "unknown": Termination.UNKNOWN,
}


def _write_mps(cm: CompiledModel, path: str) -> None:
    import highspy

    from checkmate_opt.backends.highs import _new_highs, highs_lp

    lp = highs_lp(cm)
    lp.col_names_ = [f"x{j}" for j in range(cm.num_variables)]
    lp.row_names_ = [f"r{i}" for i in range(cm.num_constraints)]
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("could not hand the model to SCIP (HiGHS passModel failed)")
    if h.writeModel(path) == highspy.HighsStatus.kError:
        raise SolverError(f"could not write the model for SCIP to {path}")


class ScipBackend(Backend):
    """SCIP (``pyscipopt``): MILP and LP, MIP starts, time limit, gap, seed, Ctrl-C.

    SCIP's branch and bound runs on one thread, so any ``threads`` limit is met as is.
    Progress is reported once, at the end.
    """

    name: ClassVar[str] = "scip"
    required_modules: ClassVar[tuple[str, ...]] = ("pyscipopt",)
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.INTEGER,
            Capability.TIME_LIMIT,
            Capability.MIP_GAP,
            Capability.THREADS,
            Capability.SEED,
            Capability.OBJECTIVE_BOUND,
            Capability.WARM_START,
        }
    )
    install_hint: ClassVar[str] = "pip install 'checkmate-opt[scip]'"

    def _solve_compiled(
        self,
        cm: CompiledModel,
        options: SolveOptions,
        *,
        start: np.ndarray | None,
        progress: Any,
    ) -> BackendResult:
        import pyscipopt

        native: dict[str, object] = {}
        if options.time_limit_s is not None:
            native["limits/time"] = float(options.time_limit_s)
        if options.mip_rel_gap is not None:
            native["limits/gap"] = float(options.mip_rel_gap)
        if options.mip_abs_gap is not None:
            native["limits/absgap"] = float(options.mip_abs_gap)
        if options.seed is not None:
            native["randomization/randomseedshift"] = int(options.seed)
        native.update(options.backend_options)
        model = pyscipopt.Model("checkmate")
        model.hideOutput(not options.verbose)
        if options.verbose:
            model.redirectOutput()  # through Python's stdout, which we point at stderr
        with tempfile.TemporaryDirectory(prefix="checkmate-scip-") as tmp:
            path = os.path.join(tmp, "model.mps")
            _write_mps(cm, path)
            with contextlib.redirect_stdout(sys.stderr):
                model.readProblem(path)
        for key, value in native.items():
            try:
                model.setParam(key, value)
            except (KeyError, LookupError, TypeError, ValueError) as err:
                raise SolverError(f"SCIP rejected option {key}={value!r}: {err}") from err
        variables = {v.name: v for v in model.getVars()}
        cols = [variables.get(f"x{j}") for j in range(cm.num_variables)]
        is_mip = bool(cm.integer.any())
        if start is not None and is_mip:
            sol = model.createPartialSol()
            for j, v in enumerate(cols):
                if v is not None and not np.isnan(start[j]):
                    model.setSolVal(sol, v, float(start[j]))
            model.addSol(sol)
        t0 = time.perf_counter()
        interrupted = False
        try:
            with contextlib.redirect_stdout(sys.stderr):
                model.optimize()
        except KeyboardInterrupt:
            interrupted = True
        wall = time.perf_counter() - t0
        status = str(model.getStatus())
        termination = STATUS_MAP.get(status, Termination.UNKNOWN)
        if interrupted:
            termination = Termination.INTERRUPTED
        values = None
        objective = None
        if model.getNSols() > 0 and termination is not Termination.INFEASIBLE:
            best = model.getBestSol()
            x = np.array([0.0 if v is None else model.getSolVal(best, v) for v in cols])
            values = cm.split(x)
            objective = float(model.getSolObjVal(best))
        mip_bound: float | None = None
        if is_mip:
            with contextlib.suppress(Exception):
                mip_bound = float(model.getDualbound())
        elif termination is Termination.COMPLETED and objective is not None:
            mip_bound = objective
        return finish_result(
            cm,
            solver="scip",
            version=str(model.version()),
            native=native,
            termination=termination,
            values=values,
            objective=objective,
            mip_bound=mip_bound,
            is_mip=is_mip,
            wall_time_s=wall,
            progress=progress,
            message=f"SCIP status {status}",
        )
