"""The measured-cost profile cache is written like every other output: atomically, with the
permissions the umask asks for, and an unwritable cache folder is an error naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from checkmate_opt.costs.measured import MeasuredCostModel  # noqa: E402
from checkmate_opt.errors import OutputError  # noqa: E402
from checkmate_opt.importers.keras import graph_from_keras  # noqa: E402
from checkmate_opt.zoo.synthetic import make_test_model  # noqa: E402

pytestmark = pytest.mark.keras


def test_profile_cache_respects_the_umask_and_leaves_no_temp_file(tmp_path: Path) -> None:
    cache = tmp_path / "profiles"
    old = os.umask(0o027)
    try:
        cm = MeasuredCostModel(batch_sizes=(1, 2), warmup=1, repeats=1, cache_dir=cache)
        graph_from_keras(make_test_model((6, 6, 3)), batch_size=2, cost_model=cm)
    finally:
        os.umask(old)
    assert not cm.last_from_cache
    files = list(cache.iterdir())
    assert files == [cm.last_cache_path]
    assert files[0].stat().st_mode & 0o777 == 0o640


def test_unwritable_profile_cache_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cm = MeasuredCostModel(batch_sizes=(1,), warmup=1, repeats=1, cache_dir=blocker / "cache")
    with pytest.raises(OutputError, match="a-file"):
        graph_from_keras(make_test_model((6, 6, 3)), batch_size=1, cost_model=cm)
