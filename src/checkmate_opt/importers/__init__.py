"""Importers: build a :class:`~checkmate_opt.graph.Graph` from a model of another library."""

from __future__ import annotations

__all__ = ["extract_layers", "graph_from_keras"]


def __getattr__(name: str) -> object:
    # keep `import checkmate_opt.importers` free of keras: load the module on first use
    if name in __all__:
        from checkmate_opt.importers import keras as _keras

        return getattr(_keras, name)
    raise AttributeError(name)
