"""Run experiment points with an on-disk cache, in-process, in local processes or on Ray.

A *point* is a :class:`Task`: an importable function name and JSON keyword arguments. Each
finished point is written to ``<cache_dir>/<key>.json`` at once (atomically, in completion
order), so an interrupted run resumes where it stopped; a cached point is reused only if its
function and arguments are the ones asked for now.

A task whose solve was interrupted (Ctrl-C) must not be cached as if it had finished: task
functions call :func:`check_interrupted` on their solver results, which raises
:class:`KeyboardInterrupt` for an interrupted one.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ExperimentConfig",
    "Task",
    "TaskError",
    "check_interrupted",
    "ensure_folder",
    "load_cached",
    "run_task",
    "run_tasks",
    "write_text_atomic",
]


@dataclass(frozen=True)
class Task:
    """One experiment point: ``func(**kwargs)`` returns a JSON-serializable dict.

    Attributes
    ----------
    key
        Unique and filesystem-safe; the cache file is ``<cache_dir>/<key>.json``.
    func
        ``"package.module:function"``, importable in a worker process.
    kwargs
        JSON-serializable keyword arguments.
    threads
        CPUs the task uses (its solver threads; Ray ``num_cpus``).
    """

    key: str
    func: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    threads: int = 1

    def __post_init__(self) -> None:
        if not self.key or any(c in self.key for c in '/\\:*?"<>|') or self.key.startswith("."):
            raise ValueError(f"task key {self.key!r} is not a safe file name")
        if ":" not in self.func:
            raise ValueError(f"task {self.key}: func {self.func!r} is not 'module:function'")
        if self.threads < 1:
            raise ValueError(f"task {self.key}: threads must be >= 1, got {self.threads}")


@dataclass(frozen=True)
class ExperimentConfig:
    """Settings shared by every study of one experiment run.

    Attributes
    ----------
    out
        Output folder of this run (the point cache is ``out / "cache"``).
    quick
        Fewer points and short time limits (CI, a laptop).
    time_limit_s
        Wall-clock limit of each MILP/LP solve.
    threads
        Solver threads per point.
    shared_graphs
        The published graphs folder (``*_train.json``), ``None`` if absent.
    select
        Run only the parts (e.g. sweeps) whose label is listed; empty: all.
    points
        Overrides a study's number of points (e.g. the sweeps' MILP points).
    """

    out: Path
    quick: bool = False
    time_limit_s: float = 60.0
    threads: int = 1
    shared_graphs: Path | None = None
    select: tuple[str, ...] = ()
    points: int | None = None


class TaskError(RuntimeError):
    """One or more tasks raised; every other point finished and is cached."""


def check_interrupted(result: Any) -> None:
    """Raise :class:`KeyboardInterrupt` if a solver result says it was interrupted.

    Accepts a :class:`~checkmate_opt.results.SolveResult` or its ``summary()``/``to_dict()``.
    """
    status = result.get("status") if isinstance(result, Mapping) else None
    if status is None:
        term = getattr(result, "termination", None)
        status = getattr(term, "value", term)
    if status == "interrupted":
        raise KeyboardInterrupt


def _resolve(func: str) -> Callable[..., dict[str, Any]]:
    module, name = func.split(":", 1)
    fn: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), name)
    return fn


def run_task(func: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Import and call one task function (what every worker runs)."""
    out = _resolve(func)(**kwargs)
    if not isinstance(out, dict):
        raise TypeError(f"{func} returned {type(out).__name__}, not a dict")
    # fail here, in the worker, rather than when writing the cache
    json.dumps(out)
    return out


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.json"


def _entry(task: Task, result: dict[str, Any]) -> dict[str, Any]:
    return {"key": task.key, "func": task.func, "kwargs": task.kwargs, "result": result}


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents) for outputs; ``OutputError`` naming it otherwise."""
    from checkmate_opt.errors import OutputError

    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write {folder}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write {folder}: {err.strerror or err}") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {folder}: permission denied")
    return folder


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`checkmate_opt.io.write_atomic` (no partial
    file, the umask respected, ``OutputError`` naming the path)."""
    from checkmate_opt.io import write_atomic

    write_atomic(path, text)


