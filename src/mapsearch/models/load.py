"""``load_model``: one name for a model, wherever it comes from (zoo, ONNX, MAESTRO file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from mapsearch.directives.maestro_file import read_mapping_file
from mapsearch.errors import ModelFileError
from mapsearch.layers.zoo import MODELS, model_layers
from mapsearch.models.model import Model, file_model_name

#: File suffixes ``load_model`` reads (any case), with what they hold.
MODEL_FILE_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {".onnx": "ONNX model", ".m": "MAESTRO model (Layer blocks)"}
)


def load_model(spec: str | Path, *, convention: str = "maestro") -> Model:
    """The model ``spec`` names: a zoo model, an ``.onnx`` file or a MAESTRO ``.m`` file.

    ``spec`` ending in ``.onnx`` or ``.m`` (any case) is a file (see
    :func:`~mapsearch.models.onnx_import.read_onnx` and :func:`read_maestro_model`); any
    other spec with a suffix is an error, and a bare name a zoo model (``UnknownNameError``
    with close matches on a miss). ``convention`` chooses the zoo's shapes (see
    :mod:`mapsearch.layers.zoo`); a file's shapes are its own.
    """
    text = str(spec)
    suffix = Path(text).suffix.lower()
    if suffix == ".onnx":
        from mapsearch.models.onnx_import import read_onnx  # imports onnx: only when needed

        return read_onnx(text)
    if suffix == ".m":
        return read_maestro_model(text)
    if suffix:
        kinds = ", ".join(f"{s} ({what})" for s, what in MODEL_FILE_SUFFIXES.items())
        raise ModelFileError(
            f"unknown model file type {suffix!r}; give {kinds} or a zoo model "
            f"({', '.join(MODELS)})",
            path=text,
        )
    layers = model_layers(text, convention=convention)
    return Model(name=layers[0].model, layers=layers)


def read_maestro_model(path: str | Path) -> Model:
    """The layers of a MAESTRO model (or mapping) file, names as written.

    The model is named after the file (:func:`file_model_name`), as an ONNX model is: the
    ``Network`` name of MAESTRO's examples repeats zoo names (``vgg16``, ``Resnet50``) with
    other shapes, and studies are named after model and layer. A ``Dataflow`` a layer may
    have is not part of the model: a note says it was ignored.
    Errors are the reader's: :class:`~mapsearch.errors.ParseError` with file and line, or
    :class:`~mapsearch.errors.UnsupportedError` for a layer type mapsearch does not model.
    """
    network = read_mapping_file(path)
    if not network.layers:
        raise ModelFileError(f"Network {network.name!r} has no Layer block", path=str(path))
    name = file_model_name(path)
    layers = tuple(replace(entry.layer, model=name) for entry in network.layers)
    with_dataflow = sum(entry.mapping is not None for entry in network.layers)
    notes = (
        (
            f"{with_dataflow} of {len(layers)} layers have a Dataflow, ignored here: --model "
            "takes the layers (score the file's mappings with `mapsearch evaluate --mapping`)",
        )
        if with_dataflow
        else ()
    )
    return Model(name=name, layers=layers, source=str(path), notes=notes)
