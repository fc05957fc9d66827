"""Anytime strategies for graphs too large for an exact solve: a within-budget schedule in
seconds, improved for as long as the time limit allows.

``anytime`` keeps the graph's order. A greedy frees values between their reads where that
lowers the over-budget stages most per unit of recomputation (:func:`_drop_greedy`); a second
pass of it may also hold a value's smaller inputs instead of the value, to recompute it from
them later (``swap``), and the cheaper is kept. Where neither fits, exact windows with the
budget soft bring the swap greedy's over-budget schedule within it (:func:`_first_fit`).
The last resort is the eviction *sweep*: it walks the stages in order, holding the values
that are still to be used; when a stage would exceed the budget it evicts values (Belady-like:
cheap to recompute, large, and needed again only far ahead) until it fits, and an evicted value
is recomputed on demand where it is next used (with whatever inputs are missing too). A sweep
measures every stage exactly as the simulator does, so its result is within budget by
construction; the simulator still referees the final schedule. The remaining time is spent on
restarts of the greedy (seeded tie-breaks, or from the best state with a few drops undone;
after the sweep, a (1+1) search over its per-node eviction weights), keeping the cheaper
schedule. When those rounds stall (or at once after the soft-budget windows), the rest of the
time re-solves windows of ~30 stages exactly (the Checkmate MILP on the window, HiGHS,
warm-started, everything outside fixed) and keeps each window that is cheaper and passes the
same stage-by-stage check.

``anytime_reorder`` may also change the execution order (any topological order): it looks for
an order with a low peak (memory-aware list scheduling, randomised), then runs ``anytime`` on
it. Its result is for the graph relabelled in that order; ``params["order"]`` lists the
original node ids in execution order (:func:`reorder_graph` rebuilds that graph).

The bound beside the cost is the cost of computing every node once (no schedule is cheaper).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolveResult, SolverInfo, Termination
from checkmate_opt.schedule import Schedule

__all__ = ["anytime", "anytime_reorder", "no_remat_peak_of_order", "reorder_graph"]


@dataclass(frozen=True)
class _Prep:
    n: int
    args: tuple[tuple[int, ...], ...]
    succ: tuple[tuple[int, ...], ...]
    last_succ: tuple[int, ...]
    mem: tuple[int, ...]
    cost: tuple[int, ...]


def _prep(graph: Graph) -> _Prep:
    succ = graph.successors
    return _Prep(
        n=graph.n,
        args=graph.args,
        succ=succ,
        last_succ=tuple(s[-1] if s else -1 for s in succ),
        mem=graph.memory_cost,
        cost=graph.compute_cost,
    )


@dataclass
class _Sweep:
    rows_r: list[list[int]]
    rows_s: list[list[int]]
    cost: int
    peak: int
    redone: list[int]  # every value recomputed at least once
    state: Any = None  # the lifetime greedy's final state, to restart from


@dataclass
class _Fail:
    stage: int
    redone: list[int]  # the values that stage had to recompute


def _stage_peak(
    p: _Prep, order: Sequence[int], held: set[int], keep: set[int], last: dict[int, int]
) -> int:
    """Peak live bytes of one stage, exactly as the simulator samples it."""
    mem, args = p.mem, p.args
    live = set(held)
    lb = 0
    for u in held:
        if u not in keep and u not in last:
            live.discard(u)
        else:
            lb += mem[u]
    peak = 0
    for i in order:
        if i not in live:
            live.add(i)
            lb += mem[i]
        if lb > peak:
            peak = lb
        for u in (*args[i], i):
            if u in live and u not in keep and last.get(u, -1) <= i:
                live.discard(u)
                lb -= mem[u]
    return peak


def _sweep(
    p: _Prep, budget: float, weight: Sequence[float], alpha: float, extend: bool = True
) -> _Sweep | _Fail:
    """One pass over the stages; :class:`_Fail` when some stage cannot fit the budget."""
    n, args, succ, mem, cost, last_succ = p.n, p.args, p.succ, p.mem, p.cost, p.last_succ
    # until[u]: the last stage that may read u, counting the recomputations of evicted
    # consumers (an input of an evicted value is worth holding until that value is redone)
    until = list(last_succ)
    held: set[int] = set()
    pending: dict[int, int] = {}  # evicted value -> the stage that reads it next
    rows_r: list[list[int]] = []
    rows_s: list[list[int]] = [[]]
    total = 0
    peak_all = 0
    for t in range(n):
        need = {t}
        stack = [t]
        while stack:
            v = stack.pop()
            for u in args[v]:
                if u not in held and u not in need:
                    need.add(u)
                    stack.append(u)
        order = sorted(need)
        for u in need:
            pending.pop(u, None)
        last: dict[int, int] = {}
        for v in order:
            for u in args[v]:
                if last.get(u, -1) < v:
                    last[u] = v
        keep = {u for u in held | need if until[u] > t} if t + 1 < n else set()
        peak = _stage_peak(p, order, held, keep, last)
        if peak > budget:
            score = _scorer(p, t, keep, until, weight, alpha)
            through = sorted(
                (u for u in keep if u in held and u not in last and mem[u] > 0), key=score
            )
            excess = peak - budget
            freed = 0
            evicted: list[int] = []
            for u in through:
                if freed >= excess:
                    break
                evicted.append(u)
                freed += mem[u]
            # a greedy cover can overshoot: give back what is not needed, costliest first
            for u in reversed(evicted[:-1]):
                if freed - mem[u] >= excess:
                    freed -= mem[u]
                    evicted.remove(u)
            keep.difference_update(evicted)
            peak -= freed
            if peak > budget:
                for u in sorted((u for u in keep if mem[u] > 0), key=score):
                    keep.discard(u)
                    evicted.append(u)
                    peak = _stage_peak(p, order, held, keep, last)
                    if peak <= budget:
                        break
                if peak > budget:
                    return _Fail(t, [u for u in args[t] if u not in held])
            for u in evicted:
                nxt = _next_use(succ[u], t)
                if nxt is not None:
                    pending[u] = nxt
                    if extend:
                        for w in args[u]:
                            if w in keep and until[w] < nxt:
                                until[w] = nxt
        if pending and t + 1 < n:
            # redo an evicted value now, while its inputs are still here, rather than at its
            # next use after they are gone (which would redo them too)
            here = held | need
            for u in sorted(pending, key=pending.__getitem__):
                if pending[u] <= t + 1 or u in here:
                    continue
                ins = args[u]
                if not all(w in here for w in ins) or all(w in keep for w in ins):
                    continue
                order2 = sorted(need | {u})
                last2 = dict(last)
                for w in ins:
                    if last2.get(w, -1) < u:
                        last2[w] = max(last2.get(w, -1), u)
                keep.add(u)
                peak2 = _stage_peak(p, order2, held, keep, last2)
                if peak2 <= budget:
                    need.add(u)
                    order, last, peak = order2, last2, max(peak, peak2)
                    del pending[u]
                else:
                    keep.discard(u)
        peak_all = max(peak_all, peak)
        total += sum(cost[i] for i in order)
        rows_r.append(order)
        if t + 1 < n:
            rows_s.append(sorted(keep))
        held = keep
    redone = sorted({u for t, row in enumerate(rows_r) for u in row if u != t})
    return _Sweep(rows_r, rows_s, total, peak_all, redone)


def _next_use(succ: Sequence[int], t: int) -> int | None:
    k = bisect.bisect_right(succ, t)
    return succ[k] if k < len(succ) else None


def _scorer(
    p: _Prep, t: int, keep: set[int], until: list[int], weight: Sequence[float], alpha: float
) -> Callable[[int], float]:
    """Eviction score of a held value (lowest goes first): the cost of redoing it where it is
    next read (with its inputs that will be gone by then), per byte, discounted by how long
    the bytes are freed for."""
    args, succ, mem, cost = p.args, p.succ, p.mem, p.cost

    def redo_cost(u: int, nxt: int) -> int:
        # u and, transitively, every input that will not be resident at stage nxt
        total = cost[u]
        seen = {u}
        stack = [u]
        while stack:
            v = stack.pop()
            for w in args[v]:
                if w not in seen and (w not in keep or until[w] < nxt):
                    seen.add(w)
                    total += cost[w]
                    stack.append(w)
        return total

    def score(u: int) -> float:
        nxt = _next_use(succ[u], t)
        if nxt is None:  # only an evicted consumer's recomputation reads it
            nxt = until[u]
        return weight[u] * (redo_cost(u, nxt) + 1e-9) / (mem[u] * max(1, nxt - t) ** alpha)

    return score


_DEBUG = False
_STALL_SHARE = 0.1  # the greedy's search gives way to the windows after this long without gain
_LNS = True
_STALL_ROUNDS = 8
_WINDOW = (24, 36)  # stages per window: larger ones rarely solve within seconds
_WINDOW_S = 5.0  # HiGHS's limit per window

#: priority, recompute stage, inputs redone there, inputs held longer, inputs redone earlier
_Choice = tuple[float, int, list[int], list[int], dict[int, int]]


class _Lives:
    """Where each value is resident, as gaps between the stages that read it.

    ``pts[u]`` starts with ``u`` (its own stage), then every stage that must find ``u`` in
    memory. Between two consecutive points ``a < b`` the value is held throughout, unless the
    gap is dropped: then it is freed after stage ``a`` and recomputed in stage ``drop[u][a]``
    (from inputs that are resident there), held from then until ``b``.
    """

    def __init__(self, p: _Prep) -> None:
        self.p = p
        self.pts = [[u, *p.succ[u]] for u in range(p.n)]
        self.drop: list[dict[int, int]] = [{} for _ in range(p.n)]

    def resident(self, w: int, t: int) -> bool:
        pts = self.pts[w]
        if t == w:
            return True
        k = bisect.bisect_left(pts, t)
        if k == 0 or k == len(pts):
            return False
        s = self.drop[w].get(pts[k - 1])
        return s is None or t >= s

    def add_point(self, w: int, t: int) -> None:
        pts = self.pts[w]
        k = bisect.bisect_left(pts, t)
        if k < len(pts) and pts[k] == t:
            return
        pts.insert(k, t)  # splits a gap: a dropped gap stays dropped before t, held after

    def missing(self, u: int, s: int) -> list[int]:
        """The inputs of u, transitively, that are not resident at stage s."""
        out: list[int] = []
        seen: set[int] = set()
        stack = [u]
        while stack:
            v = stack.pop()
            for w in self.p.args[v]:
                if w not in seen and not self.resident(w, s):
                    seen.add(w)
                    out.append(w)
                    stack.append(w)
        return out

    def redo_at(self, w: int, s: int) -> None:
        """Recompute w in stage s for a consumer there (w is not resident at s)."""
        pts = self.pts[w]
        k = bisect.bisect_left(pts, s)
        prev = pts[k - 1]
        later = self.drop[w].pop(prev, None)
        pts.insert(k, s)
        self.drop[w][prev] = s
        if later is not None and k + 1 < len(pts):
            self.drop[w][s] = later  # still absent after s until its own recomputation

    def advance(self, w: int, s: int) -> None:
        """Recompute w at s instead of later in the same dropped gap; held from s on."""
        pts = self.pts[w]
        k = bisect.bisect_left(pts, s)
        self.drop[w][pts[k - 1]] = s
        pts.insert(k, s)

    def latest_redo(self, u: int, a: int, b: int) -> int:
        """Latest stage in (a+1, b] where every input of u is resident (a+1 when none)."""
        ins = self.p.args[u]
        for s in range(b, a + 1, -1):
            if all(self.resident(w, s) for w in ins):
                return s
        return a + 1


def _drop_greedy(
    p: _Prep,
    budget: float,
    rng: np.random.Generator | None,
    sigma: float,
    *,
    extend: bool = False,
    wide: bool = False,
    transient: bool = False,
    start: tuple[_Lives, np.ndarray, set[int]] | None = None,
    partial: bool = False,
    swap: bool = False,
) -> _Sweep | None:
    """Free values between reads where that lowers the over-budget stages most per unit of
    recomputation; each recomputation reads only resident inputs (no cascades). ``None`` when
    the stages cannot all be brought within the budget this way (with ``partial``, the
    over-budget schedule it got to instead). With ``swap``, a value may also be freed while
    its dead inputs are held longer instead (to recompute it later from them) where that
    lowers the excess without making any stage worse: smaller inputs for a larger value."""
    n, mem, cost = p.n, p.mem, p.cost
    cascade_stages: set[int] = set()
    if start is not None:
        lives, load, cascade_stages = start
    else:
        lives = _Lives(p)
        load = np.zeros(n + 1, dtype=np.int64)
        for u in range(n):
            load[u] += mem[u]
            load[p.last_succ[u] + 1 if p.last_succ[u] >= 0 else u + 1] -= mem[u]
        load = np.cumsum(load)[:n]
        if budget == math.inf or load.max() <= budget:
            return _from_lives(p, lives)
    cap = int(budget)
    noise = np.exp(rng.normal(0.0, sigma, size=n)) if rng is not None else np.ones(n)

    def extension(u: int, s: int) -> list[int] | None:
        """Inputs of u that are dead by stage s and could be held until s instead (without
        pushing any stage over the budget); ``None`` when that does not cover them all."""
        dead = [w for w in p.args[u] if not lives.resident(w, s)]
        if not dead or any(lives.pts[w][-1] >= s for w in dead):
            return None
        lo = min(lives.pts[w][-1] for w in dead)
        tmp = load[lo + 1 : s + 1].copy()
        for w in dead:
            tmp[lives.pts[w][-1] - lo :] += mem[w]
        return dead if int(tmp.max()) <= cap else None

    def swapped(u: int, a: int, s: int) -> tuple[list[int], float] | None:
        """Free u after a and hold its dead inputs until s to recompute it there: those
        inputs and the excess that removes, when no stage gets worse over the budget."""
        dead = [w for w in p.args[u] if not lives.resident(w, s)]
        if not dead or any(lives.pts[w][-1] >= s for w in dead):
            return None
        lo = min(a, *(lives.pts[w][-1] for w in dead))
        old = load[lo + 1 : s + 1]
        tmp = old.copy()
        tmp[a - lo : s - lo - 1] -= mem[u]
        for w in dead:
            tmp[lives.pts[w][-1] - lo :] += mem[w]
        if ((tmp > cap) & (tmp > old)).any():
            return None
        gain = float(np.maximum(old - cap, 0).sum() - np.maximum(tmp - cap, 0).sum())
        return (dead, gain) if gain > 0 else None

    def prio(u: int, a: int, b: int) -> _Choice:
        best: _Choice = (math.inf, a + 1, [], [], {})
        s1 = lives.latest_redo(u, a, b)
        cands = [s1]
        if s1 < b:
            cands.append(b)
            hot = np.flatnonzero(load[s1:b] > cap)
            if hot.size:  # just past the last over-budget stage, where memory is spare
                first = s1 + int(hot[-1]) + 1
                span = range(first, b)
                if wide:
                    step = max(1, len(span) // 6)
                    cands += [x for x in (*span[:3], *span[3::step]) if x > s1]
                else:
                    cands += [x for x in span[:3] if x > s1]
        if swap:  # any later stage may be where its inputs are held until
            for s in range(max(s1 + 1, a + 2), b + 1):
                sw = swapped(u, a, s)
                if sw is not None:
                    pr = noise[u] * (cost[u] + 1e-6) / sw[1]
                    if pr < best[0]:
                        best = (pr, s, [], sw[0], {})
        for s in cands:
            if s <= a + 1:
                continue
            ex = load[a + 1 : s] - cap
            gain = float(np.minimum(ex[ex > 0], mem[u]).sum())
            if gain <= 0:
                continue
            if s != s1 and extend:
                ext = extension(u, s)
                if ext is not None:
                    pr = noise[u] * (cost[u] + 1e-6) / gain
                    if pr < best[0]:
                        best = (pr, s, [], ext, {})
            casc = lives.missing(u, s) if s != s1 else []
            adv = advanceable(casc, s)
            if adv:  # recompute those inputs earlier than planned rather than twice
                rest = [w for w in casc if w not in adv]
                extra = sum(mem[w] for w in rest)
                if fits_advanced(adv, s, extra):
                    pr = noise[u] * (cost[u] + sum(cost[w] for w in rest) + 1e-6) / gain
                    if pr < best[0]:
                        best = (pr, s, rest, [], adv)
            extra = _transient(p, casc, u) if transient else sum(mem[w] for w in casc)
            if extra and load[s] + extra > cap:
                continue
            pr = noise[u] * (cost[u] + sum(cost[w] for w in casc) + 1e-6) / gain
            if pr < best[0]:
                best = (pr, s, casc, [], {})
        return best

    def advanceable(casc: list[int], s: int) -> dict[int, int]:
        """Missing inputs that are dropped at s and recomputed later: input -> that stage."""
        out = {}
        for w in casc:
            pts = lives.pts[w]
            k = bisect.bisect_left(pts, s)
            if 0 < k < len(pts):
                sw = lives.drop[w].get(pts[k - 1])
                if sw is not None and sw > s:
                    out[w] = sw
        return out

    def fits_advanced(adv: dict[int, int], s: int, extra: int) -> bool:
        hi = max(adv.values())
        tmp = load[s:hi].copy()
        tmp[0] += extra
        for w, sw in adv.items():
            tmp[: sw - s] += mem[w]
        return int(tmp.max()) <= cap

    heap: list[tuple[float, int, int, int]] = []

    def fill() -> None:
        over = load > cap
        for u in range(n):
            if mem[u] == 0:
                continue
            pts = lives.pts[u]
            for a, b in itertools.pairwise(pts):
                if b - a >= 2 and over[a + 1 : b].any():
                    pr = prio(u, a, b)[0]
                    if pr < math.inf:
                        heapq.heappush(heap, (pr, u, a, b))

    fill()
    applied = False
    while (load > cap).any():
        if not heap:
            # (swap: gaps that had no move when queued may have one now; rescan them)
            if not (swap and applied):
                break
            applied = False
            fill()
            continue
        _pr, u, a, b = heapq.heappop(heap)
        pts = lives.pts[u]
        k = bisect.bisect_left(pts, a)
        if k >= len(pts) or pts[k] != a or a in lives.drop[u]:
            continue
        if k + 1 >= len(pts) or pts[k + 1] != b:  # the gap was split: queue its parts
            for a2, b2 in zip(pts[k:], pts[k + 1 :], strict=False):
                if a2 >= b:
                    break
                pr2 = prio(u, a2, b2)[0]
                if pr2 < math.inf:
                    heapq.heappush(heap, (pr2, u, a2, b2))
            continue
        pr2, s, casc, ext, adv = prio(u, a, b)
        if pr2 == math.inf:
            continue
        if heap and pr2 > heap[0][0] * (1 + 1e-9):
            heapq.heappush(heap, (pr2, u, a, b))
            continue
        applied = True
        lives.drop[u][a] = s
        load[a + 1 : s] -= mem[u]
        load[s] += _transient(p, casc, u) if transient else sum(mem[w] for w in casc)
        if casc:
            cascade_stages.add(s)
        for w in casc:
            lives.redo_at(w, s)
        for w in ext:  # hold a dead input a little longer instead of redoing it
            w_last = lives.pts[w][-1]
            load[w_last + 1 : s + 1] += mem[w]
            lives.pts[w].append(s)
            if swap and s - w_last >= 2:  # that input may be swapped for its own in turn
                pr_w = prio(w, w_last, s)[0]
                if pr_w < math.inf:
                    heapq.heappush(heap, (pr_w, w, w_last, s))
        for w, later in adv.items():
            load[s:later] += mem[w]
            lives.advance(w, s)
        for v in (u, *casc, *adv):
            for w in p.args[v]:
                lives.add_point(w, s)
    if (load > cap).any():
        if _DEBUG:
            bad = np.flatnonzero(load > cap)
            print("fail stages", bad[:10], len(bad), (load[bad] - cap)[:10])
        if partial:
            sw = _from_lives(p, lives)
            sw.peak = _exact_peak(p, sw)
            return sw
        return None
    # undo drops that the later ones made unnecessary, costliest first
    drops = sorted(
        ((cost[u], u, a, s) for u in range(n) for a, s in lives.drop[u].items()), reverse=True
    )
    for _c, u, a, s in drops:
        if s == a + 1 or int(load[a + 1 : s].max()) + mem[u] <= cap:
            load[a + 1 : s] += mem[u]
            del lives.drop[u][a]
    sw = _from_lives(p, lives)
    sw.peak = _exact_peak(p, sw)
    sw.state = (lives, load, cascade_stages)
    return sw if sw.peak <= budget else None


def _neighbour(
    p: _Prep, state: tuple[_Lives, np.ndarray, set[int]], rng: np.random.Generator
) -> tuple[_Lives, np.ndarray, set[int]]:
    """A copy of a greedy state with one to three drops undone (not those feeding a cascade),
    for the greedy to cover again with other choices."""
    lives, load, casc = state
    new = _Lives.__new__(_Lives)
    new.p = p
    new.pts = [list(x) for x in lives.pts]
    new.drop = [dict(d) for d in lives.drop]
    load = load.copy()
    n = p.n
    drops = [(u, a, s) for u in range(n) for a, s in new.drop[u].items()]
    if not drops:
        return new, load, set(casc)
    free = [d for d in drops if d[2] not in casc and d[2] > d[1] + 1]
    k = min(len(free), int(rng.integers(1, 4)))
    for i in rng.choice(len(free), size=k, replace=False) if k else []:
        u, a, s = free[int(i)]
        del new.drop[u][a]
        load[a + 1 : s] += p.mem[u]
    return new, load, set(casc)


def _exact_peak(p: _Prep, sw: _Sweep) -> int:
    """The schedule's peak, stage by stage as the simulator measures it."""
    peak = 0
    n = p.n
    for t, order in enumerate(sw.rows_r):
        held = set(sw.rows_s[t])
        keep = set(sw.rows_s[t + 1]) if t + 1 < n else set()
        last: dict[int, int] = {}
        for v in order:
            for u in p.args[v]:
                if last.get(u, -1) < v:
                    last[u] = v
        peak = max(peak, _stage_peak(p, order, held, keep, last))
    return peak


