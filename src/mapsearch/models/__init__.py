"""Whole models to tune: the zoo, ONNX graphs and MAESTRO model files, behind one loader."""

from __future__ import annotations

from mapsearch.models.load import MODEL_FILE_SUFFIXES, load_model, read_maestro_model
from mapsearch.models.model import Model
from mapsearch.models.onnx_import import read_onnx

__all__ = ["MODEL_FILE_SUFFIXES", "Model", "load_model", "read_maestro_model", "read_onnx"]
