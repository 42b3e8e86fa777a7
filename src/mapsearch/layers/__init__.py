"""Layer values, the model zoo and name lookup."""

from __future__ import annotations

from mapsearch.layers.layer import OP_DIMS, OP_TENSORS, TENSORS, WINDOWS, Layer, Op

__all__ = ["OP_DIMS", "OP_TENSORS", "TENSORS", "WINDOWS", "Layer", "Op"]
