"""The data-flow graph of a training step.

Nodes are ``0..n-1`` and **the id order is a topological order**: every algorithm (the MILP's
triangular R/S, the baselines' ladders, the simulator's stages) relies on "stage t computes
node t". A training graph holds the forward nodes, one loss node and one gradient node per
forward node; gradient nodes are mirrored (``bwd(i) = n - 1 - i``) when built by
:func:`training_graph`, but any forward-to-gradient map is accepted.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from checkmate_opt.errors import GraphError

__all__ = ["MAX_NODES", "MAX_TOTAL", "Graph", "training_graph"]

#: largest graph accepted: a schedule is two n x n matrices, and the MILP has ~n^2 variables
MAX_NODES = 20_000
#: bound on the sums the simulator and the MILP form in int64 (peak memory, total compute of a
#: schedule that computes every node at every stage): kept below 2**63 with room to add
MAX_TOTAL = 2**62


def _check_int_costs(
    values: Sequence[object], what: str, n: int, labels: Sequence[object] | None = None
) -> tuple[int, ...]:
    """Non-negative integers below :data:`MAX_TOTAL`; errors name the node (by ``labels``)."""
    if len(values) != n:
        raise GraphError(f"{what} has {len(values)} entries for {n} nodes; give one per node")
    out: list[int] = []
    for node, value in enumerate(values):
        label = node if labels is None else labels[node]
        where = "" if what == "parameter_bytes" else f"node {label!r}: "
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise GraphError(f"{where}{what} must be a number, got {value!r}")
        if isinstance(value, numbers.Integral):
            ivalue = int(value)  # exact, however large (float() would overflow)
        else:
            fvalue = float(value)
            if math.isnan(fvalue) or math.isinf(fvalue):
                raise GraphError(f"{where}{what} must be finite, got {value!r}")
            if fvalue != int(fvalue):
                raise GraphError(
                    f"{where}{what} must be an integer, got {value!r} (round or scale the costs)"
                )
            ivalue = int(fvalue)
        if ivalue < 0:
            raise GraphError(f"{where}{what} must be >= 0, got {value!r}")
        if ivalue > MAX_TOTAL:
            raise GraphError(
                f"{where}{what} {value!r} is too large (at most 2**62); scale the costs down"
            )
        out.append(ivalue)
    return tuple(out)


def _node_id(value: object, what: str) -> int:
    """An integer node id (a bool, float or list is an error, not silently truncated)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise GraphError(f"{what}: a node id must be an integer, got {value!r}")
    return int(value)


def _find_cycle(args: Sequence[Sequence[int]]) -> list[int] | None:
    """Return one directed cycle, in data-flow order (each node feeds the next), if any."""
    n = len(args)
    colour = [0] * n  # 0 new, 1 on stack, 2 done
    parent = [-1] * n
    for root in range(n):
        if colour[root]:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        colour[root] = 1
        while stack:
            v, k = stack[-1]
            deps = args[v]
            if k < len(deps):
                stack[-1] = (v, k + 1)
                u = deps[k]
                if colour[u] == 0:
                    colour[u] = 1
                    parent[u] = v
                    stack.append((u, 0))
                elif colour[u] == 1:
                    cycle = [u]
                    w = v
                    while w != u and w != -1:
                        cycle.append(w)
                        w = parent[w]
                    return cycle  # u feeds v, v feeds parent[v], ... back to u
            else:
                colour[v] = 2
                stack.pop()
    return None


