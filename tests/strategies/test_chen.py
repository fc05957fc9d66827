"""Chen et al. √n and greedy, with hand-derived checkpoint sets and costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.io import load_graph
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.chen import (
    chen_greedy,
    chen_greedy_linearized,
    chen_sqrtn,
    chen_sqrtn_linearized,
    greedy_checkpoints,
    greedy_grid_deltas,
    greedy_grid_results,
    sqrtn_checkpoints,
)
from checkmate_opt.testing import assert_valid_schedule


def test_sqrtn_picks_every_kth_sorted_candidate() -> None:
    # 9 candidates -> k = 3 -> 1-based positions 3, 6, 9
    assert sqrtn_checkpoints(linear_graph(9)) == [2, 5, 8]
    # 10 candidates -> k = 3 -> positions 3, 6, 9 (the 10th is not a multiple of 3)
    assert sqrtn_checkpoints(linear_graph(10)) == [2, 5, 8]
    assert sqrtn_checkpoints(linear_graph(1)) == [0]


def test_sqrtn_linear4_by_hand() -> None:
    # C = [1, 3]; extra computes: node 2 before bwd(2) (stage 5), node 0 before bwd(0) (stage 7)
    g = linear_graph(4)
    r = chen_sqrtn(g)
    assert_valid_schedule(g, r)
    assert r.params["checkpoints"] == [1, 3]
    R = r.schedule.R
    assert {(int(t), int(i)) for t, i in np.argwhere(R & ~np.eye(9, dtype=bool))} == {
        (5, 2),
        (7, 0),
    }
    assert r.report.compute_cost == 11
    # stage 5 holds 1, 3, loss, the recomputed 2, and bwd(3)
    assert r.report.peak_activation_memory == 5
    assert chen_sqrtn_linearized(g).schedule == r.schedule  # chain: APs = all forward nodes


def test_sqrtn_candidates_on_test_net(test_net: Graph) -> None:
    # APs [0, 3, 4, 5] -> k = 2 -> [3, 5]; all forward [0..5] -> k = 2 -> [1, 3, 5]
    assert chen_sqrtn(test_net).params["checkpoints"] == [3, 5]
    lin = chen_sqrtn_linearized(test_net)
    assert lin.strategy == "chen_sqrtn_linearized"
    assert lin.params["checkpoints"] == [1, 3, 5]
    assert_valid_schedule(test_net, lin)


def test_greedy_rule_on_test_net(test_net: Graph) -> None:
    # AP candidates only: running sums 1, 2, 3 (1, 2 are not APs), 4 > 1.5 at AP 3 -> reset;
    # then 1 at 4, 2 > 1.5 at 5
    assert greedy_checkpoints(test_net, 1.5) == [3, 5]
    assert greedy_checkpoints(test_net, 1.5, use_articulation_points=False) == [1, 3, 5]
    # a strict ">" : a running sum equal to the segment size does not close it
    assert greedy_checkpoints(test_net, 2, use_articulation_points=False) == [2, 5]


def test_single_segment_needs_8_vs_6_for_checkpoint_all() -> None:
    # spec §5.1: on a unit 4-layer chain greedy with one segment keeps everything resident
    g = linear_graph(4)
    one = chen_greedy(g, segment_bytes=1000)
    assert one.params["checkpoints"] == []
    assert one.report.peak_activation_memory == 8
    assert one.report.compute_cost == 9
    every = chen_greedy(g, segment_bytes=0)
    assert every.params["checkpoints"] == [0, 1, 2, 3]
    assert every.report.peak_activation_memory == 6


def test_grid_values() -> None:
    sweep = greedy_grid_deltas("sweep")
    assert len(sweep) == 300
    assert sweep[0] == -1.0
    assert sweep[-1] == 1.99
    mb = greedy_grid_deltas("max_batch")
    assert len(mb) == 60
    assert mb[0] == -1.0
    assert mb[-1] == 1.95
    with pytest.raises(ValueError, match="unknown greedy grid"):
        greedy_grid_deltas("bogus")


def test_grid_distinct_sets_linear4() -> None:
    # A = 5 (√n-linearized peak), B = 5(1+d): B < 1 -> every node; [1,2) -> [1,3];
    # [2,3) -> [2]; [3,4) -> [3]; >= 4 -> one segment. 20 grid values each, 220 for the last
    g = linear_graph(4)
    res = greedy_grid_results(g)
    got = [(r.params["checkpoints"], r.params["grid_values"]) for r in res]
    assert got == [([0, 1, 2, 3], 20), ([1, 3], 20), ([2], 20), ([3], 20), ([], 220)]
    assert all(r.params["sqrtn_activation"] == 5 for r in res)
    assert res[1].params["delta"] == -0.8
    assert res[1].params["segment_bytes"] == 1.0


def test_greedy_c2_by_hand() -> None:
    # C = [2]: nodes 0, 1 recomputed at stage 6 for bwd(1), bwd(0); peak 5 at stage 6
    g = linear_graph(4)
    r = chen_greedy(g, segment_bytes=2)
    assert r.params["checkpoints"] == [2]
    assert r.report.compute_cost == 11
    assert r.report.peak_activation_memory == 5


@pytest.mark.parametrize(
    ("budget", "ckpts", "fits"),
    [
        (6, [0, 1, 2, 3], True),  # checkpoint-all cost 9 fits
        (5, [1, 3], True),  # [1,3] and [2] both (11, 5): the earlier grid value wins
        (4, [1, 3], False),  # nothing fits: the lowest-memory one
        (None, [1, 3], True),  # no budget: the lowest-memory one
    ],
)
def test_greedy_selection(budget: int | None, ckpts: list[int], fits: bool) -> None:
    g = linear_graph(4)
    r = chen_greedy(g, budget)
    assert r.params["checkpoints"] == ckpts
    assert r.within_budget is fits
    assert r.budget == budget
    assert_valid_schedule(g, r)


def test_greedy_linearized_and_max_batch_grid(test_net: Graph) -> None:
    r = chen_greedy_linearized(test_net, 100, grid="max_batch")
    assert r.strategy == "chen_greedy_linearized"
    assert r.params["grid"] == "max_batch"
    assert r.report.compute_cost == test_net.total_compute  # ample budget: no recomputation
    assert_valid_schedule(test_net, r)


def test_bad_segment_size() -> None:
    with pytest.raises(ValueError, match="segment_bytes must be >= 0"):
        chen_greedy(linear_graph(2), segment_bytes=-1)


def test_registered() -> None:
    g = linear_graph(3)
    for name in ("chen_sqrtn", "chen_sqrtn_linearized", "chen_greedy", "chen_greedy_linearized"):
        r = solve(g, 5, strategy=name)
        assert r.strategy == name
        assert_valid_schedule(g, r)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        # spec §5.4: sorted order picks these (the artifact's set order differs on both)
        ("resnet50_b256_train", [5, 37, 69, 101, 131, 163]),
        ("vggunet_b32_train", [2, 30, 33]),
    ],
)
def test_sqrtn_sorted_picks_on_published_graphs(
    shared_graphs: Path, stem: str, expected: list[int]
) -> None:
    path = shared_graphs / f"{stem}.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    assert sqrtn_checkpoints(load_graph(path)) == expected
