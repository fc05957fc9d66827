"""``remat_model``: a Keras model whose ``fit`` trains under a solved schedule."""

from __future__ import annotations

from typing import Any

from checkmate_opt.execution.executor import ScheduledStep, _tf
from checkmate_opt.results import SolveResult

__all__ = ["remat_model"]


def _model_class() -> Any:
    import keras

    class RematModel(keras.Model):
        """A functional model whose ``train_step`` runs the scheduled step (eagerly)."""

        checkmate_result: SolveResult
        _checkmate_step: ScheduledStep | None = None

        def compile(self, *args: Any, **kwargs: Any) -> None:
            # the schedule's recomputations must stay separate ops: no tf.function / XLA
            kwargs["run_eagerly"] = True
            kwargs["jit_compile"] = False
            super().compile(*args, **kwargs)
            self._checkmate_step = None

        def _scheduled(self) -> ScheduledStep:
            if self._checkmate_step is None:
                model = self

                def loss(y: Any, pred: Any) -> Any:
                    return model.compute_loss(x=None, y=y, y_pred=pred, training=True)

                self._checkmate_step = ScheduledStep(
                    self, loss, self.optimizer, self.checkmate_result
                )
            return self._checkmate_step

        def train_step(self, data: Any) -> Any:
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            if sample_weight is not None:
                raise ValueError("remat_model: sample weights are not supported by fit")
            loss, pred = self._scheduled()(x, y)
            batch = _tf().shape(keras.tree.flatten(x)[0])[0]
            self._loss_tracker.update_state(loss, sample_weight=batch)
            return self.compute_metrics(x, y, pred, sample_weight=None)

    return RematModel


def remat_model(
    model: Any,
    *,
    budget: int | str | None,
    batch_size: int,
    strategy: str = "optimal",
    cost_model: str = "flops",
    optimizer: Any = None,
    loss: Any = None,
    metrics: Any = None,
    **solve_kwargs: Any,
) -> Any:
    """Solve ``model``'s training graph for ``budget`` and return a model that trains under it.

    The returned model shares ``model``'s layers (and so its weights). Its ``fit`` runs every
    batch through the scheduled step; it is compiled with ``run_eagerly=True`` (graph mode
    would merge the schedule's recomputations). The last, smaller batch of an epoch reuses the
    schedule: every activation is proportional to the batch size, so the same schedule stays
    within the budget scaled to that batch.

    Parameters
    ----------
    model
        A functional or sequential Keras 3 model with one output.
    budget
        Activation-memory budget for ``batch_size``: bytes, ``"500MiB"`` or ``"0.8x"``
        (a multiple of the no-remat peak).
    batch_size
        The batch size the graph is imported (and the budget met) for.
    strategy
        Any strategy that returns a schedule (``checkmate_opt.STRATEGIES`` but ``lp_bound``).
    cost_model
        Cost model of the import (``"flops"``, ``"flops_paper"``, a platform roofline, ...).
    optimizer, loss, metrics
        When ``optimizer`` and ``loss`` are given, the model is compiled with them; otherwise
        call ``compile`` yourself before ``fit``.
    **solve_kwargs
        Passed to :func:`checkmate_opt.solve` (``solver=``, ``options=`` ...).

    Returns
    -------
    keras.Model
        With ``checkmate_result`` (the :class:`~checkmate_opt.results.SolveResult`) and
        ``checkmate_graph`` (the imported training graph).

    Raises
    ------
    NoScheduleError
        When the strategy finds no schedule for the budget (raise it).
    UnsupportedModelError
        For a model the importer or the executor cannot handle.
    """
    import keras
    from checkmate_opt.importers.keras import _functional, graph_from_keras
    from checkmate_opt.strategies import solve

    graph = graph_from_keras(model, batch_size=batch_size, cost_model=cost_model)
    result = solve(graph, budget, strategy=strategy, **solve_kwargs)
    result.unwrap()  # no schedule: NoScheduleError saying why
    fn = _functional(model, keras)
    cls = _model_class()
    remat = cls(inputs=fn.inputs, outputs=fn.outputs, name=f"{model.name}_remat")
    remat.checkmate_result = result
    remat.checkmate_graph = graph
    if optimizer is not None and loss is not None:
        remat.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    ScheduledStep(remat, "mse", None, result)  # fail now, not in fit, for a model we cannot run
    return remat