def load_cached(task: Task, cache_dir: Path) -> dict[str, Any] | None:
    """The cached result of ``task``, or ``None`` (absent, unreadable, or other arguments)."""
    path = _cache_path(cache_dir, task.key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # JSON round trip so tuples and lists compare equal
    want = json.loads(json.dumps(task.kwargs))
    if data.get("func") != task.func or data.get("kwargs") != want:
        return None
    result = data.get("result")
    return result if isinstance(result, dict) else None


def _store(task: Task, result: dict[str, Any], cache_dir: Path) -> None:
    write_text_atomic(_cache_path(cache_dir, task.key), json.dumps(_entry(task, result)))


def _serial(pending: Sequence[Task]) -> Iterator[tuple[Task, dict[str, Any] | BaseException]]:
    for task in pending:
        try:
            yield task, run_task(task.func, task.kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as err:
            yield task, err


def _processes(
    pending: Sequence[Task], workers: int
) -> Iterator[tuple[Task, dict[str, Any] | BaseException]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn: forking a parent that holds solver or TensorFlow threads is unsafe
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    try:
        futures = {pool.submit(run_task, t.func, t.kwargs): t for t in pending}
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for fut in done:
                err = fut.exception()
                if isinstance(err, KeyboardInterrupt):
                    raise KeyboardInterrupt
                yield futures[fut], err if err is not None else fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray(
    pending: Sequence[Task], address: str, workers: int
) -> Iterator[tuple[Task, dict[str, Any] | BaseException]]:
    try:
        import ray
    except ImportError:
        raise RuntimeError(
            "--ray needs the ray package: pip install 'checkmate_opt[ray]'"
        ) from None
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(
                num_cpus=max(workers, max(t.threads for t in pending)),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        started = True
    try:
        remote = ray.remote(max_retries=0)(run_task)
        refs = {remote.options(num_cpus=t.threads).remote(t.func, t.kwargs): t for t in pending}
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            for ref in done:
                try:
                    value: dict[str, Any] | BaseException = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    cause = err.as_instanceof_cause()
                    if isinstance(cause, KeyboardInterrupt):
                        raise KeyboardInterrupt from None
                    value = cause
                yield refs[ref], value
    finally:
        if started:
            ray.shutdown()


def run_tasks(
    tasks: Sequence[Task],
    *,
    cache_dir: Path,
    workers: int = 1,
    ray_address: str | None = None,
    desc: str = "points",
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run the tasks not yet cached and return ``key -> result`` for all of them.

    Parameters
    ----------
    tasks
        The points; keys must be unique.
    cache_dir
        Folder of the per-point cache files (created if needed).
    workers
        ``1``: in this process, one after another; ``> 1``: that many local processes.
    ray_address
        Run each point as a Ray task instead (``num_cpus`` = its threads): ``"local"`` starts
        a local cluster of ``workers`` CPUs, anything else is passed to ``ray.init(address=)``.
        Ray is imported only here.
    desc
        Label of the progress bar (over points, on stderr).
    progress
        Show the progress bar.

    Raises
    ------
    TaskError
        When any task raised (after every other point finished and was cached).
    KeyboardInterrupt
        On Ctrl-C; every point finished before it is cached.
    """
    from tqdm import tqdm

    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate task keys: {', '.join(dup[:5])}")
    cache_dir = Path(cache_dir)
    ensure_folder(cache_dir)
    results: dict[str, dict[str, Any]] = {}
    pending: list[Task] = []
    for task in tasks:
        cached = load_cached(task, cache_dir)
        if cached is None:
            pending.append(task)
        else:
            results[task.key] = cached
    errors: list[str] = []
    bar = tqdm(
        total=len(tasks),
        initial=len(results),
        desc=desc,
        unit="pt",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        if not pending:
            stream: Iterator[tuple[Task, dict[str, Any] | BaseException]] = iter(())
        elif ray_address is not None:
            stream = _ray(pending, ray_address, max(1, workers))
        elif workers > 1 and len(pending) > 1:
            stream = _processes(pending, min(workers, len(pending)))
        else:
            stream = _serial(pending)
        for task, value in stream:
            if isinstance(value, BaseException):
                errors.append(f"{task.key}: {type(value).__name__}: {value}")
            else:
                _store(task, value, cache_dir)
                results[task.key] = value
            bar.update(1)
    finally:
        bar.close()
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TaskError(f"task {errors[0]}{more}; the other points are cached in {cache_dir}")
    return {k: results[k] for k in keys}
