"""The simulator: the referee of every reported memory and compute figure.

Given (R, S) it derives the operation list and measures it. Per stage ``t``: first every live
value that is neither consumed later in the stage nor kept for stage ``t+1`` is freed; then
the nodes with ``R[t, i] = 1`` are computed in id order, each allocation sampled for the peak
(inputs + retained values + the new output), and after each one the inputs (and the output
itself) that have no later use are freed. Peak memory = peak activation memory + fixed memory.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from checkmate_opt.errors import ScheduleError
from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule

__all__ = ["OpKind", "Operation", "SimulationReport", "simulate"]


class OpKind(enum.StrEnum):
    """Kind of a schedule operation."""

    COMPUTE = "compute"  #: evaluate the node into a fresh buffer
    FREE = "free"  #: release the node's buffer


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of the derived operation list."""

    kind: OpKind
    stage: int
    node: int


@dataclass(frozen=True, eq=False, kw_only=True)
class SimulationReport:
    """What simulating a schedule measured.

    Attributes
    ----------
    compute_cost
        Sum of the compute cost of every evaluation.
    peak_activation_memory
        Largest live activation bytes, sampled right after each allocation.
    fixed_memory
        Parameters and parameter gradients (``2 x parameter_bytes``).
    peak_memory
        ``peak_activation_memory + fixed_memory``.
    total_compute
        The cost of one evaluation of every node (the no-recomputation reference).
    memory_timeline
        Live bytes plus fixed memory after every operation.
    mem_grid
        ``mem_grid[t, i]``: live bytes plus fixed memory at stage ``t`` position ``i``.
    operations
        The derived compute / free operations in order.
    """

    compute_cost: int
    peak_activation_memory: int
    fixed_memory: int
    total_compute: int
    memory_timeline: np.ndarray = field(repr=False)
    mem_grid: np.ndarray = field(repr=False)
    operations: tuple[Operation, ...] = field(repr=False)

    @property
    def peak_memory(self) -> int:
        """Peak activation memory plus fixed memory."""
        return self.peak_activation_memory + self.fixed_memory

    @property
    def overhead(self) -> float:
        """``compute_cost / total_compute`` (1.0 = no recomputation)."""
        return self.compute_cost / self.total_compute if self.total_compute else 1.0

    @property
    def peak_operation(self) -> Operation | None:
        """The first computation at which the peak is reached (``None`` for a loaded report)."""
        if not self.operations or len(self.memory_timeline) != len(self.operations):
            return None
        target = self.peak_activation_memory + self.fixed_memory
        for op, live in zip(self.operations, self.memory_timeline.tolist(), strict=True):
            if op.kind is OpKind.COMPUTE and live == target:
                return op
        return None

    @property
    def num_computes(self) -> int:
        """Number of node evaluations."""
        return sum(1 for op in self.operations if op.kind is OpKind.COMPUTE)


def simulate(graph: Graph, schedule: Schedule) -> SimulationReport:
    """Simulate ``schedule`` on ``graph``.

    Parameters
    ----------
    graph
        The graph the schedule is for.
    schedule
        The (R, S) matrices.

    Returns
    -------
    SimulationReport
        Compute cost, peak memory and the memory timeline.

    Raises
    ------
    ScheduleError
        If the schedule has the wrong size, checkpoints a value that is not in memory, computes
        a node whose input is not in memory, or never computes some node.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> from checkmate_opt.strategies.checkpoint_all import checkpoint_all
    >>> g = linear_graph(4)
    >>> simulate(g, checkpoint_all(g).unwrap()).compute_cost
    9
    """
    n = graph.n
    if schedule.n != n:
        raise ScheduleError(f"the schedule has {schedule.n} stages but the graph has {n} nodes")
    R, S = schedule.R.astype(bool, copy=False), schedule.S.astype(bool, copy=False)
    mem = graph.memory_cost
    cost = graph.compute_cost
    args = graph.args
    fixed = graph.fixed_memory
    # a boolean live vector, so that each stage only visits what it computes or frees
    # (a frozen set walk over all live values made large graphs quadratic in Python)
    live = np.zeros(n, dtype=bool)
    live_bytes = 0
    peak = 0
    total = 0
    ops: list[Operation] = []
    timeline: list[int] = []
    grid = np.zeros((n, n), dtype=np.int64)
    computed = np.zeros(n, dtype=bool)
    no_keep = np.zeros(n, dtype=bool)
    compute_op, free_op = OpKind.COMPUTE, OpKind.FREE

    for t in range(n):
        keep = S[t + 1] if t + 1 < n else no_keep
        missing = np.flatnonzero(S[t] & ~live)
        if missing.size:
            u0 = int(missing[0])
            raise ScheduleError(
                f"stage {t} checkpoints node {u0} ({graph.names[u0]}), "
                "which is not in memory: it was never computed or was freed"
            )
        todo = np.flatnonzero(R[t]).tolist()
        last_use: dict[int, int] = {}
        for i in todo:  # ascending: the last write is the latest reader in this stage
            for u in args[i]:
                last_use[u] = i
        for u in np.flatnonzero(live & ~keep).tolist():
            if u not in last_use:
                live[u] = False
                live_bytes -= mem[u]
                ops.append(Operation(free_op, t, u))
                timeline.append(live_bytes + fixed)
        prev_pos = 0
        for i in todo:
            grid[t, prev_pos:i] = live_bytes + fixed
            for u in args[i]:
                if not live[u]:
                    raise ScheduleError(
                        f"stage {t} computes node {i} ({graph.names[i]}) but its input node "
                        f"{u} ({graph.names[u]}) is not in memory"
                    )
            if not live[i]:
                live[i] = True
                live_bytes += mem[i]
            peak = max(peak, live_bytes)
            total += cost[i]
            computed[i] = True
            ops.append(Operation(compute_op, t, i))
            timeline.append(live_bytes + fixed)
            grid[t, i] = live_bytes + fixed
            for u in (*args[i], i):
                if live[u] and not keep[u] and last_use.get(u, -1) <= i:
                    live[u] = False
                    live_bytes -= mem[u]
                    ops.append(Operation(free_op, t, u))
                    timeline.append(live_bytes + fixed)
            prev_pos = i + 1
        grid[t, prev_pos:] = live_bytes + fixed
    never = np.flatnonzero(~computed)
    if never.size:
        v = int(never[0])
        raise ScheduleError(f"node {v} ({graph.names[v]}) is never computed")
    timeline_arr = np.asarray(timeline, dtype=np.int64)
    timeline_arr.flags.writeable = False
    grid.flags.writeable = False
    return SimulationReport(
        compute_cost=int(total),
        peak_activation_memory=int(peak),
        fixed_memory=int(fixed),
        total_compute=graph.total_compute,
        memory_timeline=timeline_arr,
        mem_grid=grid,
        operations=tuple(ops),
    )