def _transient(p: _Prep, casc: Sequence[int], u: int) -> int:
    """Peak bytes of recomputing ``casc`` (in id order, each freed after its last reader
    among them and ``u``) on top of what the stage already holds."""
    if not casc:
        return 0
    members = set(casc)
    lastr: dict[int, int] = {}
    for v in (*casc, u):
        for w in p.args[v]:
            if w in members and lastr.get(w, -1) < v:
                lastr[w] = v
    live = 0
    peak = 0
    ends: list[tuple[int, int]] = []
    for v in sorted(casc):
        while ends and ends[0][0] < v:
            live -= p.mem[heapq.heappop(ends)[1]]
        live += p.mem[v]
        peak = max(peak, live)
        heapq.heappush(ends, (lastr.get(v, v), v))
    return peak


def _from_lives(p: _Prep, lives: _Lives) -> _Sweep:
    n = p.n
    rows_r: list[list[int]] = [[t] for t in range(n)]
    rows_s: list[list[int]] = [[] for _ in range(n)]
    total = sum(p.cost)
    redone: set[int] = set()
    for u in range(n):
        pts = lives.pts[u]
        drop = lives.drop[u]
        for a, b in itertools.pairwise(pts):
            s = drop.get(a)
            start = a + 1
            if s is not None:
                rows_r[s].append(u)
                total += p.cost[u]
                redone.add(u)
                start = s + 1
            for t in range(start, b + 1):
                rows_s[t].append(u)
    for row in rows_r:
        row.sort()
    for row in rows_s:
        row.sort()
    return _Sweep(rows_r, rows_s, total, -1, sorted(redone))


