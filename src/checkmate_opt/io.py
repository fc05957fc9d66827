"""Reading and writing graph files (networkx node-link JSON).

Three schemas are read:

* our own files (written by :func:`save_graph`): node attributes ``id``, ``name``,
  ``backward``, ``cost_cpu``, ``cost_ram``, edges with an ``arg`` position, and graph
  attributes ``loss``, ``forward_to_backward`` and ``parameter_bytes``;
* the Checkmate training/inference graphs of ``shared/graphs`` (same node attributes, no
  forward map: it is inferred from the mirrored numbering ``bwd(i) = n-1-i``);
* the random layered graphs (``duration``, ``out_cost``, ``param_cost``, graph attribute
  ``order`` giving the topological order; edges keyed ``"0"``/``"1"``).
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from checkmate_opt.errors import GraphError
from checkmate_opt.graph import MAX_NODES, Graph, _check_int_costs

__all__ = ["graph_from_node_link", "graph_to_node_link", "load_graph", "save_graph"]


#: graph files larger than this are refused before they are read (a 20 000-node graph is ~2 MB)
MAX_FILE_BYTES = 512 * 2**20


def load_graph(path: str | os.PathLike[str]) -> Graph:
    """Read a graph file (any of the schemas above).

    Every field is checked where it is read: a wrong type, a value out of range or too large
    for the int64 arithmetic of the simulator and the MILP is an error naming the field.

    Raises
    ------
    GraphError
        Naming the file and the problem: unreadable, not UTF-8, not JSON, nested too deeply,
        too large, missing or malformed attributes, cycle, ...
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise GraphError(
                f"{p}: the file is {size} bytes; graph files above {MAX_FILE_BYTES} bytes are "
                f"refused (at most {MAX_NODES} nodes are supported)"
            )
        raw = p.read_bytes()
    except OSError as err:
        raise GraphError(f"{p}: cannot read the graph file ({err.strerror or err})") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GraphError(
            f"{p}: not UTF-8 text (byte {err.start}); graph files are UTF-8 JSON"
        ) from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise GraphError(f"{p}: not valid JSON ({err.msg} at line {err.lineno})") from err
    except RecursionError as err:
        raise GraphError(f"{p}: the JSON is nested too deeply to be a graph file") from err
    except (ValueError, MemoryError) as err:  # e.g. an integer literal of 5000 digits
        raise GraphError(f"{p}: cannot read the JSON ({str(err).splitlines()[0]})") from err
    try:
        return graph_from_node_link(data, default_name=p.stem)
    except GraphError as err:
        raise GraphError(f"{p}: {err}") from err
    except RecursionError as err:  # a deeply nested name or attribute reached by str()
        raise GraphError(f"{p}: an attribute is nested too deeply") from err


