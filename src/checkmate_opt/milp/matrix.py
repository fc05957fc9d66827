"""The ``"full"`` MILP's rows written straight as sparse matrices (numpy + scipy, no Pyomo).

Pyomo stays the single source of truth: :func:`full_matrices` produces, row for row, what
Pyomo's standard-form compiler makes of an instance of
:func:`~checkmate_opt.milp.formulation.abstract_model` (tested on many small graphs, every
option). It exists because on the graphs people solve, building the Pyomo instance and
compiling it takes longer than HiGHS needs to solve the model (vgg19: 1.0 s of 3.6 s).

The result is a plain dict (``c``, ``offset``, ``A``, bounds, ``integer``, ``components``,
``fill``) that :class:`checkmate_opt.backends.base.CompiledModel` takes as keyword arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse  # at import time: its first import (~1 s) must not eat a time limit

__all__ = ["full_matrices"]


class _Rows:
    """Accumulates rows as (row, column, value) triplets and row bounds."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.count = 0

    def block(self, nrows: int, lo: Any, hi: Any) -> int:
        """Reserve ``nrows`` rows with bounds ``lo``/``hi``; returns the first row's number."""
        first = self.count
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (nrows,)))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (nrows,)))
        self.count += nrows
        return first

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: Any) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.rows.append(rows)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), rows.shape))


