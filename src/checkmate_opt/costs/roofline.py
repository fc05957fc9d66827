"""Roofline cost models of the paper's profiled platforms (spec §2.5).

The paper's per-layer V100/K80/CPU profiles are not public, so each platform is modelled from
its published peak arithmetic rate and memory bandwidth plus a fixed per-kernel overhead::

    time = max(flops / peak_flops, bytes / bandwidth) + kernels * overhead

Costs are integer microseconds (at least 1). Forward FLOPs are ``2 x`` the MAC counts of the
``flops`` hooks for convolutions and dense layers (one multiply + one add), the hook count for
element-wise layers; bytes are inputs + outputs + weights at the platform's element size.
Backward: layers with weights do twice the forward FLOPs (input and weight gradients), others
the same; the traffic doubles (read the output gradient and the saved tensors, write the input
gradient). The loss is a softmax cross-entropy over the last layer's output.
"""

from __future__ import annotations

from dataclasses import dataclass

from checkmate_opt.costs.base import CostModel, LayerInfo
from checkmate_opt.costs.flops import forward_ops

__all__ = ["HARDWARE", "Hardware", "RooflineCostModel"]


@dataclass(frozen=True)
class Hardware:
    """Published figures of one platform (see ``source``)."""

    name: str
    description: str
    peak_flops: float  # FLOP/s
    bandwidth: float  # bytes/s
    kernel_overhead_s: float
    element_bytes: int
    source: str


_V100 = (
    "NVIDIA Tesla V100 datasheet / Volta architecture whitepaper (SXM2, as in AWS p3.2xlarge): "
    "15.7 TFLOP/s fp32, 125 TFLOP/s fp16 tensor cores, 900 GB/s HBM2"
)
_OVERHEAD = (
    "per-kernel overhead 5 us on GPUs, 10 us on the CPU: an assumption (order of magnitude of "
    "a CUDA launch plus TensorFlow's per-op dispatch), not a datasheet figure"
)

#: platform name -> hardware figures
HARDWARE: dict[str, Hardware] = {
    "p32xlarge": Hardware(
        "p32xlarge",
        "AWS p3.2xlarge, 1x V100 SXM2 16 GB, fp32",
        15.7e12,
        900e9,
        5e-6,
        4,
        f"{_V100}; {_OVERHEAD}",
    ),
    "p32xlarge_fp16": Hardware(
        "p32xlarge_fp16",
        "AWS p3.2xlarge, 1x V100 SXM2 16 GB, fp16 tensor cores",
        125e12,
        900e9,
        5e-6,
        2,
        f"{_V100}; {_OVERHEAD}",
    ),
    "p2xlarge": Hardware(
        "p2xlarge",
        "AWS p2.xlarge, one GK210 (half a Tesla K80 board), fp32",
        4.37e12,
        240e9,
        5e-6,
        4,
        "NVIDIA Tesla K80 datasheet: 8.73 TFLOP/s fp32 with GPU Boost and 480 GB/s GDDR5 per "
        f"board of two GK210 GPUs; AWS p2.xlarge exposes one GPU (12 GiB); {_OVERHEAD}",
    ),
    "c524xlarge": Hardware(
        "c524xlarge",
        "AWS c5.24xlarge, 96 vCPU = 48 cores of 2x Xeon Platinum 8275CL, fp32",
        48 * 64 * 3.0e9,
        2 * 6 * 23.47e9,
        10e-6,
        4,
        "AWS c5 page: 2x 24-core Intel Xeon Platinum 8275CL (Cascade Lake), 96 vCPU; peak = "
        "48 cores x 64 fp32 FLOP/cycle (two AVX-512 FMA units) x 3.0 GHz; bandwidth = 2 sockets "
        f"x 6 channels of DDR4-2933 (23.47 GB/s each) per Intel ARK; {_OVERHEAD}",
    ),
}

# hooks that count multiply-accumulates (2 FLOPs each)
_MAC_CLASSES = {
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "Dense",
}
# metadata-only layers: no data is moved
_VIEW_CLASSES = {"Reshape", "Flatten", "Identity", "InputLayer"}


def _kernels(info: LayerInfo) -> int:
    k = 1
    if info.class_name in _MAC_CLASSES:
        if info.config.get("use_bias", False):
            k += 1
        if info.config.get("activation", "linear") not in ("linear", None):
            k += 1
    return k


class RooflineCostModel(CostModel):
    """Roofline model of one of :data:`HARDWARE` (costs in integer microseconds)."""

    unit = "us"

    def __init__(self, platform: str = "p32xlarge") -> None:
        try:
            self.hardware = HARDWARE[platform]
        except KeyError:
            raise ValueError(
                f"no roofline hardware {platform!r}; choose one of: {', '.join(HARDWARE)}"
            ) from None
        self.name = platform

    def _time_us(self, flops: float, nbytes: float, kernels: int) -> int:
        hw = self.hardware
        t = max(flops / hw.peak_flops, nbytes / hw.bandwidth) + kernels * hw.kernel_overhead_s
        return max(1, round(t * 1e6))

    def layer_cost(self, layer: LayerInfo) -> tuple[int, int]:
        """Forward and backward time of one layer call in microseconds."""
        ops = forward_ops(layer)
        flops = 2 * ops if layer.class_name in _MAC_CLASSES else ops
        eb = self.hardware.element_bytes
        if layer.class_name in _VIEW_CLASSES:
            nbytes = 0
        else:
            nbytes = (layer.input_elements + layer.output_elements + layer.parameter_count) * eb
        kernels = _kernels(layer)
        has_weights = layer.parameter_count > 0
        fwd = self._time_us(flops, nbytes, kernels)
        bwd = self._time_us(
            (2 if has_weights else 1) * flops, 2 * nbytes, (2 if has_weights else 1) * kernels
        )
        return fwd, bwd

    def loss_cost(self, output: LayerInfo) -> int:
        """Softmax cross-entropy over the last layer's output."""
        elems = output.output_elements
        return self._time_us(5 * elems, 2 * elems * self.hardware.element_bytes, 2)

    def __repr__(self) -> str:
        return f"<RooflineCostModel {self.name!r} ({self.hardware.description})>"
