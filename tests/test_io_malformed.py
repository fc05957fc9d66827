"""Malformed graph files: one GraphError naming the file and the field, never another exception.

Each case of the probe that once gave a traceback is a regression test below; a hypothesis test
mutates files of every schema the loader reads and checks the same promise at large.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkmate_opt.errors import GraphError
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.graph import MAX_NODES, Graph
from checkmate_opt.io import graph_to_node_link, load_graph


def _own() -> dict[str, Any]:
    """Our own schema (explicit forward map, edge positions)."""
    return graph_to_node_link(linear_graph(3))


def _checkmate() -> dict[str, Any]:
    """The published Checkmate schema: no forward map, mirrored gradients, plain edges."""
    data = graph_to_node_link(linear_graph(3))
    data["graph"] = {"name": "vgg-like"}
    for link in data["links"]:
        del link["arg"]
    return data


def _layered() -> dict[str, Any]:
    """The random layered schema: duration/out_cost/param_cost, an 'order', edges "0"/"1"."""
    g = random_layered_graph(6, seed=1)
    order = list(range(g.n))[::-1]  # ids renamed so that the file's order matters
    return {
        "directed": True,
        "graph": {"name": "layered", "order": [order[v] for v in range(g.n)]},
        "nodes": [
            {"name": order[v], "duration": g.compute_cost[v], "out_cost": g.memory_cost[v]}
            | {"param_cost": 1}
            for v in range(g.n)
        ],
        "edges": [{"0": order[u], "1": order[v]} for u, v in g.edges],
    }


BASES = {"own": _own, "checkmate": _checkmate, "layered": _layered}


def _load(tmp_path: Path, data: Any, name: str = "g.json") -> Graph:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_graph(path)


def test_bases_load(tmp_path: Path) -> None:
    for kind, make in BASES.items():
        g = _load(tmp_path, make())
        assert g.n >= 3, kind
    assert _load(tmp_path, _layered()).parameter_bytes == _layered_n()  # one byte per node


def _layered_n() -> int:
    return len(_layered()["nodes"])


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _set_all_nodes(key: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        for node in d["nodes"]:
            node[key] = value

    return mutate


# (schema, mutation, words the one error line must contain)
CASES = {
    "edge endpoint is a list": ("checkmate", _set(("links", 0, "source"), [1]), "edge 0"),
    "edge endpoint is an object": ("checkmate", _set(("links", 0, "target"), {"a": 1}), "edge 0"),
    "edge endpoint is a bool": ("own", _set(("links", 0, "source"), True), "edge 0"),
    "edge arg is a string": ("own", _set(("links", 0, "arg"), "x"), "'arg'"),
    "forward_to_backward is 5": ("own", _set(("graph", "forward_to_backward"), 5), "forward_to"),
    "forward_to_backward has null": (
        "own",
        _set(("graph", "forward_to_backward"), [[None, 6]]),
        "forward_to_backward",
    ),
    "loss is a list": ("own", _set(("graph", "loss"), [3]), "'loss'"),
    "parameter_bytes is a list": ("own", _set(("graph", "parameter_bytes"), [1]), "parameter_b"),
    "parameter_bytes is 1e30": ("own", _set(("graph", "parameter_bytes"), 1e30), "too large"),
    "backward is a string": ("own", _set(("nodes", 0, "backward"), "no"), "'backward'"),
    "layered order is 5": ("layered", _set(("graph", "order"), 5), "'order'"),
    "layered order is a bad string": ("layered", _set(("graph", "order"), "[[[" * 50), "'order'"),
    "layered param_cost is Infinity": (
        "layered",
        _set(("nodes", 0, "param_cost"), math.inf),
        "param_cost",
    ),
    "layered duration is a list": ("layered", _set(("nodes", 1, "duration"), [1]), "duration"),
    "cost_ram is 1e30": ("checkmate", _set(("nodes", 0, "cost_ram"), 1e30), "cost_ram"),
    "cost_ram sums overflow int64": (
        "checkmate",
        _set_all_nodes("cost_ram", 2 * 10**18),
        "memory costs are too large",
    ),
    "cost_cpu is 1e30": ("checkmate", _set(("nodes", 0, "cost_cpu"), 1e30), "cost_cpu"),
    "cost_cpu is 10**400": ("checkmate", _set(("nodes", 0, "cost_cpu"), 10**400), "cost_cpu"),
    "cost_cpu sums overflow a schedule's cost": (
        "checkmate",
        _set_all_nodes("cost_cpu", 10**18),
        "compute costs are too large",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_field_is_one_graph_error_naming_file_and_field(
    tmp_path: Path, case: str
) -> None:
    kind, mutate, words = CASES[case]
    data = BASES[kind]()
    mutate(data)
    with pytest.raises(GraphError) as info:
        _load(tmp_path, data, name="bad_file.json")
    msg = str(info.value)
    assert "bad_file.json" in msg
    assert words in msg
    assert "\n" not in msg


def test_deeply_nested_json_is_a_graph_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(GraphError, match=r"deep.json.*nested too deeply"):
        load_graph(path)


def test_non_utf8_file_is_a_graph_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(_own()).replace('"name"', '"n\xe9me"', 1).encode("latin-1"))
    with pytest.raises(GraphError, match=r"latin1.json.*UTF-8"):
        load_graph(path)


def test_graph_over_the_node_limit_is_refused_before_any_matrix(tmp_path: Path) -> None:
    n = MAX_NODES + 1
    data = {
        "nodes": [{"id": i, "cost_cpu": 1, "cost_ram": 1} for i in range(n)],
        "links": [{"source": i, "target": i + 1} for i in range(n - 1)],
    }
    with pytest.raises(GraphError, match=f"big.json.*{n} nodes.*at most {MAX_NODES}"):
        _load(tmp_path, data, name="big.json")


def test_graph_over_the_edge_limit_is_refused(tmp_path: Path) -> None:
    from checkmate_opt.io import MAX_EDGES

    data = _own()
    data["links"] = [{"source": 0, "target": 1}] * (MAX_EDGES + 1)
    with pytest.raises(GraphError, match=r"dense\.json.*edges; at most"):
        _load(tmp_path, data, name="dense.json")


def test_graph_errors_from_the_graph_itself_name_the_file(tmp_path: Path) -> None:
    data = _own()
    data["links"].append({"source": 5, "target": 1})  # a cycle
    with pytest.raises(GraphError, match=r"cyc\.json: the graph has a cycle"):
        _load(tmp_path, data, name="cyc.json")


# ------------------------------------------------------------------ mutation fuzzing

_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(data, list):
        for k, v in enumerate(data):
            out.extend(_paths(v, (*prefix, k)))
    return out


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    data = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))]())
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(_json)
    text = json.dumps(data)
    if draw(st.booleans()):  # damage the bytes too: truncate or insert a stray byte
        raw = text.encode()
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.binary(max_size=2))
    return text.encode()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=mutated_files())
def test_mutated_graph_files_load_or_raise_graph_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "mutant.json"
    path.write_bytes(raw)
    try:
        g = load_graph(path)
    except GraphError as err:
        message = str(err)
    else:
        message = ""
    if message:
        assert "mutant.json" in message
        return
    # a graph that loads is a valid graph: every field within the representable range
    assert isinstance(g, Graph)
    assert all(isinstance(c, int) and c >= 0 for c in (*g.compute_cost, *g.memory_cost))
    assert sum(g.memory_cost) + g.fixed_memory < 2**63


def test_cli_reports_malformed_file_in_one_line(tmp_path: Path) -> None:
    data = _checkmate()
    data["nodes"][0]["cost_ram"] = 1e30
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    proc = subprocess.run(
        [sys.executable, "-m", "checkmate_opt", "solve", str(path), "--strategy", "checkpoint_all"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "bad.json" in lines[0]
    assert "cost_ram" in lines[0]
