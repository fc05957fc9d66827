"""``remat_model``: an ordinary ``fit`` trains under the schedule and matches plain training."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from exec_helpers import build, data

import checkmate_opt as cm
import keras
from checkmate_opt.execution import remat_model

pytestmark = pytest.mark.keras


class _Losses(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:  # type: ignore[type-arg]
        assert logs is not None
        self.values.append(float(logs["loss"]))


@pytest.mark.parametrize("name", ["vgg", pytest.param("residual", marks=pytest.mark.slow)])
def test_fit_matches_plain_fit(name: str) -> None:
    plain, base = build(name), build(name)
    x, y = data(plain, batch=10)  # 10 examples, batches of 4: the last batch has 2
    remat = remat_model(
        base,
        budget="0.75x",
        batch_size=4,
        strategy="optimal",
        optimizer=keras.optimizers.SGD(0.2),
        loss="mse",
        options=cm.SolveOptions(time_limit_s=3, mip_rel_gap=0.1, threads=1),
        progress=None,
    )
    report = remat.checkmate_result.report
    assert remat.checkmate_result.within_budget
    assert report.compute_cost > report.total_compute  # it does recompute
    plain.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse", run_eagerly=True)
    got, want = _Losses(), _Losses()
    remat.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=[got])
    plain.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=[want])
    assert len(got.values) == 6
    np.testing.assert_allclose(got.values, want.values, rtol=1e-5)
    for a, b in zip(base.weights, plain.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)


def test_compile_forces_eager() -> None:
    model = build("chain")
    remat = remat_model(model, budget=None, batch_size=4, strategy="checkpoint_all")
    remat.compile(optimizer="sgd", loss="mse", run_eagerly=False)
    assert remat.run_eagerly
    x, y = data(model, batch=8)
    history = remat.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_infeasible_budget_says_so() -> None:
    with pytest.raises(cm.NoScheduleError):
        remat_model(build("chain"), budget=1, batch_size=4, strategy="optimal", progress=None)
