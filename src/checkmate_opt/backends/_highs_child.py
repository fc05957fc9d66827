"""HiGHS in a child process that can be stopped and, if it does not stop, killed.

The parent (:class:`ChildSolve`) starts ``python -c ...main()``, writes one pickled request
to the child's stdin and reads pickled messages from its stdout:
``("progress", incumbent, bound)``, ``("incumbent", objective, x)`` and finally
``("done", state)``. A line ``stop`` on stdin (or stdin closing) asks HiGHS to stop at its
next interrupt check. The child ignores SIGINT (Ctrl-C is the parent's to handle), lives in
its own process group, and is killed by the kernel if the parent dies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from typing import IO, Any

__all__ = ["ChildSide", "ChildSolve", "child_side", "main"]

_HEADER = struct.Struct("<Q")


def _write_frame(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: IO[bytes]) -> Any:
    head = _read_exact(stream, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(stream, _HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)  # our own child's pipe


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the parent dies (no orphaned solver)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ChildSolve:
    """A HiGHS solve running in a child process (the parent's side); ``entry`` (``module:func``)
    runs another child that speaks the same protocol (the ``anytime`` portfolio's searches)."""

    def __init__(
        self, request: dict[str, Any], entry: str = "checkmate_opt.backends._highs_child:main"
    ) -> None:
        pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        module, func = entry.split(":")
        boot = f"import sys; sys.path.insert(0, {pkg_root!r}); "
        boot += f"from {module} import {func}; {func}()"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", boot],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            process_group=0,  # the terminal's Ctrl-C goes to us, not to the solver
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._messages: queue.Queue[Any] = queue.Queue()
        self._eof = False
        self._reader = threading.Thread(
            target=self._read, name="checkmate-highs-child", daemon=True
        )
        self._reader.start()
        # the request is written by a thread: a child that stops reading (frozen, or dead at
        # start) must not block the caller past its time limit
        self._sent = threading.Event()
        self._stdin_lock = threading.Lock()
        self._writer = threading.Thread(
            target=self._send_request, args=(request,), name="checkmate-highs-send", daemon=True
        )
        self._writer.start()

    def _send_request(self, request: dict[str, Any]) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError, ValueError), self._stdin_lock:
            _write_frame(self._proc.stdin, request)
            self._sent.set()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        try:
            while True:
                msg = _read_frame(self._proc.stdout)
                if msg is None:
                    break
                self._messages.put(msg)
        except Exception as err:  # a torn pipe after a kill: nothing more to read
            self._messages.put(("closed", repr(err)))
        self._messages.put(None)

    def next_message(self, timeout: float) -> tuple[Any, ...] | None:
        """The next message, or ``None`` when none came within ``timeout`` or none will come."""
        try:
            msg = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if msg is None:
            self._eof = True
            self._messages.put(None)  # keep answering "nothing more"
        return msg if msg is None or msg[0] != "closed" else None

    def alive(self) -> bool:
        """More messages may come (the child's output is not yet exhausted)."""
        return not self._eof

    def request_stop(self) -> None:
        """Ask HiGHS to stop at its next interrupt check."""
        if not self._sent.is_set():
            return  # still loading the model: nothing to interrupt yet (the kill still works)
        with contextlib.suppress(OSError, ValueError), self._stdin_lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(b"stop\n")
            self._proc.stdin.flush()

    def kill(self) -> None:
        """Kill the child (SIGKILL): for a solver that ignores the stop request."""
        with contextlib.suppress(OSError):
            self._proc.kill()

    def exit_code(self) -> int | None:
        return self._proc.poll()

    def close(self) -> None:
        """Make sure the child is gone and the pipes are closed."""
        if self._proc.poll() is None:
            if self._sent.is_set():
                self.request_stop()
            try:
                self._proc.wait(timeout=2.0 if self._sent.is_set() else 0.0)
            except subprocess.TimeoutExpired:
                self.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        self._reader.join(timeout=1.0)
        self._writer.join(timeout=1.0)


class ChildSide:
    """The child's end of the protocol: the request, ``send`` for messages, ``stop`` (set by a
    ``stop`` line on stdin or by stdin closing) and ``finish`` (last message, then exit)."""

    def __init__(self, request: Any, out: IO[bytes], stop: threading.Event) -> None:
        self.request = request
        self.stop = stop
        self._out = out
        self._lock = threading.Lock()

    def send(self, msg: tuple[Any, ...]) -> None:
        with self._lock:
            _write_frame(self._out, msg)

    def finish(self, msg: tuple[Any, ...]) -> None:
        """Send the last message and end the process (no interpreter teardown: HiGHS' threads
        may still be around)."""
        with contextlib.suppress(OSError):
            self.send(msg)
            self._out.close()
        sys.stderr.flush()
        os._exit(0)


def child_side() -> ChildSide | None:
    """Set a child process up: SIGINT ignored (Ctrl-C is the parent's), killed with the parent,
    stdout kept for messages (prints go to stderr), the request read, stdin watched for
    ``stop``. ``None`` when the parent went away before sending a request."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    request = _read_frame(inp)
    if request is None:
        return None
    stop = threading.Event()

    def watch_stdin() -> None:
        for line in inp:
            if line.strip() == b"stop":
                stop.set()
        stop.set()  # stdin closed: the parent is gone or done with us

    threading.Thread(target=watch_stdin, daemon=True).start()
    return ChildSide(request, out, stop)


def main() -> None:
    """The child: read the request, solve, stream messages, exit."""
    side = child_side()
    if side is None:
        return
    request, send, stop = side.request, side.send, side.stop

    import highspy

    from checkmate_opt.backends.highs import attach_callbacks, final_state, load_highs

    try:
        arrays = request["arrays"]
        is_mip = bool(arrays["integer"].any())
        h = load_highs(request["native"], arrays, request["start"])
        attach_callbacks(
            h,
            is_mip=is_mip,
            verbose=request["verbose"],
            stop=stop,
            on_progress=lambda obj, bound: send(("progress", obj, bound)),
            on_incumbent=lambda obj, x: send(("incumbent", obj, x)),
        )
        h.run()
        state = final_state(h, is_mip=is_mip)
        highspy.Highs.resetThreadScheduler(False)
    except Exception as err:
        state = {"error": f"{type(err).__name__}: {err}"}
    side.finish(("done", state))
