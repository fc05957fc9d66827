"""The paper's own graphs (``shared/graphs/*_train.json``) and how our imports relate to them.

:data:`PAPER_GRAPHS` names, for each model the paper published a training graph of, the file,
its batch size and the layers that TF-2.0-era Keras built differently from Keras 3.
:func:`compare_with_paper` contracts those layers out of the paper's forward graph, rebuilds the
training graph with the spec §2.2 rules and compares it with ours node by node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from checkmate_opt.graph import Graph, training_graph

__all__ = ["PAPER_GRAPHS", "PaperGraph", "compare_with_paper", "contract_forward"]


@dataclass(frozen=True)
class PaperGraph:
    """One published graph and the documented architecture differences."""

    model: str
    file: str
    batch_size: int
    #: paper layers that Keras 3 no longer builds (contracted out before comparing)
    dropped: tuple[str, ...] = ()
    #: paper layer name -> Keras 3 name, for renamed layers
    renamed: Mapping[str, str] = field(default_factory=dict)
    note: str = ""


PAPER_GRAPHS: dict[str, PaperGraph] = {
    "VGG16": PaperGraph("VGG16", "vgg16_b256_train.json", 256),
    "VGG19": PaperGraph("VGG19", "vgg19_b256_train.json", 256),
    "MobileNet": PaperGraph(
        "MobileNet",
        "mobilenet_b512_train.json",
        512,
        dropped=("conv1_pad", "reshape_1"),
        renamed={"act_softmax": "predictions"},
        note="Keras 3 builds conv1 with padding='same' instead of ZeroPadding2D 'conv1_pad' + "
        "valid conv (same 112x112 output), and the classifier's GlobalAveragePooling2D keeps "
        "its dims instead of a Reshape 'reshape_1' to 1x1x1024; the softmax is 'predictions'",
    ),
    "ResNet50": PaperGraph(
        "ResNet50",
        "resnet50_b256_train.json",
        256,
        renamed={"probs": "predictions"},
        note="the final Dense layer is named 'predictions' instead of 'probs'",
    ),
    "fcn_8_vgg": PaperGraph("fcn_8_vgg", "fcn8vgg_b32_train.json", 32),
    "segnet": PaperGraph("segnet", "segnet_b32_train.json", 32),
    "vgg_unet": PaperGraph("vgg_unet", "vggunet_b32_train.json", 32),
}


def _stem(name: str) -> str:
    # Keras numbers automatic names per session (conv2d_10); compare without the counter
    return re.sub(r"_\d+$", "", name)


def contract_forward(graph: Graph, dropped: Sequence[str]) -> Graph:
    """The training graph of ``graph``'s forward layers with the ``dropped`` layers bypassed.

    A dropped layer's consumers consume its inputs instead; the remaining layers keep their
    order, forward costs and memory; the loss keeps its memory and cost.
    """
    L = len(graph.forward_nodes)
    index = {graph.names[v]: v for v in range(L)}
    missing = [d for d in dropped if d not in index]
    if missing:
        raise ValueError(f"layers {missing} are not forward layers of {graph.name!r}")
    gone = {index[d] for d in dropped}
    resolved: dict[int, list[int]] = {}
    for v in range(L):
        deps: list[int] = []
        for u in graph.args[v]:
            for w in resolved[u] if u in gone else [u]:
                if w not in deps:
                    deps.append(w)
        resolved[v] = deps
    keep = [v for v in range(L) if v not in gone]
    new_id = {v: k for k, v in enumerate(keep)}
    bwd = [graph.compute_cost[graph.forward_to_backward[v]] for v in keep]
    return training_graph(
        [[new_id[u] for u in resolved[v]] for v in keep],
        [graph.compute_cost[v] for v in keep],
        [graph.memory_cost[v] for v in keep],
        names=[graph.names[v] for v in keep],
        parameter_bytes=graph.parameter_bytes,
        loss_compute=graph.compute_cost[graph.loss] if graph.loss is not None else 0,
        loss_memory=graph.memory_cost[graph.loss] if graph.loss is not None else 4,
        backward_compute=bwd,
        name=graph.name,
    )


def compare_with_paper(ours: Graph, paper: Graph, spec: PaperGraph) -> dict[str, object]:
    """Compare our imported graph with the paper's file after the documented differences.

    Returns
    -------
    dict
        ``same_nodes`` (layer names equal up to Keras' numeric suffixes, in order),
        ``same_edges`` (edge sets equal), ``same_memory`` (per-node bytes equal),
        ``mismatched_names`` / ``mismatched_memory`` (first few differences), the node and
        edge counts of both, and ``reference`` (the contracted paper graph).
    """
    ref = contract_forward(paper, spec.dropped) if spec.dropped else paper
    L = len(ref.forward_nodes)
    ref_names = [spec.renamed.get(nm, nm) for nm in ref.names[:L]]
    our_names = list(ours.names[: len(ours.forward_nodes)])
    name_diff = [
        (k, a, b)
        for k, (a, b) in enumerate(zip(our_names, ref_names, strict=False))
        if _stem(a) != _stem(b)
    ]
    mem_diff = [
        (k, a, b)
        for k, (a, b) in enumerate(zip(ours.memory_cost, ref.memory_cost, strict=False))
        if a != b
    ]
    return {
        "model": spec.model,
        "nodes": (ours.n, paper.n, ref.n),
        "edges": (len(ours.edges), len(paper.edges), len(ref.edges)),
        "same_nodes": len(our_names) == L and not name_diff,
        "same_edges": set(ours.edges) == set(ref.edges),
        "same_memory": ours.memory_cost == ref.memory_cost,
        "mismatched_names": name_diff[:5],
        "mismatched_memory": mem_diff[:5],
        "reference": ref,
    }
