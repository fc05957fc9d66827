"""Output files: atomic, umask respected, written through links and FIFOs, no temp file left
behind on failure, Ctrl-C or SIGTERM, and the real path named in errors."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from checkmate_opt.cli import main
from checkmate_opt.errors import OutputError
from checkmate_opt.generators import linear_graph
from checkmate_opt.io import load_graph, open_atomic, save_graph, write_atomic


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.json"
    save_graph(linear_graph(3), path)
    return path


def _umask(mask: int) -> int:
    return os.umask(mask)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_new_files_respect_the_umask(tmp_path: Path, mask: int) -> None:
    old = _umask(mask)
    try:
        write_atomic(tmp_path / "a.txt", "x")
        save_graph(linear_graph(2), tmp_path / "g.json")
    finally:
        os.umask(old)
    for name in ("a.txt", "g.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


def test_replacing_a_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_writes_through_a_symlink(tmp_path: Path, graph_file: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    args = ["solve", str(graph_file), "--strategy", "checkpoint_all", "--output", str(link)]
    assert main(args) == 0
    assert link.is_symlink()
    assert '"schedule"' in real.read_text()


def test_writes_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")

    def half_write() -> None:
        with open_atomic(path) as fh:
            fh.write("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        half_write()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="nowhere"):
        write_atomic(tmp_path / "nowhere" / "a.txt", "x")


_WRITER = """
import sys, time
from checkmate_opt.io import open_atomic
with open_atomic(sys.argv[1]) as fh:
    fh.write("partial")
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigterm_during_a_write_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    assert any(p.name.startswith(".out.json.") for p in tmp_path.iterdir())  # mid-write
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # still dies by the signal
    assert list(tmp_path.iterdir()) == []


def test_plot_output_without_suffix_names_the_real_path(
    graph_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pnoext"
    code = main(["plot", str(graph_file), "--strategy", "checkpoint_all", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{out}: it has no suffix" in err
    assert not list(tmp_path.glob(".pnoext*"))


def test_saved_graph_round_trips_through_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    (tmp_path / "l.json").symlink_to(real)
    save_graph(linear_graph(2), tmp_path / "l.json")
    assert load_graph(real).n == linear_graph(2).n
