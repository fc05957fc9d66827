"""The simulator (spec §6.2): hand-worked schedules, invalid schedules, and properties.

Semantics under test: at the start of stage t every live value that is neither consumed in
stage t nor kept for t+1 is freed; nodes with R[t, i] = 1 are computed in id order, the peak is
sampled right after each allocation, and after each compute the inputs and the output that have
no later use (in this stage or via S[t+1]) are freed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkmate_opt.errors import ScheduleError
from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule, solve_r_opt
from checkmate_opt.simulate import Operation, OpKind, simulate
from hypothesis_graphs import dags, training_graphs

C, F = OpKind.COMPUTE, OpKind.FREE


def _ops(report) -> list[tuple[str, int, int]]:
    """Operations as ("C"|"F", node, stage)."""
    return [("C" if op.kind is C else "F", op.node, op.stage) for op in report.operations]


def _s_from_rows(n: int, rows: dict[int, list[int]]) -> np.ndarray:
    s = np.zeros((n, n), dtype=bool)
    for t, nodes in rows.items():
        s[t, nodes] = True
    return s


def keep_all(g: Graph) -> Schedule:
    """R = identity; every earlier value is held in every later stage."""
    n = g.n
    return Schedule(R=np.eye(n, dtype=bool), S=np.tril(np.ones((n, n), dtype=bool), k=-1))


def keep_used_later(g: Graph) -> Schedule:
    """R = identity; a value is held in stage t iff it was made earlier and is consumed at >= t."""
    n = g.n
    s = np.zeros((n, n), dtype=bool)
    for u in range(n):
        if g.successors[u]:
            s[u + 1 : max(g.successors[u]) + 1, u] = True
    return Schedule(R=np.eye(n, dtype=bool), S=s)


#: diamond 0 -> {1, 2} -> 3; compute costs 1, 10, 100, 1000 make the cost a per-node count
DIAMOND = Graph(
    args=((), (0,), (0,), (1, 2)),
    compute_cost=(1, 10, 100, 1000),
    memory_cost=(4, 2, 3, 1),
    parameter_bytes=50,
)


# ------------------------------------------------------------------ hand-worked: linear graphs


def test_linear2_keep_used_later_by_hand():
    # 1:(0) 2:(1) 3:(1,2) 4:(0,3). Stages 0..2 grow {0},{0,1},{0,1,2}; stage 3 computes 3
    # (live 4, the peak) then frees 1 and 2; stage 4 computes 4 on {0,3} and frees all.
    g = linear_graph(2)
    rep = simulate(g, keep_used_later(g))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("C", 2, 2),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("C", 4, 4),
        ("F", 0, 4),
        ("F", 3, 4),
        ("F", 4, 4),
    ]
    assert rep.compute_cost == 5
    assert rep.peak_activation_memory == 4
    assert rep.memory_timeline.tolist() == [1, 2, 3, 4, 3, 2, 3, 2, 1, 0]
    assert rep.fixed_memory == 0
    assert rep.peak_memory == 4
    assert rep.overhead == 1.0
    assert rep.num_computes == 5


def test_linear2_keep_all_frees_unused_checkpoints_at_stage_start():
    # same as above, but S[4] also holds 1 and 2, which stage 4 does not use: they are freed
    # at the start of stage 4 (stage 3 kept them because S[4] asked for them)
    g = linear_graph(2)
    rep = simulate(g, keep_all(g))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("C", 2, 2),
        ("C", 3, 3),
        ("F", 1, 4),
        ("F", 2, 4),
        ("C", 4, 4),
        ("F", 0, 4),
        ("F", 3, 4),
        ("F", 4, 4),
    ]
    assert rep.compute_cost == 5
    assert rep.peak_activation_memory == 4


def test_linear2_no_checkpoints_by_hand():
    # S = 0 so R is the lower triangle: stage t computes 0..t from scratch (cost 1+2+3+4+5).
    # Within a stage a value is freed right after its last consumer there.
    g = linear_graph(2)
    s = np.zeros((5, 5), dtype=bool)
    rep = simulate(g, Schedule(R=solve_r_opt(g, s), S=s))
    assert _ops(rep) == [
        # stage 0: 0 has no consumer in stage 0
        ("C", 0, 0),
        ("F", 0, 0),
        # stage 1
        ("C", 0, 1),
        ("C", 1, 1),
        ("F", 0, 1),
        ("F", 1, 1),
        # stage 2: 0 is last used by 1
        ("C", 0, 2),
        ("C", 1, 2),
        ("F", 0, 2),
        ("C", 2, 2),
        ("F", 1, 2),
        ("F", 2, 2),
        # stage 3: 1 and 2 are last used by 3
        ("C", 0, 3),
        ("C", 1, 3),
        ("F", 0, 3),
        ("C", 2, 3),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("F", 3, 3),
        # stage 4: 0 is needed by 4 itself, so it stays live throughout
        ("C", 0, 4),
        ("C", 1, 4),
        ("C", 2, 4),
        ("C", 3, 4),
        ("F", 1, 4),
        ("F", 2, 4),
        ("C", 4, 4),
        ("F", 0, 4),
        ("F", 3, 4),
        ("F", 4, 4),
    ]
    assert rep.compute_cost == 15
    assert rep.peak_activation_memory == 4  # {0,1,2,3} in stage 4
    assert rep.overhead == 3.0


def test_linear3_checkpoint_saves_memory_by_hand():
    # linear_graph(3): fwd 0,1,2; loss 3; 4:(2,3) 5:(1,4) 6:(0,5). Keep 0 throughout, drop 1
    # after stage 2 and recompute it in stage 5 for its gradient. Keeping everything peaks at
    # N+2 = 5 (stage 4 holds 0,1,2,3 and computes 4); this schedule peaks at 4, one extra
    # compute.
    g = linear_graph(3)
    s = _s_from_rows(7, {1: [0], 2: [0, 1], 3: [0, 2], 4: [0, 2, 3], 5: [0, 4], 6: [0, 5]})
    r = solve_r_opt(g, s)
    assert [np.flatnonzero(row).tolist() for row in r] == [[0], [1], [2], [3], [4], [1, 5], [6]]
    rep = simulate(g, Schedule(R=r, S=s))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("C", 2, 2),
        ("F", 1, 2),
        ("C", 3, 3),
        ("C", 4, 4),
        ("F", 2, 4),
        ("F", 3, 4),
        ("C", 1, 5),
        ("C", 5, 5),
        ("F", 1, 5),
        ("F", 4, 5),
        ("C", 6, 6),
        ("F", 0, 6),
        ("F", 5, 6),
        ("F", 6, 6),
    ]
    assert rep.memory_timeline.tolist() == [1, 2, 3, 2, 3, 4, 3, 2, 3, 4, 3, 2, 3, 2, 1, 0]
    assert rep.compute_cost == 8
    assert rep.peak_activation_memory == 4
    assert simulate(g, keep_used_later(g)).peak_activation_memory == 5


def _expected_keep_used_later_ops(N: int) -> list[tuple[str, int, int]]:
    # forward and loss stages only compute; stage N+1 computes bwd(N-1) and frees N-1 and the
    # loss; each later gradient 2N-i frees forward i and the previous gradient; the final
    # gradient also frees itself.
    ops = [("C", t, t) for t in range(N + 2)]
    ops += [("F", N - 1, N + 1), ("F", N, N + 1)]
    for i in range(N - 2, -1, -1):
        t = 2 * N - i
        ops += [("C", t, t), ("F", i, t), ("F", t - 1, t)]
    ops.append(("F", 2 * N, 2 * N))
    return ops


@pytest.mark.parametrize("num_layers", [2, 3, 4])
def test_linear_keep_used_later_general(num_layers):
    g = linear_graph(num_layers)
    rep = simulate(g, keep_used_later(g))
    assert _ops(rep) == _expected_keep_used_later_ops(num_layers)
    assert rep.compute_cost == 2 * num_layers + 1
    # the gradient of the last layer runs with every forward value, the loss and itself live
    assert rep.peak_activation_memory == num_layers + 2


# ------------------------------------------------------------------ hand-worked: a diamond


def test_diamond_keep_all_with_fixed_memory():
    # memory 4,2,3,1. S[3] holds 0 but stage 3 does not use it: freed at the stage's start.
    # live: {0}=4, {0,1}=6, {0,1,2}=9, free 0 -> 5, +3 -> 6, then 1, 2, 3 freed.
    rep = simulate(DIAMOND, keep_all(DIAMOND))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("C", 2, 2),
        ("F", 0, 3),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("F", 3, 3),
    ]
    fixed = 100  # 2 x parameter_bytes
    assert rep.fixed_memory == fixed
    assert rep.memory_timeline.tolist() == [x + fixed for x in (4, 6, 9, 5, 6, 4, 1, 0)]
    assert rep.peak_activation_memory == 9
    assert rep.peak_memory == 109
    assert rep.compute_cost == 1111
    # mem_grid[t, i]: live bytes after position i (after its compute, before its frees)
    assert (rep.mem_grid - fixed).tolist() == [
        [4, 4, 4, 4],
        [4, 6, 6, 6],
        [6, 6, 9, 9],
        [5, 5, 5, 6],
    ]


def test_diamond_keep_used_later_frees_after_last_consumer():
    # S[3] does not hold 0: it goes right after its last consumer, 2, in stage 2
    rep = simulate(DIAMOND, keep_used_later(DIAMOND))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("C", 2, 2),
        ("F", 0, 2),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("F", 3, 3),
    ]
    assert (rep.mem_grid - 100).tolist() == [
        [4, 4, 4, 4],
        [4, 6, 6, 6],
        [6, 6, 9, 5],
        [5, 5, 5, 6],
    ]
    assert rep.peak_activation_memory == 9


def test_diamond_recompute_everything():
    # S = 0: R rows {0}, {0,1}, {0,2}, {0,1,2,3}; node 0 runs 4 times, 1 and 2 twice, 3 once
    s = np.zeros((4, 4), dtype=bool)
    rep = simulate(DIAMOND, Schedule(R=solve_r_opt(DIAMOND, s), S=s))
    assert rep.compute_cost == 4 * 1 + 2 * 10 + 2 * 100 + 1000
    assert _ops(rep) == [
        ("C", 0, 0),
        ("F", 0, 0),
        ("C", 0, 1),
        ("C", 1, 1),
        ("F", 0, 1),
        ("F", 1, 1),
        ("C", 0, 2),
        ("C", 2, 2),
        ("F", 0, 2),
        ("F", 2, 2),
        # stage 3: 0 is last used by 2, so it survives the compute of 1
        ("C", 0, 3),
        ("C", 1, 3),
        ("C", 2, 3),
        ("F", 0, 3),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("F", 3, 3),
    ]
    assert rep.peak_activation_memory == 9  # 0, 1 and 2 live when 2 is made
    assert rep.overhead == 1224 / 1111


def test_diamond_checkpoint_the_root_only():
    # S holds 0 in stages 1..3; stage 3 recomputes 1 and 2 from it: cost 1 + 10 + 100 + 1110
    s = _s_from_rows(4, {1: [0], 2: [0], 3: [0]})
    r = solve_r_opt(DIAMOND, s)
    assert [np.flatnonzero(row).tolist() for row in r] == [[0], [1], [2], [1, 2, 3]]
    rep = simulate(DIAMOND, Schedule(R=r, S=s))
    assert _ops(rep) == [
        ("C", 0, 0),
        ("C", 1, 1),
        ("F", 1, 1),  # not consumed in stage 1 and not kept
        ("C", 2, 2),
        ("F", 2, 2),
        ("C", 1, 3),
        ("C", 2, 3),
        ("F", 0, 3),
        ("C", 3, 3),
        ("F", 1, 3),
        ("F", 2, 3),
        ("F", 3, 3),
    ]
    assert rep.compute_cost == 1221
    assert rep.peak_activation_memory == 9


def test_recomputing_a_live_value_allocates_nothing():
    # stage 1 holds 0 (S) and computes it again: no second buffer
    g = Graph(args=((), (0,)), compute_cost=(1, 1), memory_cost=(5, 7))
    rep = simulate(g, Schedule(R=[[1, 0], [1, 1]], S=[[0, 0], [1, 0]]))
    assert rep.compute_cost == 3
    assert rep.peak_activation_memory == 12


# ------------------------------------------------------------------ invalid schedules


def test_input_used_before_it_is_computed():
    g = linear_graph(2)
    with pytest.raises(ScheduleError, match=r"stage 1 computes node 1 .* input node 0"):
        simulate(g, Schedule(R=np.eye(5), S=np.zeros((5, 5))))


def test_input_used_after_it_is_freed():
    # 0 is dropped after stage 3 (not in S[4]) but node 4 consumes it
    g = linear_graph(2)
    s = _s_from_rows(5, {1: [0], 2: [0, 1], 3: [0, 1, 2], 4: [3]})
    with pytest.raises(ScheduleError, match=r"stage 4 computes node 4 .* input node 0 .*not in"):
        simulate(g, Schedule(R=np.eye(5), S=s))


def test_checkpoint_of_a_freed_value():
    # S[4] asks for 0, which S[3] let go and stage 3 did not compute
    g = linear_graph(2)
    s = _s_from_rows(5, {1: [0], 2: [0, 1], 3: [1, 2], 4: [0, 3]})
    with pytest.raises(ScheduleError, match="stage 4 checkpoints node 0"):
        simulate(g, Schedule(R=np.eye(5), S=s))


@pytest.mark.parametrize(
    ("rows", "message"),
    [({0: [0]}, "stage 0 checkpoints node 0"), ({1: [3]}, "stage 1 checkpoints node 3")],
)
def test_checkpoint_of_a_value_never_made(rows, message):
    g = linear_graph(2)
    with pytest.raises(ScheduleError, match=message):
        simulate(g, Schedule(R=np.eye(5), S=_s_from_rows(5, rows)))


def test_node_never_computed():
    g = Graph(args=((), ()), compute_cost=(1, 1), memory_cost=(1, 1))
    with pytest.raises(ScheduleError, match=r"node 1 \(node1\) is never computed"):
        simulate(g, Schedule(R=[[1, 0], [1, 0]], S=np.zeros((2, 2))))


def test_wrong_schedule_size():
    g = linear_graph(2)
    with pytest.raises(ScheduleError, match="3 stages but the graph has 5 nodes"):
        simulate(g, Schedule(R=np.eye(3), S=np.zeros((3, 3))))


# ------------------------------------------------------------------ properties


@st.composite
def graph_and_schedule(draw):
    """A random graph with a random valid schedule (random S, cheapest R)."""
    g = draw(st.one_of(training_graphs(), dags()))
    n = g.n
    bits = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    s = np.tril(np.array(bits, dtype=bool).reshape(n, n), k=-1)
    return g, Schedule(R=solve_r_opt(g, s), S=s)


def _replay(g: Graph, sched: Schedule, rep) -> None:
    """Re-derive live sets from the op list alone and check every reported number."""
    mem = g.memory_cost
    live: set[int] = set()
    peak = 0
    cost = 0
    stage = 0
    computes: dict[int, list[int]] = {t: [] for t in range(g.n)}
    assert len(rep.memory_timeline) == len(rep.operations)
    for op, after in zip(rep.operations, rep.memory_timeline, strict=True):
        assert op.stage >= stage  # stages never go back
        while stage < op.stage:  # entering a new stage: its checkpoints must be live
            stage += 1
            assert set(np.flatnonzero(sched.S[stage])) <= live
        if op.kind is C:
            assert set(g.args[op.node]) <= live, op
            live.add(op.node)
            bytes_live = sum(mem[u] for u in live)
            # the simulator never reports less than what it holds
            assert rep.peak_activation_memory >= bytes_live
            peak = max(peak, bytes_live)
            cost += g.compute_cost[op.node]
            computes[op.stage].append(op.node)
        else:
            assert op.node in live, op
            live.remove(op.node)
            if op.stage + 1 < g.n:  # never frees a value the next stage holds
                assert not sched.S[op.stage + 1, op.node], op
        assert after == sum(mem[u] for u in live) + g.fixed_memory
    assert live == set()  # everything is freed by the end
    assert peak == rep.peak_activation_memory  # sampled right after each allocation
    assert cost == rep.compute_cost == int((sched.R * np.asarray(g.compute_cost)).sum())
    for t in range(g.n):  # each stage computes exactly R[t], in id order
        assert computes[t] == np.flatnonzero(sched.R[t]).tolist()


@given(graph_and_schedule())
def test_simulator_matches_an_independent_replay(case):
    g, sched = case
    rep = simulate(g, sched)
    _replay(g, sched, rep)
    assert rep.peak_activation_memory >= g.min_feasible_memory()
    assert rep.peak_activation_memory <= g.total_memory
    assert rep.peak_memory == rep.peak_activation_memory + g.fixed_memory
    assert rep.compute_cost >= g.total_compute


@given(st.one_of(training_graphs(), dags()))
def test_keep_everything_costs_exactly_total_compute(g):
    for sched in (keep_all(g), keep_used_later(g)):
        rep = simulate(g, sched)
        _replay(g, sched, rep)
        assert rep.compute_cost == g.total_compute
        assert rep.overhead == 1.0
        assert rep.num_computes == g.n
    # holding only what is used later never needs more memory than holding everything
    assert (
        simulate(g, keep_used_later(g)).peak_activation_memory
        <= simulate(g, keep_all(g)).peak_activation_memory
    )


def test_operation_is_a_plain_record():
    op = Operation(OpKind.FREE, 3, 2)
    assert (op.kind, op.stage, op.node) == (F, 3, 2)
    assert OpKind("compute") is C
