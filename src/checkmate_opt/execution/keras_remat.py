"""The Keras-native path: a layer list for ``keras.RematScope(mode="list_of_layers")``.

``RematScope`` wraps the call of every listed layer in ``keras.remat`` (``tf.recompute_grad`` on
TensorFlow): the forward pass keeps the layer's *inputs*, not what the layer computes inside,
and the backward pass recomputes the layer from those inputs. That is all it can express, so a
schedule is restricted to it:

* a listed layer's output is dropped after the forward pass and recomputed, from its inputs,
  right before the backward pass first needs it;
* its inputs are kept (``recompute_grad`` holds them), so a layer whose producer or consumer is
  listed is not listed itself (the neighbour's recomputation would keep its output anyway);
* every other value lives from its computation to its last use (no other recomputation).

:func:`remat_layers` solves the model's training graph for the budget, lists the layers the
schedule recomputes that the mechanism can take, tops the list up while the restricted schedule
is over the budget, and simulates the restricted schedule (the simulator is the referee: the
cost and memory reported are those of exactly the listed layers, not of the full schedule).

What the mechanism cannot take, with the reason recorded in :attr:`RematLayers.excluded`:

* ``keras.ops`` calls (not layers; the list holds layer names);
* on TensorFlow, layers whose call receives keyword arguments (a ``training`` flag, as
  ``BatchNormalization``, ``Dropout``, ``Dense``, ``MultiHeadAttention``, ``LSTM`` get; a mask;
  ``use_causal_mask=...``): ``tf.custom_gradient`` accepts keyword arguments only in eager mode,
  so a compiled ``fit`` fails with "The custom_gradient decorator currently supports keywords
  arguments only when eager execution is enabled";
* layers called more than once (the list names a layer, so every call would be recomputed);
* the last layer (the loss consumes its output at once; nothing to drop);
* (``tf_rules``, on by default) layers whose listing frees nothing on TensorFlow, which keeps
  a tensor exactly as long as some gradient reads it: when a consumer's gradient reads the
  output as its input (``Conv2D``, ``Dense``, normalisations, ``MaxPooling``...), the output
  stays whether or not the layer is listed; when the layer's own gradient never reads its
  output (a ``Conv2D`` without activation), plain training frees it already. Listing such a
  layer only adds the recomputation and its temporaries (the graph-mode ``recompute_grad``
  copies every input of the layer when it recomputes it): this is why a list of every
  convolution of a relu network trains with *more* memory than plain ``fit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import SimulationReport, simulate

__all__ = ["RematLayers", "effective_dropped", "listed_schedule", "remat_layers"]

_KEYWORD_REASON = (
    "its call receives keyword arguments ({kws}); keras.remat wraps the call in TensorFlow's "
    "custom_gradient, which accepts keyword arguments only in eager mode, so a compiled fit "
    "would fail ('The custom_gradient decorator currently supports keywords arguments only "
    "when eager execution is enabled')"
)


@dataclass(frozen=True, eq=False)
class RematLayers:
    """The layers to hand to ``keras.RematScope`` and the simulated restricted schedule.

    Attributes
    ----------
    layer_names
        Keras layer names for ``RematScope(mode="list_of_layers", layer_names=...)``.
    dropped
        Their forward node ids in :attr:`graph` (outputs dropped and recomputed).
    excluded
        Node name -> why a layer the full schedule recomputes is not listed.
    graph
        The model's training graph (batch size and cost model as requested).
    schedule, report
        The restricted schedule and its simulation (the figures to trust).
    budget
        The activation-memory budget in bytes (``None``: no budget).
    full
        The strategy's own result on the graph (the unrestricted schedule).
    message
        Why the restricted schedule is over the budget (empty when it fits).
    """

    layer_names: tuple[str, ...]
    dropped: tuple[int, ...]
    excluded: Mapping[str, str]
    graph: Graph = field(repr=False)
    schedule: Schedule = field(repr=False)
    report: SimulationReport = field(repr=False)
    budget: int | None
    full: SolveResult = field(repr=False)
    message: str = ""

    @property
    def within_budget(self) -> bool:
        """The restricted schedule's simulated peak activation memory fits the budget."""
        return self.budget is None or self.report.peak_activation_memory <= self.budget

    @property
    def peak_activation_memory(self) -> int:
        """Simulated peak activation bytes of the restricted schedule."""
        return self.report.peak_activation_memory

    @property
    def compute_cost(self) -> int:
        """Simulated compute cost of the restricted schedule."""
        return self.report.compute_cost

    @property
    def overhead(self) -> float:
        """Compute cost over one evaluation of every node."""
        return self.report.overhead

    def scope(self) -> Any:
        """``keras.RematScope(mode="list_of_layers", layer_names=...)`` for these layers.

        Keras reads the scope when a layer is *created*: build the model inside it, or use
        :meth:`apply` on a built model.
        """
        import keras

        return keras.RematScope(mode="list_of_layers", layer_names=list(self.layer_names))

    def apply(self, model: Any) -> Any:
        """A copy of ``model`` built inside :meth:`scope`, with the same weights (not compiled)."""
        import keras

        with self.scope():
            clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        return clone

    def summary(self) -> str:
        """A few lines: the list, the restricted figures against the full schedule's."""
        full = self.full.report
        lines = [
            f"RematScope layers ({len(self.layer_names)}): {', '.join(self.layer_names) or '-'}",
            f"restricted schedule: peak activation memory {self.peak_activation_memory} B, "
            f"compute {self.compute_cost} ({self.overhead:.3f}x), "
            f"budget {self.budget} B, within budget: {self.within_budget}",
        ]
        if full is not None:
            lines.append(
                f"full {self.full.strategy} schedule: peak {full.peak_activation_memory} B, "
                f"compute {full.compute_cost} ({full.overhead:.3f}x)"
            )
        if self.message:
            lines.append(self.message)
        for name, why in self.excluded.items():
            lines.append(f"not listed: {name}: {why}")
        return "\n".join(lines)


