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
import contextlib
import json
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from checkmate_opt.errors import GraphError, OutputError
from checkmate_opt.graph import MAX_NODES, Graph, _check_int_costs

__all__ = [
    "graph_from_node_link",
    "graph_to_node_link",
    "load_graph",
    "open_atomic",
    "save_graph",
    "write_atomic",
]


#: the densest graph accepted (real networks have a few edges per node; the MILP has a
#: variable per edge and stage)
MAX_EDGES = 1_000_000

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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(graph_to_node_link(graph)))


# ------------------------------------------------------------------ atomic output files

#: temporary files being written; removed by the SIGTERM handler before the process dies
_PENDING: set[str] = set()
_PREVIOUS_SIGTERM: Any = None
_LOCK = threading.Lock()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _PENDING.clear()
    previous = _PREVIOUS_SIGTERM
    if callable(previous):
        previous(signum, frame)
        return
    # default action: die by the signal, as if no handler had been installed
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _track(tmp: str) -> None:
    global _PREVIOUS_SIGTERM
    with _LOCK:
        if not _PENDING and threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current is not signal.SIG_IGN and current is not _on_sigterm:
                _PREVIOUS_SIGTERM = current
                signal.signal(signal.SIGTERM, _on_sigterm)
        _PENDING.add(tmp)


def _untrack(tmp: str) -> None:
    with _LOCK:
        _PENDING.discard(tmp)
        main = threading.current_thread() is threading.main_thread()
        if not _PENDING and main and signal.getsignal(signal.SIGTERM) is _on_sigterm:
            previous = _PREVIOUS_SIGTERM
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that readers see the old file or the complete new one.

    The data goes to a temporary file beside the target, renamed over it on success and
    removed on any failure, on Ctrl-C and on SIGTERM. The new file gets the permissions of the
    file it replaces, or the usual ``0666`` less the umask. A symbolic link is followed (the
    file it points to is replaced, the link stays); a FIFO or device (``/dev/stdout``) is
    written directly, as there is nothing to rename over.

    Raises
    ------
    OutputError
        Naming ``path`` as given, when the folder is missing or the file cannot be written.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    encoding = None if "b" in mode else "utf-8"
    target = Path(os.path.realpath(path))
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"cannot write {path}: it is a folder")
        try:
            special = open(target, mode, encoding=encoding)  # noqa: SIM115
        except OSError as err:
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
        with special:
            yield special
        return
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {target.parent} does not exist")
    perm = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    while True:
        # the name is tracked before the file exists, so no signal can orphan it
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        _track(tmp)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            _untrack(tmp)
        except OSError as err:
            _untrack(tmp)
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            os.fchmod(fh.fileno(), perm)
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _untrack(tmp)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through :func:`open_atomic`."""
    with open_atomic(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)


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
            **({} if graph.batch_size is None else {"batch_size": graph.batch_size}),
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
    if len(raw) > MAX_EDGES:
        raise GraphError(
            f"the graph has {len(raw)} edges; at most {MAX_EDGES} are supported; split or "
            "coarsen the graph"
        )
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
        batch_size=_batch_size(gattrs),
    )


#: the published Checkmate files name the batch: "VGG16 (MLSys)_256_(224, 224, 3)_train"
_CHECKMATE_NAME = re.compile(r"_(\d+)_\(\d+(?:, *\d+)*\)_(?:train|test)$")


def _batch_size(gattrs: Mapping[str, Any]) -> int | None:
    """The ``batch_size`` graph attribute, else the batch in a Checkmate graph name."""
    raw = gattrs.get("batch_size")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise GraphError(f"graph attribute 'batch_size' must be an integer >= 1, got {raw!r}")
        return raw
    match = _CHECKMATE_NAME.search(str(gattrs.get("name") or ""))
    return int(match.group(1)) if match and int(match.group(1)) >= 1 else None


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
