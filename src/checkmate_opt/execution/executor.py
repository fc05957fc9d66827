"""Run a training step exactly as a schedule says (Keras 3 on the TensorFlow backend).

The model's training graph is the one :mod:`checkmate_opt.importers.keras` builds: forward node
``i`` is the ``i``-th layer call, node ``L`` the loss, node ``2L - i`` the gradient of layer
``i``'s output. The executor replays the operation list the simulator derives from (R, S):
every COMPUTE evaluates the node into a register, every FREE deletes the register (the last
Python reference the executor holds, so TensorFlow can release the buffer). What is alive
between operations is therefore exactly what the simulator counts.

What a node computes:

* forward node ``i``: the Keras operation of that call (a layer or a ``keras.ops`` operation,
  any number of inputs, its recorded call arguments) on the registers of its producers, with
  ``training=True`` where the operation takes it;
* loss node: ``loss(y, prediction)``;
* gradient node ``2L - j`` (the gradient of layer ``j``'s output, one tensor per output): for
  each consumer ``i`` of ``j``, a vector-Jacobian product through ``i``: the executor runs ``i``
  once more under a ``tf.GradientTape`` on the registers of its inputs and asks for the
  gradient with respect to ``j``'s outputs, seeded with the gradient register of ``i``. Through
  the last layer the product differentiates ``loss(y, layer(...))`` in one tape instead (Keras
  computes a softmax output's cross-entropy from the logits; this keeps plain training's
  arithmetic); the last layer's own gradient node is the loss's gradient with respect to the
  prediction, computed as the schedule says. The first such product through
  ``i`` in a step also yields the gradients of ``i``'s weights (layers without producers get
  theirs in their own gradient node), accumulated per variable so shared layers sum.

So the executed compute is the schedule's, plus one forward re-run of consumer ``i`` per
evaluation of a gradient node of one of its producers (a VJP re-run; counted in
:class:`StepStats`). When that re-run needs an input that the schedule does not hold (the
training graph gives a gradient node its consumers' outputs, not their other inputs), a merge
whose gradient ignores input values (``Add``, ``Subtract``, ``Average``, ``Concatenate``)
gets zeros of the right shape; any other operation gets the missing value recomputed for the
moment (an *implied* recomputation, also counted).

Randomness and state: a layer's non-trainable variables (batch-normalization statistics, the
seed state of dropout) are saved before its first call in the step and restored around every
later call, so statistics update once per step and dropout draws the same mask on every
recomputation. Graph mode would let TensorFlow's optimizer merge identical recomputations, so
the step runs eagerly.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from checkmate_opt.errors import ScheduleError, UnsupportedModelError
from checkmate_opt.graph import Graph, training_graph
from checkmate_opt.results import SolveResult
from checkmate_opt.schedule import Schedule
from checkmate_opt.simulate import OpKind, simulate

__all__ = ["ScheduledStep", "StepOutput", "StepStats", "plain_step", "train_step"]

#: merges whose gradient with respect to one input does not read the other inputs
VALUE_FREE_MERGES = frozenset({"Add", "Subtract", "Average", "Concatenate"})

#: layer options that add loss terms the scheduled step does not compute
_REGULARIZER_KEYS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


def _tf() -> Any:
    try:
        import tensorflow as tf
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "executing schedules needs tensorflow and keras 3: pip install 'checkmate-opt[keras]'"
        ) from err
    return tf


@dataclass
class _Unit:
    """One forward node: a Keras call node and where each of its input tensors comes from."""

    name: str
    op: Any
    node: Any
    sources: dict[int, tuple[int, int]]  # id(KerasTensor) -> (unit or -1-input, output index)
    producers: tuple[int, ...]
    out_shapes: tuple[tuple[int | None, ...], ...]
    out_dtypes: tuple[str, ...]
    training_arg: bool
    weights: tuple[Any, ...]
    state: tuple[Any, ...]


@dataclass
class StepStats:
    """What the last step executed and held (filled by every call of a :class:`ScheduledStep`).

    Attributes
    ----------
    computes
        Schedule evaluations per node (equals ``R.sum(axis=0)``).
    vjp_reruns
        Forward re-runs of each forward node inside a gradient node's VJP.
    implied
        Forward recomputations of a value a VJP needed but the schedule did not hold.
    peak_live_bytes
        Largest total size of the distinct tensors the executor created and that were still
        alive (checked through weak references, so a reference kept anywhere counts), sampled
        after every operation. Temporaries inside one operation are not seen.
    live_bytes
        That total after every operation (the measured memory timeline).
    alloc_after, alloc_within
        With ``probe_device``: TensorFlow's allocator bytes in use after each operation, and
        its peak during each operation, both over the bytes in use when the step started.
    seconds
        Wall time of the step.
    """

    computes: np.ndarray
    vjp_reruns: np.ndarray
    implied: np.ndarray
    peak_live_bytes: int = 0
    live_bytes: list[int] = field(default_factory=list)
    alloc_after: list[int] = field(default_factory=list)
    alloc_within: list[int] = field(default_factory=list)
    seconds: float = 0.0


class StepOutput(NamedTuple):
    """The loss of the step and the model's predictions."""

    loss: Any
    predictions: Any