def listed_schedule(graph: Graph, dropped: set[int] | frozenset[int] | tuple[int, ...]) -> Schedule:
    """The schedule RematScope runs when the forward nodes ``dropped`` are listed.

    Every value lives from its computation to its last use, except that a dropped node is
    freed after its last forward use and recomputed at the first backward stage that reads it
    (its inputs being kept). ``dropped`` must hold forward nodes of a training graph.
    """
    n = graph.n
    fwd = graph.is_forward
    drop = {int(v) for v in dropped}
    bad = [v for v in drop if not (0 <= v < n and fwd[v])]
    if bad:
        raise ValueError(f"listed_schedule: nodes {sorted(bad)} are not forward nodes")
    S = np.zeros((n, n), dtype=bool)
    for v in range(n):
        users = graph.successors[v]
        if not users:
            continue
        if v in drop:
            fwd_users = [u for u in users if fwd[u]]
            bwd_users = [u for u in users if not fwd[u]]
            S[v + 1 : max(fwd_users, default=v) + 1, v] = True
            if bwd_users:  # recomputed at the first backward use, then kept to the last
                S[min(bwd_users) + 1 : max(bwd_users) + 1, v] = True
        else:
            S[v + 1 : max(users) + 1, v] = True
    return Schedule.from_s(graph, S)


def effective_dropped(graph: Graph, listed: set[int] | tuple[int, ...]) -> tuple[int, ...]:
    """The listed forward nodes whose outputs RematScope really drops.

    A listed layer keeps its inputs for its recomputation, so a listed node with a listed
    consumer keeps its output in memory; the others are dropped.
    """
    fwd = graph.is_forward
    chosen = {int(v) for v in listed}
    return tuple(
        sorted(v for v in chosen if not any(fwd[u] and u in chosen for u in graph.successors[v]))
    )


def _unlistable(info: Any, calls: int, keras: Any) -> str | None:
    op = info.layer
    if not isinstance(op, keras.layers.Layer):
        return "a keras.ops call, not a layer (RematScope lists layers by name)"
    if isinstance(op, keras.layers.InputLayer):  # pragma: no cover - inputs are not nodes
        return "an input"
    if calls > 1:
        return f"a shared layer called {calls} times (listing its name recomputes every call)"
    if keras.backend.backend() == "tensorflow":
        kws = set(getattr(info.node.arguments, "kwargs", {}) or {})
        if getattr(op, "_call_has_training_arg", False):
            kws.add("training")
        if kws:
            return _KEYWORD_REASON.format(kws=", ".join(f"{k}=..." for k in sorted(kws)))
    return None


