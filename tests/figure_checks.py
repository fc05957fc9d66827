"""Checks of a figure's readability, on its matplotlib objects (shared by the figure tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checkmate_opt.plotting import MIN_FONT_PT


def close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def _texts(fig: Any) -> Iterator[Any]:
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            yield t


def assert_fonts_readable(fig: Any) -> None:
    fig.canvas.draw()
    small = [
        (t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < MIN_FONT_PT
    ]
    assert not small, small


def assert_legends_off_the_data(fig: Any) -> None:
    """No legend overlaps a panel's plotting area or its x tick labels and label."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_title()
            for t in [ax.xaxis.label, *ax.get_xticklabels()]:
                if t.get_text().strip():
                    assert not box.overlaps(t.get_window_extent(renderer)), t.get_text()


def marks(ax: Any, gid: str, kind: str) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    cls = Line2D if kind == "marker" else Text
    return [a for a in ax.get_children() if isinstance(a, cls) and a.get_gid() == gid]