class _Tracker:
    """Sizes of the tensors the executor made that are still alive (weak references)."""

    def __init__(self) -> None:
        self.refs: dict[int, tuple[weakref.ref[Any], int]] = {}
        self.timeline: list[int] = []

    def add(self, values: Sequence[Any]) -> None:
        for v in values:
            if v is None or id(v) in self.refs:
                continue
            nbytes = int(np.prod(v.shape)) * v.dtype.size
            self.refs[id(v)] = (weakref.ref(v), nbytes)

    def sample(self) -> None:
        total = 0
        for key, (ref, nbytes) in list(self.refs.items()):
            if ref() is None:
                del self.refs[key]
            else:
                total += nbytes
        self.timeline.append(total)


def _functional(model: Any, keras: Any) -> Any:
    from checkmate_opt.importers.keras import _functional as fn

    return fn(model, keras)


def _aliases(fn: Any, keras: Any, alias: dict[int, Any]) -> None:
    """Map the tensors of nested models onto the tensors they stand for."""
    for nodes in fn._nodes_by_depth.values():
        for node in nodes:
            op = node.operation
            inner = None
            if isinstance(op, keras.Sequential):
                inner = getattr(op, "_functional", None)
            elif isinstance(op, keras.Model) and getattr(op, "_nodes_by_depth", None) is not None:
                inner = op
            if inner is None:
                continue
            for a, b in zip(keras.tree.flatten(inner.inputs), node.input_tensors, strict=False):
                alias[id(a)] = b
            for t_out, t_in in zip(
                node.output_tensors, keras.tree.flatten(inner.outputs), strict=False
            ):
                alias[id(t_out)] = t_in
            _aliases(inner, keras, alias)


def _check_layer(op: Any, name: str) -> None:
    config: dict[str, Any] = {}
    try:
        config = dict(op.get_config())
    except Exception:
        config = {}
    for key in _REGULARIZER_KEYS:
        if config.get(key) is not None:
            raise UnsupportedModelError(
                f"layer {name!r} ({type(op).__name__}) has a {key.replace('_', ' ')}: the "
                "scheduled step computes only the loss function; remove the regularizer or "
                "add its term to the loss"
            )
    if getattr(op, "stateful", False):
        raise UnsupportedModelError(
            f"layer {name!r} ({type(op).__name__}) is stateful across calls (stateful=True): "
            "a recomputation would advance its state twice; build it with stateful=False"
        )