@dataclass(frozen=True, eq=False)
class Graph:
    """An immutable training (or inference) graph.

    Parameters
    ----------
    args
        ``args[v]`` is the ordered list of the nodes whose outputs node ``v`` consumes. Every
        dependency must have a smaller id than its consumer.
    compute_cost
        Non-negative integer cost of computing each node (any time unit).
    memory_cost
        Non-negative integer size in bytes of each node's output.
    forward_to_backward
        Map forward node -> its gradient node. Empty means every node is a forward node.
    loss
        The loss node (neither forward nor a gradient of a forward node), or ``None``.
    parameter_bytes
        Bytes of the model parameters; fixed memory is twice this (parameters and gradients).
    names
        Optional node names (default ``"node<i>"``; the loss is ``"Loss"``).
    name
        A name for the whole graph.
    batch_size
        The batch size the memory costs were measured at, when known (graph files record it;
        ``max-batch`` scales memory from it). ``None``: unknown.

    Raises
    ------
    GraphError
        On a cycle, ids that are not a topological order, unknown or duplicate dependencies,
        negative / NaN / non-integer costs, a bad forward map, or an empty graph.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> g = linear_graph(4)
    >>> g.n, len(g.edges), g.loss
    (9, 12, 4)
    """

    args: tuple[tuple[int, ...], ...]
    compute_cost: tuple[int, ...]
    memory_cost: tuple[int, ...]
    forward_to_backward: Mapping[int, int] = field(default_factory=dict)
    loss: int | None = None
    parameter_bytes: int = 0
    names: tuple[str, ...] = ()
    name: str = ""
    batch_size: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            args = tuple(tuple(_node_id(u, "dependency") for u in deps) for deps in self.args)
        except (TypeError, ValueError) as err:
            raise GraphError(f"dependencies must be lists of integer node ids: {err}") from err
        n = len(args)
        if n == 0:
            raise GraphError("the graph is empty: give at least one node")
        if n > MAX_NODES:
            raise GraphError(
                f"the graph has {n} nodes; at most {MAX_NODES} are supported (a schedule is two "
                "n x n matrices); split or coarsen the graph"
            )
        for v, deps in enumerate(args):
            seen: set[int] = set()
            for u in deps:
                if not 0 <= u < n:
                    raise GraphError(f"node {v} depends on unknown node {u} (ids are 0..{n - 1})")
                if u in seen:
                    raise GraphError(f"node {v} lists dependency {u} twice")
                seen.add(u)
        cycle = _find_cycle(args)
        if cycle is not None:
            path = " -> ".join(str(c) for c in [*cycle, cycle[0]])
            raise GraphError(f"the graph has a cycle: {path} (a data-flow graph must be acyclic)")
        for v, deps in enumerate(args):
            for u in deps:
                if u >= v:
                    raise GraphError(
                        f"node ids are not a topological order: node {v} depends on node {u}; "
                        "renumber the nodes so that every dependency has a smaller id"
                    )
        set_(self, "args", args)
        set_(self, "compute_cost", _check_int_costs(list(self.compute_cost), "compute_cost", n))
        set_(self, "memory_cost", _check_int_costs(list(self.memory_cost), "memory_cost", n))
        (pbytes,) = _check_int_costs([self.parameter_bytes], "parameter_bytes", 1)
        set_(self, "parameter_bytes", pbytes)
        compute = self.compute_cost
        memory = self.memory_cost
        if sum(compute) * n > MAX_TOTAL:
            raise GraphError(
                f"compute costs are too large: their sum ({sum(compute)}) times the node count "
                f"({n}) must stay below 2**62 so that any schedule's cost fits int64; scale "
                "the costs down"
            )
        if sum(memory) + 2 * pbytes > MAX_TOTAL:
            raise GraphError(
                f"memory costs are too large: their sum plus twice parameter_bytes "
                f"({sum(memory) + 2 * pbytes}) must stay below 2**62 bytes; scale them down"
            )
        try:
            fmap = {
                _node_id(k, "forward_to_backward"): _node_id(v, "forward_to_backward")
                for k, v in dict(self.forward_to_backward).items()
            }
        except (TypeError, ValueError) as err:
            raise GraphError(f"forward_to_backward must map node ids to node ids: {err}") from err
        for f, b in fmap.items():
            if not (0 <= f < n and 0 <= b < n):
                raise GraphError(f"forward_to_backward maps {f} -> {b}, outside 0..{n - 1}")
            if b <= f:
                raise GraphError(f"gradient node {b} of forward node {f} must come after it")
        if len(set(fmap.values())) != len(fmap):
            raise GraphError("forward_to_backward maps two forward nodes to one gradient node")
        if set(fmap) & set(fmap.values()):
            raise GraphError("a node cannot be both a forward node and a gradient node")
        set_(self, "forward_to_backward", dict(sorted(fmap.items())))
        if self.loss is not None:
            loss = _node_id(self.loss, "loss")
            if not 0 <= loss < n:
                raise GraphError(f"loss node {loss} is outside 0..{n - 1}")
            if loss in fmap or loss in fmap.values():
                raise GraphError(f"loss node {loss} cannot be a forward or gradient node")
            set_(self, "loss", loss)
        names = tuple(str(s) for s in self.names)
        if not names:
            names = tuple("Loss" if i == self.loss else f"node{i}" for i in range(n))
        elif len(names) != n:
            raise GraphError(f"names has {len(names)} entries for {n} nodes")
        set_(self, "names", names)
        if self.batch_size is not None:
            bs = self.batch_size
            if isinstance(bs, bool) or not isinstance(bs, numbers.Integral) or bs < 1:
                raise GraphError(f"batch_size must be an integer >= 1 or None, got {bs!r}")
            set_(self, "batch_size", int(bs))

    # ----------------------------------------------------------------- basic views
    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.args)

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Edges ``(u, v)`` (v consumes u) in a fixed order: by consumer, then argument order.

        The position of an edge in this tuple indexes the MILP's FREE variables.
        """
        return tuple((u, v) for v, deps in enumerate(self.args) for u in deps)

    @cached_property
    def successors(self) -> tuple[tuple[int, ...], ...]:
        """``successors[u]``: the consumers of ``u``'s output, ascending."""
        succ: list[list[int]] = [[] for _ in range(self.n)]
        for u, v in self.edges:
            succ[u].append(v)
        return tuple(tuple(sorted(s)) for s in succ)

    @cached_property
    def predecessors(self) -> tuple[frozenset[int], ...]:
        """``predecessors[v]``: the set of nodes ``v`` consumes."""
        return tuple(frozenset(deps) for deps in self.args)

    @cached_property
    def forward_nodes(self) -> tuple[int, ...]:
        """Forward nodes, ascending (every node when the forward map is empty)."""
        if not self.forward_to_backward:
            return tuple(range(self.n))
        return tuple(sorted(self.forward_to_backward))

    @cached_property
    def backward_nodes(self) -> tuple[int, ...]:
        """Every node that is not a forward node (the gradient nodes and the loss)."""
        fwd = set(self.forward_nodes)
        return tuple(v for v in range(self.n) if v not in fwd)

    @cached_property
    def backward_to_forward(self) -> dict[int, int]:
        """Gradient node -> its forward node."""
        return {b: f for f, b in self.forward_to_backward.items()}

    @cached_property
    def is_forward(self) -> np.ndarray:
        """Boolean mask of forward nodes."""
        mask = np.zeros(self.n, dtype=bool)
        mask[list(self.forward_nodes)] = True
        mask.flags.writeable = False
        return mask

    @cached_property
    def is_training_graph(self) -> bool:
        """True when the graph has a loss and mirrored gradient nodes ``bwd(i) = n-1-i``."""
        if self.loss is None or not self.forward_to_backward:
            return False
        n = self.n
        return len(self.forward_to_backward) * 2 + 1 == n and all(
            b == n - 1 - f for f, b in self.forward_to_backward.items()
        )

    @cached_property
    def compute_array(self) -> np.ndarray:
        """``compute_cost`` as an int64 array."""
        arr = np.asarray(self.compute_cost, dtype=np.int64)
        arr.flags.writeable = False
        return arr

    @cached_property
    def memory_array(self) -> np.ndarray:
        """``memory_cost`` (bytes) as an int64 array."""
        arr = np.asarray(self.memory_cost, dtype=np.int64)
        arr.flags.writeable = False
        return arr

    @property
    def fixed_memory(self) -> int:
        """Parameters plus parameter gradients: ``2 * parameter_bytes``."""
        return 2 * self.parameter_bytes

    @property
    def total_compute(self) -> int:
        """One evaluation of every node: the cost of a schedule without recomputation."""
        return int(sum(self.compute_cost))

    @property
    def total_memory(self) -> int:
        """Bytes of all node outputs together."""
        return int(sum(self.memory_cost))

    @cached_property
    def forward_edges(self) -> tuple[tuple[int, int], ...]:
        """Edges whose both ends are forward nodes (the loss is excluded)."""
        fwd = set(self.forward_nodes)
        return tuple((u, v) for u, v in self.edges if u in fwd and v in fwd)

    def max_degree_memory(self) -> int:
        """Smallest memory in which the most demanding forward node can run."""
        return max(
            sum(self.memory_cost[u] for u in self.predecessors[v]) + self.memory_cost[v]
            for v in self.forward_nodes
        )

    def min_feasible_memory(self) -> int:
        """Largest "inputs + output" footprint over every node: no schedule needs less."""
        return self.footprint(self.min_feasible_node)

    def footprint(self, v: int) -> int:
        """Bytes that must be resident to compute node ``v``: its inputs and its output."""
        return sum(self.memory_cost[u] for u in self.predecessors[v]) + self.memory_cost[v]

    @cached_property
    def min_feasible_node(self) -> int:
        """The node whose inputs and output need the most memory (it sets
        :meth:`min_feasible_memory`; the first such node in id order)."""
        best, best_v = -1, 0
        for v in range(self.n):
            f = self.footprint(v)
            if f > best:
                best, best_v = f, v
        return best_v

    @cached_property
    def articulation_points(self) -> tuple[int, ...]:
        """Forward articulation points.

        The forward edges plus a virtual source before node 0 and a virtual sink after the
        highest forward node are taken as an undirected graph; a forward node is an
        articulation point iff deleting it leaves more than one connected component, counting
        isolated vertices.
        """
        edges = list(self.forward_edges)
        verts: set[int] = {x for e in edges for x in e}
        if not verts:
            verts = set(self.forward_nodes)
        source, sink = -1, -2
        top = max(verts)
        edges += [(source, 0), (top, sink)]
        verts |= {source, sink, 0}
        adj: dict[int, set[int]] = {x: set() for x in verts}
        for u, v in edges:
            adj[u].add(v)
            adj[v].add(u)

        def components_without(cut: int) -> int:
            seen = {cut}
            count = 0
            for start in verts:
                if start in seen:
                    continue
                count += 1
                stack = [start]
                seen.add(start)
                while stack:
                    x = stack.pop()
                    for y in adj[x]:
                        if y not in seen:
                            seen.add(y)
                            stack.append(y)
            return count

        return tuple(sorted(v for v in verts if v >= 0 and components_without(v) > 1))

    def edge_index(self) -> dict[tuple[int, int], int]:
        """Map edge ``(u, v)`` -> its position in :attr:`edges`."""
        return {e: k for k, e in enumerate(self.edges)}

    def with_costs(
        self,
        *,
        compute_cost: Sequence[int] | None = None,
        memory_cost: Sequence[int] | None = None,
        parameter_bytes: int | None = None,
        name: str | None = None,
        batch_size: int | None = None,
    ) -> Graph:
        """A copy with some costs replaced (and the batch size they are measured at)."""
        return Graph(
            args=self.args,
            compute_cost=tuple(self.compute_cost if compute_cost is None else compute_cost),
            memory_cost=tuple(self.memory_cost if memory_cost is None else memory_cost),
            forward_to_backward=self.forward_to_backward,
            loss=self.loss,
            parameter_bytes=self.parameter_bytes if parameter_bytes is None else parameter_bytes,
            names=self.names,
            name=self.name if name is None else name,
            batch_size=self.batch_size if batch_size is None else batch_size,
        )

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Graph{label} n={self.n} edges={len(self.edges)} fwd={len(self.forward_nodes)}>"