# What TensorFlow's gradients read (graph mode frees a tensor once nothing left reads it).
# Activations whose gradient reads the activation's output (ReluGrad, SigmoidGrad, ...):
_OUTPUT_GRAD_ACTIVATIONS = {"relu", "sigmoid", "tanh", "softmax", "elu"}
# layer classes whose gradient reads the layer's own output
_OUTPUT_GRAD_CLASSES = {"ReLU", "Softmax", "ELU", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D"}
# layer classes whose gradient needs only the shapes of their inputs (or a mask), not the values
_INPUT_FREE_CLASSES = {
    "Add",
    "Subtract",
    "Average",
    "Concatenate",
    "Reshape",
    "Flatten",
    "Permute",
    "RepeatVector",
    "Identity",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "ReLU",
    "Softmax",
    "ELU",
}


def _activation(info: Any) -> str:
    act = info.config.get("activation", "linear")
    return act if isinstance(act, str) else str(getattr(act, "__name__", act))


def _reads_own_output(info: Any) -> bool:
    """Whether the layer's gradient reads its output (so plain training keeps it)."""
    if info.class_name in _OUTPUT_GRAD_CLASSES:
        return True
    return _activation(info) in _OUTPUT_GRAD_ACTIVATIONS


def _reads_input(info: Any) -> bool:
    """Whether the layer's gradient reads its input values (unknown classes: yes)."""
    if info.class_name in _INPUT_FREE_CLASSES:
        return False
    if info.class_name == "Activation":
        return _activation(info) not in (_OUTPUT_GRAD_ACTIVATIONS | {"linear"})
    if info.class_name.startswith("UpSampling"):
        return info.config.get("interpolation", "nearest") != "nearest"
    return True


def _no_gain(infos: Any, users: list[list[int]], v: int) -> str | None:
    """Why listing forward node ``v`` would free nothing on TensorFlow (None: it frees it)."""
    for u in users[v]:
        if _reads_input(infos[u]):
            return (
                f"its consumer {infos[u].name!r} ({infos[u].class_name}) reads its input in its "
                "own gradient, so this output stays in memory whether or not it is listed"
            )
    if not _reads_own_output(infos[v]):
        return (
            "TensorFlow already frees its output after the forward pass (its gradient does not "
            "read it), so listing it would only add recomputation"
        )
    return None


def _peak(graph: Graph, dropped: set[int]) -> int:
    return simulate(graph, listed_schedule(graph, dropped)).peak_activation_memory


def remat_layers(
    model: Any,
    *,
    budget: int | str | None,
    batch_size: int,
    strategy: str = "optimal",
    cost_model: Any = None,
    platform: str | None = None,
    top_up: bool = True,
    tf_rules: bool = True,
    **solve_kwargs: Any,
) -> RematLayers:
    """Choose the ``RematScope`` layer list of ``model`` for an activation-memory budget.

    Parameters
    ----------
    model
        A functional or sequential Keras 3 model with fixed input shapes.
    budget
        Activation-memory budget: bytes, a size (``"12GB"``) or a multiple of the no-remat
        peak (``"0.8x"``), as for :func:`checkmate_opt.solve`.
    batch_size
        The training batch size (memory scales with it).
    strategy
        The strategy whose schedule is restricted (any registered one).
    cost_model, platform
        The importer's cost model (see :func:`~checkmate_opt.importers.keras.graph_from_keras`).
    top_up
        While the restricted schedule is over the budget, also list other listable layers,
        largest output first, each only if it lowers the simulated peak.
    tf_rules
        Leave out layers whose listing frees nothing on TensorFlow: a consumer's gradient
        reads the output anyway (``Conv2D``, ``Dense``, normalisations, ...), or the layer's own
        gradient never read it (a ``Conv2D`` without activation), so plain training already
        frees it. ``False`` keeps only the mechanism's own limits (the graph model's view).
    **solve_kwargs
        Passed to :func:`checkmate_opt.solve` (``options=``, ``solver=``, ...).

    Returns
    -------
    RematLayers
        The names, the restricted schedule's simulated figures and what was left out and why.
        A restricted schedule over the budget is returned with ``within_budget == False``.
    """
    import keras
    from checkmate_opt.importers.keras import extract_layers, graph_from_keras
    from checkmate_opt.strategies import solve

    graph = graph_from_keras(model, batch_size=batch_size, cost_model=cost_model, platform=platform)
    infos, deps = extract_layers(model, batch_size=batch_size)
    full = solve(graph, budget, strategy=strategy, **solve_kwargs)
    L = len(infos)
    calls: dict[int, int] = {}
    for info in infos:
        calls[id(info.layer)] = calls.get(id(info.layer), 0) + 1
    blocked = {v: _unlistable(infos[v], calls[id(infos[v].layer)], keras) for v in range(L)}
    by_name: dict[str, set[int]] = {}
    for info in infos:
        by_name.setdefault(str(getattr(info.layer, "name", "")), set()).add(id(info.layer))
    for v in range(L):
        if not blocked[v] and len(by_name[str(infos[v].layer.name)]) > 1:
            blocked[v] = (
                f"another layer is also named {infos[v].layer.name!r} (in a nested model); "
                "RematScope matches names, so listing it would recompute both"
            )
    blocked[L - 1] = blocked[L - 1] or "the last layer (the loss reads its output at once)"
    neighbours = [set(deps[v]) for v in range(L)]
    users: list[list[int]] = [[] for _ in range(L)]
    for v in range(L):
        for p in deps[v]:
            neighbours[p].add(v)
            users[p].append(v)
    if tf_rules:
        for v in range(L):
            blocked[v] = blocked[v] or _no_gain(infos, users, v)

    excluded: dict[str, str] = {}
    chosen: set[int] = set()

    def try_add(v: int) -> str | None:
        if blocked[v]:
            return blocked[v]
        clash = sorted(neighbours[v] & chosen)
        if clash:
            return (
                f"its neighbour {infos[clash[0]].name!r} is listed, and RematScope keeps a listed "
                "layer's inputs, so this output would be kept anyway"
            )
        chosen.add(v)
        return None

    recomputed: list[int] = []
    if full.schedule is not None:
        counts = full.schedule.compute_counts()
        recomputed = [v for v in range(L) if counts[v] > 1]
    for v in sorted(recomputed, key=lambda u: (-graph.memory_cost[u], u)):
        why = try_add(v)
        if why:
            excluded[infos[v].name] = why
    if top_up and full.budget is not None:
        peak = _peak(graph, chosen)
        for v in sorted(range(L), key=lambda u: (-graph.memory_cost[u], u)):
            if peak <= full.budget:
                break
            if v in chosen or blocked[v] or neighbours[v] & chosen:
                continue
            candidate = _peak(graph, chosen | {v})
            if candidate < peak:
                chosen.add(v)
                peak = candidate
                excluded.pop(infos[v].name, None)
    dropped = tuple(sorted(chosen))
    schedule = listed_schedule(graph, set(dropped))
    report = simulate(graph, schedule)
    message = ""
    if full.budget is not None and report.peak_activation_memory > full.budget:
        message = (
            f"over budget: the listed layers need {report.peak_activation_memory} B of "
            f"activation memory, the budget is {full.budget} B; RematScope can only drop the "
            "outputs of the layers it can list (see the reasons given for the others)"
        )
        if full.schedule is None:
            message += (
                f" ({strategy} found no schedule: {full.termination.value}"
                + (f", {full.message}" if full.message else "")
                + ")"
            )
        elif full.report is not None and full.within_budget:
            message += (
                f" (the full {strategy} schedule fits with {full.report.peak_activation_memory} B)"
            )
    return RematLayers(
        layer_names=tuple(infos[v].layer.name for v in dropped),
        dropped=dropped,
        excluded=excluded,
        graph=graph,
        schedule=schedule,
        report=report,
        budget=full.budget,
        full=full,
        message=message,
    )
