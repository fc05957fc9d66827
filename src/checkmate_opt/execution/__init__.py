"""Train with a schedule: execute rematerialization schedules in Keras 3 / TensorFlow.

Two paths (see ``docs/execution.md``):

* :func:`train_step` / :func:`remat_model` — the executor: any schedule (R, S) of the model's
  training graph, run node by node (eagerly), with exact gradients;
* :func:`remat_layers` — the layer set for Keras' own ``RematScope``, chosen from a schedule.

Importing this package loads no TensorFlow; the functions import it when called.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ScheduledStep",
    "StepOutput",
    "StepStats",
    "plain_step",
    "remat_layers",
    "remat_model",
    "train_step",
]

_LAZY = {
    "ScheduledStep": "checkmate_opt.execution.executor",
    "StepOutput": "checkmate_opt.execution.executor",
    "StepStats": "checkmate_opt.execution.executor",
    "plain_step": "checkmate_opt.execution.executor",
    "train_step": "checkmate_opt.execution.executor",
    "remat_model": "checkmate_opt.execution.fit",
    "remat_layers": "checkmate_opt.execution.keras_remat",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