def save_graph(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` as node-link JSON, atomically (no partial file on failure)."""
    p = Path(path)
    data = graph_to_node_link(graph)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def graph_to_node_link(graph: Graph) -> dict[str, Any]:
    """The node-link dict of ``graph`` (readable by ``networkx.node_link_graph``)."""
    backward = set(graph.backward_nodes) if graph.forward_to_backward else set()
    nodes = [
        {
            "id": v,
            "name": graph.names[v],
            "backward": v in backward,
            "cost_cpu": graph.compute_cost[v],
            "cost_ram": graph.memory_cost[v],
        }
        for v in range(graph.n)
    ]
    links = [
        {"source": u, "target": v, "arg": k}
        for v, deps in enumerate(graph.args)
        for k, u in enumerate(deps)
    ]
    return {
        "directed": True,
        "multigraph": False,
        "graph": {
            "name": graph.name,
            "format": "checkmate_opt/1",
            "loss": graph.loss,
            "forward_to_backward": [[f, b] for f, b in graph.forward_to_backward.items()],
            "parameter_bytes": graph.parameter_bytes,
        },
        "nodes": nodes,
        "links": links,
    }


def _require(node: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in node:
        raise GraphError(f"{where} has no {key!r} attribute")
    return node[key]


def _edges(data: Mapping[str, Any]) -> list[tuple[Any, Any, int | None]]:
    raw = data.get("links", data.get("edges"))
    if not isinstance(raw, list):
        raise GraphError("no 'links' (or 'edges') list")
    out = []
    for k, e in enumerate(raw):
        if not isinstance(e, Mapping):
            raise GraphError(f"edge {k} is not an object")
        if "source" in e and "target" in e:
            pos = e.get("arg")
            if pos is not None and (isinstance(pos, bool) or not isinstance(pos, int)):
                raise GraphError(f"edge {k}: 'arg' must be an integer position, got {pos!r}")
            out.append((e["source"], e["target"], pos))
        elif "0" in e and "1" in e:
            out.append((e["0"], e["1"], None))
        else:
            raise GraphError(f"edge {k} has no 'source'/'target' keys")
    return out


def graph_from_node_link(data: Any, *, default_name: str = "") -> Graph:
    """Build a :class:`Graph` from a node-link dict of one of the supported schemas."""
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise GraphError("not a node-link graph: expected an object with a 'nodes' list")
    gattrs = data.get("graph") or {}
    if not isinstance(gattrs, Mapping):
        gattrs = {}
    nodes: list[Mapping[str, Any]] = data["nodes"]
    if not nodes:
        raise GraphError("the graph is empty: 'nodes' is an empty list")
    if len(nodes) > MAX_NODES:
        raise GraphError(
            f"the graph has {len(nodes)} nodes; at most {MAX_NODES} are supported (a schedule "
            "is two n x n matrices); split or coarsen the graph"
        )
    for k, node in enumerate(nodes):
        if not isinstance(node, Mapping):
            raise GraphError(f"node entry {k} is not an object")
    if "order" in gattrs or "duration" in nodes[0]:
        return _from_layered(data, gattrs, nodes, default_name)
    return _from_checkmate(data, gattrs, nodes, default_name)


def _from_checkmate(
    data: Mapping[str, Any],
    gattrs: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    default_name: str,
) -> Graph:
    n = len(nodes)
    by_id: dict[int, Mapping[str, Any]] = {}
    for k, node in enumerate(nodes):
        nid = _require(node, "id", f"node entry {k}")
        if isinstance(nid, bool) or not isinstance(nid, int):
            raise GraphError(f"node entry {k}: 'id' must be an integer, got {nid!r}")
        if nid in by_id:
            raise GraphError(f"node id {nid} appears twice")
        by_id[nid] = node
    if set(by_id) != set(range(n)):
        bad = sorted(set(by_id) - set(range(n)))[:3]
        raise GraphError(f"node ids must be 0..{n - 1}; found {bad}")
    compute, memory, names, backward = [], [], [], []
    for v in range(n):
        node = by_id[v]
        where = f"node {v}"
        compute.append(_require(node, "cost_cpu", where))
        memory.append(_require(node, "cost_ram", where))
        names.append(str(node.get("name", f"node{v}")))
        flag = node.get("backward", False)
        if flag not in (True, False):  # also accepts 0 and 1
            raise GraphError(f"{where}: 'backward' must be true or false, got {flag!r}")
        backward.append(bool(flag))
    _check_int_costs(compute, "cost_cpu", n)  # named as in the file
    _check_int_costs(memory, "cost_ram", n)
    args: list[list[int]] = [[] for _ in range(n)]
    keyed: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for k, (u, v, pos) in enumerate(_edges(data)):
        for end in (u, v):
            if isinstance(end, bool) or not isinstance(end, int):
                raise GraphError(f"edge {k}: an endpoint must be an integer node id, got {end!r}")
            if end not in by_id:
                raise GraphError(f"edge {k} ({u} -> {v}) refers to unknown node {end}")
        keyed[v].append((k if pos is None else pos, u))
    for v in range(n):
        args[v] = [u for _, u in sorted(keyed[v])]
        if len(set(args[v])) != len(args[v]):
            raise GraphError(f"node {v} has a duplicate incoming edge")
    fmap_raw = gattrs.get("forward_to_backward")
    loss = gattrs.get("loss")
    if loss is not None and (isinstance(loss, bool) or not isinstance(loss, int)):
        raise GraphError(f"graph attribute 'loss' must be a node id or null, got {loss!r}")
    if fmap_raw is not None:
        fmap = _forward_map(fmap_raw)
    else:
        fmap, loss = _infer_training_structure(backward)
    return Graph(
        args=tuple(tuple(a) for a in args),
        compute_cost=tuple(compute),
        memory_cost=tuple(memory),
        forward_to_backward=fmap,
        loss=loss,
        parameter_bytes=gattrs.get("parameter_bytes") or 0,
        names=tuple(names),
        name=str(gattrs.get("name") or default_name),
    )


def _forward_map(raw: Any) -> dict[int, int]:
    """The ``forward_to_backward`` attribute: a list of ``[forward, gradient]`` id pairs."""
    if not isinstance(raw, list):
        raise GraphError(
            f"graph attribute 'forward_to_backward' must be a list of [forward, gradient] "
            f"pairs, got {type(raw).__name__}"
        )
    fmap: dict[int, int] = {}
    for k, pair in enumerate(raw):
        ok = isinstance(pair, list) and len(pair) == 2
        if ok:
            ok = all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
        if not ok:
            raise GraphError(
                f"graph attribute 'forward_to_backward' entry {k} must be a pair of node ids "
                f"[forward, gradient], got {pair!r}"
            )
        fmap[pair[0]] = pair[1]
    return fmap


def _infer_training_structure(backward: Sequence[bool]) -> tuple[dict[int, int], int | None]:
    """Forward map and loss of a Checkmate file: forward ``0..L-1``, loss ``L``, mirrored grads."""
    n = len(backward)
    num_fwd = sum(1 for b in backward if not b)
    if num_fwd == n:
        return {}, None
    if 2 * num_fwd + 1 != n or any(backward[:num_fwd]) or not all(backward[num_fwd:]):
        raise GraphError(
            "cannot tell the training structure: expected forward nodes 0..L-1, the loss at L "
            "and L gradient nodes after it (n = 2L+1), marked with 'backward'"
        )
    return {i: n - 1 - i for i in range(num_fwd)}, num_fwd


def _from_layered(
    data: Mapping[str, Any],
    gattrs: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    default_name: str,
) -> Graph:
    keys = []
    for k, node in enumerate(nodes):
        keys.append(node.get("id", node.get("name", k)))
    if len(set(map(str, keys))) != len(keys):
        raise GraphError("two nodes share one name/id")
    index = {str(key): k for k, key in enumerate(keys)}
    order_raw = gattrs.get("order")
    if order_raw is None:
        order = list(range(len(nodes)))
    else:
        if isinstance(order_raw, str):
            try:
                order_raw = ast.literal_eval(order_raw)
            except (ValueError, SyntaxError) as err:
                raise GraphError(f"graph attribute 'order' is not a list: {err}") from err
            except (RecursionError, MemoryError, TypeError) as err:
                raise GraphError("graph attribute 'order' is not a readable list") from err
        if not isinstance(order_raw, list | tuple):
            raise GraphError(
                "graph attribute 'order' must be a list of node ids, got "
                f"{type(order_raw).__name__}"
            )
        order = []
        for key in order_raw:
            if str(key) not in index:
                raise GraphError(f"graph attribute 'order' names unknown node {key!r}")
            order.append(index[str(key)])
        if sorted(order) != list(range(len(nodes))):
            raise GraphError("graph attribute 'order' must list every node exactly once")
    position = {orig: new for new, orig in enumerate(order)}
    dur_tag = str(gattrs.get("node_duration_tag", "duration"))
    mem_tag = str(gattrs.get("node_output_cost_tag", "out_cost"))
    par_tag = str(gattrs.get("node_param_cost_tag", "param_cost"))
    n = len(nodes)
    compute = [0] * n
    memory = [0] * n
    names = [""] * n
    params: list[Any] = [0] * n
    for k, node in enumerate(nodes):
        new = position[k]
        where = f"node {keys[k]!r}"
        compute[new] = _require(node, dur_tag, where)
        memory[new] = _require(node, mem_tag, where)
        names[new] = str(node.get("name", keys[k]))
        params[k] = node.get(par_tag, 0) or 0
    in_file_order = [0] * n
    for k in range(n):
        in_file_order[k] = compute[position[k]]
    _check_int_costs(in_file_order, dur_tag, n, keys)
    for k in range(n):
        in_file_order[k] = memory[position[k]]
    _check_int_costs(in_file_order, mem_tag, n, keys)
    args: list[list[int]] = [[] for _ in range(n)]
    for k, (u, v, _pos) in enumerate(_edges(data)):
        for end in (u, v):
            if str(end) not in index:
                raise GraphError(f"edge {k} ({u} -> {v}) refers to unknown node {end!r}")
        pu, pv = position[index[str(u)]], position[index[str(v)]]
        if pu in args[pv]:
            raise GraphError(f"edge {k} ({u} -> {v}) appears twice")
        args[pv].append(pu)
    return Graph(
        args=tuple(tuple(sorted(a)) for a in args),
        compute_cost=tuple(compute),
        memory_cost=tuple(memory),
        parameter_bytes=sum(_check_int_costs(params, par_tag, n, keys)),
        names=tuple(names),
        name=str(gattrs.get("name") or default_name),
    )
