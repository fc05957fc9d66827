"""Graph files: node-link JSON round trips, the shared benchmark graphs, malformed files."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given

from checkmate_opt.errors import GraphError, OutputError
from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph, training_graph
from checkmate_opt.io import graph_from_node_link, graph_to_node_link, load_graph, save_graph
from hypothesis_graphs import dags, training_graphs


def _same_graph(a: Graph, b: Graph) -> None:
    assert a.args == b.args
    assert a.compute_cost == b.compute_cost
    assert a.memory_cost == b.memory_cost
    assert a.forward_to_backward == b.forward_to_backward
    assert a.loss == b.loss
    assert a.parameter_bytes == b.parameter_bytes
    assert a.names == b.names
    assert a.name == b.name


def _example_graphs() -> list[Graph]:
    return [
        linear_graph(3),
        training_graph(
            [[], [0], [0], [1, 2]],
            [3, 5, 7, 11],
            [100, 200, 300, 400],
            names=["in", "left", "right", "join"],
            parameter_bytes=12345,
            loss_compute=1,
            name="branchy",
        ),
        Graph(args=((), (), (1, 0)), compute_cost=(1, 2, 3), memory_cost=(4, 5, 6)),
    ]


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("graph", _example_graphs(), ids=lambda g: g.name or "plain")
def test_save_load_round_trip(tmp_path, graph):
    path = tmp_path / "sub" / "g.json"  # save_graph creates missing parent folders
    save_graph(graph, path)
    loaded = load_graph(path)
    if not graph.name:
        assert loaded.name == "g"  # an unnamed graph takes the file's stem
        loaded = loaded.with_costs(name="")
    _same_graph(graph, loaded)
    assert sorted(p.name for p in path.parent.iterdir()) == ["g.json"]  # no temp file left


def test_argument_order_survives_a_round_trip(tmp_path):
    # node 2 consumes 1 then 0: the order of args is kept (the "arg" edge attribute)
    g = Graph(args=((), (), (1, 0)), compute_cost=(1, 1, 1), memory_cost=(1, 1, 1))
    save_graph(g, tmp_path / "g.json")
    assert load_graph(tmp_path / "g.json").args[2] == (1, 0)


def test_save_overwrites_atomically(tmp_path):
    path = tmp_path / "g.json"
    save_graph(linear_graph(2), path)
    save_graph(linear_graph(5), path)
    assert load_graph(path).n == 11
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]


def test_save_failure_leaves_no_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the file should go
    with pytest.raises(OutputError, match="is a folder"):
        save_graph(linear_graph(2), target)
    assert target.is_dir()
    assert list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


@given(training_graphs())
def test_node_link_round_trip_training(graph):
    data = json.loads(json.dumps(graph_to_node_link(graph)))
    _same_graph(graph, graph_from_node_link(data))


@given(dags())
def test_node_link_round_trip_plain(graph):
    data = json.loads(json.dumps(graph_to_node_link(graph)))
    _same_graph(graph, graph_from_node_link(data))


@pytest.mark.parametrize("graph", _example_graphs(), ids=lambda g: g.name or "plain")
def test_networkx_reads_our_files(tmp_path, graph):
    save_graph(graph, tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text())
    nxg = nx.node_link_graph(data, edges="links")
    assert nxg.is_directed()
    assert nxg.number_of_nodes() == graph.n
    assert set(nxg.edges) == set(graph.edges)
    assert nx.is_directed_acyclic_graph(nxg)
    for v in range(graph.n):
        assert nxg.nodes[v]["cost_cpu"] == graph.compute_cost[v]
        assert nxg.nodes[v]["cost_ram"] == graph.memory_cost[v]
        assert nxg.nodes[v]["name"] == graph.names[v]
    # and what networkx writes back is readable again
    for key in ("links", "edges"):  # networkx writes either key
        again = graph_from_node_link(nx.node_link_data(nxg, edges=key), default_name="g")
        assert set(again.edges) == set(graph.edges)
        assert again.compute_cost == graph.compute_cost


# ------------------------------------------------------------------ the shared graphs

#: node / edge counts from shared/graphs/README.md
TRAIN_COUNTS = {
    "vgg16_b256_train.json": (45, 87),
    "vgg19_b256_train.json": (51, 99),
    "mobilenet_b512_train.json": (185, 367),
    "resnet50_b256_train.json": (353, 751),
    "fcn8vgg_b32_train.json": (73, 149),
    "segnet_b32_train.json": (77, 151),
    "vggunet_b32_train.json": (71, 148),
}
LAYERED_COUNTS = {
    "random_layered_n100.json": (100, 236),
    "random_layered_n250.json": (250, 944),
    "random_layered_n500.json": (500, 2461),
    "random_layered_n1000.json": (1000, 5875),
}


@pytest.mark.parametrize(("fname", "counts"), TRAIN_COUNTS.items())
def test_shared_training_graphs(shared_graphs, fname, counts):
    path = shared_graphs / fname
    g = load_graph(path)
    assert (g.n, len(g.edges)) == counts
    # forward 0..L-1, loss L, gradients mirrored (the README's layout)
    L = (g.n - 1) // 2
    assert g.loss == L
    assert g.is_training_graph
    assert g.forward_to_backward == {i: g.n - 1 - i for i in range(L)}
    raw = json.loads(path.read_text())
    by_id = {node["id"]: node for node in raw["nodes"]}
    assert g.compute_cost == tuple(by_id[v]["cost_cpu"] for v in range(g.n))
    assert g.memory_cost == tuple(by_id[v]["cost_ram"] for v in range(g.n))
    assert g.names == tuple(by_id[v]["name"] for v in range(g.n))
    assert set(g.edges) == {(e["source"], e["target"]) for e in raw["links"]}
    assert g.parameter_bytes == 0  # not stored in these files


@pytest.mark.parametrize("fname", [f.replace("train", "inference") for f in TRAIN_COUNTS])
def test_shared_inference_graphs(shared_graphs, fname):
    g = load_graph(shared_graphs / fname)
    train = load_graph(shared_graphs / fname.replace("inference", "train"))
    assert 22 <= g.n <= 176
    assert 21 <= len(g.edges) <= 191
    assert g.loss is None
    assert g.forward_to_backward == {}
    assert g.forward_nodes == tuple(range(g.n))
    assert g.n == train.loss  # same model, forward only


@pytest.mark.parametrize(("fname", "counts"), LAYERED_COUNTS.items())
def test_shared_layered_graphs(shared_graphs, fname, counts):
    path = shared_graphs / fname
    g = load_graph(path)
    assert (g.n, len(g.edges)) == counts
    raw = json.loads(path.read_text())
    attrs = raw["graph"]
    order_raw = attrs["order"]  # a list, or a string holding one
    if isinstance(order_raw, str):
        order_raw = ast.literal_eval(order_raw)
    order = [str(x) for x in order_raw]
    # ids follow the file's "order"; costs, names and edges are carried over by name
    nodes = {str(node.get("id", node.get("name"))): node for node in raw["nodes"]}
    assert g.names == tuple(str(nodes[k].get("name", k)) for k in order)
    assert g.compute_cost == tuple(nodes[k]["duration"] for k in order)
    assert g.memory_cost == tuple(nodes[k]["out_cost"] for k in order)
    assert g.parameter_bytes == sum(int(nd.get("param_cost") or 0) for nd in raw["nodes"])
    pos = {k: i for i, k in enumerate(order)}
    assert set(g.edges) == {(pos[str(e["0"])], pos[str(e["1"])]) for e in raw["links"]}
    assert g.loss is None


# ------------------------------------------------------------------ malformed files


def _good_data() -> dict:
    return graph_to_node_link(linear_graph(2))


def _write(tmp_path: Path, content: object, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(GraphError) as err:
        load_graph(path)
    msg = str(err.value)
    assert str(path) in msg  # every file error names the file
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.json", "cannot read")


@pytest.mark.parametrize("text", ["{nope", "", "[1, 2", "nodes: []"])
def test_not_json(tmp_path, text):
    _expect_error(_write(tmp_path, text), "not valid JSON")


@pytest.mark.parametrize("content", [[1, 2], {"links": []}, {"nodes": "x"}, 3])
def test_json_that_is_not_node_link(tmp_path, content):
    _expect_error(_write(tmp_path, content), "not a node-link graph")


def test_empty_node_list(tmp_path):
    _expect_error(_write(tmp_path, {"nodes": [], "links": []}), "empty")


@pytest.mark.parametrize("attr", ["cost_cpu", "cost_ram", "id"])
def test_missing_node_attribute(tmp_path, attr):
    data = _good_data()
    del data["nodes"][3][attr]
    where = "node entry 3" if attr == "id" else "node 3"
    _expect_error(_write(tmp_path, data), where, repr(attr))


def test_missing_links(tmp_path):
    data = _good_data()
    del data["links"]
    _expect_error(_write(tmp_path, data), "no 'links'")


def test_cycle_in_file(tmp_path):
    data = _good_data()
    data["links"].append({"source": 4, "target": 0})  # 0 -> ... -> 4 -> 0
    _expect_error(_write(tmp_path, data), "cycle")


def test_dangling_edge(tmp_path):
    data = _good_data()
    data["links"].append({"source": 1, "target": 7})
    _expect_error(_write(tmp_path, data), "unknown node 7")


def test_duplicate_edge(tmp_path):
    data = _good_data()
    data["links"].append({"source": 0, "target": 1})
    _expect_error(_write(tmp_path, data), "node 1", "duplicate")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(-4, "cost_ram must be >= 0"), (2.5, "must be an integer"), ("8", "must be a number")],
)
def test_bad_memory_value(tmp_path, value, fragment):
    data = _good_data()
    data["nodes"][2]["cost_ram"] = value
    _expect_error(_write(tmp_path, data), "node 2", fragment)


def test_nan_cost(tmp_path):
    data = _good_data()
    data["nodes"][1]["cost_cpu"] = float("nan")  # json.dumps writes NaN, json.loads reads it
    _expect_error(_write(tmp_path, data), "node 1", "finite")


def test_ids_not_topological_in_file(tmp_path):
    # node 0 consumes node 1: acyclic but the ids are not a topological order
    data = {
        "directed": True,
        "nodes": [{"id": i, "cost_cpu": 1, "cost_ram": 1} for i in range(2)],
        "links": [{"source": 1, "target": 0}],
    }
    _expect_error(_write(tmp_path, data), "topological order", "node 0 depends on node 1")


def test_ids_not_zero_based(tmp_path):
    data = _good_data()
    data["nodes"][0]["id"] = 9
    for e in data["links"]:
        e["source"] = 9 if e["source"] == 0 else e["source"]
    _expect_error(_write(tmp_path, data), "node ids must be 0..4")


def test_duplicate_node_id(tmp_path):
    data = _good_data()
    data["nodes"][1]["id"] = 0
    _expect_error(_write(tmp_path, data), "node id 0 appears twice")


def test_unknown_training_layout(tmp_path):
    # two forward and two backward nodes: not forward 0..L-1, loss L, L gradients
    data = {
        "nodes": [{"id": i, "cost_cpu": 1, "cost_ram": 1, "backward": i >= 2} for i in range(4)],
        "links": [{"source": i, "target": i + 1} for i in range(3)],
    }
    _expect_error(_write(tmp_path, data), "training structure")


def _layered_data() -> dict:
    return {
        "directed": True,
        "graph": {"name": "tiny", "order": "['a', 'b', 'c']"},
        "nodes": [
            {"id": "b", "duration": 2, "out_cost": 20, "param_cost": 1},
            {"id": "a", "duration": 1, "out_cost": 10, "param_cost": 2},
            {"id": "c", "duration": 3, "out_cost": 30, "param_cost": 0},
        ],
        "links": [{"0": "a", "1": "b"}, {"0": "b", "1": "c"}, {"0": "a", "1": "c"}],
    }


def test_layered_schema_reorders_by_order(tmp_path):
    g = load_graph(_write(tmp_path, _layered_data()))
    assert g.names == ("a", "b", "c")
    assert g.compute_cost == (1, 2, 3)
    assert g.memory_cost == (10, 20, 30)
    assert g.args == ((), (0,), (0, 1))
    assert g.parameter_bytes == 3
    assert g.name == "tiny"


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["nodes"][0].pop("duration"), "no 'duration' attribute"),
        (lambda d: d["nodes"][2].update(out_cost=-1), "out_cost must be >= 0"),
        (lambda d: d["graph"].update(order="['a', 'b', 'zz']"), "unknown node 'zz'"),
        (lambda d: d["graph"].update(order="['a', 'b']"), "every node exactly once"),
        (lambda d: d["graph"].update(order="not a list ["), "'order' is not a list"),
        (lambda d: d["links"].append({"0": "c", "1": "q"}), "unknown node 'q'"),
        (lambda d: d["links"].append({"0": "c", "1": "a"}), "cycle"),
        (lambda d: d["graph"].update(order="['c', 'b', 'a']"), "topological order"),
        (lambda d: d["links"].append({"0": "a", "1": "b"}), "appears twice"),
    ],
)
def test_malformed_layered_files(tmp_path, mutate, fragment):
    data = _layered_data()
    mutate(data)
    _expect_error(_write(tmp_path, data), fragment)
