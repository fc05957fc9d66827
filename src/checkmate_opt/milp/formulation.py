"""The Checkmate MILP (Jain et al., MLSys 2020) written once, as a Pyomo AbstractModel.

Every variant is an instance of the same model; the differences are data:

* ``variant``: ``"full"`` (FULL_SCHEDULE, the paper's: stage ``t`` computes node ``t``),
  ``"cover_all"`` (every node computed at least once) or ``"cover_last"`` (only the last node
  must be computed; a very weak relaxation kept for the integrality-gap study);
* ``mode``: ``"budget"`` (minimise compute subject to ``U <= budget``) or ``"min_peak"``
  (minimise the peak ``P >= U`` subject to a compute cap: the linear form of the max-batch
  MILP);
* ``relax``: the LP relaxation (R, S, FREE in [0, 1]), the same rows.

Only variables that can be nonzero are created (for ``"full"``: R lower-triangular, S strictly
lower-triangular, U[t, k] for k <= t, FREE[t, (i, k)] for k < t). Dropping the others is exact:
R[t, k] = 0 for k > t forces FREE = 0 there, so U[t, k] for k > t only decreases, and the frees
triggered by the frontier node t itself change no U that is left. The budget is a bound on U
(no redundant U rows). Costs and memory are divided by their gcds; compute costs may carry
the per-node noise ``1 + eps * z_i`` (z ~ N(0, 1), seeded) that breaks ties (off by default).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cache, cached_property, reduce
from typing import Any, Literal

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.milp.matrix import full_matrices

__all__ = ["MilpInstance", "Mode", "Variant", "abstract_model", "build_instance"]

Variant = Literal["full", "cover_all", "cover_last"]
Mode = Literal["budget", "min_peak"]
VARIANTS: tuple[str, ...] = ("full", "cover_all", "cover_last")
#: memory is expressed in units that put the budget near this many units
MEMORY_SCALE_TARGET = 1e4
MODES: tuple[str, ...] = ("budget", "min_peak")


# --------------------------------------------------------------------------- the rules
def _r(m: Any, t: int, i: int) -> Any:
    return m.R[t, i] if (t, i) in m.RIDX else 0


def _s(m: Any, t: int, i: int) -> Any:
    return m.S[t, i] if (t, i) in m.SIDX else 0


def frontier_rule(m: Any, i: int) -> Any:
    """Which nodes must be computed (the paper's rows 1-3 and the variants).

    full: ``R[t, t] = 1`` for every stage t (rows 1-2 hold by construction: R and S have no
    upper-triangular variables). cover_all: ``sum_t R[t, i] >= 1``. cover_last:
    ``sum_t R[t, n-1] >= 1``. (``S[0, :] = 0`` holds by construction in every variant.)
    """
    variant = m.variant.value
    if variant == "full":
        return m.R[i, i] == 1
    if variant == "cover_last" and i != m.n.value - 1:
        return _skip()
    return sum(m.R[t, i] for t in m.STAGES if (t, i) in m.RIDX) >= 1


def _skip() -> Any:
    from pyomo.environ import Constraint

    return Constraint.Skip


def checkpoint_rule(m: Any, t: int, i: int) -> Any:
    """Checkpoint availability (row 4): ``S[t+1, i] <= S[t, i] + R[t, i]``.

    Indexed by the S variables of stages >= 1 (``t`` here is the later stage).
    """
    if t == 0:
        return _skip()
    return m.S[t, i] <= _s(m, t - 1, i) + _r(m, t - 1, i)


def dependency_rule(m: Any, t: int, e: int) -> Any:
    """Dependencies (row 5): ``R[t, v] <= R[t, u] + S[t, u]`` for every edge e = (u, v)."""
    u, v = m.EU[e], m.EV[e]
    return m.R[t, v] <= _r(m, t, u) + _s(m, t, u)


def _hazard(m: Any, t: int, e: int) -> tuple[Any, int]:
    """h(t, i, k) and its number of terms H(t, i, k) (row 6)."""
    i, k = m.EU[e], m.EV[e]
    terms = [1 - m.R[t, k]]
    if t < m.n.value - 1:
        terms.append(_s(m, t + 1, i))
    terms.extend(m.R[t, j] for j in m.SUCC[i] if j > k and (t, j) in m.RIDX)
    return sum(terms), len(terms)


def free_lower_rule(m: Any, t: int, e: int) -> Any:
    """FREE without a hazard (row 6a): ``1 - FREE[t, e] <= h(t, i, k)``."""
    h, _ = _hazard(m, t, e)
    return 1 - m.FREE[t, e] <= h


def free_upper_rule(m: Any, t: int, e: int) -> Any:
    """Any hazard forbids FREE (row 6b): ``H(t, i, k) * (1 - FREE[t, e]) >= h(t, i, k)``."""
    h, big_h = _hazard(m, t, e)
    return big_h * (1 - m.FREE[t, e]) >= h


def free_tight_rule(m: Any, t: int, e: int, j: int) -> Any:
    """Optional disaggregated hazard rows (a tightening, valid for 0/1).

    For FREE[t, (i, k)]: ``j = -1``: ``FREE <= R[t, k]``; ``j = -2``: ``FREE + S[t+1, i] <= 1``;
    ``j >= 0`` (a later consumer of i): ``FREE + R[t, j] <= 1``. Each is implied by row 6 for
    binaries but cuts off fractional points, so the LP bound can only rise.
    """
    i, k = m.EU[e], m.EV[e]
    if j == -1:
        return m.FREE[t, e] <= m.R[t, k]
    if j == -2:
        return m.FREE[t, e] + m.S[t + 1, i] <= 1
    return m.FREE[t, e] + m.R[t, j] <= 1


def memory_init_rule(m: Any, t: int) -> Any:
    """Memory at stage start (row 7): ``U[t, 0] = R[t, 0] M_0 + sum_i S[t, i] M_i``."""
    held = sum(m.mem[i] * m.S[t, i] for i in m.NODES if (t, i) in m.SIDX)
    return m.U[t, 0] == _r(m, t, 0) * m.mem[0] + held


def memory_recurrence_rule(m: Any, t: int, k: int) -> Any:
    """Memory recurrence (row 8): ``U[t,k] = U[t,k-1] + R[t,k] M_k - sum_{(i,k-1)} M_i FREE``."""
    if k == 0:
        return _skip()
    freed = sum(m.mem[m.EU[e]] * m.FREE[t, e] for e in m.IN_EDGES[k - 1] if (t, e) in m.FIDX)
    return m.U[t, k] == m.U[t, k - 1] + _r(m, t, k) * m.mem[k] - freed


def peak_rule(m: Any, t: int, k: int) -> Any:
    """min_peak mode (the max-batch MILP in linear form): ``U[t, k] <= P``."""
    if m.mode.value != "min_peak":
        return _skip()
    return m.U[t, k] <= m.P


def compute_cap_rule(m: Any) -> Any:
    """min_peak mode: ``sum_{t,i} c_i R[t, i] <= cap`` (exact gcd-scaled costs, no noise)."""
    if m.mode.value != "min_peak":
        return _skip()
    return sum(m.cost_exact[i] * m.R[t, i] for t, i in m.RIDX) <= m.compute_cap


def objective_rule(m: Any) -> Any:
    """Minimise ``sum_{t,i} c~_i R[t, i]``; min_peak mode: minimise ``P``."""
    if m.mode.value == "min_peak":
        return m.P
    return sum(m.cost[i] * m.R[t, i] for t, i in m.RIDX)


def _u_bounds(m: Any, t: int, k: int) -> tuple[float, float | None]:
    """Row 9 as variable bounds: ``0 <= U <= budget / mem_unit`` (no explicit rows)."""
    if m.mode.value == "min_peak":
        return (0.0, None)
    return (0.0, float(m.budget.value))


def _binary_domain(m: Any, *idx: Any) -> Any:
    from pyomo.environ import Binary, UnitInterval

    return UnitInterval if m.relax.value else Binary


@cache
def abstract_model() -> Any:
    """The Pyomo AbstractModel (built once per process, instantiated per graph and budget)."""
    from pyomo.environ import (
        AbstractModel,
        Boolean,
        Constraint,
        NonNegativeIntegers,
        NonNegativeReals,
        Objective,
        Param,
        Reals,
        Set,
        Var,
        minimize,
    )
    from pyomo.environ import (
        Any as PyAny,
    )

    m = AbstractModel(name="checkmate")
    m.n = Param(within=NonNegativeIntegers)
    m.variant = Param(within=PyAny)
    m.mode = Param(within=PyAny)
    m.relax = Param(within=Boolean, default=False)
    m.NODES = Set(dimen=1, ordered=True)
    m.STAGES = Set(dimen=1, ordered=True)
    m.EDGES = Set(dimen=1, ordered=True)
    m.EU = Param(m.EDGES, within=NonNegativeIntegers)
    m.EV = Param(m.EDGES, within=NonNegativeIntegers)
    m.SUCC = Set(m.NODES, dimen=1, ordered=True)
    m.IN_EDGES = Set(m.NODES, dimen=1, ordered=True)
    m.RIDX = Set(dimen=2, ordered=True)
    m.SIDX = Set(dimen=2, ordered=True)
    m.FIDX = Set(dimen=2, ordered=True)
    m.TIDX = Set(dimen=3, ordered=True)
    m.DIDX = Set(dimen=2, ordered=True)
    m.UIDX = Set(dimen=2, ordered=True)
    m.cost = Param(m.NODES, within=Reals)
    m.cost_exact = Param(m.NODES, within=NonNegativeReals)
    m.mem = Param(m.NODES, within=NonNegativeReals)
    m.budget = Param(within=NonNegativeReals, default=0)
    m.compute_cap = Param(within=NonNegativeReals, default=0)

    m.R = Var(m.RIDX, domain=_binary_domain)
    m.S = Var(m.SIDX, domain=_binary_domain)
    m.FREE = Var(m.FIDX, domain=_binary_domain)
    m.U = Var(m.UIDX, within=NonNegativeReals, bounds=_u_bounds)
    m.P = Var(within=NonNegativeReals)

    m.frontier = Constraint(m.NODES, rule=frontier_rule)
    m.checkpoint = Constraint(m.SIDX, rule=checkpoint_rule)
    m.dependency = Constraint(m.DIDX, rule=dependency_rule)
    m.free_lower = Constraint(m.FIDX, rule=free_lower_rule)
    m.free_upper = Constraint(m.FIDX, rule=free_upper_rule)
    m.free_tight = Constraint(m.TIDX, rule=free_tight_rule)
    m.memory_init = Constraint(m.STAGES, rule=memory_init_rule)
    m.memory_recurrence = Constraint(m.UIDX, rule=memory_recurrence_rule)
    m.peak = Constraint(m.UIDX, rule=peak_rule)
    m.compute_cap_row = Constraint(rule=compute_cap_rule)
    m.objective = Objective(rule=objective_rule, sense=minimize)
    return m


# --------------------------------------------------------------------------- instances
@dataclass(frozen=True, eq=False, kw_only=True)
class MilpInstance:
    """A concrete MILP/LP and what is needed to read it back in real units.

    Attributes
    ----------
    model
        The Pyomo ConcreteModel (an instance of :func:`abstract_model`), created on first use.
    graph
        The graph it was built from.
    budget
        Activation budget in bytes (``None`` in min_peak mode).
    variant, mode, relax
        How it was built.
    g_cpu, g_ram
        The gcds that compute costs and memory were divided by.
    mem_unit
        Bytes per model memory unit: ``g_ram``, times a further factor when the budget would
        exceed :data:`MEMORY_SCALE_TARGET` units (HiGHS slows down badly on bounds ~1e10).
    noise
        ``1 + eps * z_i`` per node (all ones when ``eps_noise == 0``).
    cost
        Objective coefficient per node: ``compute_cost / g_cpu * noise``.
    eps_noise, seed
        The noise level and seed.
    build_time_s
        Wall time spent building (the instance data, plus the Pyomo instance or the matrices
        once made).
    data
        The instance data handed to ``create_instance``.
    """

    graph: Graph
    budget: int | None
    variant: str
    mode: str
    relax: bool
    g_cpu: int
    g_ram: int
    mem_unit: float
    noise: np.ndarray = field(repr=False)
    cost: np.ndarray = field(repr=False)
    eps_noise: float
    seed: int | None
    build_time_s: float
    data: dict[str, Any] = field(repr=False)
    tighten: bool = False

    def _timed(self, seconds: float) -> None:
        object.__setattr__(self, "build_time_s", self.build_time_s + seconds)

    @cached_property
    def model(self) -> Any:
        """The Pyomo ConcreteModel, created on first use (the source of truth)."""
        start = time.perf_counter()
        model = abstract_model().create_instance(data={None: self.data})
        self._timed(time.perf_counter() - start)
        return model

    def index(self, name: str) -> np.ndarray:
        """The index set of Var component ``name`` as an int array (``(len, dim)``)."""
        key = {"R": "RIDX", "S": "SIDX", "FREE": "FIDX", "U": "UIDX"}[name]
        idx = self.data[key][None]
        return np.asarray(idx, dtype=np.int64).reshape(-1, 2)

    @property
    def fast_matrices(self) -> bool:
        """Whether :meth:`matrices` is built without Pyomo (the ``"full"`` variant)."""
        return self.variant == "full"

    def matrices(self) -> dict[str, Any]:
        """Standard-form arrays of the model (keyword arguments of ``CompiledModel``).

        The ``"full"`` variant is written directly with numpy (:mod:`~checkmate_opt.milp.matrix`,
        tested to equal Pyomo's compilation of :attr:`model`); ``None`` for the others, which
        the backend compiles from :attr:`model`.
        """
        start = time.perf_counter()
        d = self.data
        n = self.graph.n
        out = full_matrices(
            n=n,
            edges=list(self.graph.edges),
            successors=self.graph.successors,
            cost=np.array([d["cost"][i] for i in range(n)], dtype=float),
            cost_exact=np.array([d["cost_exact"][i] for i in range(n)], dtype=float),
            mem=np.array([d["mem"][i] for i in range(n)], dtype=float),
            budget=float(d["budget"][None]),
            compute_cap=float(d["compute_cap"][None]),
            mode=self.mode,
            relax=self.relax,
            tighten=self.tighten,
        )
        self._timed(time.perf_counter() - start)
        return out

    def objective_to_cost(self, value: float) -> float:
        """A solved objective in real compute units, for an *incumbent* (best estimate)."""
        if self.mode == "min_peak":
            return value * self.mem_unit
        return (
            value * self.g_cpu / float(np.mean(self.noise))
            if self.eps_noise
            else (value * self.g_cpu)
        )

    def bound_to_cost(self, bound: float) -> float:
        """A dual bound of the model as a valid lower bound on the exact cost, in real units.

        With noise, a schedule's noisy objective is ``sum_i c_i w_i n_i`` (``w`` the noise,
        ``n_i`` how often node i is computed) while its exact cost is ``sum_i c_i n_i``. Where
        every node is computed at least once (``"full"``, ``"cover_all"``), the recomputation
        part alone is rescaled: exact ``>= sum_i c_i + (bound - sum_i c_i w_i) / max(w)``;
        otherwise ``bound / max(w)``. Both are exact when ``eps_noise == 0``. The exact scaled
        cost (or, in min_peak mode, the scaled peak) is an integer, so the bound is rounded up
        with a small tolerance for the solver's own rounding. min_peak mode: a peak in bytes.
        """
        if self.mode == "min_peak":
            # the exact peak is a multiple of g_ram bytes
            return float(_ceil_tol(bound * self.mem_unit / self.g_ram) * self.g_ram)
        if not self.eps_noise:
            return float(_ceil_tol(bound) * self.g_cpu)
        wmax = float(self.noise.max())
        exact = self.cost / self.noise
        if self.variant == "cover_last":
            scaled = bound / wmax
        else:
            scaled = float(exact.sum()) + max(0.0, bound - float(self.cost.sum())) / wmax
        return float(_ceil_tol(scaled) * self.g_cpu)


#: solver tolerances the budget row is guarded against: binaries may sit this far from 0/1 and
#: rows may be violated by this much (HiGHS' and Gurobi's defaults are 1e-6 / 1e-7 or tighter)
_INTEGRALITY_TOL = 1e-6
_FEASIBILITY_TOL = 1e-6


def _safe_budget(budget_units: float, memory: list[int], unit: float) -> float:
    """The budget bound handed to the solver, lowered by what solver tolerances could let slip.

    A solution whose binaries are off by the integrality tolerance can under-count memory by
    up to ``tol x (sum of memory)``; rounding it would then exceed the budget by that much (seen
    1-344 bytes over). Lowering the bound by that slack makes every accepted solution, once
    rounded, fit the real budget in bytes.
    """
    slack = _INTEGRALITY_TOL * sum(memory) / unit + _FEASIBILITY_TOL
    integral = float(budget_units).is_integer() and all(
        float(m / unit).is_integer() for m in memory
    )
    if integral and slack < 1.0:
        # integer units: a rounded solution's memory is an integer within slack of a value
        # <= the budget, so it is <= the budget whenever the slack is below one unit
        return float(budget_units)
    return max(0.0, budget_units - slack)


#: largest round-off (in integer objective units) forgiven when a bound is rounded up: a
#: relative 1e-6 alone is more than one unit above 1e6 (vgg19: 1.9e6 units), which turned
#: proven optima into a reported one-unit gap
_CEIL_TOL_MAX = 0.01


def _ceil_tol(x: float) -> int:
    return math.ceil(x - min(1e-6 * max(1.0, abs(x)), _CEIL_TOL_MAX))


def _gcd(values: list[int]) -> int:
    g = reduce(math.gcd, (int(v) for v in values), 0)
    return g if g > 0 else 1


def _index_sets(graph: Graph, variant: str) -> dict[str, list[tuple[int, int]]]:
    n = graph.n
    edges = graph.edges
    if variant == "full":
        ridx = [(t, i) for t in range(n) for i in range(t + 1)]
        sidx = [(t, i) for t in range(1, n) for i in range(t)]
        uidx = ridx
        didx = [(t, e) for e, (_, v) in enumerate(edges) for t in range(v, n)]
        didx.sort()
        fidx = [(t, e) for e, (_, k) in enumerate(edges) for t in range(k + 1, n)]
        fidx.sort()
    else:
        ridx = [(t, i) for t in range(n) for i in range(n)]
        sidx = [(t, i) for t in range(1, n) for i in range(n)]
        uidx = ridx
        didx = [(t, e) for t in range(n) for e in range(len(edges))]
        fidx = didx
    return {"RIDX": ridx, "SIDX": sidx, "UIDX": uidx, "DIDX": didx, "FIDX": fidx}


def _tight_index(
    graph: Graph, fidx: list[tuple[int, int]], ridx: set[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    n = graph.n
    out: list[tuple[int, int, int]] = []
    for t, e in fidx:
        i, k = graph.edges[e]
        out.append((t, e, -1))
        if t < n - 1:
            out.append((t, e, -2))
        out.extend((t, e, j) for j in graph.successors[i] if j > k and (t, j) in ridx)
    return out


def build_instance(
    graph: Graph,
    budget: int | None,
    *,
    variant: Variant = "full",
    mode: Mode = "budget",
    relax: bool = False,
    tighten: bool = False,
    eps_noise: float = 0.0,
    seed: int | None = 0,
    compute_cap: int | None = None,
) -> MilpInstance:
    """Instantiate the MILP (or its LP relaxation) for ``graph`` and ``budget``.

    Parameters
    ----------
    graph
        The graph (ids in topological order).
    budget
        Activation-memory budget in bytes (required in ``"budget"`` mode, ignored otherwise).
    variant
        ``"full"`` (paper), ``"cover_all"`` or ``"cover_last"``.
    mode
        ``"budget"`` or ``"min_peak"`` (needs ``compute_cap``).
    relax
        Build the LP relaxation.
    tighten
        Add the disaggregated hazard rows of :func:`free_tight_rule` (same integer optimum,
        tighter LP; off by default so the LP bound is the paper's).
    eps_noise
        Relative per-node cost noise that breaks ties; 0 for exact costs. Not used in min_peak mode.
    seed
        Seed of the noise.
    compute_cap
        min_peak mode: largest allowed total compute, in real cost units.

    Returns
    -------
    MilpInstance

    Raises
    ------
    ValueError
        For an unknown variant/mode, a missing or negative budget or compute cap.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> inst = build_instance(linear_graph(2), 3, eps_noise=0)
    >>> len(inst.model.R), len(inst.model.S), inst.g_ram, inst.model.budget.value
    (15, 10, 1, 3.0)
    """
    start = time.perf_counter()
    if variant not in VARIANTS:
        raise ValueError(f"unknown MILP variant {variant!r}; choose one of {VARIANTS}")
    if mode not in MODES:
        raise ValueError(f"unknown MILP mode {mode!r}; choose one of {MODES}")
    if eps_noise < 0:
        raise ValueError(f"eps_noise must be >= 0, got {eps_noise}")
    n = graph.n
    compute = [int(c) for c in graph.compute_cost]
    memory = [int(x) for x in graph.memory_cost]
    g_cpu = _gcd(compute)
    if mode == "budget":
        if budget is None or budget < 0:
            raise ValueError(f"mode 'budget' needs a budget >= 0 in bytes, got {budget}")
        g_ram = _gcd([*memory, int(budget)])
        budget_units = int(budget) // g_ram
        cap_units = 0.0
        eps = float(eps_noise)
    else:
        if compute_cap is None or compute_cap < 0:
            raise ValueError(f"mode 'min_peak' needs compute_cap >= 0, got {compute_cap}")
        g_ram = _gcd(memory)
        budget_units = 0
        cap_units = compute_cap / g_cpu
        eps = 0.0  # the objective is the peak; costs enter only the cap, exactly
    # Large byte counts make HiGHS' LPs badly scaled (bounds ~1e10): express memory in units
    # that put the budget (or the total memory) near MEMORY_SCALE_TARGET. Exact for small
    # graphs (no extra factor), and only the simulator's numbers are reported anyway.
    ref = budget_units if mode == "budget" else sum(memory) // g_ram
    extra = max(1.0, ref / MEMORY_SCALE_TARGET)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    noise = 1.0 + eps * z if eps else np.ones(n)
    if np.any(noise <= 0):
        raise ValueError(f"eps_noise={eps_noise} makes some cost multipliers <= 0; use < 0.2")
    cost_exact = np.asarray(compute, dtype=float) / g_cpu
    cost = cost_exact * noise
    edges = graph.edges
    in_edges: dict[int, list[int]] = {k: [] for k in range(n)}
    for e, (_, k) in enumerate(edges):
        in_edges[k].append(e)
    data: dict[str, Any] = {
        "n": {None: n},
        "variant": {None: variant},
        "mode": {None: mode},
        "relax": {None: bool(relax)},
        "NODES": {None: list(range(n))},
        "STAGES": {None: list(range(n))},
        "EDGES": {None: list(range(len(edges)))},
        "EU": {e: u for e, (u, _) in enumerate(edges)},
        "EV": {e: v for e, (_, v) in enumerate(edges)},
        "SUCC": {i: list(graph.successors[i]) for i in range(n)},
        "IN_EDGES": in_edges,
        "cost": dict(enumerate(cost.tolist())),
        "cost_exact": dict(enumerate(cost_exact.tolist())),
        "mem": {i: memory[i] // g_ram / extra for i in range(n)},
        "budget": {None: _safe_budget(budget_units / extra, memory, g_ram * extra)},
        "compute_cap": {None: cap_units},
    }
    sets = _index_sets(graph, variant)
    for name, idx in sets.items():
        data[name] = {None: idx}
    data["TIDX"] = {None: _tight_index(graph, sets["FIDX"], set(sets["RIDX"])) if tighten else []}
    return MilpInstance(
        graph=graph,
        budget=None if mode == "min_peak" else int(budget),  # type: ignore[arg-type]
        variant=variant,
        mode=mode,
        relax=relax,
        g_cpu=g_cpu,
        g_ram=g_ram,
        mem_unit=g_ram * extra,
        noise=noise,
        cost=cost,
        eps_noise=eps,
        seed=seed,
        build_time_s=time.perf_counter() - start,
        data=data,
        tighten=bool(tighten),
    )
