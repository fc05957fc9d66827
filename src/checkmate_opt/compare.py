"""Every strategy (or a chosen few) on one graph and budget, as one comparable table.

>>> import checkmate_opt as cm
>>> table = cm.compare(cm.linear_graph(6), "0.8x", strategies=["checkpoint_all", "chen_sqrtn"])
>>> [row["strategy"] for row in table.rows()]
['checkpoint_all', 'chen_sqrtn']
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checkmate_opt.budget import no_remat_peak, resolve_budget
from checkmate_opt.graph import Graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolveResult
from checkmate_opt.units import format_bytes

__all__ = ["Comparison", "compare"]

#: the columns of :meth:`Comparison.rows`, in order
COLUMNS = (
    "strategy",
    "status",
    "within_budget",
    "compute_cost",
    "overhead",
    "peak_activation_memory",
    "peak_memory",
    "objective_bound",
    "proven_optimal",
    "solve_time_s",
)


@dataclass(frozen=True)
class Comparison:
    """The results of several strategies on one graph and budget.

    Attributes
    ----------
    graph_name
        The graph's name.
    budget
        Activation-memory budget in bytes (``None``: none).
    reference
        Peak activation memory of the graph's order with no rematerialization, the reference of
        a relative budget such as ``"0.8x"``.
    results
        One result per strategy run, in the order run; every figure is simulated.
    interrupted
        True when Ctrl-C stopped the run; ``results`` holds the strategies finished before.
    """

    graph_name: str
    budget: int | None
    reference: int
    results: tuple[SolveResult, ...]
    interrupted: bool = False

    def rows(self) -> list[dict[str, Any]]:
        """One dict per strategy with the :data:`COLUMNS` keys."""
        out = []
        for r in self.results:
            s = r.summary()
            out.append({k: s[k] for k in COLUMNS})
        return out

    def to_text(self) -> str:
        """An aligned table (what ``checkmate-opt demo`` prints), budget and reference first."""
        budget = "none" if self.budget is None else f"{self.budget} ({format_bytes(self.budget)})"
        ratio = ""
        if self.budget is not None and self.reference:
            ratio = f" = {self.budget / self.reference:.3g} x that peak"
        lines = [
            f"graph {self.graph_name or '-'}: peak activation memory with no rematerialization "
            f"{self.reference} ({format_bytes(self.reference)}); budget {budget}{ratio}",
        ]
        header = (
            f"{'strategy':<24}{'status':<13}{'within':<8}{'compute':>12}{'overhead':>10}"
            f"{'peak act. mem':>15}{'time s':>9}"
        )
        lines += [header, "-" * len(header)]
        for row in self.rows():
            comp = "-" if row["compute_cost"] is None else str(row["compute_cost"])
            if row["compute_cost"] is None and row["objective_bound"] is not None:
                comp = f">={row['objective_bound']:.1f}"  # a bound only (lp_bound)
            over = "-" if row["overhead"] is None else f"{row['overhead']:.3f}x"
            peak = row["peak_activation_memory"]
            within = "-" if peak is None else str(row["within_budget"])
            lines.append(
                f"{row['strategy']:<24}{row['status']:<13}{within:<8}{comp:>12}{over:>10}"
                f"{'-' if peak is None else peak:>15}{row['solve_time_s']:>9.2f}"
            )
        if self.interrupted:
            lines.append("(interrupted: the strategies after the last row did not run)")
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The rows as CSV text; also written (atomically) to ``path`` when given."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(self.rows())
        text = buf.getvalue()
        if path is not None:
            from checkmate_opt.io import write_atomic

            write_atomic(path, text)
        return text


def compare(
    graph: Graph,
    budget: int | str | None = None,
    strategies: Sequence[str] | None = None,
    *,
    solver: str | None = None,
    options: SolveOptions | None = None,
    include_fixed: bool = False,
) -> Comparison:
    """Run each strategy on ``graph`` at one budget and collect the simulated results.

    Parameters
    ----------
    graph
        The graph.
    budget
        As for :func:`checkmate_opt.solve`: bytes, ``"12GB"``, or ``"0.8x"`` (a multiple of
        the peak activation memory with no rematerialization).
    strategies
        Names to run, in order (default: every registered strategy).
    solver, options
        Passed to the strategies that take them (the MILP/LP ones); the heuristics take none.
    include_fixed
        ``budget`` is device memory; fixed memory (parameters and gradients) is taken off it.

    Raises
    ------
    UnknownStrategyError
        For an unknown name (before anything runs).
    ValueError
        For a budget that cannot be parsed.
    """
    from checkmate_opt.strategies import STRATEGIES, get_strategy, strategy_options

    names = list(STRATEGIES) if strategies is None else list(strategies)
    fns = [get_strategy(name) for name in names]  # unknown names fail before any solve
    resolved = resolve_budget(budget, graph, include_fixed=include_fixed)
    results: list[SolveResult] = []
    interrupted = False
    for fn in fns:
        takes = strategy_options(fn)
        kwargs: dict[str, Any] = {}
        if solver is not None and "solver" in takes:
            kwargs["solver"] = solver
        if options is not None and "options" in takes:
            kwargs["options"] = options
        try:
            result = fn(graph, resolved, **kwargs)
        except KeyboardInterrupt:
            interrupted = True
            break
        results.append(result)
        if result.termination.value == "interrupted":
            interrupted = True
            break
    return Comparison(
        graph_name=graph.name,
        budget=resolved,
        reference=no_remat_peak(graph),
        results=tuple(results),
        interrupted=interrupted,
    )
