"""The ``flops`` cost models, extended to every layer class of the model zoo.

Costs are multiply-accumulate style operation counts with the batch included, as the Checkmate
paper's hooks count them (e.g. a Conv2D costs ``kh*kw*C_in`` per output element). The gradient
node costs twice the forward node; the loss costs 0. Layer classes the paper did not cover get
the analogous count (marked "extension" below).

Two variants differ only in the layers that move data without arithmetic (pooling, dropout,
padding, cropping, reshapes, concatenation):

* ``flops`` (default) charges them the elements they read and write. A free layer would be
  recomputed for nothing by the optimum, which no real device does.
* ``flops_paper`` charges them 0, exactly as the paper's hooks did (the published fcn8vgg graph
  carries these costs).

Layers of current models (extensions): ``Embedding`` (a gather: the indices read plus the rows
written), ``MultiHeadAttention`` (the query/key/value and output projections, the scores, the
softmax and the weighted sum, from the shapes of the tensors passed as ``query``, ``value`` and
``key``), ``LSTM`` / ``GRU`` / ``SimpleRNN`` (every time step's input and recurrent
multiply-accumulates plus the gate arithmetic), ``Bidirectional`` (both directions), and the
``keras.ops`` calls a functional model records (class ``ops.<Name>``): element-wise ops cost
their output elements, reductions their input elements, ``matmul`` / ``einsum`` their
multiply-accumulates, and ops that only move data (transpose, reshape, slicing, ...) are data
movers like the layers above.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from checkmate_opt.costs.base import CostModel, LayerInfo
from checkmate_opt.errors import UnsupportedModelError

__all__ = ["FLOP_HOOKS", "FlopsCostModel", "forward_ops"]


def _channels_in(info: LayerInfo) -> int:
    shape = info.input_shapes[0]
    if info.config.get("data_format") == "channels_first":
        return int(shape[1])
    return int(shape[-1])


def _kernel(info: LayerInfo) -> int:
    k = info.config.get("kernel_size", 1)
    return math.prod(k) if isinstance(k, list | tuple) else int(k)


def _conv(info: LayerInfo) -> int:
    groups = int(info.config.get("groups", 1) or 1)
    return _kernel(info) * (_channels_in(info) // groups) * info.output_elements


def _conv_transpose(info: LayerInfo) -> int:
    # spec §2.4 ignores the kernel size for transposed convolutions; kept for fidelity
    return _channels_in(info) * info.output_elements


def _depthwise(info: LayerInfo) -> int:
    return _kernel(info) * info.output_elements


def _separable(info: LayerInfo) -> int:  # extension: depthwise then pointwise
    c_in = _channels_in(info)
    dm = int(info.config.get("depth_multiplier", 1))
    filters = int(info.config["filters"])
    spatial_out = info.output_elements // filters
    return _kernel(info) * c_in * dm * spatial_out + c_in * dm * info.output_elements


def _dense(info: LayerInfo) -> int:
    shape = info.input_shapes[0]
    return math.prod(shape[:-1]) * int(shape[-1]) * int(info.config["units"])


def _upsampling(info: LayerInfo) -> int:
    if info.config.get("interpolation", "nearest") == "nearest":
        return info.output_elements
    return 5 * info.output_elements


def _inputs(info: LayerInfo) -> int:
    return info.input_elements


def _batchnorm(info: LayerInfo) -> int:
    return 4 * info.input_elements


def _resize(info: LayerInfo) -> int:
    return 5 * info.output_elements


def _zero(info: LayerInfo) -> int:
    return 0


def _outputs(info: LayerInfo) -> int:
    return info.output_elements


def _embedding(info: LayerInfo) -> int:  # extension: a gather moves data, no arithmetic
    return info.input_elements + info.output_elements


def _named_inputs(info: LayerInfo) -> dict[str, tuple[int, ...]]:
    names = tuple(info.config.get("_call_inputs") or ())
    out: dict[str, tuple[int, ...]] = {}
    for name, shape in zip(names, info.input_shapes, strict=False):
        out.setdefault(str(name), shape)
    return out


def _attention(info: LayerInfo) -> int:
    """MultiHeadAttention: projections, scores, softmax, weighted sum, output projection."""
    named = _named_inputs(info)
    q = named.get("query", info.input_shapes[0])
    v = named.get("value", info.input_shapes[1] if len(info.input_shapes) > 1 else q)
    k = named.get("key", v)
    heads = int(info.config["num_heads"])
    kd = int(info.config["key_dim"])
    vd = int(info.config.get("value_dim") or kd)
    out_shape = info.config.get("output_shape")
    if out_shape is None:
        out_dim = int(q[-1])
    elif isinstance(out_shape, list | tuple):
        out_dim = math.prod(int(d) for d in out_shape)
    else:
        out_dim = int(out_shape)
    axes = info.config.get("attention_axes")
    if axes is None:
        axes = range(1, len(k) - 1)
    elif isinstance(axes, int):
        axes = (axes,)
    keys_per_query = math.prod(int(k[a % len(k)]) for a in axes)
    pos_q, pos_k, pos_v = math.prod(q[:-1]), math.prod(k[:-1]), math.prod(v[:-1])
    projections = (
        pos_q * q[-1] * heads * kd + pos_k * k[-1] * heads * kd + pos_v * v[-1] * heads * vd
    )
    scores = pos_q * heads * keys_per_query
    return int(
        projections
        + scores * kd  # q . k
        + 3 * scores  # scale, exp, normalise (a mask adds one more pass, not counted)
        + scores * vd  # weights . v
        + pos_q * heads * vd * out_dim  # output projection
    )


# per unit and time step: (gates, element-wise ops after the gate products)
_RNN_GATES = {"LSTM": (4, 9), "GRU": (3, 10), "SimpleRNN": (1, 2)}


def _rnn_ops(class_name: str, units: int, shape: tuple[int, ...]) -> int:
    gates, elementwise = _RNN_GATES[class_name]
    steps = math.prod(shape[:-1])  # batch x time
    return steps * units * (gates * (int(shape[-1]) + units) + elementwise)


def _rnn(info: LayerInfo) -> int:  # extension: every step's input + recurrent MACs
    return _rnn_ops(info.class_name, int(info.config["units"]), info.input_shapes[0])


def _bidirectional(info: LayerInfo) -> int:
    inner = info.config["layer"]
    cls, cfg = inner["class_name"], inner["config"]
    if cls not in _RNN_GATES:
        raise ValueError(f"Bidirectional wraps {cls}; only {', '.join(_RNN_GATES)} are counted")
    one = _rnn_ops(cls, int(cfg["units"]), info.input_shapes[0])
    return 2 * one + info.output_elements  # both directions, then the merge


def _matmul(info: LayerInfo) -> int:
    a = info.input_shapes[0]
    return info.output_elements * int(a[-1])


def _einsum(info: LayerInfo) -> int:
    spec = str(info.config["subscripts"]).replace(" ", "")
    if "..." in spec:
        raise ValueError(f"einsum {spec!r} with '...' is not counted; spell out every axis")
    lhs = spec.split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for term, shape in zip(lhs, info.input_shapes, strict=True):
        if len(term) != len(shape):
            raise ValueError(f"einsum term {term!r} does not match input shape {shape}")
        sizes.update({c: int(d) for c, d in zip(term, shape, strict=True)})
    return math.prod(sizes.values())  # one multiply-accumulate per index combination


# keras.ops Operation classes (recorded as "ops.<Name>" by the importer)
_OPS_ELEMENTWISE = [
    "Abs",
    "Absolute",
    "Add",
    "Arccos",
    "Arcsin",
    "Arctan",
    "Ceil",
    "Clip",
    "Cos",
    "Cosh",
    "Divide",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expm1",
    "Floor",
    "FloorDivide",
    "Gelu",
    "Greater",
    "GreaterEqual",
    "HardSigmoid",
    "HardSilu",
    "HardSwish",
    "LeakyRelu",
    "Less",
    "LessEqual",
    "Log",
    "Log1p",
    "LogSigmoid",
    "LogSoftmax",
    "LogicalAnd",
    "LogicalNot",
    "LogicalOr",
    "Maximum",
    "Minimum",
    "Mod",
    "Multiply",
    "Negative",
    "NotEqual",
    "Power",
    "Reciprocal",
    "Relu",
    "Relu6",
    "Round",
    "Rsqrt",
    "Selu",
    "Sigmoid",
    "Sign",
    "Silu",
    "Sin",
    "Sinh",
    "Softmax",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Square",
    "Subtract",
    "Swish",
    "Tan",
    "Tanh",
    "TrueDivide",
    "Where",
    "Cast",
]
_OPS_REDUCTION = [
    "All",
    "Any",
    "Argmax",
    "Argmin",
    "Logsumexp",
    "Max",
    "Mean",
    "Min",
    "Norm",
    "Prod",
    "Std",
    "Sum",
    "Var",
]
_OPS_MOVE = [
    "BroadcastTo",
    "Concatenate",
    "Copy",
    "ExpandDims",
    "Flip",
    "GetItem",
    "MoveAxis",
    "Pad",
    "Repeat",
    "Reshape",
    "Roll",
    "Slice",
    "Split",
    "Squeeze",
    "Stack",
    "SwapAxes",
    "Take",
    "TakeAlongAxis",
    "Tile",
    "Transpose",
    "Tril",
    "Triu",
    "OneHot",
]


#: Keras class name -> forward op count
FLOP_HOOKS: dict[str, Callable[[LayerInfo], int]] = {
    # spec §2.4
    "Conv2D": _conv,
    "Conv2DTranspose": _conv_transpose,
    "DepthwiseConv2D": _depthwise,
    "BatchNormalization": _batchnorm,
    "Activation": _inputs,
    "ReLU": _inputs,
    "Dense": _dense,
    "Add": _inputs,
    "UpSampling2D": _upsampling,
    "Interp": _resize,
    "MaxPooling2D": _zero,
    "AveragePooling2D": _zero,
    "GlobalAveragePooling2D": _zero,
    "Cropping2D": _zero,
    "Dropout": _zero,
    "ZeroPadding2D": _zero,
    "Concatenate": _zero,
    "Flatten": _zero,
    "Reshape": _zero,
    "Lambda": _zero,
    # extensions (same counting rules)
    "Conv1D": _conv,
    "Conv3D": _conv,
    "Conv1DTranspose": _conv_transpose,
    "Conv3DTranspose": _conv_transpose,
    "DepthwiseConv1D": _depthwise,
    "SeparableConv1D": _separable,
    "SeparableConv2D": _separable,
    "LayerNormalization": _batchnorm,
    "GroupNormalization": _batchnorm,
    "LeakyReLU": _inputs,
    "ELU": _inputs,
    "PReLU": _inputs,
    "Softmax": _inputs,
    "Rescaling": _inputs,
    "Subtract": _inputs,
    "Multiply": _inputs,
    "Average": _inputs,
    "Maximum": _inputs,
    "Minimum": _inputs,
    "UpSampling1D": _upsampling,
    "UpSampling3D": _upsampling,
    "Resizing": _resize,
    "MaxPooling1D": _zero,
    "MaxPooling3D": _zero,
    "AveragePooling1D": _zero,
    "AveragePooling3D": _zero,
    "GlobalAveragePooling1D": _zero,
    "GlobalAveragePooling3D": _zero,
    "GlobalMaxPooling1D": _zero,
    "GlobalMaxPooling2D": _zero,
    "GlobalMaxPooling3D": _zero,
    "Cropping1D": _zero,
    "Cropping3D": _zero,
    "ZeroPadding1D": _zero,
    "ZeroPadding3D": _zero,
    "SpatialDropout1D": _zero,
    "SpatialDropout2D": _zero,
    "SpatialDropout3D": _zero,
    "Permute": _zero,
    "RepeatVector": _zero,
    "Identity": _zero,
    # layers of current models (extensions)
    "Embedding": _embedding,
    "MultiHeadAttention": _attention,
    "LSTM": _rnn,
    "GRU": _rnn,
    "SimpleRNN": _rnn,
    "Bidirectional": _bidirectional,
    "RMSNormalization": _batchnorm,
    "UnitNormalization": _batchnorm,
    "ops.Matmul": _matmul,
    "ops.Einsum": _einsum,
    **{f"ops.{c}": _outputs for c in _OPS_ELEMENTWISE},
    **{f"ops.{c}": _inputs for c in _OPS_REDUCTION},
    **{f"ops.{c}": _zero for c in _OPS_MOVE},
}


def forward_ops(info: LayerInfo, *, paper: bool = False) -> int:
    """Forward operation count of one layer call.

    ``paper=True`` keeps the paper's zero cost for layers that only move data; otherwise they
    cost the elements they read plus the elements they write.

    Raises
    ------
    UnsupportedModelError
        If no hook exists for the layer's class, naming the layer.
    """
    try:
        hook = FLOP_HOOKS[info.class_name]
    except KeyError:
        if info.class_name.startswith("ops."):
            raise UnsupportedModelError(
                f"keras.ops call {info.name!r} ({info.class_name}) has no FLOP hook; supported "
                f"ops: {', '.join(sorted(c for c in FLOP_HOOKS if c.startswith('ops.')))}. "
                "Add one to checkmate_opt.costs.flops.FLOP_HOOKS, wrap the computation in a "
                "supported layer, or pass another cost_model"
            ) from None
        raise UnsupportedModelError(
            f"layer {info.name!r} (class {info.class_name}) has no FLOP hook; supported "
            f"classes: {', '.join(sorted(c for c in FLOP_HOOKS if not c.startswith('ops.')))}. "
            "Add one to "
            "checkmate_opt.costs.flops.FLOP_HOOKS or pass another cost_model"
        ) from None
    try:
        if hook is _zero and not paper:
            return int(info.input_elements + info.output_elements)
        return int(hook(info))
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise UnsupportedModelError(
            f"layer {info.name!r} (class {info.class_name}): cannot count its operations "
            f"from config/shapes ({type(err).__name__}: {err})"
        ) from err


class FlopsCostModel(CostModel):
    """Platform ``flops``: forward = hook count, backward = 2 x forward, loss = 0.

    ``paper=True`` (platform ``flops_paper``) charges data-moving layers 0 as the paper did.
    """

    unit = "ops"

    def __init__(self, *, paper: bool = False) -> None:
        self.paper = paper
        self.name = "flops_paper" if paper else "flops"

    def layer_cost(self, layer: LayerInfo) -> tuple[int, int]:
        """Forward and backward op counts of one layer call."""
        f = forward_ops(layer, paper=self.paper)
        return f, 2 * f
