"""``checkmate-opt train-demo`` and the measurement helper, in quick versions."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from checkmate_opt.cli import main

pytestmark = pytest.mark.keras


def test_train_demo_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.png"
    code = main(
        [
            "train-demo",
            "--model",
            "chain",
            "--steps",
            "4",
            "--batch-size",
            "8",
            "--strategy",
            "griewank",
            "-o",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert out.exists()
    assert out.with_suffix(".pdf").exists()
    assert "largest relative difference over 4 steps" in text


def test_train_demo_budget_below_plain_training() -> None:
    from checkmate_opt.execution.demo import train_demo

    res = train_demo(model="chain", steps=3, batch_size=8, budget="0.6x", strategy="optimal")
    assert res.noremat_peak > res.budget >= res.schedule_peak  # plain would not fit
    assert max(res.live_timeline) <= res.schedule_peak + 4  # + the returned loss
    assert res.max_loss_difference < 1e-5
    assert len(res.plain_losses) == len(res.remat_losses) == 3


def test_measure_model_quick() -> None:
    from checkmate_opt.execution.measure import measure_model
    from checkmate_opt.execution.models import small_chain

    records = measure_model("chain", batch=8, budgets=["all", "0.8x"], steps=1, builder=small_chain)
    assert [r["config"] for r in records] == ["plain GradientTape", "checkpoint_all", "optimal"]
    for r in records[1:]:
        assert r["live_peak"] <= r["predicted_activation"] + 4
        assert r["step_s"] > 0


def test_train_demo_rejects_bad_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train-demo", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