def _units(model: Any) -> tuple[list[_Unit], list[Any], Graph]:
    """The forward nodes of ``model`` and its structural training graph (batch size 1)."""
    import keras
    from checkmate_opt.importers.keras import extract_layers

    layers, deps = extract_layers(model, batch_size=1)
    fn = _functional(model, keras)
    inputs = list(keras.tree.flatten(fn.inputs))
    src: dict[int, tuple[int, int]] = {id(t): (-1 - k, 0) for k, t in enumerate(inputs)}
    for u, info in enumerate(layers):
        for k, t in enumerate(info.node.output_tensors):
            src[id(t)] = (u, k)
    alias: dict[int, Any] = {}
    _aliases(fn, keras, alias)

    def resolve(t: Any) -> tuple[int, int]:
        seen = 0
        while id(t) not in src and id(t) in alias and seen < 1000:
            t = alias[id(t)]
            seen += 1
        if id(t) not in src:
            raise UnsupportedModelError(
                f"cannot tell where tensor {getattr(t, 'name', t)!r} comes from"
            )
        return src[id(t)]

    units: list[_Unit] = []
    for u, info in enumerate(layers):
        op, node = info.layer, info.node
        _check_layer(op, info.name)
        sources = {id(kt): resolve(kt) for kt in node.arguments.keras_tensors}
        outs = list(node.output_tensors)
        units.append(
            _Unit(
                name=info.name,
                op=op,
                node=node,
                sources=sources,
                producers=tuple(deps[u]),
                out_shapes=tuple(tuple(t.shape) for t in outs),
                out_dtypes=tuple(str(t.dtype) for t in outs),
                training_arg="training" in getattr(op, "_call_context_args", ()),
                weights=tuple(getattr(op, "trainable_variables", ())),
                state=tuple(getattr(op, "non_trainable_variables", ())),
            )
        )
    graph = training_graph(
        deps,
        [1] * len(layers),
        [max(1, info.output_bytes) for info in layers],
        names=[info.name for info in layers],
        name=model.name,
    )
    return units, inputs, graph


def _as_schedule(schedule: Schedule | SolveResult) -> Schedule:
    if isinstance(schedule, SolveResult):
        order: Any = schedule.params.get("order")
        if order is not None and list(order) != list(range(len(order))):
            # its stages refer to a relabelled graph; the model runs in its own layer order
            raise ScheduleError(
                f"the {schedule.strategy} schedule changes the execution order (params['order']);"
                " the executor runs the model's own order: use a fixed-order strategy"
            )
        return schedule.unwrap()
    if isinstance(schedule, Schedule):
        return schedule
    raise TypeError(f"expected a Schedule or a SolveResult, got {type(schedule).__name__}")


def _loss_fn(loss: Any) -> Callable[[Any, Any], Any]:
    """``loss`` as a function returning a scalar (per-example losses averaged, as in Keras)."""
    import keras

    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if not callable(fn):
        raise TypeError(
            f"loss must be a callable (y_true, y_pred) or a Keras loss name, got {loss!r}"
        )

    def scalar(y: Any, pred: Any) -> Any:
        value = fn(y, pred)
        return keras.ops.mean(value) if len(value.shape) else value

    return scalar


