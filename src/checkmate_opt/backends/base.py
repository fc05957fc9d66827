"""The backend interface: a Pyomo model in, solver values and one termination vocabulary out.

Backends know nothing about graphs. A model is compiled once to sparse standard form with
Pyomo's ``LinearStandardFormCompiler`` and handed to the vendor API directly (highspy,
gurobipy): that is fast on large models and gives what the generic Pyomo interfaces do not,
MIP starts, incumbent/bound callbacks and a clean Ctrl-C.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import functools
import importlib.util
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from checkmate_opt.errors import CapabilityError
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolverInfo, Termination

__all__ = [
    "Backend",
    "BackendResult",
    "Capability",
    "CompiledModel",
    "Progress",
    "ProgressCallback",
    "compile_model",
    "log_progress",
    "solver_log_to_stderr",
]

logger = logging.getLogger("checkmate_opt.solve")


class Capability(enum.Enum):
    """What a backend can do."""

    INTEGER = enum.auto()  #: solves MILPs, not only LPs
    TIME_LIMIT = enum.auto()  #: honours ``time_limit_s``
    MIP_GAP = enum.auto()  #: honours ``mip_rel_gap``
    THREADS = enum.auto()  #: honours ``threads``
    SEED = enum.auto()  #: honours ``seed``
    OBJECTIVE_BOUND = enum.auto()  #: reports a dual bound
    WARM_START = enum.auto()  #: accepts a MIP start
    PROGRESS = enum.auto()  #: reports incumbent and bound while solving


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress event: the incumbent and bound in the model's objective units."""

    time_s: float
    incumbent: float | None
    bound: float | None


ProgressCallback = Callable[[Progress], None]


def log_progress(event: Progress) -> None:
    """Default progress sink: one INFO log line per improvement."""
    inc = "-" if event.incumbent is None else f"{event.incumbent:.6g}"
    bnd = "-" if event.bound is None else f"{event.bound:.6g}"
    gap = ""
    if event.incumbent is not None and event.bound is not None and event.incumbent:
        gap = f" gap {abs(event.incumbent - event.bound) / abs(event.incumbent):.2%}"
    logger.info("t=%.1fs incumbent %s bound %s%s", event.time_s, inc, bnd, gap)


#: solvers report "no incumbent / no bound" as huge sentinels (Gurobi: +-1e100, HiGHS: +-inf)
_SENTINEL = 1e99


def _finite(value: float | None) -> float | None:
    """``value``, or ``None`` for a missing, infinite or sentinel value."""
    if value is None or not math.isfinite(value) or abs(value) >= _SENTINEL:
        return None
    return float(value)


def solver_log_to_stderr(line: str) -> None:
    """Where solver logs go: stderr, so that stdout stays machine-readable (``--json``)."""
    sys.stderr.write(line if line.endswith("\n") else line + "\n")
    sys.stderr.flush()


#: seconds between two progress events that only raise the bound
BOUND_EVERY_S = 1.0


class _ProgressFilter:
    """Forward only improvements (incumbent down, bound up) to the user's callback."""

    def __init__(self, sink: ProgressCallback | None) -> None:
        self.sink = sink
        self.incumbent: float | None = None
        self.bound: float | None = None
        self.start = time.perf_counter()
        self.last_sent = -math.inf
        self.sent: tuple[float | None, float | None] = (None, None)

    def __call__(self, incumbent: float | None, bound: float | None, final: bool = False) -> None:
        """``final``: the solve's last pair, passed on if anything changed since the last event."""
        incumbent = _finite(incumbent)
        bound = _finite(bound)
        better = False
        new_incumbent = False
        if incumbent is not None and (self.incumbent is None or incumbent < self.incumbent - 1e-9):
            self.incumbent = incumbent
            better = new_incumbent = True
        if bound is not None and (
            self.bound is None or bound > self.bound + 1e-9 * (1 + abs(bound))
        ):
            self.bound = bound
            better = True
        now = time.perf_counter()
        # a bound can rise at every node: pass those on at most once per BOUND_EVERY_S
        # (the next line carries the latest bound), a new incumbent at once
        held_back = final and self.sent != (self.incumbent, self.bound)
        if (
            (better or held_back)
            and self.sink is not None
            and (new_incumbent or held_back or now - self.last_sent >= BOUND_EVERY_S)
        ):
            self.last_sent = now
            self.sent = (self.incumbent, self.bound)
            self.sink(Progress(now - self.start, self.incumbent, self.bound))


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendResult:
    """What a backend returns.

    ``values`` maps each Pyomo Var component name to its values, in the component's index
    order; it is ``None`` when there is no incumbent. Objective and bound are in the model's
    own (scaled) units.
    """

    termination: Termination
    values: Mapping[str, np.ndarray] | None
    objective: float | None
    objective_bound: float | None
    wall_time_s: float
    solver: SolverInfo
    message: str = ""