def _schedule(n: int, sw: _Sweep) -> Schedule:
    R = np.zeros((n, n), dtype=bool)
    S = np.zeros((n, n), dtype=bool)
    for t, row in enumerate(sw.rows_r):
        R[t, row] = True
    for t, row in enumerate(sw.rows_s):
        S[t, row] = True
    return Schedule(R, S)


def _limits(
    time_limit_s: float | None, seed: int, options: SolveOptions | None
) -> tuple[float | None, int]:
    if options is not None:
        if options.time_limit_s is not None:
            time_limit_s = options.time_limit_s
        if options.seed is not None:
            seed = options.seed
    return time_limit_s, seed


def _due(deadline: float | None, stop: threading.Event | None, margin: float = 0.0) -> bool:
    """Whether the search must end: the deadline (less ``margin``) passed, or ``stop`` set."""
    if stop is not None and stop.is_set():
        return True
    return deadline is not None and time.perf_counter() >= deadline - margin


def _search(
    p: _Prep,
    budget: float,
    *,
    deadline: float | None,
    seed: int,
    max_rounds: int | None,
    progress: Callable[[Any], None] | None,
    started: float,
    lower: int,
    stop: threading.Event | None = None,
    patience: float | None = None,
) -> tuple[_Sweep | None, int, bool, bool]:
    """Best sweep found, rounds run, whether the search was interrupted, whether it stopped at
    the deadline."""
    rng = np.random.default_rng(seed)
    # the lifetime greedy: plain, then with more recomputation points, then with cascades
    # measured instead of summed, then other tie-breaks; the eviction sweep is the last resort
    tries: list[dict[str, Any]] = [
        {},
        {"wide": True},
        {"wide": True, "transient": True},
        *({"wide": True, "transient": k % 2 == 0, "extend": k % 2 == 1} for k in range(4)),
    ]
    best = None
    good_flags: dict[str, Any] = {}
    t_plain = time.perf_counter()
    for k, flags in enumerate(tries):
        if best is not None:
            break
        if k >= 3 and _due(deadline, stop):
            break  # the deterministic tries always run: a schedule comes first
        best = _drop_greedy(p, budget, rng if k >= 3 else None, 0.1 * k, **flags)
        good_flags = flags
    t_plain = time.perf_counter() - t_plain
    windows_only = False
    # the greedy that may also hold a value's inputs instead of the value (smaller inputs,
    # recomputed later): slower, but often cheaper, and it finds schedules the others miss;
    # beside a schedule, only when the time left is ample
    left = None if deadline is None else deadline - time.perf_counter()
    if budget != math.inf and (
        best is None or (best.cost > lower and (left is None or left > 10 * t_plain))
    ):
        partial = None
        swap_tries: list[dict[str, Any]] = [{}, {"wide": True}, {"wide": True, "transient": True}]
        for flags in swap_tries:
            if best is not None and flags:
                break
            sw2 = _drop_greedy(p, budget, None, 0.0, partial=True, swap=True, **flags)
            if sw2 is None:
                continue
            if sw2.peak <= budget:
                if best is None or sw2.cost < best.cost:
                    best, good_flags = sw2, {**flags, "swap": True}
                break
            if partial is None or sw2.peak < partial.peak:
                partial = sw2
        if best is None and partial is not None:
            # exact windows that minimise what is left over the budget
            best = _first_fit(p, partial, budget, deadline=deadline, seed=seed, stop=stop)
            windows_only = best is not None
    use_drops = best is not None
    alphas = (0.5, 0.0, 1.0, 2.0)
    weight = np.ones(p.n)
    best_alpha = alphas[0]
    if best is None:  # fall back on the eviction sweep, which may redo chains of inputs
        for alpha in alphas:
            w = np.ones(p.n)
            for _ in range(20):  # a stage that cannot fit: protect the inputs it lacked
                sw = _sweep(p, budget, w.tolist(), alpha)
                if isinstance(sw, _Sweep):
                    break
                w[sw.redone] *= 100.0
                if _due(deadline, stop):
                    break
            if isinstance(sw, _Sweep) and (best is None or sw.cost < best.cost):
                best, best_alpha, weight = sw, alpha, w
            if best is not None and _due(deadline, stop):
                break
    rounds = 0
    _emit(progress, started, best, lower)
    if best is None or best.cost <= lower:
        return best, rounds, False, False
    # the greedy's own search first, then exact re-solves of stage windows
    # (when the greedy's search stalls: it is cheaper per step, the windows finish its work)
    stall = None if deadline is None else max(2.0, _STALL_SHARE * (deadline - started))
    last_gain = time.perf_counter()
    gain_round = 0  # without a clock, a stall is counted in rounds (runs stay repeatable)
    try:
        while not windows_only and (max_rounds is None or rounds < max_rounds):
            now = time.perf_counter()
            if stall is not None and now - last_gain >= stall:
                break
            if stall is None and rounds - gain_round >= _STALL_ROUNDS:
                break
            if patience is not None and now - last_gain >= max(patience, last_gain - started):
                # no gain for as long as the last gain took (and at least `patience`): done
                return best, rounds, False, False
            if _due(deadline, stop):
                return best, rounds, False, True
            if deadline is None and max_rounds is None and rounds >= 20:
                break
            rounds += 1
            cand: _Sweep | _Fail | None
            if use_drops:
                sigma = float(rng.choice([0.05, 0.15, 0.3, 0.6, 1.0, 2.0]))
                flags = {k: bool(rng.random() < 0.3) for k in ("wide", "transient", "extend")}
                if rng.random() < 0.7:  # mostly the settings that found a schedule
                    flags = {**flags, **good_flags}
                if good_flags.get("swap"):  # (without it, that greedy found none)
                    flags["swap"] = True
                start = None
                if best.state is not None and rng.random() < 0.7:
                    start = _neighbour(p, best.state, rng)
                cand = _drop_greedy(p, budget, rng, sigma, start=start, **flags)
                trial = weight
                alpha = best_alpha
            else:
                trial = weight.copy()
                k = max(1, int(rng.integers(1, max(2, p.n // 10))))
                idx = rng.integers(0, p.n, size=k)
                trial[idx] *= np.exp(rng.normal(0.0, 1.0, size=k))
                alpha = best_alpha if rng.random() < 0.8 else float(rng.choice(alphas))
                cand = _sweep(p, budget, trial.tolist(), alpha)
            if isinstance(cand, _Sweep) and cand.cost <= best.cost:
                improved = cand.cost < best.cost
                best, weight, best_alpha = cand, trial, alpha
                if improved:
                    last_gain = time.perf_counter()
                    gain_round = rounds
                    _emit(progress, started, best, lower)
                if best.cost <= lower:
                    break
        if best.cost > lower and _LNS and patience is None:  # (patient: the greedy's only)

            def take(sw: _Sweep) -> None:
                nonlocal best
                best = sw
                _emit(progress, started, best, lower)

            best, more = _lns(
                p,
                best,
                budget,
                deadline=deadline,
                rng=rng,
                seed=seed,
                # (a window costs as much as many greedy rounds: a quarter as many)
                max_rounds=None if max_rounds is None else -(-(max_rounds - rounds) // 4),
                on_improve=take,
                stop=stop,
            )
            rounds += more
    except KeyboardInterrupt:
        return best, rounds, True, False
    timed_out = deadline is not None and time.perf_counter() >= deadline - 0.1
    return best, rounds, False, timed_out and best.cost > lower


def _emit(
    progress: Callable[[Any], None] | None, started: float, best: _Sweep | None, lower: int
) -> None:
    _emit_cost(progress, started, None if best is None else best.cost, lower)


def _emit_cost(
    progress: Callable[[Any], None] | None, started: float, cost: float | None, lower: int
) -> None:
    if progress is None:
        return
    from checkmate_opt.backends.base import Progress

    progress(
        Progress(
            time_s=time.perf_counter() - started,
            incumbent=None if cost is None else float(cost),
            bound=float(lower),
        )
    )


def anytime(
    graph: Graph,
    budget: int | None,
    *,
    time_limit_s: float | None = 10.0,
    seed: int = 0,
    options: SolveOptions | None = None,
    progress: Callable[[Any], None] | None = None,
    max_rounds: int | None = None,
    stop: threading.Event | None = None,
    patience_s: float | None = None,
    workers: int | None = None,
) -> SolveResult:
    """A within-budget schedule in the graph's own order, improved until the time limit.

    Parameters
    ----------
    graph
        The graph.
    budget
        Activation-memory budget in bytes (``None``: no limit, nothing is recomputed).
    time_limit_s
        How long to improve (``options.time_limit_s`` wins when set). The first schedule is
        always built, even past the limit. ``None`` without ``max_rounds``: 50 rounds.
    seed
        Seed of the search (``options.seed`` wins when set). The same seed and the same number
        of rounds give the same schedule.
    options
        Only ``time_limit_s`` and ``seed`` apply.
    progress
        Called with a :class:`~checkmate_opt.backends.base.Progress` on each improvement.
    max_rounds
        Stop after this many improvement rounds (deterministic runs).
    stop
        Set from another thread to end the search early, as the time limit would (the
        first schedule is still built). ``optimal`` uses it to run this search beside its
        solver on large graphs.
    patience_s
        End the search (status ``completed``) once no round has improved the schedule for
        as long as the last improvement took from the start, and at least this many seconds;
        no exact window search follows. ``optimal`` seeds small graphs so: there the
        schedule stops improving within 0.15 s.
    workers
        How many independent searches run at once, each with its own seed (``seed``,
        ``seed + 1``, ...), the others in child processes; the cheapest schedule wins
        (``params["seed"]`` says whose). ``None``: one per usable CPU (at most 8) for time
        limits of at least 10 s, otherwise one. The searches differ mostly in their random
        greedy rounds, and their results differ by up to a point on random_layered_n500 and
        n1000 at 0.8. With ``max_rounds`` (repeatable runs) there is always one.

    Returns
    -------
    SolveResult
        ``COMPLETED`` when nothing is recomputed (proven optimal) or the rounds ran out,
        ``TIME_LIMIT`` when the time limit stopped the search, ``INFEASIBLE`` when the budget
        is below some node's inputs plus output, ``INTERRUPTED`` on Ctrl-C (best kept), and
        ``OTHER_LIMIT`` without a schedule when the heuristic found none.
    """
    started = time.perf_counter()
    limit, seed = _limits(time_limit_s, seed, options)
    return _run_searches(
        graph,
        budget,
        limit=limit,
        seed=seed,
        max_rounds=max_rounds,
        progress=progress,
        started=started,
        strategy="anytime",
        params={},
        stop=stop,
        patience=patience_s,
        workers=workers,
    )


def _run_searches(
    graph: Graph,
    budget: int | None,
    *,
    limit: float | None,
    seed: int,
    max_rounds: int | None,
    progress: Callable[[Any], None] | None,
    started: float,
    strategy: str,
    params: dict[str, object],
    stop: threading.Event | None = None,
    patience: float | None = None,
    workers: int | None = None,
) -> SolveResult:
    """The search on ``graph``'s own order: a portfolio (:func:`_portfolio`) where
    :func:`_portfolio_size` asks for more than one and there is something to search for,
    otherwise :func:`_anytime` alone."""
    n_workers = _portfolio_size(workers, limit, max_rounds, patience)
    if (
        n_workers > 1
        and limit is not None
        and budget is not None
        and budget >= graph.min_feasible_memory()
    ):
        return _portfolio(
            graph,
            budget,
            limit=limit,
            seed=seed,
            workers=n_workers,
            progress=progress,
            stop=stop,
            started=started,
            strategy=strategy,
            params=params,
        )
    return _anytime(
        graph,
        budget,
        limit=limit,
        seed=seed,
        max_rounds=max_rounds,
        progress=progress,
        started=started,
        strategy=strategy,
        params=params,
        stop=stop,
        patience=patience,
    )


#: with ``workers=None``, a portfolio of searches only for time limits of at least this long
#: (starting a child process and importing costs about 0.3 s)
PORTFOLIO_MIN_S = 10.0
#: at most this many searches at once with ``workers=None``
PORTFOLIO_MAX = 8
#: seconds a child search may take past the deadline to hand its schedule over
_PORTFOLIO_GRACE_S = 3.0


def _portfolio_size(
    workers: int | None, limit: float | None, max_rounds: int | None, patience: float | None
) -> int:
    if limit is None or max_rounds is not None or patience is not None:
        return 1
    if workers is not None:
        return max(1, int(workers))
    if limit < PORTFOLIO_MIN_S:
        return 1
    from checkmate_opt.backends.highs import usable_cpus

    return max(1, min(usable_cpus(), PORTFOLIO_MAX))


def _portfolio(
    graph: Graph,
    budget: int,
    *,
    limit: float,
    seed: int,
    workers: int,
    progress: Callable[[Any], None] | None,
    stop: threading.Event | None,
    started: float,
    strategy: str = "anytime",
    params: dict[str, object] | None = None,
) -> SolveResult:
    """``workers`` searches with seeds ``seed, seed + 1, ...``: this process runs the first,
    child processes (:class:`ChildSolve` with :func:`_portfolio_child`) the others; the
    cheapest schedule wins. Ctrl-C stops this search (the children ignore it and are asked
    to stop), and every schedule found so far still counts."""
    from checkmate_opt.backends._highs_child import ChildSolve

    deadline = time.monotonic() + limit - (time.perf_counter() - started)
    # the children stop a little earlier, so that their schedules are in by the deadline
    early_by = min(1.0, 0.03 * limit)
    children: list[ChildSolve] = []
    for k in range(1, workers):
        request = {"graph": graph, "budget": budget, "deadline": deadline - early_by}
        request["seed"] = seed + k
        try:
            children.append(ChildSolve(request, entry=f"{__name__}:_portfolio_child"))
        except OSError:  # no process to be had: fewer searches
            break
    own: SolveResult | None = None
    found: list[dict[str, Any]] = []
    try:
        own = _anytime(
            graph,
            budget,
            limit=limit,
            seed=seed,
            max_rounds=None,
            progress=progress,
            started=started,
            strategy=strategy,
            params=dict(params or {}),
            stop=stop,
        )
        # done before the deadline (optimal, Ctrl-C, a stop request): the others stop too
        early = own.termination is not Termination.TIME_LIMIT or time.monotonic() < deadline - 0.1
        found = _collect(children, deadline, early=early)
    except KeyboardInterrupt:  # (a second Ctrl-C while the others hand over)
        found = _collect(children, deadline, early=True)
        if own is None:
            raise
    finally:
        for c in children:
            c.close()
    best: SolveResult = own
    lower = graph.total_compute
    # (a child's schedule where this search found none: the limit ended the search)
    term = own.termination if own.schedule is not None else Termination.TIME_LIMIT
    for item in found:
        cost = item.get("cost")
        if cost is None or (best.compute_cost is not None and cost >= best.compute_cost):
            continue
        res = SolveResult.from_schedule(
            graph,
            Schedule(item["R"], item["S"]),
            strategy=strategy,
            budget=budget,
            solve_time_s=time.perf_counter() - started,
            termination=term,
            proven_optimal=cost <= lower,
            objective_bound=float(lower),
            solver=own.solver,
            params={**(params or {}), "rounds": item.get("rounds"), "seed": item["seed"]},
        )
        if res.within_budget:  # the simulator is the referee, also for a child's schedule
            best = res
    if best is not own:
        _emit_cost(progress, started, best.compute_cost, lower)
    seeds = [seed + k for k in range(len(children) + 1)]
    return dataclasses.replace(
        best,
        solve_time_s=time.perf_counter() - started,
        params={**best.params, "workers": len(seeds), "seeds": seeds},
    )


def _collect(children: Sequence[Any], deadline: float, *, early: bool) -> list[dict[str, Any]]:
    """The schedules the child searches hand over (asked to stop first when ``early``)."""
    if early:
        for c in children:
            c.request_stop()
    out: list[dict[str, Any]] = []
    for c in children:
        until = (time.monotonic() if early else deadline) + _PORTFOLIO_GRACE_S
        while c.alive():
            msg = c.next_message(max(0.0, until - time.monotonic()))
            if msg is None:
                break  # nothing in time (or the child is gone): it counts for nothing
            if msg[0] == "done" and isinstance(msg[1], dict) and "R" in msg[1]:
                out.append(msg[1])
                break
    return out


def _portfolio_child() -> None:
    """One search of the portfolio, in a child process: reads one request, runs the search
    until the deadline or a ``stop`` line on stdin, writes one ``("done", payload)`` frame."""
    from checkmate_opt.backends._highs_child import child_side

    side = child_side()
    if side is None:
        return
    request = side.request
    payload: dict[str, Any] = {"seed": request["seed"]}
    try:
        res = _anytime(
            request["graph"],
            request["budget"],
            limit=max(0.0, request["deadline"] - time.monotonic()),
            seed=request["seed"],
            max_rounds=None,
            progress=None,
            started=time.perf_counter(),
            strategy="anytime",
            params={},
            stop=side.stop,
        )
        if res.schedule is not None and res.within_budget:
            payload.update(
                R=res.schedule.R,
                S=res.schedule.S,
                cost=res.compute_cost,
                rounds=res.params.get("rounds"),
            )
    except Exception as err:  # reported as a search without a schedule
        payload["error"] = f"{type(err).__name__}: {err}"
    side.finish(("done", payload))


def _anytime(
    graph: Graph,
    budget: int | None,
    *,
    limit: float | None,
    seed: int,
    max_rounds: int | None,
    progress: Callable[[Any], None] | None,
    started: float,
    strategy: str,
    params: dict[str, object],
    stop: threading.Event | None = None,
    patience: float | None = None,
) -> SolveResult:
    lower = graph.total_compute
    info = SolverInfo(name="anytime-sweep", options={"seed": seed, "time_limit_s": limit})
    if budget is not None and budget < graph.min_feasible_memory():
        v = graph.min_feasible_node
        return SolveResult.from_schedule(
            graph,
            None,
            strategy=strategy,
            budget=budget,
            solve_time_s=time.perf_counter() - started,
            termination=Termination.INFEASIBLE,
            solver=info,
            params=params,
            message=f"no schedule fits {budget} bytes: node {v} ({graph.names[v]}) needs its "
            f"inputs and output, {graph.min_feasible_memory()} bytes, resident at once",
        )
    deadline = None if limit is None else started + limit
    p = _prep(graph)
    cap = math.inf if budget is None else budget
    try:
        best, rounds, interrupted, timed_out = _search(
            p,
            cap,
            deadline=deadline,
            seed=seed,
            max_rounds=max_rounds,
            progress=progress,
            started=started,
            lower=lower,
            stop=stop,
            patience=patience,
        )
    except KeyboardInterrupt:
        best, rounds, interrupted, timed_out = None, 0, True, False
    elapsed = time.perf_counter() - started
    if best is None:
        return SolveResult.from_schedule(
            graph,
            None,
            strategy=strategy,
            budget=budget,
            solve_time_s=elapsed,
            termination=Termination.INTERRUPTED if interrupted else Termination.OTHER_LIMIT,
            objective_bound=float(lower),
            solver=info,
            params=params,
            message="the greedy, the soft-budget windows and the eviction sweep found no "
            "schedule within the budget (some stage's inputs plus recomputations exceed it); try "
            "a larger budget, a longer time limit or the optimal strategy",
        )
    optimal = best.cost <= lower
    if interrupted:
        term = Termination.INTERRUPTED
    elif timed_out and not optimal:
        term = Termination.TIME_LIMIT
    else:
        term = Termination.COMPLETED
    return SolveResult.from_schedule(
        graph,
        _schedule(graph.n, best),
        strategy=strategy,
        budget=budget,
        solve_time_s=elapsed,
        termination=term,
        proven_optimal=optimal,
        objective_bound=float(lower),
        solver=info,
        params={**params, "rounds": rounds, "seed": seed},
    )


# ------------------------------------------------------- exact MILP on stage windows


def _tidy(p: _Prep, R: np.ndarray, S: np.ndarray) -> None:
    """Drop checkpoints that nothing reads and nothing keeps (the simulator frees them at the
    start of the stage; the window MILP would count them, and a warm start must fit it)."""
    n = p.n
    for t in range(n - 1, 0, -1):
        held = np.flatnonzero(S[t])
        if not held.size:
            continue
        keep = S[t + 1] if t + 1 < n else None
        rows = set(np.flatnonzero(R[t]).tolist())
        for i in held.tolist():
            if keep is not None and keep[i]:
                continue
            if not any(j in rows for j in p.succ[i]):
                S[t, i] = False


def _stage_ok(p: _Prep, R: np.ndarray, S: np.ndarray, t: int, budget: float) -> bool:
    """Stage t reads only resident inputs, keeps only what it holds, and fits the budget."""
    n = p.n
    order = np.flatnonzero(R[t]).tolist()
    held = set(np.flatnonzero(S[t]).tolist())
    keep = set(np.flatnonzero(S[t + 1]).tolist()) if t + 1 < n else set()
    have = set(held)
    last: dict[int, int] = {}
    for v in order:
        if any(u not in have for u in p.args[v]):
            return False
        have.add(v)
        for u in p.args[v]:
            last[u] = v
    if not keep <= have or t not in have:
        return False
    return _stage_peak(p, order, held, keep, last) <= budget


def _window_milp(
    p: _Prep,
    R: np.ndarray,
    S: np.ndarray,
    a: int,
    b: int,
    budget: float,
    limit_s: float | None,
    seed: int,
    *,
    soft: bool = False,
    wide: bool = False,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Re-solve stages ``[a, b)`` exactly (the Checkmate MILP on that window), every other
    entry fixed to the incumbent (``S[a]`` and ``S[b]`` included, so no other stage changes).
    Only the values the incumbent touches in the window may be computed or held there (with
    ``wide``, every value before ``b``). Returns the window's new (R, S) rows (``R[a:b]``,
    ``S[a+1:b]``), or ``None`` without a better one.

    ``soft`` makes the budget soft, for an incumbent that is over it: the objective is then the
    sum of the stages' excess bytes, with the compute cost only as a tie-break (worth less than
    one byte in all), and the solve stops at the first schedule without excess."""
    from scipy import sparse

    from checkmate_opt.backends.highs import load_highs

    n, mem, cost, args, succ = p.n, p.mem, p.cost, p.args, p.succ
    inc = np.asarray(R[a:b].any(axis=0) | S[a : min(b + 1, n)].any(axis=0), dtype=bool)
    inc[a:b] = True
    if wide:
        inc[:b] = True
    C = np.flatnonzero(inc).tolist()
    inC = set(C)
    keep_b = S[b] if b < n else np.zeros(n, dtype=bool)
    cols: dict[tuple[str, int, int], int] = {}
    lo: list[float] = []
    hi: list[float] = []
    obj: list[float] = []
    integer: list[bool] = []
    x0: list[float] = []

    def col(key: tuple[str, int, int], c: float, l: float, h: float, isint: bool, v: float) -> int:
        cols[key] = len(lo)
        lo.append(l)
        hi.append(h)
        obj.append(c)
        integer.append(isint)
        x0.append(v)
        return cols[key]

    # (soft: the whole window's recomputation is worth less than half a byte of excess)
    cw = 0.5 / max(1.0, float(sum(cost[i] for i in C)) * (b - a)) if soft else 1.0
    for t in range(a, b):
        for i in C:
            if i > t:
                break
            r = float(R[t, i])
            col(("R", t, i), cw * float(cost[i]), 1.0 if i == t else 0.0, 1.0, True, r)
            if t > a and i < t:
                col(("S", t, i), 0.0, 0.0, 1.0, True, float(S[t, i]))
    rr: list[int] = []
    cc: list[int] = []
    vv: list[float] = []
    rlo: list[float] = []
    rhi: list[float] = []

    def row(terms: list[tuple[int, float]], l: float, h: float) -> None:
        k = len(rlo)
        for c_, v_ in terms:
            rr.append(k)
            cc.append(c_)
            vv.append(v_)
        rlo.append(l)
        rhi.append(h)

    def s_term(t: int, i: int) -> tuple[int | None, float]:
        """S[t, i] as (column, 0) or (None, constant)."""
        if t in (a, b) or i >= t:
            if t >= n:
                return None, 0.0
            return None, float(S[t, i]) if i < t else 0.0
        return cols[("S", t, i)], 0.0

    inf = math.inf
    for t in range(a, b):
        Ct = [i for i in C if i <= t]
        Rt = R[t]
        keep = keep_b if t + 1 == b else S[t + 1]
        # checkpoint: S[t+1, i] <= S[t, i] + R[t, i]
        for i in Ct:
            if t + 1 >= n:
                break
            terms: list[tuple[int, float]] = []
            rhs = 0.0
            c1, k1 = s_term(t + 1, i)
            if c1 is not None:
                terms.append((c1, 1.0))
            else:
                rhs -= k1
            c0, k0 = s_term(t, i)
            if c0 is not None:
                terms.append((c0, -1.0))
            else:
                rhs += k0
            terms.append((cols[("R", t, i)], -1.0))
            row(terms, -inf, rhs)
        # dependencies: R[t, k] <= R[t, i] + S[t, i]
        for k in Ct:
            for i in args[k]:
                terms = [(cols[("R", t, k)], 1.0)]
                rhs = 0.0
                if i in inC:
                    terms.append((cols[("R", t, i)], -1.0))
                    c0, k0 = s_term(t, i)
                    if c0 is not None:
                        terms.append((c0, -1.0))
                    else:
                        rhs += k0
                row(terms, -inf, rhs)
        # memory: U after each node's allocation, before its step frees anything
        readers = {i: [j for j in succ[i] if j in inC and j <= t] for i in Ct}
        cur = {i: bool(Rt[i]) for i in Ct}
        u_prev = None
        free_prev: list[tuple[int, int]] = []
        held0 = 0.0
        start_terms: list[tuple[int, float]] = []
        for i in Ct:
            if i < t:
                c0, k0 = s_term(t, i)
                if c0 is not None:
                    start_terms.append((c0, -float(mem[i])))
                else:
                    held0 += k0 * mem[i]
        u_val = sum(float(mem[i]) for i in Ct if i < t and S[t, i])
        z = col(("Z", t, 0), 1.0, 0.0, inf, False, 0.0) if soft else None
        for k in Ct:
            u_val += float(mem[k]) * cur[k]
            if z is None:
                uk = col(("U", t, k), 0.0, -inf, float(budget), False, u_val)
            else:  # U - Z <= budget, Z at least the warm start's excess
                uk = col(("U", t, k), 0.0, -inf, inf, False, u_val)
                row([(uk, 1.0), (z, -1.0)], -inf, float(budget))
                x0[z] = max(x0[z], u_val - float(budget))
            terms = [(uk, 1.0), (cols[("R", t, k)], -float(mem[k]))]
            rhs = 0.0
            if u_prev is None:
                terms += start_terms
                rhs = held0
            else:
                terms.append((u_prev, -1.0))
                for fc, i in free_prev:
                    terms.append((fc, float(mem[i])))
            row(terms, rhs, rhs)
            # what step k frees: each input whose last reader here is k, and k itself
            free_prev = []
            kept_here = keep if t + 1 < n else np.zeros(n, dtype=bool)
            for i in (*[i for i in args[k] if i in inC], k):
                later = [j for j in readers[i] if j > k]
                if t + 1 == b and kept_here[i]:
                    continue  # kept for the stage after the window: never freed here
                fv = float(cur[k] and not kept_here[i] and not any(cur[j] for j in later))
                fc = col(("F", t, k * n + i), 0.0, 0.0, 1.0, False, fv)
                row([(fc, 1.0), (cols[("R", t, k)], -1.0)], -inf, 0.0)
                if t + 1 < b:
                    row([(fc, 1.0), (cols[("S", t + 1, i)], 1.0)], -inf, 1.0)
                for j in later:
                    row([(fc, 1.0), (cols[("R", t, j)], 1.0)], -inf, 1.0)
                free_prev.append((fc, i))
                if fv:
                    u_val -= float(mem[i])
            u_prev = uk
    ncol = len(lo)
    A = sparse.csc_matrix((vv, (rr, cc)), shape=(len(rlo), ncol))
    arrays = {
        "num_col": ncol,
        "num_row": len(rlo),
        "c": np.asarray(obj),
        "offset": 0.0,
        "col_lo": np.asarray(lo),
        "col_hi": np.asarray(hi),
        "row_lo": np.asarray(rlo),
        "row_hi": np.asarray(rhi),
        "start": A.indptr,
        "index": A.indices,
        "value": A.data,
        "integer": np.asarray(integer),
    }
    native: dict[str, object] = {
        "output_flag": False,
        "log_to_console": False,
        "threads": 1,
        "random_seed": int(seed),
        "mip_rel_gap": 0.0,
    }
    if soft:  # below half a byte: no excess is left (bytes are whole)
        native["mip_abs_gap"] = 0.5
    if limit_s is not None:
        native["time_limit"] = float(limit_s)
    else:  # no clock: a fixed amount of work, so that runs repeat exactly
        native["mip_max_nodes"] = 200 if soft else 10  # (a first schedule is worth more)
    h = load_highs(native, arrays, np.asarray(x0))
    _run_interruptible(h, stop)
    info = h.getInfo()
    if _DEBUG:
        print(
            "  window milp",
            len(lo),
            len(rlo),
            h.getModelStatus(),
            info.objective_function_value,
            info.mip_dual_bound,
            sum(x0[c] * obj[c] for c in range(len(lo))),
        )
    if info.primal_solution_status != 2:
        return None
    x = np.asarray(h.getSolution().col_value)
    Rw = R[a:b].copy()
    Sw = S[a + 1 : b].copy()
    for (kind, t, i), c_ in cols.items():
        if kind == "R":
            Rw[t - a, i] = x[c_] > 0.5
        elif kind == "S":
            Sw[t - a - 1, i] = x[c_] > 0.5
    return Rw, Sw


def _run_interruptible(h: Any, outer: threading.Event | None = None) -> None:
    """``h.run()`` in a worker thread, so that Ctrl-C reaches this one: HiGHS is then asked to
    stop, and the KeyboardInterrupt is raised here once it has. ``outer`` set also stops it
    (then without an exception)."""
    import highspy

    stop = threading.Event()

    def on_interrupt(event: Any) -> None:
        if stop.is_set():
            event.interrupt()

    for hook in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
        hook.subscribe(on_interrupt)

    def work() -> None:
        try:
            h.run()  # releases the GIL while HiGHS works
        finally:
            highspy.Highs.resetThreadScheduler(False)  # else it aborts the process at exit

    worker = threading.Thread(target=work, name="checkmate-anytime-window", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
            if outer is not None and outer.is_set():
                stop.set()
    except KeyboardInterrupt:
        stop.set()
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:
                continue
        raise


def _lns(
    p: _Prep,
    best: _Sweep,
    budget: float,
    *,
    deadline: float | None,
    rng: np.random.Generator,
    seed: int,
    max_rounds: int | None,
    on_improve: Callable[[_Sweep], None],
    stop: threading.Event | None = None,
) -> tuple[_Sweep, int]:
    """Large-neighbourhood search: re-solve windows of stages exactly, keep what is cheaper.
    Windows are drawn where the incumbent recomputes most."""
    n = p.n
    sched = _schedule(n, best)
    R, S = sched.R.copy(), sched.S.copy()
    _tidy(p, R, S)
    cost = np.asarray(p.cost, dtype=np.int64)
    total = int((R.astype(np.int64) @ cost).sum())
    rounds = 0
    queue: list[tuple[int, int]] = []
    while max_rounds is None or rounds < max_rounds:
        now = time.perf_counter()
        if _due(deadline, stop, 0.05):
            break
        if deadline is None and max_rounds is None and rounds >= 5:
            break
        rounds += 1
        if not queue:  # a new pass over the stages that recompute, overlapping windows
            extra = R.astype(np.int64) @ cost - cost
            hot = np.flatnonzero(extra)
            if not hot.size:
                break
            L = min(n, int(rng.integers(_WINDOW[0], _WINDOW[1] + 1)))
            first = max(0, int(hot[0]) - int(rng.integers(0, L)))
            for a in range(first, int(hot[-1]) + 1, max(1, L // 2)):
                b = min(n, a + L)
                if extra[a:b].any():
                    queue.append((a, b))
            if not queue:
                break
        a, b = queue.pop(0)
        limit = None if deadline is None else max(0.05, min(_WINDOW_S, deadline - now))
        out = _window_milp(p, R, S, a, b, budget, limit, seed + rounds, stop=stop)
        if _DEBUG:
            print("window", a, b, out is not None, f"{time.perf_counter() - now:.2f}s")
        if out is None:
            continue
        Rw, Sw = out
        old = int((R[a:b].astype(np.int64) @ cost).sum())
        new = int((Rw.astype(np.int64) @ cost).sum())
        if new >= old:
            continue
        R0, S0 = R[a:b].copy(), S[a + 1 : b].copy()
        R[a:b], S[a + 1 : b] = Rw, Sw
        if all(_stage_ok(p, R, S, t, budget) for t in range(max(0, a - 1), b)):
            total += new - old
            on_improve(_sweep_of(p, R, S, total))
        else:  # the window model disagrees with the simulator: keep the incumbent
            R[a:b], S[a + 1 : b] = R0, S0
    return _sweep_of(p, R, S, total), rounds


def _excess(
    p: _Prep, R: np.ndarray, S: np.ndarray, budget: float, stages: range
) -> np.ndarray | None:
    """Each stage's peak above the budget (0 within it), as the simulator measures it;
    ``None`` when some stage reads a value that is not resident or keeps one it lacks."""
    n = p.n
    out = np.zeros(len(stages), dtype=np.int64)
    for k, t in enumerate(stages):
        if not _stage_ok(p, R, S, t, math.inf):
            return None
        order = np.flatnonzero(R[t]).tolist()
        held = set(np.flatnonzero(S[t]).tolist())
        keep = set(np.flatnonzero(S[t + 1]).tolist()) if t + 1 < n else set()
        last: dict[int, int] = {}
        for v in order:
            for u in p.args[v]:
                last[u] = v
        out[k] = max(0.0, _stage_peak(p, order, held, keep, last) - budget)
    return out


_FIRST_MARGINS = (3, 6, 12)  # stages on each side of the over-budget ones, widened on failure
_FIRST_WINDOWS = 20  # without a clock: at most this many windows
_FIRST_WHOLE = 120  # last resort when the stages up to the window's end are at most this many:
# all of them, every value free to be recomputed


def _first_fit(
    p: _Prep,
    sw: _Sweep,
    budget: float,
    *,
    deadline: float | None,
    seed: int,
    stop: threading.Event | None = None,
) -> _Sweep | None:
    """From an over-budget schedule, re-solve windows around the stages over the budget with
    the budget soft (least excess first), keeping each window that lowers the excess and passes
    the stage-by-stage check, until no stage is over (``None`` if that does not happen)."""
    n = p.n
    sched = _schedule(n, sw)
    R, S = sched.R.copy(), sched.S.copy()
    _tidy(p, R, S)
    ex = _excess(p, R, S, budget, range(n))
    if ex is None:
        return None
    level = 0
    tries = 0
    while ex.any():
        now = time.perf_counter()
        if _due(deadline, stop, 0.05):
            return None
        if deadline is None and tries >= _FIRST_WINDOWS:
            return None
        over = np.flatnonzero(ex)
        whole = level == len(_FIRST_MARGINS)
        h = _FIRST_MARGINS[min(level, len(_FIRST_MARGINS) - 1)]
        t0 = t1 = int(over[0])
        for t in over[1:].tolist():  # the first run of nearby over-budget stages
            if t - t1 > h or t - t0 >= _WINDOW[1]:
                break
            t1 = t
        a, b = max(0, t0 - h), min(n, t1 + h + 1)
        if whole:
            a = 0
        limit = None if deadline is None else max(0.05, min(_WINDOW_S, deadline - now))
        out = _window_milp(
            p, R, S, a, b, budget, limit, seed + tries, soft=True, wide=whole, stop=stop
        )
        tries += 1
        better = False
        if out is not None:
            R0, S0 = R[a:b].copy(), S[a + 1 : b].copy()
            R[a:b], S[a + 1 : b] = out
            new = _excess(p, R, S, budget, range(a, b))
            if new is not None and new.sum() < ex[a:b].sum():
                ex[a:b] = new
                better = True
            else:  # the window model disagrees with the simulator: keep the incumbent
                R[a:b], S[a + 1 : b] = R0, S0
        if _DEBUG:
            print("first-fit window", a, b, better, int(ex.sum()))
        if better:
            level = 0
        elif level + 1 < len(_FIRST_MARGINS) or (
            level + 1 == len(_FIRST_MARGINS) and b <= _FIRST_WHOLE
        ):
            level += 1
        else:
            return None
    total = int((R.astype(np.int64) @ np.asarray(p.cost, dtype=np.int64)).sum())
    return _sweep_of(p, R, S, total)


def _sweep_of(p: _Prep, R: np.ndarray, S: np.ndarray, total: int) -> _Sweep:
    rows_r = [np.flatnonzero(r).tolist() for r in R]
    rows_s = [np.flatnonzero(s).tolist() for s in S]
    redone = sorted({u for t, row in enumerate(rows_r) for u in row if u != t})
    return _Sweep(rows_r, rows_s, total, -1, redone)


# ---------------------------------------------------------------- reordering


def reorder_graph(graph: Graph, order: Sequence[int]) -> Graph:
    """``graph`` relabelled so that node ``order[k]`` becomes node ``k``.

    Raises
    ------
    ValueError
        If ``order`` is not a permutation of the nodes or not a topological order.
    """
    n = graph.n
    if sorted(order) != list(range(n)):
        raise ValueError("order must list every node exactly once")
    pos = [0] * n
    for k, v in enumerate(order):
        pos[v] = k
    for v in range(n):
        for u in graph.args[v]:
            if pos[u] >= pos[v]:
                raise ValueError(f"order puts node {v} before its input {u}")
    return Graph(
        args=tuple(tuple(sorted(pos[u] for u in graph.args[v])) for v in order),
        compute_cost=tuple(graph.compute_cost[v] for v in order),
        memory_cost=tuple(graph.memory_cost[v] for v in order),
        forward_to_backward={pos[f]: pos[b] for f, b in graph.forward_to_backward.items()},
        loss=None if graph.loss is None else pos[graph.loss],
        parameter_bytes=graph.parameter_bytes,
        names=tuple(graph.names[v] for v in order),
        name=graph.name,
    )


def no_remat_peak_of_order(graph: Graph, order: Sequence[int]) -> int:
    """Peak activation memory of running ``order`` once, each value freed after its last use
    (what the simulator reports for that order's no-rematerialization schedule)."""
    pos = [0] * graph.n
    for k, v in enumerate(order):
        pos[v] = k
    mem = graph.memory_cost
    delta = [0] * (graph.n + 1)
    for k, v in enumerate(order):
        succ = graph.successors[v]
        if succ:
            end = max(pos[w] for w in succ)
            delta[k + 1] += mem[v]
            delta[end + 1] -= mem[v]
    peak = 0
    held = 0
    for k, v in enumerate(order):
        held += delta[k]
        peak = max(peak, held + mem[v])
    return peak


def _order_profile(graph: Graph, order: Sequence[int]) -> np.ndarray:
    """Live bytes at each position of ``order`` run once (no recomputation), sampled right
    after each node's output is allocated."""
    n = graph.n
    pos = np.empty(n, dtype=np.int64)
    pos[np.asarray(order)] = np.arange(n)
    mem = graph.memory_array
    delta = np.zeros(n + 1, dtype=np.int64)
    ends = np.array([max((pos[w] for w in s), default=-1) for s in graph.successors])
    has = ends >= 0
    np.add.at(delta, pos[has] + 1, mem[has])
    np.add.at(delta, ends[has] + 1, -mem[has])
    held = np.cumsum(delta)[:n]
    return held + mem[np.asarray(order)]


def _improve_order(
    graph: Graph,
    order: list[int],
    budget: float,
    rng: np.random.Generator,
    deadline: float | None,
    max_moves: int | None = None,
) -> list[int]:
    """Hill-climb on the over-budget area of the no-recomputation profile: move one node
    within the window its inputs and consumers allow, keep moves that do not make it worse."""
    n = graph.n
    args, succ = graph.args, graph.successors
    cap = budget if budget != math.inf else 0

    def score(o: list[int]) -> tuple[tuple[int, int], np.ndarray]:
        prof = _order_profile(graph, o)
        return (int(np.maximum(prof - cap, 0).sum()), int(prof.max())), prof

    best, prof = score(order)
    order = list(order)
    pos = {v: k for k, v in enumerate(order)}
    moves = 0
    while best[0] > 0:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        if max_moves is not None and moves >= max_moves:
            break
        moves += 1
        hot = np.flatnonzero(prof > cap)
        centre = int(rng.choice(hot))
        i = int(np.clip(centre + rng.integers(-20, 21), 0, n - 1))
        v = order[i]
        lo = max((pos[u] for u in args[v]), default=-1) + 1
        hi = min((pos[w] for w in succ[v]), default=n) - 1
        if hi <= lo:
            continue
        j = int(rng.integers(lo, hi + 1))
        if j == i:
            continue
        trial = order[:i] + order[i + 1 :]
        trial.insert(j, v)
        sc, tprof = score(trial)
        if sc <= best:
            order, best, prof = trial, sc, tprof
            pos = {v: k for k, v in enumerate(order)}
    return order


def _list_order(graph: Graph, rng: np.random.Generator | None, lookahead: float) -> list[int]:
    """A topological order that greedily keeps the live bytes low: among the ready nodes, run
    the one whose output adds the least after the inputs it finishes are freed."""
    n = graph.n
    mem = graph.memory_cost
    succ = graph.successors
    remaining = [len(s) for s in succ]
    indeg = [len(a) for a in graph.args]
    ready = {v for v in range(n) if indeg[v] == 0}
    noise = rng.random(n) * 0.5 if rng is not None else np.zeros(n)
    order: list[int] = []
    while ready:

        def gain(v: int) -> tuple[float, int]:
            freed = sum(mem[u] for u in graph.args[v] if remaining[u] == 1)
            out = mem[v] if succ[v] else 0
            # prefer nodes that bring a consumer's inputs closer to complete
            return (out - freed - lookahead * mem[v] + noise[v] * (1 + mem[v]), v)

        v = min(ready, key=gain)
        ready.discard(v)
        order.append(v)
        for u in graph.args[v]:
            remaining[u] -= 1
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.add(w)
    return order


def anytime_reorder(
    graph: Graph,
    budget: int | None,
    *,
    time_limit_s: float | None = 10.0,
    seed: int = 0,
    options: SolveOptions | None = None,
    progress: Callable[[Any], None] | None = None,
    max_rounds: int | None = None,
) -> SolveResult:
    """Like :func:`anytime`, but the execution order may change (any topological order).

    Up to 40 % of the time goes to the order: the graph's own order and memory-aware list
    orders (some randomised), the lowest-peak one then hill-climbed on the area its
    no-recomputation profile spends over the budget; the rest goes to :func:`anytime` on it.
    With ``time_limit_s=None`` the order search does a fixed amount of work (deterministic).
    With limits of 10 s or more the search on that order is a portfolio, as in
    :func:`anytime` (one search per usable CPU, different seeds).
    The result's schedule, report and ``params["order"]`` refer to ``reorder_graph(graph,
    order)``; the compute increase is comparable with the fixed-order one (same node costs).
    """
    started = time.perf_counter()
    limit, seed = _limits(time_limit_s, seed, options)
    rng = np.random.default_rng(seed)
    orders: list[list[int]] = [list(range(graph.n))]
    orders += [_list_order(graph, None, la) for la in (0.0, 0.5, 1.0)]
    order_deadline = None if limit is None else started + 0.1 * limit
    tries = 0
    while tries < 200 and (order_deadline is None or time.perf_counter() < order_deadline):
        if limit is None and tries >= 8:
            break
        orders.append(_list_order(graph, rng, float(rng.choice([0.0, 0.5, 1.0]))))
        tries += 1
    cap = math.inf if budget is None else budget
    scored = sorted((no_remat_peak_of_order(graph, o), k) for k, o in enumerate(orders))
    best_order = orders[scored[0][1]]
    if budget is not None and scored[0][0] > budget:
        if limit is None:  # a fixed amount of work: deterministic
            best_order = _improve_order(graph, best_order, cap, rng, None, 20 * graph.n)
        else:
            best_order = _improve_order(graph, best_order, cap, rng, started + 0.4 * limit)
        scored[0] = (no_remat_peak_of_order(graph, best_order), scored[0][1])
    g2 = reorder_graph(graph, best_order)
    info: dict[str, object] = {
        "order": best_order,
        "order_peak": scored[0][0],
        "orders_tried": len(orders),
    }
    # (a portfolio's searches share this order and differ in their seeds)
    return _run_searches(
        g2,
        budget,
        limit=limit,
        seed=seed,
        max_rounds=max_rounds,
        progress=progress,
        started=started,
        strategy="anytime_reorder",
        params=info,
    )
