"""Task functions for the runner tests (importable in worker processes: tests/ is on sys.path)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def record(n: int, log_dir: str, sleep_s: float = 0.0) -> dict[str, Any]:
    """Leave one file per call in ``log_dir`` (so a test can count runs), return n squared."""
    time.sleep(sleep_s)
    Path(log_dir, f"{n}.{os.getpid()}.{time.monotonic_ns()}").touch()
    return {"n": n, "square": n * n, "pid": os.getpid()}


def fail(n: int) -> dict[str, Any]:
    """Raise for odd n."""
    if n % 2:
        raise ValueError(f"odd {n}")
    return {"n": n}
