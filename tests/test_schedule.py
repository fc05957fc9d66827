"""Schedules: the (R, S) container, its dict form, and ``solve_r_opt`` (spec §4.4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkmate_opt.errors import ScheduleError
from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule, solve_r_opt
from hypothesis_graphs import dags, training_graphs


def _rows(m: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(r).tolist() for r in m]


def _s_from_rows(n: int, rows: dict[int, list[int]]) -> np.ndarray:
    s = np.zeros((n, n), dtype=bool)
    for t, nodes in rows.items():
        s[t, nodes] = True
    return s


@st.composite
def graph_and_s(draw, graphs=None):
    """A graph and a random strictly lower-triangular checkpoint matrix."""
    g = draw(graphs if graphs is not None else st.one_of(training_graphs(), dags()))
    n = g.n
    bits = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    s = np.tril(np.array(bits, dtype=bool).reshape(n, n), k=-1)
    return g, s


# ------------------------------------------------------------------ the container


def test_schedule_validates_shapes_and_values():
    with pytest.raises(ScheduleError, match="R must be a square matrix"):
        Schedule(R=np.zeros((2, 3)), S=np.zeros((2, 2)))
    with pytest.raises(ScheduleError, match="S must be a square matrix"):
        Schedule(R=np.zeros((2, 2)), S=np.zeros(4))
    with pytest.raises(ScheduleError, match=r"R has shape \(2, 2\) but S has shape \(3, 3\)"):
        Schedule(R=np.zeros((2, 2)), S=np.zeros((3, 3)))
    with pytest.raises(ScheduleError, match="only 0 and 1"):
        Schedule(R=np.eye(2) * 2, S=np.zeros((2, 2)))
    with pytest.raises(ScheduleError, match="only 0 and 1"):
        Schedule(R=np.eye(2), S=np.full((2, 2), 0.5))


def test_schedule_accepts_integral_numbers_and_copies():
    r = np.eye(3)  # floats 0.0 / 1.0, as a solver returns them
    s = [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    sched = Schedule(R=r, S=s)
    assert sched.R.dtype == bool
    assert sched.S.dtype == bool
    assert sched.n == 3
    r[0, 1] = 1.0  # the schedule holds its own copy
    assert not sched.R[0, 1]
    with pytest.raises(ValueError, match="read-only"):
        sched.R[0, 0] = False
    with pytest.raises(ValueError, match="read-only"):
        sched.S[0, 0] = True


def test_schedule_equality_and_counts():
    a = Schedule(R=np.tril(np.ones((3, 3))), S=np.zeros((3, 3)))
    b = Schedule(R=np.tril(np.ones((3, 3), dtype=bool)), S=np.zeros((3, 3), dtype=bool))
    assert a == b
    assert a != Schedule(R=np.eye(3), S=np.zeros((3, 3)))
    assert a.__eq__("x") is NotImplemented
    with pytest.raises(TypeError):
        hash(a)
    # node 0 is computed in all three stages, node 1 in two, node 2 once
    assert a.compute_counts().tolist() == [3, 2, 1]


def test_to_dict_by_hand():
    sched = Schedule(R=np.eye(3), S=[[0, 0, 0], [1, 0, 0], [1, 1, 0]])
    assert sched.to_dict() == {"n": 3, "R": [[0], [1], [2]], "S": [[], [0], [0, 1]]}


@given(st.data())
def test_dict_round_trip(data):
    n = data.draw(st.integers(1, 7))
    bits = data.draw(st.lists(st.booleans(), min_size=2 * n * n, max_size=2 * n * n))
    mats = np.array(bits, dtype=bool).reshape(2, n, n)
    sched = Schedule(R=mats[0], S=mats[1])
    text = json.dumps(sched.to_dict())
    assert Schedule.from_dict(json.loads(text)) == sched


def test_from_dict_rejects_wrong_row_count():
    with pytest.raises(ScheduleError, match="'S' has 1 rows for n=2"):
        Schedule.from_dict({"n": 2, "R": [[0], [1]], "S": [[]]})


# ------------------------------------------------------------------ solve_r_opt by hand


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
def test_solve_r_opt_without_checkpoints_recomputes_everything(num_layers):
    # every node of a linear graph depends transitively on all smaller ids, so with S = 0
    # stage t computes 0..t: R is the full lower triangle
    g = linear_graph(num_layers)
    r = solve_r_opt(g, np.zeros((g.n, g.n), dtype=bool))
    assert np.array_equal(r, np.tril(np.ones((g.n, g.n), dtype=bool)))


def test_solve_r_opt_keep_everything_is_identity():
    g = linear_graph(3)
    s = np.tril(np.ones((g.n, g.n), dtype=bool), k=-1)
    assert np.array_equal(solve_r_opt(g, s), np.eye(g.n, dtype=bool))
    assert Schedule.from_s(g, s) == Schedule(R=np.eye(g.n), S=s)


def test_solve_r_opt_checkpointing_only_node_0():
    # linear_graph(2): 1:(0) 2:(1) 3:(1,2) 4:(0,3); node 0 checkpointed from stage 1 on.
    # stage 2 needs 1 (recompute from the checkpoint); stage 3 needs 1, 2; stage 4 needs 3,
    # hence 1 and 2 again, while 0 comes from memory.
    g = linear_graph(2)
    s = _s_from_rows(5, {1: [0], 2: [0], 3: [0], 4: [0]})
    r = solve_r_opt(g, s)
    assert _rows(r) == [[0], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]


def test_solve_r_opt_computes_a_checkpoint_the_stage_before_it_appears():
    # 0 and 1 are sources, 2 consumes both. S[2] holds 0, S[1] does not: stage 1 must
    # compute 0 (step 2 of §4.4) although nothing in stage 1 consumes it.
    g = Graph(args=((), (), (0, 1)), compute_cost=(1, 1, 1), memory_cost=(1, 1, 1))
    s = _s_from_rows(3, {2: [0]})
    assert _rows(solve_r_opt(g, s)) == [[0], [0, 1], [1, 2]]


def test_solve_r_opt_checkpoint_kept_from_earlier_needs_no_compute():
    # S[1] and S[2] both hold 0: it is carried, not recomputed in stage 1
    g = Graph(args=((), (), (0, 1)), compute_cost=(1, 1, 1), memory_cost=(1, 1, 1))
    s = _s_from_rows(3, {1: [0], 2: [0]})
    assert _rows(solve_r_opt(g, s)) == [[0], [1], [1, 2]]


def test_solve_r_opt_rejects_wrong_shape():
    with pytest.raises(ScheduleError, match=r"S has shape \(3, 3\), expected \(5, 5\)"):
        solve_r_opt(linear_graph(2), np.zeros((3, 3), dtype=bool))


def _closure_r(g: Graph, s: np.ndarray) -> np.ndarray:
    """Independent oracle for §4.4: the smallest R meeting the dependency rules, by search."""
    n = g.n
    r = np.zeros((n, n), dtype=bool)
    for t in range(n):
        need = {t} | {i for i in range(n) if t + 1 < n and s[t + 1, i] and not s[t, i]}
        todo = list(need)
        while todo:
            v = todo.pop()
            for u in g.args[v]:
                if not s[t, u] and u not in need:
                    need.add(u)
                    todo.append(u)
        r[t, sorted(need)] = True
    return r


@given(graph_and_s())
def test_solve_r_opt_matches_closure(case):
    g, s = case
    r = solve_r_opt(g, s)
    assert np.array_equal(r, _closure_r(g, s))
    assert r.diagonal().all()
    assert not np.triu(r, k=1).any()  # nothing above the frontier
    for t in range(g.n):  # every computed node has each input computed or checkpointed
        for v in np.flatnonzero(r[t]):
            assert all(r[t, u] or s[t, u] for u in g.args[v])
