"""Whole models to tune: the zoo, ONNX graphs and MAESTRO model files, behind one loader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mapsearch.models.load import MODEL_FILE_SUFFIXES, load_model, read_maestro_model
from mapsearch.models.model import Model

__all__ = ["MODEL_FILE_SUFFIXES", "Model", "load_model", "read_maestro_model", "read_onnx"]


def __getattr__(name: str) -> Any:
    # The ONNX reader imports onnx, which takes seconds: only when it is asked for.
    if name == "read_onnx":
        from mapsearch.models.onnx_import import read_onnx

        return read_onnx
    raise AttributeError(f"module 'mapsearch.models' has no attribute {name!r}")


if TYPE_CHECKING:
    from mapsearch.models.onnx_import import read_onnx
