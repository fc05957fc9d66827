"""HiGHS through highspy (the default backend: open source, no licence)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
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
from checkmate_opt.errors import SolverError
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination

__all__ = ["HighsBackend"]

#: HiGHS model status name -> our vocabulary
STATUS_MAP: dict[str, Termination] = {
    "kOptimal": Termination.COMPLETED,
    "kInfeasible": Termination.INFEASIBLE,
    # every variable is bounded and the objective is >= 0, so "unbounded" means infeasible
    "kUnboundedOrInfeasible": Termination.INFEASIBLE,
    "kUnbounded": Termination.ERROR,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.OTHER_LIMIT,
    "kSolutionLimit": Termination.OTHER_LIMIT,
    "kObjectiveBound": Termination.OTHER_LIMIT,
    "kObjectiveTarget": Termination.OTHER_LIMIT,
    "kInterrupt": Termination.INTERRUPTED,
    "kMemoryLimit": Termination.OTHER_LIMIT,
    "kSolveError": Termination.ERROR,
    "kPostsolveError": Termination.ERROR,
    "kLoadError": Termination.ERROR,
    "kModelError": Termination.ERROR,
    "kPresolveError": Termination.ERROR,
    "kNotset": Termination.UNKNOWN,
    "kUnknown": Termination.UNKNOWN,
    "kModelEmpty": Termination.COMPLETED,
}


_banner_shown = False


def _new_highs() -> Any:
    """A ``highspy.Highs``; the first of a process prints a banner to fd 1, which we drop."""
    global _banner_shown
    import highspy

    if _banner_shown:
        return highspy.Highs()
    _banner_shown = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                return highspy.Highs()
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def highs_lp(cm: CompiledModel) -> Any:
    """``cm`` as a ``highspy.HighsLp`` (column-wise matrix, integrality where needed)."""
    import highspy

    lp = highspy.HighsLp()
    A = cm.A.tocsc()
    lp.num_col_ = cm.num_variables
    lp.num_row_ = cm.num_constraints
    lp.col_cost_ = cm.c
    lp.offset_ = cm.offset
    lp.col_lower_ = cm.col_lo
    lp.col_upper_ = cm.col_hi
    lp.row_lower_ = cm.row_lo
    lp.row_upper_ = cm.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    if cm.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
            for f in cm.integer
        ]
    return lp


class HighsBackend(Backend):
    """HiGHS (``highspy``): MILP and LP, MIP starts, progress callbacks, Ctrl-C.

    Ctrl-C: the solve runs in a worker thread of ours; a KeyboardInterrupt in the calling
    thread asks HiGHS to stop at its next interrupt check, and the best incumbent is
    returned with ``Termination.INTERRUPTED``.
    """

    name: ClassVar[str] = "highs"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    install_hint: ClassVar[str] = "pip install highspy"

    def _solve_compiled(
        self,
        cm: CompiledModel,
        options: SolveOptions,
        *,
        start: np.ndarray | None,
        progress: Any,
    ) -> BackendResult:
        import highspy

        h = _new_highs()
        # the log goes through a callback to stderr: HiGHS' console log is stdout
        native: dict[str, object] = {"output_flag": bool(options.verbose), "log_to_console": False}
        if options.time_limit_s is not None:
            native["time_limit"] = float(options.time_limit_s)
        if options.mip_rel_gap is not None:
            native["mip_rel_gap"] = float(options.mip_rel_gap)
        if options.mip_abs_gap is not None:
            native["mip_abs_gap"] = float(options.mip_abs_gap)
        if options.threads is not None:
            native["threads"] = int(options.threads)
        if options.seed is not None:
            native["random_seed"] = int(options.seed)
        native.update(options.backend_options)
        for key, value in native.items():
            status = h.setOptionValue(key, value)
            if status == highspy.HighsStatus.kError:
                raise SolverError(f"HiGHS rejected option {key}={value!r}; check its name and type")

        lp = highs_lp(cm)
        is_mip = bool(cm.integer.any())
        if h.passModel(lp) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS could not load the model (passModel failed)")
        if start is not None and is_mip:
            x0 = np.where(np.isnan(start), 0.0, start)
            sol = highspy.HighsSolution()
            sol.col_value = list(x0)
            sol.value_valid = True
            h.setSolution(sol)

        def on_mip(event: Any) -> None:
            out = event.data_out
            progress(out.objective_function_value, out.mip_dual_bound)

        # HiGHS can drop its incumbent when interrupted early (model status kNotset), so the
        # best solution it reported is kept here too: Ctrl-C never loses a found schedule
        best: dict[str, Any] = {}

        def on_improving(event: Any) -> None:
            out = event.data_out
            obj = float(out.objective_function_value)
            if "obj" not in best or obj < best["obj"]:
                best["obj"] = obj
                best["x"] = np.array(out.mip_solution, dtype=float)
            on_mip(event)

        if options.verbose:
            h.cbLogging.subscribe(lambda event: solver_log_to_stderr(event.message))
        if is_mip:
            h.cbMipImprovingSolution.subscribe(on_improving)
            h.cbMipLogging.subscribe(on_mip)

        # Our own worker thread instead of highspy's startSolve()/wait(): those share class-level
        # locks between all Highs objects, and a KeyboardInterrupt landing inside wait() can
        # leave the lock held, so every later solve in the process deadlocks (seen in CI).
        stop = threading.Event()

        def on_interrupt(event: Any) -> None:
            if stop.is_set():
                event.interrupt()

        for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            hook.subscribe(on_interrupt)
        outcome: dict[str, BaseException] = {}

        def work() -> None:
            try:
                h.run()  # releases the GIL while HiGHS works
            except BaseException as err:  # re-raised in the caller's thread
                outcome["error"] = err
            finally:
                # HiGHS keeps a per-thread task scheduler; left alive in a finished thread it
                # aborts the process at exit ("terminate called ..."), as highspy also notes
                highspy.Highs.resetThreadScheduler(False)

        interrupted = False
        overran = False
        # HiGHS checks its time limit only now and then (seen 372 s against 300 s): past the
        # limit plus a grace period we stop it ourselves
        deadline = (
            None
            if options.time_limit_s is None
            else float(options.time_limit_s) + max(0.5, 0.02 * float(options.time_limit_s))
        )
        t0 = time.perf_counter()
        worker = threading.Thread(target=work, name="checkmate-highs", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
                late = deadline is not None and time.perf_counter() - t0 > deadline
                if late and not stop.is_set():
                    overran = True
                    stop.set()
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            with contextlib.suppress(KeyboardInterrupt):
                while worker.is_alive():
                    worker.join(0.1)
        wall = time.perf_counter() - t0
        if "error" in outcome:
            raise SolverError(f"HiGHS failed: {outcome['error']}") from outcome["error"]

        status_name = h.getModelStatus().name
        termination = STATUS_MAP.get(status_name, Termination.UNKNOWN)
        if interrupted:
            termination = Termination.INTERRUPTED
        elif overran and termination in (Termination.INTERRUPTED, Termination.UNKNOWN):
            termination = Termination.TIME_LIMIT
        info = h.getInfo()
        has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = None
        objective = None
        if has_x and termination is not Termination.INFEASIBLE:
            x = np.asarray(h.getSolution().col_value, dtype=float)
            values = cm.split(x)
            objective = float(info.objective_function_value)
        elif "x" in best and len(best["x"]) == cm.num_variables:
            values = cm.split(best["x"])
            objective = best["obj"]
        return finish_result(
            cm,
            solver="highs",
            version=f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
            native=native,
            termination=termination,
            values=values,
            objective=objective,
            mip_bound=float(info.mip_dual_bound) if is_mip else None,
            is_mip=is_mip,
            wall_time_s=wall,
            progress=progress,
            message=f"HiGHS model status {status_name}",
        )
