"""Layer values, the model zoo and name lookup."""

from __future__ import annotations

from mapsearch.layers.layer import (
    OP_DIMS,
    OP_TENSORS,
    OUTPUT_DIMS,
    TENSORS,
    WINDOWS,
    Layer,
    Op,
    group_by_shape,
)
from mapsearch.layers.zoo import (
    CONVENTIONS,
    MODELS,
    all_layers,
    bert_base,
    distinct_layers,
    find_layer,
    model_layers,
)

__all__ = [
    "CONVENTIONS",
    "MODELS",
    "OP_DIMS",
    "OP_TENSORS",
    "OUTPUT_DIMS",
    "TENSORS",
    "WINDOWS",
    "Layer",
    "Op",
    "all_layers",
    "bert_base",
    "distinct_layers",
    "find_layer",
    "group_by_shape",
    "model_layers",
]
