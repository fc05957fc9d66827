"""The layer description a cost model sees, and the cost-model interface.

The Keras importer turns every layer call into a :class:`LayerInfo` (shapes already carry the
batch size), so cost models other than ``measured`` never touch TensorFlow and can be unit
tested on hand-made descriptions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CostModel", "GraphCosts", "LayerInfo"]


@dataclass(frozen=True)
class LayerInfo:
    """One layer call of a model, as the cost models see it.

    Parameters
    ----------
    name
        Node name (the Keras layer name; ``"<layer>_<k>"`` for the k-th call of a shared layer,
        ``"<model>/<layer>"`` inside a nested model).
    class_name
        The Keras class name (``"Conv2D"``, ...).
    config
        The layer's ``get_config()`` (only the keys the hooks read matter).
    input_shapes, output_shapes
        Shapes of the input / output tensors, batch dimension included.
    dtype_bytes
        Bytes per element of the outputs (4 for float32).
    parameter_count
        Number of weights owned by the layer (0 for later calls of a shared layer).
    layer, node
        The live Keras layer and call node (used only by the ``measured`` model).
    """

    name: str
    class_name: str
    config: Mapping[str, Any] = field(default_factory=dict)
    input_shapes: tuple[tuple[int, ...], ...] = ()
    output_shapes: tuple[tuple[int, ...], ...] = ()
    dtype_bytes: int = 4
    parameter_count: int = 0
    layer: Any = field(default=None, compare=False, repr=False)
    node: Any = field(default=None, compare=False, repr=False)

    @property
    def input_elements(self) -> int:
        """Elements of all inputs together."""
        return sum(math.prod(s) for s in self.input_shapes)

    @property
    def output_elements(self) -> int:
        """Elements of all outputs together."""
        return sum(math.prod(s) for s in self.output_shapes)

    @property
    def output_bytes(self) -> int:
        """Bytes of all outputs together (spec §2.3: elements x dtype bytes)."""
        return self.output_elements * self.dtype_bytes

    @property
    def input_bytes(self) -> int:
        """Bytes of all inputs together (inputs assumed to share the output dtype)."""
        return self.input_elements * self.dtype_bytes


@dataclass(frozen=True)
class GraphCosts:
    """Per-layer forward and backward costs plus the loss cost, all non-negative integers."""

    forward: tuple[int, ...]
    backward: tuple[int, ...]
    loss: int


class CostModel:
    """Base class of the cost models.

    Subclasses implement :meth:`layer_cost` (and optionally :meth:`loss_cost`); models that
    need the whole layer list at once (``measured``) override :meth:`graph_costs`.
    """

    #: registry name
    name: str = ""
    #: unit of the integer costs ("ops", "us", ...)
    unit: str = ""

    def layer_cost(self, layer: LayerInfo) -> tuple[int, int]:
        """Forward and backward cost of one layer call."""
        raise NotImplementedError

    def loss_cost(self, output: LayerInfo) -> int:
        """Cost of the loss node fed by ``output`` (the last layer)."""
        return 0

    def graph_costs(self, layers: Sequence[LayerInfo]) -> GraphCosts:
        """Costs of every layer (in order) and of the loss fed by the last one."""
        fwd: list[int] = []
        bwd: list[int] = []
        for info in layers:
            f, b = self.layer_cost(info)
            fwd.append(int(f))
            bwd.append(int(b))
        return GraphCosts(tuple(fwd), tuple(bwd), int(self.loss_cost(layers[-1])))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} unit={self.unit!r}>"
