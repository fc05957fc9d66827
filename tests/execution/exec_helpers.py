"""Shared pieces of the execution tests: the models, data, and one cached solve per strategy."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

import checkmate_opt as cm

BATCH = 4

#: strategies that return a schedule in the model's own order: all registered ones except the
#: bound-only ``lp_bound`` and ``anytime_reorder``, whose schedule may change the order (the
#: executor rejects that with a clear error, tested in test_executor.py)
STRATEGY_NAMES = [name for name in cm.STRATEGIES if name not in ("lp_bound", "anytime_reorder")]


def _test_net() -> Any:
    from checkmate_opt.zoo.synthetic import make_test_model

    return make_test_model(input_shape=(12, 12, 3))


def _builders() -> dict[str, Callable[[], Any]]:
    from checkmate_opt.execution import models

    out: dict[str, Callable[[], Any]] = {
        "test": _test_net,
        "chain": models.small_chain,
        "vgg": lambda: models.small_vgg(dropout=0.25),
        "residual": models.small_residual,
        "unet": models.small_unet,
    }
    if importlib.util.find_spec("checkmate_opt.zoo.small") is not None:
        from checkmate_opt.zoo import small

        out.update(getattr(small, "SMALL_MODELS", {}))
    return out


MODEL_NAMES = list(_builders())


def build(name: str, seed: int = 0) -> Any:
    """A fresh model with seeded weights."""
    import keras

    keras.utils.set_random_seed(seed)
    return _builders()[name]()


def data(model: Any, batch: int = BATCH, seed: int = 0) -> tuple[Any, Any]:
    """A seeded batch: inputs of the model's dtypes, targets of the output's shape (for mse)."""
    from checkmate_opt.zoo.small import synthetic_inputs

    rng = np.random.default_rng(seed)
    x = synthetic_inputs(model, batch, rng)
    out_shape = (batch, *(int(d) for d in model.outputs[0].shape[1:]))
    return x, rng.random(out_shape).astype("float32")


@cache
def graph(name: str) -> cm.Graph:
    from checkmate_opt.importers.keras import graph_from_keras

    return graph_from_keras(build(name), batch_size=BATCH)


@cache
def solved(name: str, strategy: str) -> cm.SolveResult:
    """The strategy's result at the tightest of a few budgets where it finds a schedule."""
    g = graph(name)
    kwargs: dict[str, Any] = {}
    if "options" in inspect.signature(cm.get_strategy(strategy)).parameters:
        kwargs["options"] = cm.SolveOptions(time_limit_s=4, mip_rel_gap=0.1, threads=1)
    if "progress" in inspect.signature(cm.get_strategy(strategy)).parameters:
        kwargs["progress"] = None
    result = None
    for budget in ("0.75x", "0.9x", "1.0x"):
        result = cm.solve(g, budget, strategy=strategy, **kwargs)
        if result.schedule is not None:
            return result
    assert result is not None
    return result


def snapshot(model: Any) -> list[Any]:
    return [v.numpy().copy() for v in model.variables]


def restore(model: Any, values: list[Any]) -> None:
    for v, val in zip(model.variables, values, strict=True):
        v.assign(val)
