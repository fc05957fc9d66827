"""The paper's model zoo (spec §8), built offline (``weights=None``) in Keras 3.

``names()`` lists every model without importing Keras; ``build_keras_model`` builds one;
``load`` builds it and imports its training graph with a cost model; ``describe`` /
``zoo_table`` summarise them (node, edge, layer and parameter counts).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from checkmate_opt.graph import Graph

__all__ = ["build_keras_model", "describe", "family", "load", "names", "zoo_table"]

#: Keras applications: name -> default input shape
APPLICATIONS: dict[str, tuple[int, int, int]] = {
    "VGG16": (224, 224, 3),
    "VGG19": (224, 224, 3),
    "ResNet50": (224, 224, 3),
    "ResNet101": (224, 224, 3),
    "ResNet152": (224, 224, 3),
    "ResNet50V2": (224, 224, 3),
    "ResNet101V2": (224, 224, 3),
    "ResNet152V2": (224, 224, 3),
    "MobileNet": (224, 224, 3),
    "MobileNetV2": (224, 224, 3),
    "DenseNet121": (224, 224, 3),
    "DenseNet169": (224, 224, 3),
    "DenseNet201": (224, 224, 3),
    "InceptionV3": (299, 299, 3),
    "Xception": (299, 299, 3),
    "NASNetMobile": (224, 224, 3),
    "NASNetLarge": (331, 331, 3),
}

_SEGMENTATION = (
    "fcn_8",
    "fcn_32",
    "fcn_8_vgg",
    "fcn_32_vgg",
    "fcn_8_resnet50",
    "fcn_32_resnet50",
    "fcn_8_mobilenet",
    "fcn_32_mobilenet",
    "segnet",
    "vgg_segnet",
    "resnet50_segnet",
    "mobilenet_segnet",
    "unet",
    "vgg_unet",
    "resnet50_unet",
    "mobilenet_unet",
    "unet_mini",
    "pspnet",
    "vgg_pspnet",
    "resnet50_pspnet",
    "pspnet_50",
    "pspnet_101",
)
_SYNTHETIC = ("test", *(f"linear{i}" for i in range(32)))

#: the paper's chain-structured models (spec §8 CHAIN_GRAPH_MODELS)
CHAIN_MODELS: tuple[str, ...] = ("VGG16", "VGG19", "MobileNet", *_SYNTHETIC[1:])


def names() -> list[str]:
    """Every model name of the zoo (no Keras import)."""
    return [*APPLICATIONS, *_SEGMENTATION, *_SYNTHETIC]


def _canonical(name: str) -> str:
    all_names = names()
    if name in all_names:
        return name
    lower = {n.lower(): n for n in all_names}
    if name.lower() in lower:
        return lower[name.lower()]
    close = difflib.get_close_matches(name, all_names, n=4, cutoff=0.5)
    close += [
        n for n in difflib.get_close_matches(name.lower(), lower, n=4) if lower[n] not in close
    ]
    hint = f"; did you mean {', '.join(lower.get(c, c) for c in close)}?" if close else ""
    raise ValueError(
        f"unknown zoo model {name!r}{hint} (checkmate_opt.zoo.names() lists all {len(all_names)})"
    )


def family(name: str) -> str:
    """``"application"``, ``"segmentation"`` or ``"synthetic"`` (no Keras import)."""
    name = _canonical(name)
    if name in APPLICATIONS:
        return "application"
    return "segmentation" if name in _SEGMENTATION else "synthetic"


def default_input_shape(name: str) -> tuple[int, int, int]:
    """The input shape a model is built at by default (no Keras import)."""
    name = _canonical(name)
    if name in APPLICATIONS:
        return APPLICATIONS[name]
    if name in _SEGMENTATION:
        from checkmate_opt.zoo.segmentation import SEGMENTATION_MODELS

        h, w = SEGMENTATION_MODELS[name][1]
        return (h, w, 3)
    return (224, 224, 3)


def build_keras_model(name: str, input_shape: Iterable[int] | None = None) -> Any:
    """Build zoo model ``name`` as a Keras 3 model, without weights.

    Keras' automatic layer names are reset first (``keras.backend.clear_session()``) so the
    same model always gets the same node names.

    Parameters
    ----------
    name
        A name of :func:`names` (case-insensitive).
    input_shape
        ``(H, W, 3)``; default: the model's default resolution (spec §8).

    Raises
    ------
    ValueError
        For an unknown name (listing close matches) or an input shape the model rejects.
    """
    name = _canonical(name)
    shape = None if input_shape is None else tuple(int(d) for d in input_shape)
    import keras

    keras.backend.clear_session()
    if name in APPLICATIONS:
        builder = getattr(keras.applications, name)
        return builder(weights=None, input_shape=shape or APPLICATIONS[name])
    if name in _SEGMENTATION:
        from checkmate_opt.zoo.segmentation import build_segmentation_model

        return build_segmentation_model(name, shape)
    from checkmate_opt.zoo.synthetic import make_linear_model, make_test_model

    if name == "test":
        return make_test_model(shape or (224, 224, 3))
    return make_linear_model(int(name.removeprefix("linear")), shape or (224, 224, 3))


def load(
    name: str,
    *,
    batch_size: int = 1,
    platform: str = "flops",
    input_shape: Iterable[int] | None = None,
) -> Graph:
    """Build zoo model ``name`` and import its training graph.

    Parameters
    ----------
    name
        A name of :func:`names` (case-insensitive).
    batch_size
        Batch size of the training step (memory scales with it).
    platform
        Cost model name (``flops``, ``p32xlarge``, ``p32xlarge_fp16``, ``p2xlarge``,
        ``c524xlarge``, ``measured``).
    input_shape
        ``(H, W, 3)``; default: the model's default resolution.

    Returns
    -------
    Graph
        Named ``"<name>"``; loss memory ``4 * batch_size``.
    """
    from checkmate_opt.importers.keras import graph_from_keras

    model = build_keras_model(name, input_shape)
    return graph_from_keras(
        model, batch_size=batch_size, cost_model=platform, name=_canonical(name)
    )


def describe(name: str, *, batch_size: int = 1, input_shape: Iterable[int] | None = None) -> dict:
    """Summary of one zoo model (builds it; FLOP costs).

    Returns
    -------
    dict
        ``name``, ``family``, ``input_shape``, ``layers`` (L), ``nodes`` (2L+1), ``edges``,
        ``parameters``, ``parameter_bytes``, ``activation_bytes`` (all forward outputs at
        ``batch_size``), ``forward_ops`` (FLOP model, batch included).
    """
    canon = _canonical(name)
    shape = tuple(input_shape) if input_shape is not None else default_input_shape(canon)
    g = load(canon, batch_size=batch_size, input_shape=shape)
    fwd = g.forward_nodes
    return {
        "name": canon,
        "family": family(canon),
        "input_shape": tuple(int(d) for d in shape),
        "layers": len(fwd),
        "nodes": g.n,
        "edges": len(g.edges),
        "parameters": g.parameter_bytes // 4,
        "parameter_bytes": g.parameter_bytes,
        "activation_bytes": int(sum(g.memory_cost[v] for v in fwd)),
        "forward_ops": int(sum(g.compute_cost[v] for v in fwd)),
        "batch_size": batch_size,
    }


def zoo_table(selection: Iterable[str] | None = None, *, batch_size: int = 1) -> list[dict]:
    """:func:`describe` for every model of ``selection`` (default: the whole zoo; slow)."""
    return [describe(n, batch_size=batch_size) for n in (selection or names())]