class ScheduledStep:
    """A training step that follows a schedule; call it as ``step(x, y)``.

    Built by :func:`train_step`. ``graph`` is the structural training graph (batch size 1)
    the schedule is checked against; ``stats`` describes the last call.
    """

    def __init__(
        self,
        model: Any,
        loss: Any,
        optimizer: Any,
        schedule: Schedule | SolveResult,
        *,
        apply_gradients: bool = True,
        keep_predictions: bool = True,
        track_memory: bool = False,
        probe_device: str | None = None,
    ) -> None:
        self.tf = _tf()
        import keras

        if keras.backend.backend() != "tensorflow":
            raise UnsupportedModelError(
                f"the scheduled step runs on the TensorFlow backend of Keras 3, not "
                f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow"
            )
        self.keras = keras
        self.model = model
        self.loss = _loss_fn(loss)
        self.optimizer = optimizer
        self.units, self.inputs, self.graph = _units(model)
        self.schedule = _as_schedule(schedule)
        if self.schedule.n != self.graph.n:
            raise ScheduleError(
                f"the schedule has {self.schedule.n} stages but model {model.name!r} has a "
                f"training graph of {self.graph.n} nodes: solve the graph imported from this model"
            )
        self.report = simulate(self.graph, self.schedule)  # raises for an invalid schedule
        self.operations = self.report.operations
        self.L = len(self.units)
        self.consumers: list[list[int]] = [[] for _ in range(self.L)]
        for i, unit in enumerate(self.units):
            for j in unit.producers:
                self.consumers[j].append(i)
        self.apply_gradients = apply_gradients
        self.keep_predictions = keep_predictions
        self.track_memory = track_memory
        self.probe_device = probe_device
        self.stats = self._new_stats()
        self.last_gradients: list[Any] | None = None

    def _new_stats(self) -> StepStats:
        n = self.graph.n
        return StepStats(
            computes=np.zeros(n, dtype=np.int64),
            vjp_reruns=np.zeros(self.L, dtype=np.int64),
            implied=np.zeros(self.L, dtype=np.int64),
        )

    # -- forward evaluation -------------------------------------------------------------------

    def _call(self, u: int, value: Callable[[int, int], Any], ctx: _StepContext) -> tuple[Any, ...]:
        """Run unit ``u`` once; ``value(p, k)``: output ``k`` of producer ``p`` (or input)."""
        unit = self.units[u]
        tensors = {kid: value(p, k) for kid, (p, k) in unit.sources.items()}
        args, kwargs = unit.node.arguments.fill_in(tensors)
        if unit.training_arg:
            kwargs["training"] = True
        if not unit.state:
            out = unit.op(*args, **kwargs)
        elif u not in ctx.state_before:  # first call in this step: let the state advance
            ctx.state_before[u] = [self.tf.identity(v.value) for v in unit.state]
            out = unit.op(*args, **kwargs)
        else:  # a recomputation: replay from the first call's state, then put it back
            now = [self.tf.identity(v.value) for v in unit.state]
            for var, val in zip(unit.state, ctx.state_before[u], strict=True):
                var.assign(val)
            out = unit.op(*args, **kwargs)
            for var, val in zip(unit.state, now, strict=True):
                var.assign(val)
        return tuple(self.keras.tree.flatten(out))

    def _reg_value(self, ctx: _StepContext, p: int, k: int) -> Any:
        if p < 0:
            return ctx.inputs[-1 - p]
        return ctx.regs[p][k]

    def _transient(self, ctx: _StepContext, p: int) -> tuple[Any, ...]:
        """Value of forward node ``p`` for a VJP: the register, or an implied recomputation."""
        if p in ctx.regs:
            return ctx.regs[p]
        self.stats.implied[p] += 1

        def value(q: int, k: int) -> Any:
            return ctx.inputs[-1 - q] if q < 0 else self._transient(ctx, q)[k]

        return self._call(p, value, ctx)

    # -- node kinds ---------------------------------------------------------------------------

    def _forward(self, ctx: _StepContext, i: int) -> tuple[Any, ...]:
        return self._call(i, lambda p, k: self._reg_value(ctx, p, k), ctx)

    def _loss(self, ctx: _StepContext) -> tuple[Any, ...]:
        pred = ctx.regs[self.L - 1][0]
        value = self.loss(ctx.y, pred)
        if ctx.loss is None:
            ctx.loss = value
            if self.keep_predictions:
                ctx.predictions = pred
        return (value,)

    def _zeros_for(self, ctx: _StepContext, p: int) -> tuple[Any, ...]:
        unit = self.units[p]
        out = []
        for shape, dtype in zip(unit.out_shapes, unit.out_dtypes, strict=True):
            dims = [ctx.batch if d is None else int(d) for d in shape]
            out.append(self.tf.zeros(dims, dtype=dtype))
        return tuple(out)

    def _backward(self, ctx: _StepContext, j: int) -> tuple[Any, ...]:
        tf = self.tf
        unit_j = self.units[j]
        grads: list[Any] = [None] * len(unit_j.out_shapes)

        def add(k: int, g: Any) -> None:
            if g is not None:
                if isinstance(g, tf.IndexedSlices):  # e.g. through a gather
                    g = tf.convert_to_tensor(g)
                grads[k] = g if grads[k] is None else grads[k] + g

        if j == self.L - 1:
            # a copy: Keras losses read the logits a softmax output carries (``_keras_logits``),
            # which would leave the probabilities themselves without a gradient
            pred = tf.identity(ctx.regs[j][0])
            with tf.GradientTape() as tape:
                tape.watch(pred)
                value = self.loss(ctx.y, pred)
            add(0, tape.gradient(value, pred))
            del tape, value
        for i in self.consumers[j]:
            self._vjp(ctx, i, j, add)
        if not self.units[j].producers and j not in ctx.params_done:
            self._vjp(ctx, j, None, None, own_grads=tuple(grads))
        return tuple(grads)

    def _vjp(
        self,
        ctx: _StepContext,
        i: int,
        j: int | None,
        add: Callable[[int, Any], None] | None,
        own_grads: tuple[Any, ...] | None = None,
    ) -> None:
        """Backpropagate through consumer ``i``: into producer ``j`` and, once, into weights."""
        tf = self.tf
        unit = self.units[i]
        dy = ctx.regs[self.graph.forward_to_backward[i]] if own_grads is None else own_grads
        want_params = i not in ctx.params_done and bool(unit.weights)
        if all(g is None for g in dy):  # no gradient reaches i: its weights get zeros
            if want_params:
                ctx.params_done.add(i)
            return
        if j is None and not want_params:
            return
        merge = type(unit.op).__name__ in VALUE_FREE_MERGES
        held: dict[int, tuple[Any, ...]] = {}
        for p in unit.producers:
            if p == j or p in ctx.regs:
                held[p] = ctx.regs[p]
            elif merge:
                held[p] = self._zeros_for(ctx, p)
            else:
                held[p] = self._transient(ctx, p)
        watched = [] if j is None else [t for t in held[j] if t.dtype.is_floating]
        with tf.GradientTape() as tape:
            for t in watched:
                tape.watch(t)
            outs = self._call(i, lambda p, k: ctx.inputs[-1 - p] if p < 0 else held[p][k], ctx)
            if i == self.L - 1:
                # through the last layer, differentiate loss(layer(...)) in one tape: Keras
                # computes a softmax output's cross-entropy from its logits, and only this
                # way takes the same path (and rounding) as plain training
                fused = self.loss(ctx.y, outs[0])
        self.stats.vjp_reruns[i] += 1
        params = list(unit.weights) if want_params else []
        sources = watched + params
        if i == self.L - 1:
            got = tape.gradient(fused, sources)
            del fused
        else:
            pairs = [(o, g) for o, g in zip(outs, dy, strict=False) if g is not None]
            got = tape.gradient(
                [o for o, _ in pairs], sources, output_gradients=[g for _, g in pairs]
            )
            del pairs
        del tape, outs
        if j is not None and add is not None:
            pos = 0
            for k, t in enumerate(ctx.regs[j]):
                if t.dtype.is_floating:
                    add(k, got[pos])
                    pos += 1
        if want_params:
            for var, g in zip(params, got[len(watched) :], strict=True):
                if g is None:
                    continue
                if isinstance(g, tf.IndexedSlices):
                    g = tf.convert_to_tensor(g)
                key = id(var)
                ctx.param_grads[key] = g if key not in ctx.param_grads else ctx.param_grads[key] + g
            ctx.params_done.add(i)

    # -- the step -----------------------------------------------------------------------------

    def __call__(self, x: Any, y: Any) -> StepOutput:
        """Run forward and backward as scheduled, apply the gradients; returns the loss."""
        tf = self.tf
        if not tf.executing_eagerly():
            raise RuntimeError(
                "the scheduled step must run eagerly (graph mode would merge its "
                "recomputations): compile the model with run_eagerly=True"
            )
        start = time.perf_counter()
        flat = list(self.keras.tree.flatten(x))
        if len(flat) != len(self.inputs):
            raise ValueError(
                f"model {self.model.name!r} has {len(self.inputs)} inputs, got {len(flat)}"
            )
        inputs = [
            self.keras.ops.convert_to_tensor(v, dtype=kt.dtype)
            for v, kt in zip(flat, self.inputs, strict=True)
        ]
        ctx = _StepContext(inputs=inputs, y=y, batch=int(inputs[0].shape[0]))
        self.stats = self._new_stats()
        tracker = _Tracker() if self.track_memory else None
        L = self.L
        probe = self.probe_device
        memory = tf.config.experimental
        base = memory.get_memory_info(probe)["current"] if probe else 0
        for op in self.operations:
            v = op.node
            if probe:
                memory.reset_memory_stats(probe)
            if op.kind is OpKind.FREE:
                del ctx.regs[v]
            else:
                self.stats.computes[v] += 1
                if v < L:
                    value = self._forward(ctx, v)
                elif v == L:
                    value = self._loss(ctx)
                else:
                    value = self._backward(ctx, self.graph.n - 1 - v)
                ctx.regs[v] = value
                del value
                if tracker is not None:
                    tracker.add(ctx.regs[v])
            if tracker is not None:
                tracker.sample()
            if probe:
                info = memory.get_memory_info(probe)
                self.stats.alloc_after.append(int(info["current"] - base))
                self.stats.alloc_within.append(int(info["peak"] - base))
        leftover = sorted(ctx.regs)
        ctx.regs.clear()
        if leftover:  # the simulator frees everything; a leftover is a bug, not a result
            raise ScheduleError(f"values left after the step: nodes {leftover}")
        variables = list(self.model.trainable_variables)
        grads = [ctx.param_grads.get(id(v)) for v in variables]
        grads = [
            tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables, strict=True)
        ]
        self.last_gradients = grads
        if self.apply_gradients and self.optimizer is not None and variables:
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        if tracker is not None:
            self.stats.live_bytes = tracker.timeline
            self.stats.peak_live_bytes = max(tracker.timeline, default=0)
        self.stats.seconds = time.perf_counter() - start
        if ctx.loss is None:  # pragma: no cover - the loss node is always computed
            raise ScheduleError("the schedule never computed the loss")
        return StepOutput(ctx.loss, ctx.predictions)