def full_matrices(
    *,
    n: int,
    edges: list[tuple[int, int]],
    successors: list[tuple[int, ...]] | tuple[tuple[int, ...], ...],
    cost: np.ndarray,
    cost_exact: np.ndarray,
    mem: np.ndarray,
    budget: float,
    compute_cap: float,
    mode: str,
    relax: bool,
    tighten: bool,
) -> dict[str, Any]:
    """Standard form of the ``"full"`` variant: ``row_lo <= A x <= row_hi``, bounds, integrality.

    Columns: R (stage-major, ``i <= t``), S (``i < t``), FREE (sorted by ``(t, e)``), U (as R),
    P. Each component's entries are in the order of the Pyomo index sets, so values and MIP
    starts are exchanged in the same layout as with a compiled Pyomo instance.
    """
    m_e = len(edges)
    eu = np.fromiter((u for u, _ in edges), dtype=np.int64, count=m_e)
    ev = np.fromiter((v for _, v in edges), dtype=np.int64, count=m_e)
    # column numbering
    tri_t, tri_i = np.tril_indices(n)  # (t, i) with i <= t, stage-major: the RIDX order
    n_r = tri_t.size
    s_t, s_i = np.tril_indices(n, -1)
    n_s = s_t.size
    r_col = np.full((n, n), -1, dtype=np.int64)
    r_col[tri_t, tri_i] = np.arange(n_r)
    s_col = np.full((n + 1, n), -1, dtype=np.int64)  # row n: "no S[t+1]" sentinel, all -1
    s_col[s_t, s_i] = n_r + np.arange(n_s)
    # FREE[t, e] for t > ev[e], sorted by (t, e)
    f_t_list = []
    f_e_list = []
    for t in range(n):
        es = np.nonzero(ev < t)[0]
        f_t_list.append(np.full(es.size, t, dtype=np.int64))
        f_e_list.append(es)
    f_t = np.concatenate(f_t_list) if f_t_list else np.zeros(0, dtype=np.int64)
    f_e = np.concatenate(f_e_list) if f_e_list else np.zeros(0, dtype=np.int64)
    n_f = f_t.size
    f_base = n_r + n_s
    u_base = f_base + n_f
    u_col = np.full((n, n), -1, dtype=np.int64)
    u_col[tri_t, tri_i] = u_base + np.arange(n_r)
    p_col = u_base + n_r
    ncol = p_col + 1
    rows = _Rows()

    # frontier: R[i, i] == 1
    first = rows.block(n, 1.0, 1.0)
    rows.add(first + np.arange(n), r_col[np.arange(n), np.arange(n)], 1.0)
    # checkpoint: S[t, i] - S[t-1, i] - R[t-1, i] <= 0 for each S[t, i]
    first = rows.block(n_s, -np.inf, 0.0)
    rr = first + np.arange(n_s)
    rows.add(rr, s_col[s_t, s_i], 1.0)
    prev = s_col[s_t - 1, s_i]
    has = prev >= 0
    rows.add(rr[has], prev[has], -1.0)
    rows.add(rr, r_col[s_t - 1, s_i], -1.0)
    # dependency: R[t, v] - R[t, u] - S[t, u] <= 0 for each edge (u, v) and stage t >= v,
    # in (t, e) order
    d_t_list = []
    d_e_list = []
    for t in range(n):
        es = np.nonzero(ev <= t)[0]
        d_t_list.append(np.full(es.size, t, dtype=np.int64))
        d_e_list.append(es)
    d_t = np.concatenate(d_t_list) if d_t_list else np.zeros(0, dtype=np.int64)
    d_e = np.concatenate(d_e_list) if d_e_list else np.zeros(0, dtype=np.int64)
    first = rows.block(d_t.size, -np.inf, 0.0)
    rr = first + np.arange(d_t.size)
    rows.add(rr, r_col[d_t, ev[d_e]], 1.0)
    rows.add(rr, r_col[d_t, eu[d_e]], -1.0)
    sc = s_col[d_t, eu[d_e]]
    has = sc >= 0
    rows.add(rr[has], sc[has], -1.0)
    # hazard terms of FREE[t, (i, k)]: R[t, k], S[t+1, i], R[t, j] for later consumers j <= t
    f_i = eu[f_e]
    f_k = ev[f_e]
    fcol = f_base + np.arange(n_f)
    s_next = s_col[np.minimum(f_t + 1, n), f_i]
    s_next = np.where(f_t + 1 < n, s_next, -1)
    later_rows: list[int] = []
    later_cols: list[int] = []
    for idx in range(n_f):
        t = int(f_t[idx])
        k = int(f_k[idx])
        for j in successors[int(f_i[idx])]:
            if k < j <= t:
                later_rows.append(idx)
                later_cols.append(int(r_col[t, j]))
    later_r = np.asarray(later_rows, dtype=np.int64)
    later_c = np.asarray(later_cols, dtype=np.int64)
    # number of hazard terms H = 1 (1 - R[t,k]) + [S term] + later consumers
    big_h = 1 + (s_next >= 0).astype(np.int64) + np.bincount(later_r, minlength=n_f)
    has_s = s_next >= 0
    # free_lower: 1 - FREE <= h  ->  -FREE + R[t,k] - S - sum R[t,j] <= 0
    first = rows.block(n_f, -np.inf, 0.0)
    rr = first + np.arange(n_f)
    rows.add(rr, fcol, -1.0)
    rows.add(rr, r_col[f_t, f_k], 1.0)
    rows.add(rr[has_s], s_next[has_s], -1.0)
    rows.add(first + later_r, later_c, -1.0)
    # free_upper: H (1 - FREE) >= h  ->  -H FREE + R[t,k] - S - sum R[t,j] >= 1 - H
    first = rows.block(n_f, (1 - big_h).astype(float), np.inf)
    rr = first + np.arange(n_f)
    rows.add(rr, fcol, -big_h.astype(float))
    rows.add(rr, r_col[f_t, f_k], 1.0)
    rows.add(rr[has_s], s_next[has_s], -1.0)
    rows.add(first + later_r, later_c, -1.0)
    # free_tight, in TIDX order: per FREE, j = -1, then -2 (if t < n-1), then later consumers
    if tighten:
        per = 1 + has_s.astype(np.int64) + np.bincount(later_r, minlength=n_f)
        starts = np.concatenate([[0], np.cumsum(per)[:-1]]) if n_f else np.zeros(0, np.int64)
        total = int(per.sum())
        first = rows.block(total, -np.inf, 0.0) if total else rows.count
        lo = np.full(total, -np.inf)
        hi = np.ones(total)
        r1 = first + starts  # FREE - R[t, k] <= 0
        hi[starts] = 0.0
        rows.add(r1, fcol, 1.0)
        rows.add(r1, r_col[f_t, f_k], -1.0)
        r2 = first + starts[has_s] + 1  # FREE + S[t+1, i] <= 1
        rows.add(r2, fcol[has_s], 1.0)
        rows.add(r2, s_next[has_s], 1.0)
        # later consumers follow in successor order, as later_rows was filled
        offset_in = np.zeros(later_r.size, dtype=np.int64)
        if later_r.size:
            # position of each later term among its FREE's later terms
            change = np.concatenate([[True], later_r[1:] != later_r[:-1]])
            grp_start = np.maximum.accumulate(np.where(change, np.arange(later_r.size), 0))
            offset_in = np.arange(later_r.size) - grp_start
        r3 = first + starts[later_r] + 1 + has_s[later_r].astype(np.int64) + offset_in
        rows.add(r3, fcol[later_r], 1.0)
        rows.add(r3, later_c, 1.0)
        # replace the block's bounds (all <= with rhs 0 or 1)
        rows.lo[-1] = lo
        rows.hi[-1] = hi
    # memory_init: U[t, 0] - R[t, 0] M_0 - sum_i M_i S[t, i] == 0
    first = rows.block(n, 0.0, 0.0)
    rows.add(first + np.arange(n), u_col[np.arange(n), 0], 1.0)
    rows.add(first + np.arange(n), r_col[np.arange(n), 0], -mem[0])
    rows.add(first + s_t, s_col[s_t, s_i], -mem[s_i])
    # memory_recurrence: U[t,k] - U[t,k-1] - M_k R[t,k] + sum_{(i,k-1)} M_i FREE[t,(i,k-1)] == 0
    rec = tri_i >= 1
    rt, rk = tri_t[rec], tri_i[rec]
    first = rows.block(rt.size, 0.0, 0.0)
    rec_row = np.full((n, n), -1, dtype=np.int64)
    rec_row[rt, rk] = first + np.arange(rt.size)
    rows.add(rec_row[rt, rk], u_col[rt, rk], 1.0)
    rows.add(rec_row[rt, rk], u_col[rt, rk - 1], -1.0)
    rows.add(rec_row[rt, rk], r_col[rt, rk], -mem[rk])
    rows.add(rec_row[f_t, f_k + 1], fcol, mem[f_i])
    if mode == "min_peak":
        # peak: U[t, k] - P <= 0, then the compute cap over all R
        first = rows.block(n_r, -np.inf, 0.0)
        rows.add(first + np.arange(n_r), u_col[tri_t, tri_i], 1.0)
        rows.add(first + np.arange(n_r), np.full(n_r, p_col), -1.0)
        first = rows.block(1, -np.inf, float(compute_cap))
        rows.add(np.full(n_r, first), r_col[tri_t, tri_i], cost_exact[tri_i])

    A = sparse.csr_matrix(
        (np.concatenate(rows.vals), (np.concatenate(rows.rows), np.concatenate(rows.cols))),
        shape=(rows.count, ncol),
    )
    A.sum_duplicates()
    A.eliminate_zeros()
    row_lo = np.concatenate(rows.lo) if rows.lo else np.zeros(0)
    row_hi = np.concatenate(rows.hi) if rows.hi else np.zeros(0)
    c = np.zeros(ncol)
    if mode == "min_peak":
        c[p_col] = 1.0
    else:
        c[:n_r] = cost[tri_i]
    col_lo = np.zeros(ncol)
    col_hi = np.ones(ncol)
    col_hi[u_base:] = np.inf if mode == "min_peak" else float(budget)
    col_hi[p_col] = np.inf
    integer = np.zeros(ncol, dtype=bool)
    if not relax:
        integer[:u_base] = True
    # a column in no row and not in the objective is left out, as Pyomo's compiler does
    used = np.zeros(ncol, dtype=bool)
    used[A.indices] = True
    used |= c != 0
    keep = np.nonzero(used)[0]
    new = np.full(ncol, -1, dtype=np.int64)
    new[keep] = np.arange(keep.size)
    A = A[:, keep].tocsr()
    bounds = (col_lo[keep], col_hi[keep])
    components = {
        "R": new[:n_r],
        "S": new[n_r : n_r + n_s],
        "FREE": new[f_base:u_base],
        "U": new[u_base:p_col],
        "P": new[p_col : p_col + 1],
    }
    fill = {name: np.zeros(cols.size) for name, cols in components.items()}
    return {
        "c": c[keep],
        "offset": 0.0,
        "A": A,
        "row_lo": row_lo,
        "row_hi": row_hi,
        "col_lo": bounds[0],
        "col_hi": bounds[1],
        "integer": integer[keep],
        "components": components,
        "fill": fill,
    }
