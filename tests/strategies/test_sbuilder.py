"""The shared S builder (spec §5.1) against matrices worked out by hand from the four rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from checkmate_opt.errors import GraphError
from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import simulate
from checkmate_opt.strategies.sbuilder import fixed_checkpoint_s, implied_backward_s
from hypothesis_graphs import dags, training_graphs


def rows(S: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(r).tolist()) for r in S]


def test_implied_backward_on_linear2() -> None:
    # nodes: 0, 1 forward; 2 loss; 3 = bwd(1); 4 = bwd(0); backward edges (2,3), (3,4)
    S = implied_backward_s(linear_graph(2))
    assert {(int(t), int(i)) for t, i in zip(*S.nonzero(), strict=True)} == {(3, 2), (4, 3)}


def test_checkpoint_all_rows_linear4() -> None:
    # stripe keeps 0..3 from the stage after each is made; rules 1/2 add the gradient chain
    # and the loss; the last segment's ladder/forward block adds loss at stage 5 only
    S = fixed_checkpoint_s(linear_graph(4), [0, 1, 2, 3])
    assert rows(S) == [
        set(),
        {0},
        {0, 1},
        {0, 1, 2},
        {0, 1, 2, 3},
        {0, 1, 2, 3, 4},
        {0, 1, 2, 3, 5},
        {0, 1, 2, 3, 6},
        {0, 1, 2, 3, 7},
    ]


def test_single_segment_is_the_full_lower_triangle_linear4() -> None:
    # no checkpoint: one segment [0, 5); the ladder at stages 8..4 holds 0..4, the forward
    # block holds the prefix, the backward block holds gradients 5..7: everything is retained
    S = fixed_checkpoint_s(linear_graph(4), [])
    assert np.array_equal(S, np.tril(np.ones((9, 9), dtype=bool), -1))


def test_two_checkpoints_rows_linear4() -> None:
    # C = [1, 3]: segments [0,1), [1,3), [3,5)
    S = fixed_checkpoint_s(linear_graph(4), [3, 1])
    assert rows(S) == [
        set(),
        {0},
        {1},
        {1, 2},
        {1, 3},
        {1, 3, 4},
        {1, 2, 3, 5},  # ladder of x=2 brings 2 back for bwd(2) = 6
        {1, 2, 3, 6},
        {0, 1, 3, 7},  # ladder of x=0 brings 0 back for bwd(0) = 8
    ]


def test_generic_graph_without_training_structure() -> None:
    # chain 0 -> 1 -> 2, every node forward, C = [1]: rule 2 gives S[1,0], S[2,1]; the stripe
    # S[2,1]; forward blocks [0,1) at stage 1 -> S[1,0] and [1,3) at stage 2 -> S[2,1]
    g = Graph(args=((), (0,), (1,)), compute_cost=(1, 1, 1), memory_cost=(1, 1, 1))
    assert rows(fixed_checkpoint_s(g, [1])) == [set(), {0}, {1}]


def test_rejects_non_forward_checkpoint() -> None:
    with pytest.raises(GraphError, match="checkpoint 5 is not a forward node"):
        fixed_checkpoint_s(linear_graph(4), [1, 5])


@given(training_graphs())
def test_strictly_lower_triangular_and_simulates(g: Graph) -> None:
    fwd = list(g.forward_nodes)
    for ckpts in ([], fwd, fwd[::2], list(g.articulation_points)):
        S = fixed_checkpoint_s(g, ckpts)
        assert not np.triu(S).any()
        simulate(g, Schedule.from_s(g, S))
        for c in ckpts:  # the stripe
            assert S[c + 1 :, c].all()


@given(dags())
def test_generic_dags_simulate(g: Graph) -> None:
    for ckpts in ([], list(range(g.n)), list(g.articulation_points)):
        S = fixed_checkpoint_s(g, ckpts)
        assert not np.triu(S).any()
        simulate(g, Schedule.from_s(g, S))
