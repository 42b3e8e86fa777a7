"""Whole models to tune: the zoo, ONNX graphs and MAESTRO model files, behind one loader.

The loaders are imported on first use (a layer's ``tune`` needs ``Model`` only); the ONNX
reader imports onnx, which takes seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapsearch._lazy import lazy_attributes
from mapsearch.models.model import Model

_EXPORTS = {
    **dict.fromkeys(
        ["MODEL_FILE_SUFFIXES", "load_model", "read_maestro_model"], "mapsearch.models.load"
    ),
    "read_onnx": "mapsearch.models.onnx_import",
}

__all__ = ["MODEL_FILE_SUFFIXES", "Model", "load_model", "read_maestro_model", "read_onnx"]

__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)

if TYPE_CHECKING:
    from mapsearch.models.load import MODEL_FILE_SUFFIXES, load_model, read_maestro_model
    from mapsearch.models.onnx_import import read_onnx
