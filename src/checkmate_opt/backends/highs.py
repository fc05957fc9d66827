"""HiGHS through highspy (the default backend: open source, no licence)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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


def model_arrays(cm: CompiledModel) -> dict[str, Any]:
    """The plain arrays HiGHS needs (column-wise matrix): what a child solver process gets."""
    A = cm.A.tocsc()
    return {
        "num_col": cm.num_variables,
        "num_row": cm.num_constraints,
        "c": np.asarray(cm.c, dtype=float),
        "offset": float(cm.offset),
        "col_lo": np.asarray(cm.col_lo, dtype=float),
        "col_hi": np.asarray(cm.col_hi, dtype=float),
        "row_lo": np.asarray(cm.row_lo, dtype=float),
        "row_hi": np.asarray(cm.row_hi, dtype=float),
        "start": np.asarray(A.indptr),
        "index": np.asarray(A.indices),
        "value": np.asarray(A.data, dtype=float),
        "integer": np.asarray(cm.integer, dtype=bool),
    }


def lp_from_arrays(arrays: dict[str, Any]) -> Any:
    """A ``highspy.HighsLp`` from :func:`model_arrays`."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = arrays["num_col"]
    lp.num_row_ = arrays["num_row"]
    lp.col_cost_ = arrays["c"]
    lp.offset_ = arrays["offset"]
    lp.col_lower_ = arrays["col_lo"]
    lp.col_upper_ = arrays["col_hi"]
    lp.row_lower_ = arrays["row_lo"]
    lp.row_upper_ = arrays["row_hi"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = arrays["start"]
    lp.a_matrix_.index_ = arrays["index"]
    lp.a_matrix_.value_ = arrays["value"]
    if arrays["integer"].any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
            for f in arrays["integer"]
        ]
    return lp


def highs_lp(cm: CompiledModel) -> Any:
    """``cm`` as a ``highspy.HighsLp`` (column-wise matrix, integrality where needed)."""
    return lp_from_arrays(model_arrays(cm))


def native_options(options: SolveOptions) -> dict[str, object]:
    """HiGHS option values for ``options`` (the log goes through a callback to stderr)."""
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
    return native


def load_highs(native: dict[str, object], arrays: dict[str, Any], start: np.ndarray | None) -> Any:
    """A ``Highs`` with ``native`` options, the model and the MIP start ``start`` loaded."""
    import highspy

    h = _new_highs()
    for key, value in native.items():
        status = h.setOptionValue(key, value)
        if status == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected option {key}={value!r}; check its name and type")
    if h.passModel(lp_from_arrays(arrays)) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS could not load the model (passModel failed)")
    if start is not None and arrays["integer"].any():
        x0 = np.where(np.isnan(start), 0.0, start)
        sol = highspy.HighsSolution()
        sol.col_value = list(x0)
        sol.value_valid = True
        h.setSolution(sol)
    return h


def attach_callbacks(
    h: Any,
    *,
    is_mip: bool,
    verbose: bool,
    stop: threading.Event,
    on_progress: Callable[[float, float], None],
    on_incumbent: Callable[[float, np.ndarray], None],
) -> None:
    """Subscribe the log (to stderr), progress, improving-solution and interrupt callbacks."""
    if verbose:
        h.cbLogging.subscribe(lambda event: solver_log_to_stderr(event.message))
    if is_mip:

        def on_mip(event: Any) -> None:
            out = event.data_out
            on_progress(float(out.objective_function_value), float(out.mip_dual_bound))

        def on_improving(event: Any) -> None:
            out = event.data_out
            on_incumbent(
                float(out.objective_function_value), np.array(out.mip_solution, dtype=float)
            )
            on_mip(event)

        h.cbMipImprovingSolution.subscribe(on_improving)
        h.cbMipLogging.subscribe(on_mip)

    def on_interrupt(event: Any) -> None:
        if stop.is_set():
            event.interrupt()

    for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt):
        hook.subscribe(on_interrupt)
    if not is_mip:
        h.cbMipInterrupt.subscribe(on_interrupt)
        return
    # the logging callback fires only when HiGHS logs (output on): without it a bound found
    # by a solve that is later killed was lost (random_layered_n250 at 0.8 ended with the
    # trivial bound after 290 s). The interrupt check runs often; pass on changes only.
    seen: list[tuple[float, float]] = []

    def on_mip_interrupt(event: Any) -> None:
        out = event.data_out
        now = (float(out.objective_function_value), float(out.mip_dual_bound))
        if not seen or seen[0] != now:
            seen[:] = [now]
            on_progress(*now)
        on_interrupt(event)

    h.cbMipInterrupt.subscribe(on_mip_interrupt)