@dataclass
class _StepContext:
    inputs: list[Any]
    y: Any
    batch: int
    regs: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    param_grads: dict[int, Any] = field(default_factory=dict)
    params_done: set[int] = field(default_factory=set)
    state_before: dict[int, list[Any]] = field(default_factory=dict)
    loss: Any = None
    predictions: Any = None


def train_step(
    model: Any,
    loss: Any,
    optimizer: Any,
    schedule: Schedule | SolveResult,
    *,
    apply_gradients: bool = True,
    keep_predictions: bool = True,
    track_memory: bool = False,
    probe_device: str | None = None,
) -> ScheduledStep:
    """A training step for ``model`` that runs forward and backward as ``schedule`` says.

    Parameters
    ----------
    model
        A functional or sequential Keras 3 model (TensorFlow backend) with one output.
    loss
        ``loss(y_true, y_pred) -> scalar``, or a Keras loss name such as ``"mse"``.
    optimizer
        A Keras optimizer (``None`` or ``apply_gradients=False``: gradients are only kept in
        ``step.last_gradients``, in ``model.trainable_variables`` order).
    schedule
        A :class:`~checkmate_opt.schedule.Schedule` or a
        :class:`~checkmate_opt.results.SolveResult` of the model's training graph as imported
        by :func:`checkmate_opt.importers.keras.graph_from_keras` (any strategy, any batch
        size: the schedule says what to compute and keep, not how large it is).
    keep_predictions
        Hold the model output until the step returns (to return it); ``False`` holds exactly
        what the schedule holds.
    track_memory
        Record the live bytes of the executor's tensors after every operation
        (:attr:`ScheduledStep.stats`).
    probe_device
        A device (``"CPU:0"``, ``"GPU:0"``) whose allocator statistics to record around every
        operation (on a CPU they exist with ``TF_CPU_ALLOCATOR_USE_BFC=true`` only).

    Returns
    -------
    ScheduledStep
        Call it as ``step(x, y)``; it returns ``(loss, predictions)``.

    Raises
    ------
    UnsupportedModelError
        For a model the executor cannot run (naming the layer).
    ScheduleError
        For a schedule of another graph, or an invalid one.
    """
    return ScheduledStep(
        model,
        loss,
        optimizer,
        schedule,
        apply_gradients=apply_gradients,
        keep_predictions=keep_predictions,
        track_memory=track_memory,
        probe_device=probe_device,
    )


def plain_step(model: Any, loss: Any, optimizer: Any) -> Callable[[Any, Any], StepOutput]:
    """The reference: one ``tf.GradientTape`` over the whole forward pass (eager).

    The returned function also leaves its gradients in its ``last_gradients`` attribute.
    """
    tf = _tf()
    loss_fn = _loss_fn(loss)

    def step(x: Any, y: Any) -> StepOutput:
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            value = loss_fn(y, pred)
        variables = list(model.trainable_variables)
        grads = tape.gradient(value, variables)
        grads = [
            tf.zeros_like(v)
            if g is None
            else (tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g)
            for g, v in zip(grads, variables, strict=True)
        ]
        step.last_gradients = grads  # type: ignore[attr-defined]
        if optimizer is not None and variables:
            optimizer.apply_gradients(zip(grads, variables, strict=True))
        return StepOutput(value, pred)

    return step
