"""Keras 3 model -> training graph (spec §2.1-2.3).

How the layer graph is read (Keras 3.15): a functional model keeps ``_nodes_by_depth``, the
call nodes that belong to *this* model grouped by their distance to the outputs (the same
structure Keras uses to run the model), and ``_operations``, its layers in Keras' own order.
Each node knows its ``operation`` (the layer), its ``input_tensors`` / ``output_tensors``
(KerasTensors) and its call ``arguments``. Walking the nodes by decreasing depth visits every
producer before its consumers; ties are broken by the layer's position in ``_operations``, which
reproduces ``model.layers`` and hence the paper's node numbering. Tensors are matched by
identity, so only nodes of this model are followed (a layer reused by another model is not
picked up, unlike walking ``layer._inbound_nodes``).

Structure decisions:

* ``InputLayer`` is not a node (spec §2.1); several inputs are fine (all are dropped).
* A shared layer (called more than once in the model) becomes one node per call, named
  ``<layer>`` for its first call and ``<layer>_call<k>`` after; its weights count once.
* A nested model (a functional or sequential model used as a layer) is flattened: its layers
  become nodes named ``<model>/<layer>`` wired to the outer producers.
* Exactly one output is required (the loss consumes it); other cases raise
  :class:`~checkmate_opt.errors.UnsupportedModelError` naming the model or layer.
* A ``keras.ops`` call on symbolic tensors (``ops.mean(x, axis=1)``, ``x * 2.0``) is an
  Operation node that is not a Layer; it becomes a node like a layer, with class name
  ``ops.<Operation>`` (``ops.Mean``, ``ops.Multiply``) so cost models can tell it from the
  layer of the same name. Constant arguments are not nodes.
* Every input tensor is tagged with the call argument it is passed as (``query``, ``value``,
  ``key``, ``attention_mask``, ...), in ``config["_call_inputs"]``: layers with several inputs
  (``MultiHeadAttention``) are costed from the right shapes.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

from checkmate_opt.costs import CostModel, LayerInfo, get_cost_model
from checkmate_opt.errors import UnsupportedModelError
from checkmate_opt.graph import Graph, training_graph

__all__ = ["extract_layers", "graph_from_keras"]

_ITEMSIZE = {"bfloat16": 2, "float16": 2, "float32": 4, "float64": 8}


def _import_keras() -> Any:
    try:
        import keras
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "importing Keras models needs keras 3 and tensorflow: "
            "pip install 'checkmate-opt[keras]'"
        ) from err
    return keras


def _itemsize(dtype: Any) -> int:
    name = str(getattr(dtype, "name", dtype))
    if name in _ITEMSIZE:
        return _ITEMSIZE[name]
    import numpy as np

    try:
        return int(np.dtype(name).itemsize)
    except TypeError:
        return 4


def _functional(model: Any, keras: Any) -> Any:
    """The functional graph behind ``model`` (Sequential models hold one once built)."""
    if isinstance(model, keras.Sequential):
        fn = getattr(model, "_functional", None)
        if fn is None:
            raise UnsupportedModelError(
                f"Sequential model {model.name!r} has no input shape yet: start it with "
                "keras.Input(shape=...) or call model.build(input_shape) before importing"
            )
        return fn
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(
            f"expected a keras.Model, got {type(model).__name__}; wrap layers in a "
            "functional or sequential model"
        )
    if getattr(model, "_nodes_by_depth", None) is None:
        raise UnsupportedModelError(
            f"model {model.name!r} ({type(model).__name__}) is a subclassed model whose layer "
            "graph Keras does not record; rebuild it with the functional or sequential API"
        )
    return model


def _shape(shape: Sequence[Any], batch_size: int, where: str) -> tuple[int, ...]:
    dims = list(shape)
    if dims and dims[0] is None:
        dims[0] = batch_size
    if any(d is None for d in dims):
        raise UnsupportedModelError(
            f"{where} has shape {tuple(shape)} with unknown dimensions besides the batch; "
            "build the model with a fixed input_shape"
        )
    return tuple(int(d) for d in dims)


def _call_input_names(op: Any, node: Any, keras: Any) -> tuple[str, ...]:
    """The call argument each input tensor of ``node`` is passed as (``"?"`` if unknown)."""
    try:
        params = list(inspect.signature(op.call).parameters.values())
    except (TypeError, ValueError):
        params = []
    pos = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    by_id: dict[int, str] = {}
    args = getattr(node.arguments, "args", ())
    kwargs = getattr(node.arguments, "kwargs", {})
    for k, arg in enumerate(args):
        name = pos[k] if k < len(pos) else (star or f"arg{k}")
        for t in keras.tree.flatten(arg):
            by_id.setdefault(id(t), name)
    for key, arg in kwargs.items():
        for t in keras.tree.flatten(arg):
            by_id.setdefault(id(t), key)
    return tuple(by_id.get(id(t), "?") for t in node.input_tensors)


class _Extractor:
    def __init__(self, keras: Any, batch_size: int) -> None:
        self.keras = keras
        self.batch_size = batch_size
        self.layers: list[LayerInfo] = []
        self.deps: list[list[int]] = []
        self.calls: dict[int, int] = {}  # id(layer) -> calls seen so far
        self.names: set[str] = set()

    def _nested(self, op: Any) -> Any | None:
        keras = self.keras
        if isinstance(op, keras.Sequential):
            return _functional(op, keras)
        if isinstance(op, keras.Model) and getattr(op, "_nodes_by_depth", None) is not None:
            return op
        if isinstance(op, keras.Model):
            raise UnsupportedModelError(
                f"layer {op.name!r} is a subclassed model nested in the model; only functional "
                "or sequential sub-models can be flattened"
            )
        return None

    def _info(self, op: Any, node: Any, prefix: str) -> LayerInfo:
        k = self.calls.get(id(op), 0)
        self.calls[id(op)] = k + 1
        name = prefix + (op.name if k == 0 else f"{op.name}_call{k}")
        while name in self.names:  # two nested copies may reuse names
            name += "_"
        self.names.add(name)
        where = f"layer {name!r} ({type(op).__name__})"
        try:
            config = dict(op.get_config())
        except Exception:
            config = {}
        config["_call_inputs"] = _call_input_names(op, node, self.keras)
        is_layer = isinstance(op, self.keras.layers.Layer)
        if not is_layer:
            where = f"keras.ops call {name!r} (ops.{type(op).__name__})"
        outs = list(node.output_tensors)
        if not outs:
            raise UnsupportedModelError(f"{where} produces no tensor")
        try:
            params = int(op.count_params()) if getattr(op, "weights", None) else 0
        except ValueError:
            params = 0
        return LayerInfo(
            name=name,
            class_name=type(op).__name__ if is_layer else f"ops.{type(op).__name__}",
            config=config,
            input_shapes=tuple(
                _shape(t.shape, self.batch_size, f"input of {where}") for t in node.input_tensors
            ),
            output_shapes=tuple(
                _shape(t.shape, self.batch_size, f"output of {where}") for t in outs
            ),
            dtype_bytes=_itemsize(outs[0].dtype),
            parameter_count=params,
            layer=op,
            node=node,
        )

    def expand(self, fn: Any, tmap: dict[int, tuple[int, ...]], prefix: str) -> None:
        """Add the nodes of functional graph ``fn``; ``tmap``: id(tensor) -> producer nodes."""
        keras = self.keras
        order = {id(op): k for k, op in enumerate(fn._operations)}
        for depth in sorted(fn._nodes_by_depth, reverse=True):
            nodes = sorted(
                fn._nodes_by_depth[depth], key=lambda nd: order.get(id(nd.operation), len(order))
            )
            for node in nodes:
                op = node.operation
                if isinstance(op, keras.layers.InputLayer):
                    for t in node.output_tensors:
                        tmap.setdefault(id(t), ())
                    continue
                producers: list[int] = []
                for t in node.input_tensors:
                    if id(t) not in tmap:
                        raise UnsupportedModelError(
                            f"layer {prefix}{op.name!r} consumes a tensor produced outside the "
                            "model graph (a constant or a tensor of another model)"
                        )
                    producers.extend(p for p in tmap[id(t)] if p not in producers)
                inner = self._nested(op)
                if inner is not None:
                    inner_in = keras.tree.flatten(inner.inputs)
                    outer_in = list(node.input_tensors)
                    if len(inner_in) != len(outer_in):
                        raise UnsupportedModelError(
                            f"nested model {prefix}{op.name!r} is called with {len(outer_in)} "
                            f"tensors but has {len(inner_in)} inputs"
                        )
                    imap = {id(a): tmap[id(b)] for a, b in zip(inner_in, outer_in, strict=True)}
                    self.expand(inner, imap, f"{prefix}{op.name}/")
                    inner_out = keras.tree.flatten(inner.outputs)
                    for t_out, t_in in zip(node.output_tensors, inner_out, strict=False):
                        tmap[id(t_out)] = imap[id(t_in)]
                    continue
                unit = len(self.layers)
                self.layers.append(self._info(op, node, prefix))
                self.deps.append(producers)
                for t in node.output_tensors:
                    tmap[id(t)] = (unit,)
        if prefix == "":
            self._check_output(fn, tmap)

    def _check_output(self, fn: Any, tmap: dict[int, tuple[int, ...]]) -> None:
        outs = self.keras.tree.flatten(fn.outputs)
        if len(outs) != 1:
            raise UnsupportedModelError(
                f"model {fn.name!r} has {len(outs)} outputs; the training graph has one loss "
                "fed by one output: wrap the model so that it returns a single tensor"
            )
        producers = tmap.get(id(outs[0]), ())
        if not self.layers or producers != (len(self.layers) - 1,):
            raise UnsupportedModelError(
                f"model {fn.name!r}: its output is not produced by its last layer (or it has "
                "no layers besides the input); the loss must consume the last layer"
            )


def extract_layers(model: Any, *, batch_size: int) -> tuple[list[LayerInfo], list[list[int]]]:
    """Read the layer calls of a Keras 3 model in topological (Keras) order.

    Parameters
    ----------
    model
        A functional or sequential ``keras.Model`` with fixed input shapes.
    batch_size
        Replaces the unknown batch dimension in every shape.

    Returns
    -------
    layers, deps
        One :class:`~checkmate_opt.costs.LayerInfo` per layer call and, for each, the ordered
        indices of the layer calls it consumes (model inputs excluded).

    Raises
    ------
    UnsupportedModelError
        For subclassed models, several outputs, or unknown non-batch dimensions.
    """
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    keras = _import_keras()
    fn = _functional(model, keras)
    ex = _Extractor(keras, int(batch_size))
    ex.expand(fn, {}, "")
    return ex.layers, ex.deps


def parameter_bytes(model: Any) -> int:
    """Bytes of all weights of ``model`` (trainable and not; each variable once)."""
    seen: set[int] = set()
    total = 0
    for w in model.weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        total += math.prod(int(d) for d in w.shape) * _itemsize(w.dtype)
    return total


def graph_from_keras(
    model: Any,
    *,
    batch_size: int,
    cost_model: str | CostModel | None = None,
    platform: str | None = None,
    loss_memory: int | None = None,
    loss_compute: int | None = None,
    name: str | None = None,
) -> Graph:
    """Build the training graph of a Keras 3 model (spec §2.1-2.3).

    Forward node ``i`` is the ``i``-th layer call (Keras order, input layers dropped), the loss
    is node ``L`` and the gradient of layer ``i`` is node ``2L - i``. Memory: output elements x
    dtype bytes, the batch dimension set to ``batch_size``; gradients have the size of their
    layer's output. ``parameter_bytes`` counts every weight of the model.

    Parameters
    ----------
    model
        A functional or sequential Keras 3 model (TensorFlow backend) with fixed input shapes.
    batch_size
        The batch size of the training step.
    cost_model
        A name of :data:`checkmate_opt.costs.COST_MODELS` or a
        :class:`~checkmate_opt.costs.CostModel` (default ``"flops"``).
    platform
        The same choice by name, spelled as in :func:`checkmate_opt.zoo.load` and the CLI's
        ``--platform`` (``"flops"``, ``"p32xlarge"``, ...). Give ``platform`` or
        ``cost_model``, not both.
    loss_memory
        Bytes of the loss node (default ``4 * batch_size``, one float per example).
    loss_compute
        Cost of the loss node (default: the cost model's; 0 for ``flops``).
    name
        Graph name (default: the model's name).

    Returns
    -------
    Graph
        The training graph, ``n = 2L + 1`` nodes.

    Raises
    ------
    UnsupportedModelError
        Naming the layer (or model) that cannot be represented or costed.
    ValueError
        If ``platform`` and ``cost_model`` are both given.
    """
    if platform is not None and cost_model is not None:
        raise ValueError(
            f"graph_from_keras got platform={platform!r} and cost_model={cost_model!r}; "
            "give one of them (they choose the same thing)"
        )
    chosen = platform if platform is not None else cost_model
    layers, deps = extract_layers(model, batch_size=batch_size)
    costs = get_cost_model("flops" if chosen is None else chosen).graph_costs(layers)
    return training_graph(
        deps,
        costs.forward,
        [info.output_bytes for info in layers],
        names=[info.name for info in layers],
        parameter_bytes=parameter_bytes(model),
        loss_compute=costs.loss if loss_compute is None else int(loss_compute),
        loss_memory=4 * int(batch_size) if loss_memory is None else int(loss_memory),
        backward_compute=costs.backward,
        name=model.name if name is None else name,
    )
