"""The MILP's own memory accounting (the paper's rows 6-8), computed in plain numpy.

The MILP counts memory differently from the simulator: a checkpoint held at the start of a
stage stays counted until its last consumer in that stage runs (or all stage when it has
none), a node is released only after its last in-stage consumer, and a value that is both
checkpointed and recomputed in one stage is counted twice. So for the same (R, S) the
MILP's ``U`` is never below the simulator's memory. :func:`clean_schedule` removes the
checkpoints the simulator would drop at stage start; for schedules whose ``R`` comes from
``solve_r_opt`` on such a cleaned ``S`` the two accountings agree (tested).
"""

from __future__ import annotations

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule

__all__ = ["clean_schedule", "implied_free", "milp_memory", "milp_peak"]


def implied_free(graph: Graph, R: np.ndarray, S: np.ndarray) -> np.ndarray:
    """FREE[t, e] as the hazard rows force it (the paper's row 6), shape ``(n, m)``.

    ``FREE[t, (i, k)] = 1`` iff ``k`` is computed in stage ``t``, ``i`` is not checkpointed
    into stage ``t + 1`` and no later consumer ``j > k`` of ``i`` is computed in stage ``t``.
    """
    r = np.asarray(R, dtype=bool)
    s = np.asarray(S, dtype=bool)
    n = graph.n
    m = len(graph.edges)
    if m == 0:
        return np.zeros((n, 0), dtype=bool)
    eu = np.fromiter((u for u, _ in graph.edges), dtype=np.int64, count=m)
    ev = np.fromiter((v for _, v in graph.edges), dtype=np.int64, count=m)
    s_next = np.zeros((n, n), dtype=bool)
    s_next[:-1] = s[1:]
    # last[t, i]: the latest consumer of i computed in stage t (-1: none), by a max over
    # the edges grouped by producer; edge (i, k) has a later consumer iff last[t, i] > k
    by_src = np.argsort(eu, kind="stable")
    src_sorted = eu[by_src]
    starts = np.flatnonzero(np.r_[True, src_sorted[1:] != src_sorted[:-1]])
    cons = np.where(r[:, ev[by_src]], ev[by_src], -1)  # (n, m), edges by producer
    last = np.full((n, n), -1, dtype=np.int64)
    last[:, src_sorted[starts]] = np.maximum.reduceat(cons, starts, axis=1)
    later = last[:, eu] > ev
    return r[:, ev] & ~s_next[:, eu] & ~later


def milp_memory(graph: Graph, R: np.ndarray, S: np.ndarray) -> np.ndarray:
    """U[t, k] in bytes (the paper's rows 7-8): memory after computing ``k`` in stage ``t``.

    Returns an ``(n, n)`` int64 array.
    """
    r = np.asarray(R, dtype=bool)
    s = np.asarray(S, dtype=bool)
    n = graph.n
    mem = graph.memory_array.astype(np.int64)
    free = implied_free(graph, r, s)
    freed_at = np.zeros((n, n), dtype=np.int64)  # bytes freed right after position k
    if graph.edges:
        eu = np.fromiter((u for u, _ in graph.edges), dtype=np.int64, count=len(graph.edges))
        ev = np.fromiter((v for _, v in graph.edges), dtype=np.int64, count=len(graph.edges))
        np.add.at(freed_at.T, ev, (free * mem[eu]).T)
    held = s.astype(np.int64) @ mem
    computed = np.cumsum(r * mem, axis=1)
    released = np.zeros((n, n), dtype=np.int64)
    released[:, 1:] = np.cumsum(freed_at, axis=1)[:, :-1]
    return held[:, None] + computed - released


def milp_peak(graph: Graph, schedule: Schedule) -> int:
    """Largest ``U`` of ``schedule`` under the MILP's accounting, in bytes."""
    return int(milp_memory(graph, schedule.R, schedule.S).max())


def clean_schedule(graph: Graph, schedule: Schedule) -> Schedule:
    """Drop checkpoints that stage ``t`` neither uses nor keeps, and recompute ``R``.

    The simulator frees such checkpoints at stage start, so the simulated cost and memory
    do not grow; the MILP would count them all stage. Dropping ``S[t, i]`` can only make
    stage ``t - 1`` cheaper (it no longer has to produce ``i``), which can leave checkpoints
    of stage ``t - 1`` unused in turn; so the stages are cleaned from the last to the first,
    each with its cheapest ``R`` (``solve_r_opt``'s rules, stage by stage), in one pass.
    """
    s = np.array(schedule.S, dtype=bool)
    n = graph.n
    r = np.zeros((n, n), dtype=bool)
    args = graph.args
    eu = np.fromiter((u for u, _ in graph.edges), dtype=np.int64, count=len(graph.edges))
    ev = np.fromiter((v for _, v in graph.edges), dtype=np.int64, count=len(graph.edges))
    no_keep = np.zeros(n, dtype=bool)
    for t in range(n - 1, -1, -1):
        keep = s[t + 1] if t + 1 < n else no_keep
        st = s[t]
        rt = keep & ~st
        rt[t] = True
        for v in range(t, -1, -1):
            if rt[v]:
                for u in args[v]:
                    if not rt[u] and not st[u]:
                        rt[u] = True
        used = np.zeros(n, dtype=bool)
        used[eu[rt[ev]]] = True
        # dropped checkpoints are neither used nor kept, so rt (which depends on st only
        # through kept and used values) stays the cheapest R of the stage
        st &= used | keep
        r[t] = rt
    return Schedule(R=r, S=s)