def training_graph(
    forward_args: Sequence[Sequence[int]],
    forward_compute: Sequence[int],
    forward_memory: Sequence[int],
    *,
    names: Sequence[str] | None = None,
    parameter_bytes: int = 0,
    loss_compute: int = 0,
    loss_memory: int = 4,
    backward_compute: Sequence[int] | None = None,
    backward_memory: Sequence[int] | None = None,
    name: str = "",
) -> Graph:
    """Build the full training graph from a forward DAG.

    Forward layer ``i`` (``0..L-1``) consumes the layers in ``forward_args[i]`` (smaller ids;
    the model input is not a node, so first layers have empty lists). The result has the
    forward nodes ``0..L-1``, the loss ``L`` (consuming the last layer) and the gradient of
    layer ``i`` at ``bwd(i) = 2L - i``. Edges, for each consumer ``i`` of ``j``: ``j -> i``,
    ``bwd(i) -> bwd(j)`` and ``i -> bwd(j)``; plus ``L-1 -> loss``, ``loss -> bwd(L-1)`` and
    ``i -> bwd(i)`` for every layer.

    Parameters
    ----------
    forward_args
        Ordered inputs of each forward layer.
    forward_compute, forward_memory
        Per-layer forward cost and output bytes.
    names
        Layer names (gradient nodes get ``"<name>_grad"``).
    parameter_bytes
        Bytes of all model parameters.
    loss_compute, loss_memory
        Cost and output bytes of the loss node (the paper's scripts use 0 and 4 x batch).
    backward_compute
        Cost of each layer's gradient node (default: 2 x forward cost, as the FLOP model).
    backward_memory
        Bytes of each gradient node (default: the forward output size).
    name
        Graph name.

    Returns
    -------
    Graph
        The training graph with ``n = 2L + 1`` nodes.

    Raises
    ------
    GraphError
        If the forward DAG is malformed.

    Examples
    --------
    >>> g = training_graph([[], [0], [1]], [1, 1, 1], [4, 4, 4])
    >>> g.n, g.loss, g.forward_to_backward[0]
    (7, 3, 6)
    """
    L = len(forward_args)
    if L == 0:
        raise GraphError("the forward graph is empty: give at least one layer")
    for what, seq in (("forward_compute", forward_compute), ("forward_memory", forward_memory)):
        if len(seq) != L:
            raise GraphError(f"{what} has {len(seq)} entries for {L} layers")
    fargs: list[list[int]] = []
    for i, deps in enumerate(forward_args):
        clean: list[int] = []
        for j in deps:
            j = int(j)
            if not 0 <= j < L:
                raise GraphError(f"layer {i} depends on unknown layer {j} (layers are 0..{L - 1})")
            if j >= i:
                raise GraphError(
                    f"layers are not in topological order: layer {i} depends on layer {j}"
                )
            if j not in clean:  # a layer fed the same tensor twice is one dependency
                clean.append(j)
        fargs.append(clean)
    n = 2 * L + 1
    loss = L

    def bwd(i: int) -> int:
        return n - 1 - i

    consumers: list[list[int]] = [[] for _ in range(L)]
    for i, deps in enumerate(fargs):
        for j in deps:
            consumers[j].append(i)
    args: list[list[int]] = [list(d) for d in fargs]
    args.append([L - 1])
    for j in range(L - 1, -1, -1):  # gradient nodes in id order: bwd(L-1) .. bwd(0)
        deps_b: list[int] = []
        if j == L - 1:
            deps_b.append(loss)
        deps_b.append(j)
        deps_b.extend(consumers[j])
        deps_b.extend(bwd(i) for i in consumers[j])
        args.append(deps_b)
    bc = [2 * int(c) for c in forward_compute] if backward_compute is None else backward_compute
    bm = list(forward_memory) if backward_memory is None else backward_memory
    if len(bc) != L or len(bm) != L:
        raise GraphError("backward_compute and backward_memory need one entry per layer")
    compute = [*forward_compute, loss_compute, *[bc[j] for j in range(L - 1, -1, -1)]]
    memory = [*forward_memory, loss_memory, *[bm[j] for j in range(L - 1, -1, -1)]]
    if names is None:
        names = [f"layer{i}" for i in range(L)]
    if len(names) != L:
        raise GraphError(f"names has {len(names)} entries for {L} layers")
    all_names = [*names, "Loss", *[f"{names[j]}_grad" for j in range(L - 1, -1, -1)]]
    return Graph(
        args=tuple(tuple(a) for a in args),
        compute_cost=tuple(compute),
        memory_cost=tuple(memory),
        forward_to_backward={i: bwd(i) for i in range(L)},
        loss=loss,
        parameter_bytes=parameter_bytes,
        names=tuple(all_names),
        name=name,
    )