def final_state(h: Any, *, is_mip: bool) -> dict[str, Any]:
    """What a finished ``Highs`` holds: status name, solution (or None), objective, bound."""
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    return {
        "status": h.getModelStatus().name,
        "x": np.asarray(h.getSolution().col_value, dtype=float) if has_x else None,
        "objective": float(info.objective_function_value) if has_x else None,
        "bound": float(info.mip_dual_bound) if is_mip else None,
        "version": f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}",
    }


class _Best:
    """The best incumbent a solver reported (HiGHS can drop it when stopped early)."""

    def __init__(self) -> None:
        self.obj: float | None = None
        self.x: np.ndarray | None = None
        self.bound: float | None = None

    def offer(self, obj: float, x: np.ndarray) -> None:
        if self.obj is None or obj < self.obj:
            self.obj, self.x = obj, x


class HighsBackend(Backend):
    """HiGHS (``highspy``): MILP and LP, MIP starts, progress callbacks, Ctrl-C.

    Under a time limit the solve runs in a child process (``isolate=None``, the default;
    ``True``/``False`` force it either way): HiGHS checks its own limit only now and then
    (seen 372 s against 300 s), and does not always answer an interrupt request, so past
    the limit the child is asked to stop and, if it does not, killed; the best incumbent it
    reported is kept. Without a limit the solve runs in a worker thread of this process.
    Ctrl-C asks HiGHS to stop at its next interrupt check (the child is killed if it does
    not) and the best incumbent is returned with ``Termination.INTERRUPTED``.
    """

    name: ClassVar[str] = "highs"
    required_modules: ClassVar[tuple[str, ...]] = ("highspy",)
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    install_hint: ClassVar[str] = "pip install highspy"

    def __init__(
        self, isolate: bool | None = None, alternatives: Sequence[Mapping[str, object]] = ()
    ) -> None:
        self.isolate = isolate
        self.alternatives = tuple(dict(a) for a in alternatives)

    def _solve_compiled(
        self,
        cm: CompiledModel,
        options: SolveOptions,
        *,
        start: np.ndarray | None,
        progress: Any,
    ) -> BackendResult:
        isolate = self.isolate if self.isolate is not None else options.time_limit_s is not None
        native = native_options(_solver_limit(options))
        is_mip = bool(cm.integer.any())
        if self.alternatives and is_mip:
            # a race of configurations, one child process each, the cores shared out between
            # them unless the caller chose a thread count
            base = dict(native)
            if options.threads is None:
                base["threads"] = max(1, usable_cpus() // (1 + len(self.alternatives)))
            natives = [
                base,
                *({**base, **alt, **options.backend_options} for alt in self.alternatives),
            ]
            state, termination, wall = _run_in_children(
                model_arrays(cm), natives, start, options, progress, is_mip=is_mip
            )
        else:
            run = _run_in_child if isolate else _run_in_thread
            state, termination, wall = run(
                model_arrays(cm), native, start, options, progress, is_mip=is_mip
            )
        values = None
        objective = None
        best: _Best = state["best"]
        better_seen = (
            best.obj is not None
            and state.get("objective") is not None
            and best.obj < state["objective"]
            and best.x is not None
            and len(best.x) == cm.num_variables
        )
        if (
            state.get("x") is not None
            and termination is not Termination.INFEASIBLE
            and not better_seen
        ):
            values = cm.split(state["x"])
            objective = state["objective"]
        elif best.x is not None and len(best.x) == cm.num_variables:
            values = cm.split(best.x)
            objective = best.obj
        bound = state.get("bound")
        if bound is None:
            bound = best.bound
        return finish_result(
            cm,
            solver="highs",
            version=state.get("version") or _highs_version(),
            native=native,
            termination=termination,
            values=values,
            objective=objective,
            mip_bound=bound if is_mip else None,
            is_mip=is_mip,
            wall_time_s=wall,
            progress=progress,
            message=state["message"],
        )


def usable_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _highs_version() -> str:
    from importlib.metadata import version

    try:
        return version("highspy")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


def _margin(limit: float) -> float:
    """Seconds of a time limit kept back from HiGHS' own limit: for the stop request and, if
    HiGHS ignores it, the kill, so that the whole call ends within the limit."""
    return min(1.0, 0.1 * limit) + 0.05


def _solver_limit(options: SolveOptions) -> SolveOptions:
    """``options`` with HiGHS' own limit cut by :func:`_margin`."""
    if options.time_limit_s is None:
        return options
    limit = float(options.time_limit_s)
    return dataclasses.replace(options, time_limit_s=max(0.02, limit - _margin(limit)))


def _soft_deadline(options: SolveOptions) -> float | None:
    """Seconds after which we ask HiGHS to stop (half of the margin after its own limit)."""
    if options.time_limit_s is None:
        return None
    limit = float(options.time_limit_s)
    return limit - 0.5 * _margin(limit)


#: seconds HiGHS gets to answer a Ctrl-C before its child process is killed
INTERRUPT_GRACE_S = 1.0


def _termination(status_name: str, *, interrupted: bool, overran: bool) -> Termination:
    termination = STATUS_MAP.get(status_name, Termination.UNKNOWN)
    if interrupted:
        return Termination.INTERRUPTED
    if overran and termination in (Termination.INTERRUPTED, Termination.UNKNOWN):
        return Termination.TIME_LIMIT
    return termination


def _run_in_thread(
    arrays: dict[str, Any],
    native: dict[str, object],
    start: np.ndarray | None,
    options: SolveOptions,
    progress: Any,
    *,
    is_mip: bool,
) -> tuple[dict[str, Any], Termination, float]:
    """Solve in a worker thread of this process (no time limit, or ``isolate=False``)."""
    import highspy

    h = load_highs(native, arrays, start)
    best = _Best()
    stop = threading.Event()

    def on_progress(obj: float, bound: float) -> None:
        best.bound = bound
        progress(obj, bound)

    attach_callbacks(
        h,
        is_mip=is_mip,
        verbose=bool(options.verbose),
        stop=stop,
        on_progress=on_progress,
        on_incumbent=best.offer,
    )
    # Our own worker thread instead of highspy's startSolve()/wait(): those share class-level
    # locks between all Highs objects, and a KeyboardInterrupt landing inside wait() can
    # leave the lock held, so every later solve in the process deadlocks (seen in CI).
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
    deadline = _soft_deadline(options)
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
    state = final_state(h, is_mip=is_mip)
    state["best"] = best
    state["message"] = f"HiGHS model status {state['status']}"
    return state, _termination(state["status"], interrupted=interrupted, overran=overran), wall


def _run_in_child(
    arrays: dict[str, Any],
    native: dict[str, object],
    start: np.ndarray | None,
    options: SolveOptions,
    progress: Any,
    *,
    is_mip: bool,
) -> tuple[dict[str, Any], Termination, float]:
    """Solve in a child process that is stopped, then killed, when it overruns the limit."""
    return _run_in_children(arrays, [native], start, options, progress, is_mip=is_mip)


#: terminations that end a race of configurations: the first proof wins
_DECISIVE = (Termination.COMPLETED, Termination.INFEASIBLE)


def _run_in_children(
    arrays: dict[str, Any],
    natives: list[dict[str, object]],
    start: np.ndarray | None,
    options: SolveOptions,
    progress: Any,
    *,
    is_mip: bool,
) -> tuple[dict[str, Any], Termination, float]:
    """Solve the same model in one child process per option set, all at once.

    The first child to prove optimality (or infeasibility) wins and the others are killed;
    otherwise every child runs to the limit and the answer is the best incumbent any of them
    reported, with the best bound any of them proved. Past the limit each child is asked to
    stop, then killed.
    """
    from checkmate_opt.backends import _highs_child as highs_child

    best = _Best()
    bounds: list[float | None] = [None] * len(natives)
    deadline = _soft_deadline(options)
    hard = None if options.time_limit_s is None else float(options.time_limit_s)
    t0 = time.perf_counter()
    children = [
        highs_child.ChildSolve(
            {"arrays": arrays, "native": nat, "start": start, "verbose": bool(options.verbose)}
        )
        for nat in natives
    ]
    pending = set(range(len(children)))
    dones: dict[int, dict[str, Any]] = {}
    winner: int | None = None
    interrupted = overran = killed = False
    stop_sent_at: float | None = None
    poll = 0.1 / len(children)

    def take(i: int, msg: tuple[Any, ...]) -> None:
        nonlocal winner
        if msg[0] == "progress":
            bounds[i] = msg[2]
            known = [b for b in bounds if b is not None]
            best.bound = max(known)
            inc = msg[1] if best.obj is None else min(msg[1], best.obj)
            progress(inc, best.bound)
            return
        done = _handle(msg, best, lambda *_: None)
        if done is None:
            return
        pending.discard(i)
        dones[i] = done
        if "error" not in done and winner is None:
            term = _termination(done["status"], interrupted=False, overran=False)
            if term in _DECISIVE:
                winner = i

    def drain(timeout: float) -> None:
        for i in sorted(pending):
            msg = children[i].next_message(timeout)
            if msg is not None:
                take(i, msg)
            elif not children[i].alive():
                pending.discard(i)

    try:
        try:
            while pending and winner is None:
                now = time.perf_counter() - t0
                if stop_sent_at is None and deadline is not None and now > deadline:
                    overran = True
                    stop_sent_at = now
                    for i in pending:
                        children[i].request_stop()
                if stop_sent_at is not None and hard is not None and now > hard:
                    killed = True
                    for i in pending:
                        children[i].kill()
                    break
                drain(poll)
        except KeyboardInterrupt:
            interrupted = True
            for i in pending:
                children[i].request_stop()
            with contextlib.suppress(KeyboardInterrupt):
                limit = time.perf_counter() + INTERRUPT_GRACE_S
                while pending and time.perf_counter() < limit:
                    drain(poll)
                if pending:
                    killed = True
                    for i in pending:
                        children[i].kill()
    finally:
        if winner is not None:
            for i in pending:
                children[i].kill()  # the race is decided: no need to wait for the others
        for child in children:
            child.close()
    wall = time.perf_counter() - t0
    errors = [d["error"] for d in dones.values() if "error" in d]
    if errors and winner is None and not any("error" not in d for d in dones.values()):
        raise SolverError(f"HiGHS failed: {errors[0]}")
    good = {i: d for i, d in dones.items() if "error" not in d}
    if not good:
        state: dict[str, Any] = {"status": "kUnknown", "x": None, "bound": None, "version": None}
        why = "killed after it did not stop" if killed else f"exited ({children[0].exit_code()})"
        if not (killed or interrupted or overran):
            raise SolverError(f"the HiGHS child process {why} without a result")
        state["message"] = f"HiGHS stopped by us: the solver process was {why}"
        termination = Termination.INTERRUPTED if interrupted else Termination.TIME_LIMIT
    else:
        if winner is None:
            # no proof: the child holding the best incumbent answers, with the best bound seen
            def key(i: int) -> float:
                obj = good[i].get("objective")
                return float("inf") if obj is None else float(obj)

            winner = min(good, key=key)
        state = dict(good[winner])
        if len(natives) > 1 and winner is not None:
            found = [d["bound"] for d in good.values() if d.get("bound") is not None]
            if state.get("status") not in ("kOptimal", "kInfeasible") and found:
                state["bound"] = max(found)
        state["message"] = f"HiGHS model status {state['status']}"
        if len(natives) > 1:
            state["message"] += f" (configuration {winner + 1} of {len(natives)})"
        termination = _termination(state["status"], interrupted=interrupted, overran=overran)
    state["best"] = best
    return state, termination, wall


def _handle(msg: tuple[Any, ...], best: _Best, progress: Any) -> dict[str, Any] | None:
    """Apply one message from the child; the final state when it is the last one."""
    kind = msg[0]
    if kind == "progress":
        best.bound = msg[2]
        progress(msg[1], msg[2])
    elif kind == "incumbent":
        best.offer(msg[1], msg[2])
    elif kind == "done":
        return dict(msg[1])
    return None
