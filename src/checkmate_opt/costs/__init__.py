"""Cost models: per-layer compute costs for the Keras importer (spec §2.4-2.5).

Names: ``flops`` (operation counts; data-moving layers charged what they move), ``flops_paper``
(the paper's counts: those layers free), ``p32xlarge`` (V100 fp32), ``p32xlarge_fp16`` (V100 fp16),
``p2xlarge`` (K80), ``c524xlarge`` (96-vCPU host) — roofline models — and ``measured`` (times
each layer on this machine). None of them imports TensorFlow except ``measured`` when it runs.
"""

from __future__ import annotations

import difflib
from typing import Any

from checkmate_opt.costs.base import CostModel, GraphCosts, LayerInfo
from checkmate_opt.costs.platforms import PLATFORM_MEMORY, PLATFORM_NAMES, platform_memory

__all__ = [
    "COST_MODELS",
    "PLATFORM_MEMORY",
    "PLATFORM_NAMES",
    "CostModel",
    "GraphCosts",
    "LayerInfo",
    "get_cost_model",
    "platform_memory",
]

#: the registered cost-model names
COST_MODELS: tuple[str, ...] = (
    "flops",
    "flops_paper",
    "p32xlarge",
    "p32xlarge_fp16",
    "p2xlarge",
    "c524xlarge",
    "measured",
)


def get_cost_model(name: str | CostModel, **kwargs: Any) -> CostModel:
    """The cost model registered under ``name`` (a :class:`CostModel` is returned as is).

    Parameters
    ----------
    name
        One of :data:`COST_MODELS`.
    **kwargs
        Options of the ``measured`` model (``batch_sizes``, ``repeats``, ``cache_dir``, ...).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones and close matches.
    """
    if isinstance(name, CostModel):
        return name
    if name in ("flops", "flops_paper"):
        from checkmate_opt.costs.flops import FlopsCostModel

        return FlopsCostModel(paper=name == "flops_paper")
    if name == "measured":
        from checkmate_opt.costs.measured import MeasuredCostModel

        return MeasuredCostModel(**kwargs)
    if name in COST_MODELS:
        from checkmate_opt.costs.roofline import RooflineCostModel

        return RooflineCostModel(name)
    close = difflib.get_close_matches(str(name), COST_MODELS, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(f"unknown cost model {name!r}{hint}; choose one of: {', '.join(COST_MODELS)}")