@dataclass(frozen=True, eq=False, kw_only=True)
class CompiledModel:
    """A Pyomo model in sparse standard form: ``row_lo <= A x <= row_hi``, bounds, integrality.

    Attributes
    ----------
    c, offset
        Objective coefficients (minimise) and constant.
    A
        Constraint matrix (scipy CSR).
    row_lo, row_hi, col_lo, col_hi
        Row and column bounds (``±inf`` where absent).
    integer
        Boolean mask of integer columns.
    components
        Var component name -> column of each of its entries (``-1``: the variable appears
        nowhere and is reported at its lower bound, or 0).
    """

    c: np.ndarray
    offset: float
    A: Any
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    components: Mapping[str, np.ndarray] = field(repr=False)
    fill: Mapping[str, np.ndarray] = field(repr=False)
    compile_time_s: float = 0.0

    @property
    def num_variables(self) -> int:
        """Number of columns."""
        return int(self.c.shape[0])

    @property
    def num_constraints(self) -> int:
        """Number of rows."""
        return int(self.A.shape[0])

    def split(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Column vector -> values per Var component."""
        out: dict[str, np.ndarray] = {}
        for name, cols in self.components.items():
            vals = self.fill[name].copy()
            mask = cols >= 0
            vals[mask] = x[cols[mask]]
            out[name] = vals
        return out

    def join(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Values per component (NaN = unknown) -> column vector (NaN where unknown)."""
        x = np.full(self.num_variables, np.nan)
        for name, vals in values.items():
            cols = self.components[name]
            mask = cols >= 0
            x[cols[mask]] = np.asarray(vals, dtype=float)[mask]
        return x


def compile_model(model: Any) -> CompiledModel:
    """Compile a linear Pyomo model to :class:`CompiledModel` (one pass, scipy sparse)."""
    import pyomo.environ as pyo
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    start = time.perf_counter()
    info = LinearStandardFormCompiler().write(model, mixed_form=True)
    A = info.A.tocsr()
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.fromiter((r[1] for r in info.rows), dtype=np.int8, count=len(info.rows))
    # mixed form: sense 1 is "<=", -1 is ">=", 0 is "="
    row_lo = np.where(sense <= 0, rhs, -np.inf)
    row_hi = np.where(sense >= 0, rhs, np.inf)
    cols = info.columns
    ncol = len(cols)
    col_lo = np.empty(ncol)
    col_hi = np.empty(ncol)
    integer = np.zeros(ncol, dtype=bool)
    position: dict[int, int] = {}
    for j, v in enumerate(cols):
        lb, ub = v.bounds
        col_lo[j] = -np.inf if lb is None else lb
        col_hi[j] = np.inf if ub is None else ub
        integer[j] = v.is_integer()
        position[id(v)] = j
    c = np.asarray(info.c.todense()).ravel() if info.c.shape[0] else np.zeros(ncol)
    if c.shape[0] < ncol:
        c = np.concatenate([c, np.zeros(ncol - c.shape[0])])
    components: dict[str, np.ndarray] = {}
    fill: dict[str, np.ndarray] = {}
    for comp in model.component_objects(pyo.Var, active=True, descend_into=True):
        datas = list(comp.values())
        components[comp.name] = np.fromiter(
            (position.get(id(v), -1) for v in datas), dtype=np.int64, count=len(datas)
        )
        fill[comp.name] = np.array([0.0 if v.lb is None else max(0.0, v.lb) for v in datas])
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    return CompiledModel(
        c=c,
        offset=offset,
        A=A,
        row_lo=row_lo,
        row_hi=row_hi,
        col_lo=col_lo,
        col_hi=col_hi,
        integer=integer,
        components=components,
        fill=fill,
        compile_time_s=time.perf_counter() - start,
    )


def finish_result(
    cm: CompiledModel,
    *,
    solver: str,
    version: str,
    native: Mapping[str, object],
    termination: Termination,
    values: dict[str, np.ndarray] | None,
    objective: float | None,
    mip_bound: float | None,
    is_mip: bool,
    wall_time_s: float,
    progress: _ProgressFilter,
    message: str,
) -> BackendResult:
    """The vendor-neutral end of a solve: pick the bound, report it, build the result.

    A MIP's bound is the solver's dual bound (when finite); an LP solved to optimality is its
    own bound. The final incumbent/bound pair goes to ``progress`` once more.
    """
    bound: float | None = None
    if is_mip:
        bound = _finite(mip_bound)
    elif termination is Termination.COMPLETED:
        bound = objective
    if is_mip:
        progress(objective if values is not None else None, bound, final=True)
    return BackendResult(
        termination=termination,
        values=values,
        objective=objective,
        objective_bound=bound,
        wall_time_s=wall_time_s,
        solver=SolverInfo(
            name=solver,
            version=version,
            options=dict(native),
            num_variables=cm.num_variables,
            num_constraints=cm.num_constraints,
        ),
        message=message,
    )


class Backend(abc.ABC):
    """A MILP/LP solver behind one interface.

    Subclasses declare ``name``, ``required_modules`` and ``capabilities`` and implement
    :meth:`_solve_compiled`. :meth:`solve` checks the options against the capabilities,
    compiles the model and calls it.
    """

    name: ClassVar[str]
    required_modules: ClassVar[tuple[str, ...]]
    capabilities: ClassVar[frozenset[Capability]]
    install_hint: ClassVar[str] = ""

    @classmethod
    @functools.cache
    def is_available(cls) -> bool:
        """The vendor package is installed (probed without importing it)."""
        return all(importlib.util.find_spec(m) is not None for m in cls.required_modules)

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether the backend has ``capability``."""
        return capability in cls.capabilities

    def check_options(self, options: SolveOptions) -> None:
        """Raise :class:`CapabilityError` for an option this backend cannot honour."""
        wanted = {
            Capability.TIME_LIMIT: options.time_limit_s is not None,
            Capability.MIP_GAP: options.mip_rel_gap is not None or options.mip_abs_gap is not None,
            Capability.THREADS: options.threads is not None,
            Capability.SEED: options.seed is not None,
        }
        for cap, asked in wanted.items():
            if asked and not self.supports(cap):
                raise CapabilityError(
                    f"backend {self.name!r} cannot honour {cap.name.lower()}; "
                    "drop that option or pick another backend"
                )

    def solve(
        self,
        model: Any,
        options: SolveOptions = SolveOptions(),  # noqa: B008 - frozen, safe as a default
        *,
        start: Mapping[str, np.ndarray] | None = None,
        progress: ProgressCallback | None = None,
        compiled: CompiledModel | None = None,
    ) -> BackendResult:
        """Solve a linear Pyomo model.

        Parameters
        ----------
        model
            A Pyomo ConcreteModel with linear rows and one objective (minimised); may be
            ``None`` when ``compiled`` is given.
        options
            Common options; ``backend_options`` are passed to the vendor verbatim.
        start
            Optional MIP start: values per Var component (NaN = unknown).
        progress
            Called with each improvement of the incumbent or the bound.
        compiled
            A :class:`CompiledModel` of ``model`` to reuse (saves the compile step).

        Returns
        -------
        BackendResult

        Raises
        ------
        BackendUnavailableError
            The vendor package is missing or its licence cannot take the model.
        CapabilityError
            An option the backend cannot honour.
        SolverError
            The solver failed.
        """
        self.check_options(options)
        t0 = time.perf_counter()
        if compiled is None and model is None:
            raise ValueError("Backend.solve needs a model or a compiled model")
        cm = compile_model(model) if compiled is None else compiled
        x0 = None if start is None else cm.join(start)
        if options.time_limit_s is not None:  # the compile counts against the limit too
            left = options.time_limit_s - (time.perf_counter() - t0)
            options = dataclasses.replace(options, time_limit_s=max(0.05, left))
        return self._solve_compiled(cm, options, start=x0, progress=_ProgressFilter(progress))

    @abc.abstractmethod
    def _solve_compiled(
        self,
        cm: CompiledModel,
        options: SolveOptions,
        *,
        start: np.ndarray | None,
        progress: _ProgressFilter,
    ) -> BackendResult: ...
