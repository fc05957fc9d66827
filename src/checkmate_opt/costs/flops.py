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
        raise UnsupportedModelError(
            f"layer {info.name!r} (class {info.class_name}) has no FLOP hook; supported "
            f"classes: {', '.join(sorted(FLOP_HOOKS))}. Add one to "
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
