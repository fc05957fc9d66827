"""The graph model: validation, derived views, articulation points, the training-graph builder.

Expected values are derived by hand from spec §1.1 and §2.2 (comments say how).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given

from checkmate_opt.errors import GraphError
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.graph import Graph, training_graph
from hypothesis_graphs import dags, forward_dags, training_graphs

#: spec §2.2 "test" network: Input -> in_conv -> {conv1, conv2} -> add -> GAP -> dense
TEST_NET_ARGS = [[], [0], [0], [1, 2], [3], [4]]


def _graph(args, compute=None, memory=None, **kw):
    n = len(args)
    return Graph(
        args=args,
        compute_cost=(1,) * n if compute is None else compute,
        memory_cost=(1,) * n if memory is None else memory,
        **kw,
    )


# ------------------------------------------------------------------ validation


def test_empty_graph_is_rejected():
    with pytest.raises(GraphError, match="empty"):
        Graph(args=(), compute_cost=(), memory_cost=())


def test_graph_error_is_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        Graph(args=(), compute_cost=(), memory_cost=())


@pytest.mark.parametrize(
    "args",
    [
        ((1,), (0,)),
        ((), (1,)),  # a self-loop
        ((2,), (0,), (1,)),
        ((), (0, 3), (1,), (2,)),
    ],
)
def test_cycle_is_rejected_and_named_in_data_flow_order(args):
    with pytest.raises(GraphError, match="cycle") as err:
        _graph(args)
    path = str(err.value).split("cycle: ")[1].split(" (")[0]
    nodes = [int(x) for x in path.split(" -> ")]
    assert nodes[0] == nodes[-1]
    assert len(nodes) >= 2
    for a, b in itertools.pairwise(nodes):  # "a -> b": b consumes a, as in graph files
        assert a in args[b], (path, a, b)


def test_cycle_message_exact():
    # data flow 2 -> 0 -> 1 -> 2 (node 0 consumes 2, 1 consumes 0, 2 consumes 1)
    with pytest.raises(GraphError, match=r"cycle: 0 -> 1 -> 2 -> 0 \(a data-flow graph"):
        _graph(((2,), (0,), (1,)))


def test_ids_not_topological_are_rejected():
    # acyclic, but node 1 consumes node 2 which has a larger id
    with pytest.raises(GraphError, match="topological order") as err:
        _graph(((), (2,), ()))
    assert "node 1 depends on node 2" in str(err.value)


@pytest.mark.parametrize("bad", [5, -1])
def test_unknown_dependency_is_rejected(bad):
    with pytest.raises(GraphError, match=f"node 1 depends on unknown node {bad}"):
        _graph(((), (bad,)))


def test_duplicate_dependency_is_rejected():
    with pytest.raises(GraphError, match="node 2 lists dependency 0 twice"):
        _graph(((), (0,), (0, 1, 0)))


def test_non_integer_dependency_is_rejected():
    with pytest.raises(GraphError, match="integer node ids"):
        _graph(((), ("a",)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must be >= 0"),
        (math.nan, "must be finite"),
        (math.inf, "must be finite"),
        (1.5, "must be an integer"),
        ("3", "must be a number"),
        (None, "must be a number"),
        (True, "must be a number"),
    ],
)
@pytest.mark.parametrize("field", ["compute_cost", "memory_cost"])
def test_bad_costs_are_rejected_naming_node_and_field(field, value, message):
    costs = {"compute_cost": [1, 1, 1], "memory_cost": [1, 1, 1]}
    costs[field][2] = value
    with pytest.raises(GraphError, match=message) as err:
        Graph(args=((), (0,), (1,)), **costs)
    assert f"node 2: {field}" in str(err.value)


def test_integral_float_and_numpy_costs_become_ints():
    g = Graph(args=((), (0,)), compute_cost=(2.0, np.int64(3)), memory_cost=(np.float32(4), 5))
    assert g.compute_cost == (2, 3)
    assert g.memory_cost == (4, 5)
    assert all(type(c) is int for c in (*g.compute_cost, *g.memory_cost))


@pytest.mark.parametrize("field", ["compute_cost", "memory_cost"])
def test_cost_length_must_match(field):
    costs = {"compute_cost": (1, 1), "memory_cost": (1, 1)}
    costs[field] = (1, 1, 1)
    with pytest.raises(GraphError, match=f"{field} has 3 entries for 2 nodes"):
        Graph(args=((), (0,)), **costs)


def test_negative_parameter_bytes_rejected():
    with pytest.raises(GraphError, match="parameter_bytes must be >= 0"):
        _graph(((),), parameter_bytes=-8)


@pytest.mark.parametrize(
    ("fmap", "loss", "message"),
    [
        ({0: 5}, None, "outside"),
        ({1: 0}, None, "must come after it"),
        ({0: 2, 1: 2}, None, "two forward nodes"),
        ({0: 1, 1: 2}, None, "both a forward node and a gradient node"),
        ({0: 2}, 0, "cannot be a forward or gradient node"),
        ({0: 2}, 9, "outside"),
    ],
)
def test_bad_forward_map_or_loss_rejected(fmap, loss, message):
    with pytest.raises(GraphError, match=message):
        _graph(((), (0,), (0, 1)), forward_to_backward=fmap, loss=loss)


def test_names_length_must_match():
    with pytest.raises(GraphError, match="names has 1 entries for 2 nodes"):
        _graph(((), (0,)), names=("a",))


def test_graph_is_frozen_and_arrays_read_only():
    g = linear_graph(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.args = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        g.compute_array[0] = 7
    with pytest.raises(ValueError, match="read-only"):
        g.memory_array[0] = 7


def test_with_costs_revalidates_and_keeps_structure():
    g = linear_graph(2)
    h = g.with_costs(memory_cost=[2, 3, 4, 5, 6], parameter_bytes=10)
    assert h.args == g.args
    assert h.forward_to_backward == g.forward_to_backward
    assert h.memory_cost == (2, 3, 4, 5, 6)
    assert h.compute_cost == g.compute_cost
    assert h.fixed_memory == 20
    with pytest.raises(GraphError, match="node 0: compute_cost must be >= 0"):
        g.with_costs(compute_cost=[-1, 1, 1, 1, 1])


# ------------------------------------------------------------------ derived views


def test_edges_are_ordered_by_consumer_then_argument():
    # linear_graph(2): args 1:(0), 2:(1), 3:(1,2), 4:(0,3)
    g = linear_graph(2)
    assert g.edges == ((0, 1), (1, 2), (1, 3), (2, 3), (0, 4), (3, 4))
    assert g.edge_index() == {e: k for k, e in enumerate(g.edges)}


def test_successors_predecessors_and_splits():
    g = linear_graph(2)
    assert g.successors == ((1, 4), (2, 3), (3,), (4,), ())
    assert g.predecessors[4] == frozenset({0, 3})
    assert g.forward_nodes == (0, 1)
    assert g.backward_nodes == (2, 3, 4)  # the loss counts as backward (spec §1.1)
    assert g.backward_to_forward == {4: 0, 3: 1}
    assert g.is_forward.tolist() == [True, True, False, False, False]
    assert g.forward_edges == ((0, 1),)  # 1 -> loss is not a forward edge


def test_plain_dag_is_all_forward_and_not_training():
    g = _graph(((), (0,), (0, 1)))
    assert g.forward_nodes == (0, 1, 2)
    assert g.backward_nodes == ()
    assert not g.is_training_graph
    assert g.names == ("node0", "node1", "node2")


def test_cost_totals_fixed_memory_and_degree_memory():
    # node 2 consumes 0 and 1: inputs 5 + 7, output 11 -> 23 is the largest footprint
    g = Graph(
        args=((), (0,), (0, 1)),
        compute_cost=(1, 2, 3),
        memory_cost=(5, 7, 11),
        parameter_bytes=100,
    )
    assert g.total_compute == 6
    assert g.total_memory == 23
    assert g.fixed_memory == 200
    assert g.max_degree_memory() == 23
    assert g.min_feasible_memory() == 23


def test_degree_memory_on_linear_graph():
    # forward node i>0: input + output = 2; gradient nodes: 2 inputs + output = 3
    g = linear_graph(4)
    assert g.max_degree_memory() == 2
    assert g.min_feasible_memory() == 3
    assert linear_graph(1).max_degree_memory() == 1  # node 0 alone has no inputs


@given(dags())
def test_degree_memory_bounds(g):
    assert g.max_degree_memory() <= g.min_feasible_memory() <= g.total_memory


# ------------------------------------------------------------------ articulation points


@pytest.mark.parametrize("num_layers", [1, 2, 3, 7])
def test_articulation_points_of_a_chain_are_every_forward_node(num_layers):
    # virtual source before 0 and sink after N-1 make the chain's ends cut vertices too
    assert linear_graph(num_layers).articulation_points == tuple(range(num_layers))


def test_articulation_points_of_a_residual_block_are_its_boundaries():
    # 0 -> 1 -> 2 -> 3(add, also fed by 0) -> 4: removing 1 or 2 leaves 0-3 connected
    g = training_graph([[], [0], [1], [0, 2], [3]], [1] * 5, [1] * 5)
    assert g.articulation_points == (0, 3, 4)


def test_articulation_points_of_the_spec_test_net():
    g = training_graph(TEST_NET_ARGS, [1] * 6, [1] * 6)
    assert g.articulation_points == (0, 3, 4, 5)


def test_articulation_points_of_a_plain_diamond():
    g = _graph(((), (0,), (0,), (1, 2)))
    assert g.articulation_points == (0, 3)


def test_articulation_points_count_isolated_vertices():
    # 0 and 1 both feed 2; the virtual source hangs on 0 only. Removing 0 isolates the
    # source; removing 1 leaves source-0-2-sink connected; removing 2 splits three ways.
    g = _graph(((), (), (0, 1)))
    assert g.articulation_points == (0, 2)


# ------------------------------------------------------------------ linear_graph


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4, 10])
def test_linear_graph_structure(num_layers):
    N = num_layers
    g = linear_graph(N)
    assert g.n == 2 * N + 1
    assert len(g.edges) == 3 * N
    assert g.loss == N
    assert g.forward_to_backward == {i: 2 * N - i for i in range(N)}
    assert g.args[0] == ()
    for v in range(1, N + 1):  # forward chain and last layer -> loss
        assert g.args[v] == (v - 1,)
    for i in range(N):  # gradient of i: forward input first, then the previous gradient
        assert g.args[2 * N - i] == (i, 2 * N - i - 1)
    assert g.compute_cost == (1,) * g.n
    assert g.memory_cost == (1,) * g.n
    assert g.is_training_graph
    assert g.names[N] == "Loss"
    assert g.total_compute == 2 * N + 1


@pytest.mark.parametrize("bad", [0, -3])
def test_linear_graph_needs_a_layer(bad):
    with pytest.raises(GraphError, match="at least 1 layer"):
        linear_graph(bad)


# ------------------------------------------------------------------ training_graph


def test_training_graph_spec_test_net_exactly():
    g = training_graph(TEST_NET_ARGS, [1] * 6, [1] * 6)
    assert g.n == 13
    assert g.loss == 6
    assert g.forward_to_backward == {i: 12 - i for i in range(6)}
    expected = {
        1: (0,),
        2: (0,),
        3: (1, 2),
        4: (3,),
        5: (4,),
        6: (5,),
        7: (6, 5),
        8: (4, 5, 7),
        9: (3, 4, 8),
        10: (2, 3, 9),
        11: (1, 3, 9),
        12: (0, 1, 2, 11, 10),
    }
    assert g.args[0] == ()
    for v, deps in expected.items():
        assert g.args[v] == deps, v
    assert len(g.edges) == 26  # 3 * 6 forward edges + 6 layers + 2
    assert g.is_training_graph


@pytest.mark.parametrize("num_layers", [1, 2, 5, 9])
def test_training_graph_chain_edge_count(num_layers):
    L = num_layers
    g = training_graph([[]] + [[i - 1] for i in range(1, L)], [1] * L, [1] * L)
    assert len(g.edges) == 4 * L - 1


def _expected_training_edges(fargs):
    L = len(fargs)
    n = 2 * L + 1

    def bwd(i):
        return n - 1 - i

    edges = {(L - 1, L), (L, bwd(L - 1))}
    for i, deps in enumerate(fargs):
        edges.add((i, bwd(i)))
        for j in deps:
            edges |= {(j, i), (bwd(i), bwd(j)), (i, bwd(j))}
    return edges


@given(forward_dags(max_layers=8))
def test_training_graph_edge_rules(fargs):
    L = len(fargs)
    g = training_graph(fargs, [1] * L, [1] * L)
    num_fwd_edges = sum(len(set(d)) for d in fargs)
    assert g.n == 2 * L + 1
    assert len(g.edges) == 3 * num_fwd_edges + L + 2
    assert set(g.edges) == _expected_training_edges(fargs)
    assert g.forward_edges == tuple((j, i) for i, d in enumerate(fargs) for j in d)
    assert g.is_training_graph


@given(training_graphs())
def test_training_graph_argument_order(g):
    # every gradient node lists forward-type inputs (loss, forward nodes) before gradients
    L = g.loss
    for b in range(L + 1, g.n):
        deps = g.args[b]
        kinds = [u > L for u in deps]  # True for gradient inputs
        assert kinds == sorted(kinds), (b, deps)
        f = g.backward_to_forward[b]
        assert deps[1 if f == L - 1 else 0] == f  # its own forward output leads (after the loss)


def test_training_graph_costs_names_and_params():
    g = training_graph(
        [[], [0], [1]],
        [3, 5, 7],
        [10, 20, 30],
        names=["a", "b", "c"],
        parameter_bytes=64,
        loss_compute=2,
        loss_memory=8,
        name="tiny",
    )
    # ids: a b c Loss c_grad b_grad a_grad; default backward compute = 2 x forward
    assert g.compute_cost == (3, 5, 7, 2, 14, 10, 6)
    assert g.memory_cost == (10, 20, 30, 8, 30, 20, 10)
    assert g.names == ("a", "b", "c", "Loss", "c_grad", "b_grad", "a_grad")
    assert g.fixed_memory == 128
    assert g.name == "tiny"
    h = training_graph([[], [0]], [1, 1], [4, 4], backward_compute=[5, 9], backward_memory=[6, 7])
    assert h.compute_cost == (1, 1, 0, 9, 5)  # loss defaults to cost 0, memory 4
    assert h.memory_cost == (4, 4, 4, 7, 6)


def test_training_graph_merges_a_repeated_input():
    g = training_graph([[], [0, 0]], [1, 1], [1, 1])
    assert g.args[1] == (0,)
    assert len(g.edges) == 3 * 1 + 2 + 2


@pytest.mark.parametrize(
    ("fargs", "message"),
    [
        ([], "empty"),
        ([[], [1]], "topological order"),
        ([[], [2]], "unknown layer 2"),
        ([[], [-1]], "unknown layer -1"),
    ],
)
def test_training_graph_rejects_bad_forward_dags(fargs, message):
    n = len(fargs)
    with pytest.raises(GraphError, match=message):
        training_graph(fargs, [1] * n, [1] * n)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"forward_compute": [1]}, "forward_compute has 1 entries for 2 layers"),
        ({"forward_memory": [1, 1, 1]}, "forward_memory has 3 entries for 2 layers"),
        ({"names": ["x"]}, "names has 1 entries for 2 layers"),
        ({"backward_compute": [1]}, "one entry per layer"),
        ({"forward_memory": [1, -2]}, "memory_cost must be >= 0"),
    ],
)
def test_training_graph_rejects_bad_costs(kw, message):
    args = {"forward_compute": [1, 1], "forward_memory": [1, 1], **kw}
    with pytest.raises(GraphError, match=message):
        training_graph([[], [0]], **args)


def test_random_layered_graph_is_seeded_and_valid():
    a = random_layered_graph(12, seed=3)
    b = random_layered_graph(12, seed=3)
    assert a.args == b.args
    assert a.compute_cost == b.compute_cost
    assert a.n == 25
    assert a.is_training_graph
    assert all(1 <= c <= 10 for c in a.compute_cost[:12])
