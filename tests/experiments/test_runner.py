"""The experiment runner: cache, resume, local processes and a real local Ray cluster."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from checkmate_opt.experiments.runner import Task, TaskError, load_cached, run_tasks


def _tasks(log: Path, n: int = 4, sleep_s: float = 0.0) -> list[Task]:
    return [
        Task(f"p{i}", "runner_tasks:record", {"n": i, "log_dir": str(log), "sleep_s": sleep_s})
        for i in range(n)
    ]


def _runs(log: Path) -> list[int]:
    return sorted(int(p.name.split(".")[0]) for p in log.iterdir())


def test_cache_and_resume(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    cache = tmp_path / "cache"
    tasks = _tasks(log)
    first = run_tasks(tasks, cache_dir=cache, progress=False)
    assert {k: v["square"] for k, v in first.items()} == {"p0": 0, "p1": 1, "p2": 4, "p3": 9}
    assert _runs(log) == [0, 1, 2, 3]
    # an interrupted run: one point never finished
    (cache / "p2.json").unlink()
    again = run_tasks(tasks, cache_dir=cache, progress=False)
    assert _runs(log) == [0, 1, 2, 2, 3]  # only p2 ran again
    assert again == first | {"p2": again["p2"]}
    assert again["p2"]["square"] == 4
    assert list(again) == [t.key for t in tasks]


def test_changed_arguments_are_recomputed(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    cache = tmp_path / "cache"
    run_tasks(_tasks(log, 2), cache_dir=cache, progress=False)
    changed = [Task("p1", "runner_tasks:record", {"n": 5, "log_dir": str(log)})]
    assert load_cached(changed[0], cache) is None
    assert run_tasks(changed, cache_dir=cache, progress=False)["p1"]["square"] == 25
    # a torn cache file is not a result
    (cache / "p0.json").write_text("{", encoding="utf-8")
    assert load_cached(_tasks(log, 1)[0], cache) is None


def test_two_processes_stream_into_the_cache(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    cache = tmp_path / "cache"
    out = run_tasks(_tasks(log, 4, sleep_s=0.5), cache_dir=cache, workers=2, progress=False)
    assert [out[f"p{i}"]["square"] for i in range(4)] == [0, 1, 4, 9]
    assert len({v["pid"] for v in out.values()} - {os.getpid()}) == 2
    for i in range(4):
        entry = json.loads((cache / f"p{i}.json").read_text(encoding="utf-8"))
        assert entry["result"]["n"] == i
        assert entry["func"] == "runner_tasks:record"


def test_failures_name_the_point_and_keep_the_rest(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tasks = [Task(f"f{i}", "runner_tasks:fail", {"n": i}) for i in range(3)]
    with pytest.raises(TaskError, match="f1: ValueError: odd 1"):
        run_tasks(tasks, cache_dir=cache, progress=False)
    assert sorted(p.name for p in cache.glob("*.json")) == ["f0.json", "f2.json"]


def test_bad_tasks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="safe file name"):
        Task("a/b", "m:f")
    with pytest.raises(ValueError, match="module:function"):
        Task("a", "m.f")
    with pytest.raises(ValueError, match="duplicate"):
        run_tasks([Task("a", "m:f"), Task("a", "m:f")], cache_dir=tmp_path)


@pytest.mark.ray
def test_real_local_ray_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    # the Ray workers import the task module from tests/ like the driver does
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    log = tmp_path / "log"
    log.mkdir()
    cache = tmp_path / "cache"
    tasks = _tasks(log, 4, sleep_s=0.2)
    (cache).mkdir()
    run_tasks(tasks[:1], cache_dir=cache, progress=False)  # one point already cached
    out = run_tasks(tasks, cache_dir=cache, workers=2, ray_address="local", progress=False)
    assert not ray.is_initialized()  # the cluster the run started is stopped again
    assert [out[f"p{i}"]["square"] for i in range(4)] == [0, 1, 4, 9]
    assert _runs(log) == [0, 1, 2, 3]  # p0 came from the cache
    assert {out[f"p{i}"]["pid"] for i in range(1, 4)}.isdisjoint({os.getpid()})
    assert sorted(p.name for p in cache.glob("*.json")) == [f"p{i}.json" for i in range(4)]
