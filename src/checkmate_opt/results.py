"""Result and status types shared by every strategy."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from checkmate_opt.errors import NoScheduleError
from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import SimulationReport, simulate

__all__ = ["SolveResult", "SolverInfo", "Termination"]


class Termination(enum.StrEnum):
    """Why a strategy stopped."""

    COMPLETED = "completed"  #: ran to completion (MILP: optimal within the gap; heuristic: done)
    #: ran to completion, but the simulator puts its schedule over the budget
    OVER_BUDGET = "over_budget"
    TIME_LIMIT = "time_limit"  #: the time limit was hit (a schedule may still be held)
    OTHER_LIMIT = "other_limit"  #: an iteration / node / objective limit was hit
    INFEASIBLE = "infeasible"  #: proven: no schedule fits the budget
    INTERRUPTED = "interrupted"  #: stopped by the user (Ctrl-C); the best schedule is kept
    ERROR = "error"  #: the solver failed
    UNKNOWN = "unknown"  #: a status we could not map


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverInfo:
    """Which solver produced a result, and with what settings."""

    name: str
    version: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    num_variables: int | None = None
    num_constraints: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveResult:
    """The outcome of one strategy on one graph and budget.

    ``report`` always comes from :func:`~checkmate_opt.simulate.simulate`, never from a solver's
    objective. ``budget`` is an activation-memory budget in bytes (fixed memory excluded), or
    ``None`` for a budget-free heuristic.
    """

    strategy: str
    budget: int | None
    termination: Termination
    schedule: Schedule | None
    report: SimulationReport | None
    solve_time_s: float
    proven_optimal: bool = False
    objective_bound: float | None = None
    solver: SolverInfo | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    message: str = ""

    @classmethod
    def from_schedule(
        cls,
        graph: Graph,
        schedule: Schedule | None,
        *,
        strategy: str,
        budget: int | None,
        solve_time_s: float,
        termination: Termination = Termination.COMPLETED,
        **kwargs: Any,
    ) -> SolveResult:
        """Build a result, simulating ``schedule`` (the referee) when there is one.

        A run that completed with a schedule the simulator puts over ``budget`` is reported as
        ``over_budget``, never ``completed`` or proven optimal.
        """
        report = simulate(graph, schedule) if schedule is not None else None
        if (
            termination is Termination.COMPLETED
            and report is not None
            and budget is not None
            and report.peak_activation_memory > budget
        ):
            termination = Termination.OVER_BUDGET
            kwargs["proven_optimal"] = False
        return cls(
            strategy=strategy,
            budget=budget,
            termination=termination,
            schedule=schedule,
            report=report,
            solve_time_s=solve_time_s,
            **kwargs,
        )

    @property
    def is_feasible(self) -> bool:
        """A schedule exists (whether or not it fits the budget)."""
        return self.schedule is not None

    @property
    def within_budget(self) -> bool:
        """A schedule exists and its simulated peak activation memory fits the budget."""
        return self.report is not None and (
            self.budget is None or self.report.peak_activation_memory <= self.budget
        )

    @property
    def compute_cost(self) -> int | None:
        """Simulated compute cost, or ``None`` without a schedule."""
        return None if self.report is None else self.report.compute_cost

    def unwrap(self) -> Schedule:
        """The schedule, or :class:`NoScheduleError` saying why there is none."""
        if self.schedule is None:
            hint = {
                Termination.INFEASIBLE: "raise the budget",
                Termination.TIME_LIMIT: "raise the time limit",
                Termination.INTERRUPTED: "let the solve run longer",
            }.get(self.termination, "see the result's message")
            raise NoScheduleError(
                f"{self.strategy} found no schedule (termination: {self.termination.value}); "
                f"{hint}" + (f": {self.message}" if self.message else "")
            )
        return self.schedule

    def layers(self, graph: Graph) -> dict[str, Any] | None:
        """What the schedule does, by layer name (``None`` without a schedule).

        Returns a dict with ``kept`` (names of the layers computed once), ``recomputed`` (one
        ``{"node", "name", "times"}`` entry per layer computed more than once, ``times`` being
        how often it is computed), and the peak: ``peak_stage``, ``peak_node`` and
        ``peak_layer``, the computation at which the simulated peak is first reached.
        """
        if self.schedule is None:
            return None
        report = self.report if self.report is not None else simulate(graph, self.schedule)
        if report.peak_operation is None:
            report = simulate(graph, self.schedule)
        times = self.schedule.R.sum(axis=0).tolist()
        op = report.peak_operation
        return {
            "kept": [graph.names[v] for v in range(graph.n) if times[v] == 1],
            "recomputed": [
                {"node": v, "name": graph.names[v], "times": int(times[v])}
                for v in range(graph.n)
                if times[v] > 1
            ],
            "peak_stage": None if op is None else op.stage,
            "peak_node": None if op is None else op.node,
            "peak_layer": None if op is None else graph.names[op.node],
        }

    def summary(self) -> dict[str, Any]:
        """Flat JSON-friendly summary (the keys the CLI prints with ``--json``)."""
        rep = self.report
        return {
            "strategy": self.strategy,
            "status": self.termination.value,
            "feasible": self.is_feasible,
            "within_budget": self.within_budget,
            "budget": self.budget,
            "compute_cost": None if rep is None else rep.compute_cost,
            "total_compute": None if rep is None else rep.total_compute,
            "overhead": None if rep is None else rep.overhead,
            "peak_activation_memory": None if rep is None else rep.peak_activation_memory,
            "fixed_memory": None if rep is None else rep.fixed_memory,
            "peak_memory": None if rep is None else rep.peak_memory,
            "solve_time_s": self.solve_time_s,
            "objective_bound": self.objective_bound,
            "proven_optimal": self.proven_optimal,
            "solver": None if self.solver is None else self.solver.name,
            "params": _jsonable(dict(self.params)),
            "message": self.message,
        }

    def to_dict(self) -> dict[str, Any]:
        """Full JSON-friendly form, schedule included."""
        data = self.summary()
        data["schedule"] = None if self.schedule is None else self.schedule.to_dict()
        if self.solver is not None:
            data["solver_info"] = {
                "name": self.solver.name,
                "version": self.solver.version,
                "options": _jsonable(dict(self.solver.options)),
                "num_variables": self.solver.num_variables,
                "num_constraints": self.solver.num_constraints,
            }
        return data

    def to_json(self) -> str:
        """One line of JSON (for JSON-lines result files)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, graph: Graph | None = None) -> SolveResult:
        """Inverse of :meth:`to_json` (see :meth:`from_dict`)."""
        return cls.from_dict(json.loads(text), graph)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], graph: Graph | None = None) -> SolveResult:
        """Inverse of :meth:`to_dict`.

        With ``graph`` every figure comes from simulating the stored schedule again; stored
        numbers are never trusted then (no schedule: no figures). Without a graph the stored
        figures are kept as they were written.
        """
        schedule = None if data.get("schedule") is None else Schedule.from_dict(data["schedule"])
        report: SimulationReport | None = None
        if graph is not None:
            report = None if schedule is None else simulate(graph, schedule)
        elif data.get("compute_cost") is not None:
            empty = np.zeros(0, dtype=np.int64)
            report = SimulationReport(
                compute_cost=int(data["compute_cost"]),
                peak_activation_memory=int(data["peak_activation_memory"]),
                fixed_memory=int(data.get("fixed_memory") or 0),
                total_compute=int(data.get("total_compute") or 0),
                memory_timeline=empty,
                mem_grid=np.zeros((0, 0), dtype=np.int64),
                operations=(),
            )
        proven = bool(data.get("proven_optimal", False))
        status = Termination(data["status"])
        if graph is not None:  # optimal means: a schedule the simulator puts within budget
            budget = data.get("budget")
            fits = report is not None and (
                budget is None or report.peak_activation_memory <= budget
            )
            proven = proven and fits
            if status is Termination.COMPLETED and report is not None and not fits:
                status = Termination.OVER_BUDGET
        info = data.get("solver_info")
        solver = None
        if info:
            solver = SolverInfo(
                name=info["name"],
                version=info.get("version", ""),
                options=info.get("options", {}),
                num_variables=info.get("num_variables"),
                num_constraints=info.get("num_constraints"),
            )
        return cls(
            strategy=data["strategy"],
            budget=data.get("budget"),
            termination=status,
            schedule=schedule,
            report=report,
            solve_time_s=float(data.get("solve_time_s") or 0.0),
            proven_optimal=proven,
            objective_bound=data.get("objective_bound"),
            solver=solver,
            params=data.get("params") or {},
            message=data.get("message", ""),
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj
