"""The ``measured`` cost model: time every layer on this machine (spec §2.5, re-profiled).

Each layer call is run in isolation on random inputs, as the paper's profiler did: the forward
pass, and forward + gradient (w.r.t. its inputs and weights, with a random output gradient);
the backward cost is the difference. Each is compiled with ``tf.function``, warmed up, then
timed ``repeats`` times (median). The loss node is a softmax cross-entropy (forward and
gradient) over the last layer's output. Profiles are taken at a few batch sizes and, per node,
a line ``cost = slope * batch + intercept`` (both clamped at >= 0) is fitted; a batch size that
was profiled uses its measurement. Costs are integer microseconds rounded to ``quantum``.

Profiles are cached as JSON under ``$CHECKMATE_OPT_CACHE/profiles`` (default
``~/.cache/checkmate_opt/profiles``), keyed by the layers' classes, names and shapes, the
device, the TensorFlow version and the timing settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from checkmate_opt.costs.base import CostModel, GraphCosts, LayerInfo
from checkmate_opt.errors import OutputError, UnsupportedModelError

__all__ = ["MeasuredCostModel", "default_cache_dir", "fit_linear"]


def default_cache_dir() -> Path:
    """``$CHECKMATE_OPT_CACHE/profiles`` or ``~/.cache/checkmate_opt/profiles``."""
    root = os.environ.get("CHECKMATE_OPT_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "checkmate_opt"
    return base / "profiles"


def fit_linear(batches: Sequence[int], costs: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``cost = slope * batch + intercept``, both clamped at >= 0 (spec §2.5)."""
    x = np.asarray(batches, dtype=float)
    y = np.asarray(costs, dtype=float)
    if len(set(x.tolist())) < 2:
        return max(0.0, float(y.mean()) / float(x.mean())), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    return max(0.0, float(slope)), max(0.0, float(intercept))


def _rebatch(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    return (batch, *shape[1:])


class _Timer:
    """Runs and times one layer call with TensorFlow."""

    def __init__(self, warmup: int, repeats: int) -> None:
        import tensorflow as tf

        self.tf = tf
        self.warmup = warmup
        self.repeats = repeats
        self.gpu = bool(tf.config.list_logical_devices("GPU"))

    def _sync(self) -> None:
        if self.gpu:
            self.tf.test.experimental.sync_devices()

    def _median_us(self, fn: Any, *args: Any) -> float:
        for _ in range(self.warmup):
            fn(*args)
        self._sync()
        times = []
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            fn(*args)
            self._sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e6

    def _random(self, shape: tuple[int, ...], dtype: Any) -> Any:
        tf = self.tf
        dtype = tf.as_dtype(dtype)
        if dtype.is_floating:
            return tf.random.normal(shape, dtype=dtype)
        return tf.zeros(shape, dtype=dtype)

    def layer(self, info: LayerInfo, batch: int) -> tuple[float, float]:
        tf = self.tf
        layer, node = info.layer, info.node
        if layer is None or node is None:
            raise UnsupportedModelError(
                f"layer {info.name!r}: the measured cost model needs the live Keras layer "
                "(import the model with graph_from_keras)"
            )
        kts = list(node.input_tensors)
        xs = [
            self._random(_rebatch(s, batch), kt.dtype)
            for s, kt in zip(info.input_shapes, kts, strict=True)
        ]
        keys = [id(kt) for kt in kts]
        kwargs_extra = {}
        if getattr(layer, "_call_has_training_arg", False):
            kwargs_extra["training"] = True

        def call(inputs: list[Any]) -> Any:
            args, kwargs = node.arguments.fill_in(dict(zip(keys, inputs, strict=True)))
            return layer(*args, **{**kwargs, **kwargs_extra})

        fwd = tf.function(lambda inputs: call(inputs))
        y = fwd(xs)
        dys = [tf.random.normal(t.shape, dtype=t.dtype) for t in tf.nest.flatten(y)]
        weights = list(getattr(layer, "trainable_variables", ()))  # keras.ops calls: none

        @tf.function
        def fwd_bwd(inputs: list[Any], dys: list[Any]) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                out = tf.nest.flatten(call(inputs))
            return tape.gradient(out, [*inputs, *weights], output_gradients=dys)

        t_fwd = self._median_us(fwd, xs)
        t_both = self._median_us(fwd_bwd, xs, dys)
        return t_fwd, max(0.0, t_both - t_fwd)

    def loss(self, shape: tuple[int, ...]) -> float:
        tf = self.tf
        logits = tf.random.normal(shape)
        labels = tf.nn.softmax(tf.random.normal(shape))

        @tf.function
        def step(logits: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(logits)
                loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels, logits))
            return tape.gradient(loss, logits)

        return self._median_us(step, logits)


