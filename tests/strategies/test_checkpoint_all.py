"""Checkpoint all / all APs / last node on hand-worked chains and the spec's "test" net."""

from __future__ import annotations

import numpy as np

from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.checkpoint_all import (
    checkpoint_all,
    checkpoint_all_ap,
    checkpoint_last_node,
)
from checkmate_opt.testing import assert_valid_schedule


def recomputes(result) -> set[tuple[int, int]]:
    R = result.schedule.R
    return {(int(t), int(i)) for t, i in np.argwhere(R & ~np.eye(R.shape[0], dtype=bool))}


def test_checkpoint_all_linear4() -> None:
    # every forward value is kept: no recomputation; peak at stage 5 (0..3, loss, bwd(3))
    g = linear_graph(4)
    r = checkpoint_all(g)
    assert_valid_schedule(g, r)
    assert recomputes(r) == set()
    assert r.report.compute_cost == 9 == g.total_compute
    assert r.report.peak_activation_memory == 6
    assert r.params["checkpoints"] == [0, 1, 2, 3]


def test_checkpoint_all_ap_equals_checkpoint_all_on_chains() -> None:
    g = linear_graph(6)
    a, b = checkpoint_all(g), checkpoint_all_ap(g)
    assert a.schedule == b.schedule


def test_checkpoint_last_node_linear4() -> None:
    # only S[t, t-1]: bwd(3) recomputes 0..3, bwd(2) 0..2, bwd(1) 0..1, bwd(0) 0
    g = linear_graph(4)
    r = checkpoint_last_node(g)
    assert_valid_schedule(g, r)
    S = r.schedule.S
    assert {(int(t), int(i)) for t, i in np.argwhere(S)} == {(t, t - 1) for t in range(1, 9)}
    expected = {(5, i) for i in range(4)} | {(6, i) for i in range(3)}
    expected |= {(7, 0), (7, 1), (8, 0)}
    assert recomputes(r) == expected
    assert r.report.compute_cost == 9 + 4 + 3 + 2 + 1
    assert r.report.peak_activation_memory == 3  # kept gradient + recompute pair + output


def test_checkpoint_all_ap_on_test_net(test_net: Graph) -> None:
    # APs {0, 3, 4, 5}; conv1/conv2 (1, 2) are recomputed once, in the stage before their
    # segment's first gradient stage bwd(3) = 9, and then held (ladder) through stage 12
    g = test_net
    assert g.articulation_points == (0, 3, 4, 5)
    r = checkpoint_all_ap(g)
    assert_valid_schedule(g, r)
    assert recomputes(r) == {(9, 1), (9, 2)}
    assert r.report.compute_cost == 13 + 2
    S = r.schedule.S
    assert set(np.flatnonzero(S[3])) == {0, 1, 2}
    assert set(np.flatnonzero(S[4])) == {0, 3}
    assert set(np.flatnonzero(S[11])) == {0, 1, 2, 3, 4, 5, 9, 10}
    # stage 11 starts with those 8 values (all kept or consumed) and adds bwd(1)
    assert r.report.peak_activation_memory == 9


def test_checkpoint_all_on_test_net(test_net: Graph) -> None:
    r = checkpoint_all(test_net)
    assert_valid_schedule(test_net, r)
    assert recomputes(r) == set()
    assert r.report.compute_cost == test_net.total_compute


def test_budget_is_recorded_and_judged() -> None:
    g = linear_graph(4)
    assert checkpoint_all(g, 6).within_budget
    over = checkpoint_all(g, 5)
    assert over.budget == 5
    assert not over.within_budget
    assert_valid_schedule(g, over)


def test_registered_and_reachable_through_solve() -> None:
    g = linear_graph(3)
    for name in ("checkpoint_all", "checkpoint_all_ap", "checkpoint_last_node"):
        r = solve(g, None, strategy=name)
        assert r.strategy == name
        assert_valid_schedule(g, r)
