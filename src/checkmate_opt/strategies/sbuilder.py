"""The shared checkpoint-matrix builder of the baselines (spec §5.1, artifact version).

Every checkpoint-based baseline (checkpoint-all, Chen's √n and greedy) chooses a set of forward
checkpoints and turns it into an S matrix with the same four rules; R then follows from
:func:`~checkmate_opt.schedule.solve_r_opt`. The rules are deliberately memory-pessimistic
(spec A16): they are what the paper compared against, so they are reproduced as written.

On a training graph with mirrored numbering (``bwd(i) = n - 1 - i``, see
:attr:`~checkmate_opt.graph.Graph.is_training_graph`) the rules apply literally. On any other
graph (no forward map, or a forward map that is not mirrored) there is no "gradient stage of x"
to place the ladder and the backward block at, so only the rules that do not depend on the
mirrored numbering are applied (implied backward retention, inputs at their consumer's stage,
the checkpoint stripe and the forward block); the result is still strictly lower-triangular and
therefore always simulates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from checkmate_opt.errors import GraphError
from checkmate_opt.graph import Graph

__all__ = ["fixed_checkpoint_s", "implied_backward_s", "normalize_checkpoints"]


def implied_backward_s(graph: Graph) -> np.ndarray:
    """Rule 1 of spec §5.1: gradients are never recomputed.

    For every edge ``(a, b)`` whose two ends are both non-forward nodes (gradients and the
    loss), ``S[t, a] = 1`` for ``t = a+1 .. b``: the value stays resident from the stage after it
    is produced through the stage of each backward consumer.

    Parameters
    ----------
    graph
        Any graph; on a graph without a forward map every node is forward and S is empty.

    Returns
    -------
    numpy.ndarray
        A writable boolean ``n x n`` matrix.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> S = implied_backward_s(linear_graph(2))
    >>> [(int(t), int(i)) for t, i in zip(*S.nonzero())]
    [(3, 2), (4, 3)]
    """
    n = graph.n
    S = np.zeros((n, n), dtype=bool)
    fwd = graph.is_forward
    for a, b in graph.edges:
        if not fwd[a] and not fwd[b]:
            S[a + 1 : b + 1, a] = True
    return S


def normalize_checkpoints(graph: Graph, checkpoints: Iterable[int]) -> list[int]:
    """Sorted, de-duplicated checkpoint list; every entry must be a forward node.

    Raises
    ------
    GraphError
        Naming the first checkpoint that is not a forward node of ``graph``.
    """
    fwd = graph.is_forward
    out = sorted({int(c) for c in checkpoints})
    for c in out:
        if not 0 <= c < graph.n or not fwd[c]:
            raise GraphError(
                f"checkpoint {c} is not a forward node of the graph "
                f"(forward nodes: {_short(graph.forward_nodes)}); checkpoint forward nodes only"
            )
    return out


def _short(nodes: tuple[int, ...]) -> str:
    if len(nodes) <= 8:
        return ", ".join(map(str, nodes))
    return f"{nodes[0]}..{nodes[-1]} ({len(nodes)} nodes)"


def fixed_checkpoint_s(graph: Graph, checkpoints: Iterable[int]) -> np.ndarray:
    """The S matrix of a fixed checkpoint set (``gen_s_matrix_fixed_checkpoints``, spec §5.1).

    S is the union of

    1. implied backward retention (:func:`implied_backward_s`);
    2. inputs at their consumer's stage: ``S[v, u] = 1`` for every edge ``(u, v)``;
    3. the stripe: ``S[t, c] = 1`` for every checkpoint ``c`` and every stage ``t > c``;
    4. per segment ``[start, end)`` with ``starts = [0] + C`` and ``ends = C + [L + 1]``
       (``L`` = number of forward nodes = the loss id):

       * ladder: for every ``x`` in the segment, at ``t = n-1-x``, ``S[t, i] = 1`` for
         ``i`` in ``[start, min(t, end))``;
       * forward block: for ``t`` in ``[start, end]``, ``S[t, i] = 1`` for ``i`` in
         ``[start, min(t, end))``;
       * backward block: for ``t`` in ``[start, end]``, at ``b = n-1-t``,
         ``S[b, bwd(i)] = 1`` for every non-loss ``i`` in the segment with ``bwd(i) < b``.

    Rule 4's ladder and backward block need the mirrored numbering; on other graphs they are
    skipped (see the module docstring) and the forward block's segments run over the forward
    nodes' ids.

    Parameters
    ----------
    graph
        The graph.
    checkpoints
        Forward nodes to keep resident until the end of the schedule.

    Returns
    -------
    numpy.ndarray
        A writable, strictly lower-triangular boolean ``n x n`` matrix.

    Raises
    ------
    GraphError
        If a checkpoint is not a forward node.

    Examples
    --------
    >>> from checkmate_opt.generators import linear_graph
    >>> S = fixed_checkpoint_s(linear_graph(1), [0])
    >>> S.astype(int).tolist()
    [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    """
    C = normalize_checkpoints(graph, checkpoints)
    S = implied_backward_s(graph)
    for u, v in graph.edges:  # rule 2
        S[v, u] = True
    for c in C:  # rule 3
        S[c + 1 :, c] = True
    if graph.is_training_graph:
        _segments_mirrored(graph, C, S)
    else:
        _segments_generic(graph, C, S)
    return S


def _segments_mirrored(graph: Graph, C: list[int], S: np.ndarray) -> None:
    n = graph.n
    L = len(graph.forward_nodes)  # = the loss id under the mirrored numbering
    starts = [0, *C]
    ends = [*C, L + 1]
    for start, end in zip(starts, ends, strict=True):
        for x in range(start, end):  # ladder (x = L is the loss: its own stage)
            t = n - 1 - x
            S[t, start : min(t, end)] = True
        for t in range(start, min(end, n - 1) + 1):  # forward block
            S[t, start : min(t, end)] = True
        for t in range(start, end + 1):  # backward block: gradients of nodes t+1 .. end-1
            b = n - 1 - t
            lo = max(n - end, L + 1)  # bwd(end-1) .. bwd(t+1), the loss column excluded
            if lo < b:
                S[b, lo:b] = True


def _segments_generic(graph: Graph, C: list[int], S: np.ndarray) -> None:
    fwd_ids = np.asarray(graph.forward_nodes, dtype=np.int64)
    last = int(fwd_ids[-1]) + 1
    starts = [0, *C]
    ends = [*C, last]
    n = graph.n
    for start, end in zip(starts, ends, strict=True):
        members = fwd_ids[(fwd_ids >= start) & (fwd_ids < end)]
        for t in range(start, min(end, n - 1) + 1):
            cols = members[members < t]
            S[t, cols] = True