class MeasuredCostModel(CostModel):
    """Per-layer timings on this machine, linear in the batch size, cached on disk.

    Parameters
    ----------
    batch_sizes
        Batch sizes to profile (at least two for a fit; the paper used 32 ... 2048 on a V100).
    warmup, repeats
        Untimed and timed runs per measurement (median of the timed ones).
    quantum
        Costs are rounded to a multiple of this many microseconds (the paper used 5).
    cache_dir
        Profile cache folder (default :func:`default_cache_dir`); ``use_cache=False`` ignores
        and does not write it.
    """

    name = "measured"
    unit = "us"

    def __init__(
        self,
        batch_sizes: Sequence[int] = (1, 2, 4),
        *,
        warmup: int = 2,
        repeats: int = 5,
        quantum: int = 1,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.batch_sizes = tuple(sorted({int(b) for b in batch_sizes}))
        if not self.batch_sizes or self.batch_sizes[0] < 1:
            raise ValueError(f"batch_sizes must be positive integers, got {batch_sizes!r}")
        if repeats < 1 or warmup < 0 or quantum < 1:
            raise ValueError("need repeats >= 1, warmup >= 0 and quantum >= 1")
        self.warmup = int(warmup)
        self.repeats = int(repeats)
        self.quantum = int(quantum)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.use_cache = use_cache
        #: whether the last :meth:`profile` came from the cache
        self.last_from_cache = False
        #: path of the last profile's cache file
        self.last_cache_path: Path | None = None

    # ------------------------------------------------------------------ profiling
    def _key(self, layers: Sequence[LayerInfo], device: str, tf_version: str) -> str:
        desc = {
            "layers": [
                [
                    i.name,
                    i.class_name,
                    [s[1:] for s in i.input_shapes],
                    [s[1:] for s in i.output_shapes],
                    i.parameter_count,
                ]
                for i in layers
            ],
            "device": device,
            "tf": tf_version,
            "batch_sizes": self.batch_sizes,
            "warmup": self.warmup,
            "repeats": self.repeats,
        }
        return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:20]

    def profile(self, layers: Sequence[LayerInfo]) -> dict[str, Any]:
        """Raw timings (microseconds, floats) per profiled batch size, from cache if present.

        Returns
        -------
        dict
            ``{"device": str, "batch_sizes": [...], "forward": [[...] per batch],
            "backward": [...], "loss": [...]}``.
        """
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        device = gpus[0].name if gpus else "CPU"
        if gpus:
            try:
                details = tf.config.experimental.get_device_details(
                    tf.config.list_physical_devices("GPU")[0]
                )
                device += " " + str(details.get("device_name", ""))
            except Exception:
                pass
        key = self._key(layers, device, tf.__version__)
        path = self.cache_dir / f"profile_{key}.json"
        self.last_cache_path = path
        if self.use_cache and path.is_file():
            self.last_from_cache = True
            return json.loads(path.read_text())
        self.last_from_cache = False
        timer = _Timer(self.warmup, self.repeats)
        fwd_all, bwd_all, loss_all = [], [], []
        for b in self.batch_sizes:
            fwd, bwd = [], []
            for info in layers:
                f, g = timer.layer(info, b)
                fwd.append(f)
                bwd.append(g)
            fwd_all.append(fwd)
            bwd_all.append(bwd)
            loss_all.append(timer.loss(_rebatch(layers[-1].output_shapes[0], b)))
        data = {
            "device": device,
            "tensorflow": tf.__version__,
            "batch_sizes": list(self.batch_sizes),
            "names": [i.name for i in layers],
            "forward": fwd_all,
            "backward": bwd_all,
            "loss": loss_all,
        }
        if self.use_cache:
            from checkmate_opt.io import write_atomic

            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
            write_atomic(path, json.dumps(data))
        return data

    def _at(self, batches: list[int], values: list[float], batch: int) -> int:
        if batch in batches:
            v = values[batches.index(batch)]
        else:
            slope, intercept = fit_linear(batches, values)
            v = slope * batch + intercept
        q = self.quantum
        return int(round(max(0.0, v) / q) * q)

    def graph_costs(self, layers: Sequence[LayerInfo]) -> GraphCosts:
        """Costs at the batch size the layer shapes carry (their leading dimension)."""
        batch = int(layers[0].output_shapes[0][0])
        data = self.profile(layers)
        bs = [int(b) for b in data["batch_sizes"]]
        fwd = tuple(
            self._at(bs, [row[i] for row in data["forward"]], batch) for i in range(len(layers))
        )
        bwd = tuple(
            self._at(bs, [row[i] for row in data["backward"]], batch) for i in range(len(layers))
        )
        return GraphCosts(fwd, bwd, self._at(bs, list(data["loss"]), batch))

    def layer_cost(self, layer: LayerInfo) -> tuple[int, int]:
        """One layer on its own (profiles just that layer)."""
        costs = self.graph_costs([layer])
        return costs.forward[0], costs.backward[0]
