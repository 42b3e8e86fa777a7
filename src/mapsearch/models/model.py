"""The ``Model`` value: a named sequence of layers, wherever it was read from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mapsearch.errors import LayerError
from mapsearch.layers.layer import Layer, group_by_shape

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]+")


def sanitise_name(name: str) -> str:
    """``name`` with each run of characters other than letters, digits and ``_`` made ``_``."""
    return _NOT_A_NAME.sub("_", name).strip("_")


def file_model_name(path: str | Path) -> str:
    """The name of a model read from ``path``: its sanitised stem (``my-net.v2.onnx`` is
    ``my_net_v2``), or ``model`` when nothing is left."""
    return sanitise_name(Path(path).stem) or "model"


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """The layers of one network, in network order.

    ``source`` is ``"zoo"`` or the file the model was read from; ``notes`` are one-line
    remarks for the user about what the import left out or assumed (nodes skipped, a batch
    size taken as 1). Several layers may share a shape: :meth:`shape_groups` says which.
    """

    name: str
    layers: tuple[Layer, ...]
    source: str = "zoo"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "notes", tuple(self.notes))
        if not self.layers:
            raise LayerError(f"model {self.name!r} has no layers")

    def shape_groups(self) -> tuple[tuple[Layer, ...], ...]:
        """Layers grouped by shape (:func:`~mapsearch.layers.group_by_shape`), first-seen order."""
        return group_by_shape(self.layers)

    def distinct(self) -> tuple[Layer, ...]:
        """The first layer of each shape: tuning these covers the whole model."""
        return tuple(group[0] for group in self.shape_groups())

    def repeats(self) -> dict[str, tuple[str, ...]]:
        """Qualified name of each repeated shape's first layer -> the other layers of the shape."""
        return {
            group[0].qualified_name: tuple(layer.qualified_name for layer in group[1:])
            for group in self.shape_groups()
            if len(group) > 1
        }

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)
