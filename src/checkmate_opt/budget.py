"""One budget language: bytes, sizes with units, or a multiple of the no-remat peak.

A relative budget such as ``"0.8x"`` means 0.8 x the peak activation memory of the graph's own
order with **no rematerialization**: every node computed once, in id order, each value freed
right after its last use. That is the reference of the published benchmark protocol. It is
lower than the peak of ``checkpoint_all`` as the paper defines it (which holds values longer),
so ``0.8x`` is not "0.8 x checkpoint-all".
"""

from __future__ import annotations

import math
import re

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import simulate
from checkmate_opt.units import parse_bytes

__all__ = ["no_remat_peak", "no_remat_schedule", "resolve_budget"]

_RELATIVE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|nan)\s*[xX]\s*$")

#: budgets above this cannot be held by the int64 arithmetic of the simulator and the MILP
MAX_BUDGET = 2**62


def no_remat_schedule(graph: Graph) -> Schedule:
    """Each node computed once at its own stage and kept until the stage of its last use."""
    n = graph.n
    R = np.eye(n, dtype=bool)
    S = np.zeros((n, n), dtype=bool)
    for u in range(n):
        succ = graph.successors[u]
        if succ:
            S[u + 1 : max(succ) + 1, u] = True
    return Schedule(R, S)


def no_remat_peak(graph: Graph) -> int:
    """Peak activation memory of the given order with no rematerialization (bytes)."""
    return simulate(graph, no_remat_schedule(graph)).peak_activation_memory


def resolve_budget(
    value: int | float | str | None, graph: Graph, *, include_fixed: bool = False
) -> int | None:
    """Turn a budget into activation-memory bytes for ``graph``.

    Parameters
    ----------
    value
        ``None`` (no budget), a byte count (``12000000000``), a size (``"12GB"``,
        ``"500MiB"``) or a multiple of the no-remat peak (``"0.8x"``).
    graph
        The graph the budget is for.
    include_fixed
        The budget is device memory: fixed memory (parameters and their gradients) is taken off
        it. A relative budget then multiplies the no-remat *peak memory* (fixed memory
        included), so that both readings use one reference.

    Raises
    ------
    ValueError
        For a budget that cannot be parsed, is negative, not finite, too large to represent, or
        (with ``include_fixed``) below the fixed memory.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> g = linear_graph(4)
    >>> no_remat_peak(g), resolve_budget("0.5x", g), resolve_budget("3", g)
    (6, 3, 3)
    """
    if value is None:
        return None
    fixed = graph.fixed_memory
    match = _RELATIVE.match(value) if isinstance(value, str) else None
    if match:
        mult = float(match.group(1))
        if not math.isfinite(mult) or mult <= 0:
            raise ValueError(f"budget multiple must be a finite number > 0, got {value!r}")
        ref = no_remat_peak(graph) + (fixed if include_fixed else 0)
        budget_f = mult * ref
        if budget_f > MAX_BUDGET:
            raise ValueError(f"budget {value!r} is too large ({budget_f:.3g} bytes)")
        budget = math.ceil(budget_f)  # the published protocol: ceil(mult x peak)
    else:
        if isinstance(value, str) and value.strip().lower().endswith("x"):
            raise ValueError(f"cannot parse budget {value!r}; write e.g. 0.8x, 16GB or 1000000")
        budget = parse_bytes(value)
        if budget > MAX_BUDGET:
            raise ValueError(f"budget {value!r} is too large ({budget:.3g} bytes)")
    if include_fixed:
        if budget < fixed:
            raise ValueError(
                f"budget {value} is below the fixed memory ({fixed} bytes of parameters and "
                "gradients); raise it or drop --include-fixed"
            )
        budget -= fixed
    return budget
