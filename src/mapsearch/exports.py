"""MAESTRO files a compiler (or ``mapsearch evaluate``) can take from a search's results.

- The best point(s) of a study: one mapping file holding every point as a layer of one
  ``Network`` (:func:`points_file`), or one file per point (:func:`point_files`).
- A tuned model: every layer of the model with the best mapping known for its shape, in
  network order (:func:`model_file`), and the hardware it was tuned for
  (:func:`hardware_file`).

Every file is written by :mod:`mapsearch.directives.maestro_file` and reads back with it; a
``//`` comment above each layer says where its mapping came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mapsearch.directives import Mapping
from mapsearch.directives.maestro_file import (
    MaestroLayer,
    MaestroNetwork,
    format_hardware_file,
    format_network,
)
from mapsearch.errors import LayerError, StudyError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.models.model import Model, sanitise_name
from mapsearch.problem import Problem
from mapsearch.studies.results import Point
from mapsearch.studies.tune import ModelOutcome, TuneOutcome, best_known


def _writable(layer: Layer, name: str) -> Layer:
    """``layer`` named ``name``, or its sanitised form when a MAESTRO file cannot hold it."""
    try:
        format_network(
            MaestroNetwork(name="n", layers=(MaestroLayer(layer=replace(layer, name=name)),))
        )
    except LayerError:
        name = sanitise_name(name) or "layer"
    return replace(layer, name=name)


def _network_text(name: str, entries: Sequence[tuple[str, MaestroLayer]], header: str) -> str:
    """A mapping file: ``header`` comment lines, then the network with each layer's comment."""
    text = format_network(
        MaestroNetwork(name=sanitise_name(name) or "mapsearch", layers=tuple(e for _, e in entries))
    )
    lines = text.splitlines()
    out = [f"// {line}" for line in header.splitlines()]
    k = 0
    for line in lines:
        if line.startswith("  Layer ") and k < len(entries):
            out.append(f"  // {entries[k][0]}")
            k += 1
        out.append(line)
    return "\n".join(out) + "\n"


def _point_comment(point: Point) -> str:
    values = ", ".join(f"{k} {v:.6g}" for k, v in point.objectives.items())
    return f"trial {point.trial}: {values}; hardware {point.hardware.describe()}"


def points_file(problem: Problem, points: Sequence[Point], study: str) -> str:
    """One mapping file holding each point as a layer (``<layer>_p<i>``, with its trial,
    objective values and hardware in a comment), in the points' order."""
    if not points:
        raise StudyError(f"study {study!r} has no feasible point to export")
    layer = problem.layer
    if len(points) == 1:
        entries = [
            (_point_comment(points[0]), _entry(_writable(layer, layer.name), points[0].mapping))
        ]
    else:
        entries = [
            (_point_comment(p), _entry(_writable(layer, f"{layer.name}_p{i}"), p.mapping))
            for i, p in enumerate(points)
        ]
    header = f"study {study}: best point(s) of {problem.layer.qualified_name}"
    return _network_text(layer.model or study, entries, header)


def point_files(problem: Problem, points: Sequence[Point], study: str) -> list[tuple[str, str]]:
    """(file name, text) of one mapping file per point: ``<study>_p<i>.m``."""
    if not points:
        raise StudyError(f"study {study!r} has no feasible point to export")
    stem = sanitise_name(study) or "study"
    return [(f"{stem}_p{i}.m", points_file(problem, [p], study)) for i, p in enumerate(points)]


def _entry(layer: Layer, mapping: Mapping) -> MaestroLayer:
    return MaestroLayer(layer=layer, mapping=mapping)


def model_file(model: Model, outcomes: Sequence[TuneOutcome]) -> str:
    """The tuned model as one mapping file: each layer of ``model`` in order with the best
    mapping known for its shape (``best_known``). Layers of a shape without a result
    (skipped, or not reached before an interruption) are left out and named in the header."""
    known = {}
    for o in outcomes:
        found = best_known(o)
        if found is not None:
            known[o.problem.layer.qualified_name] = (found, o)
    first_of = {layer.qualified_name: group[0] for group in model.shape_groups() for layer in group}
    entries, missing = [], []
    for layer in model.layers:
        shape = first_of[layer.qualified_name]
        result = known.get(shape.qualified_name)
        if result is None:
            missing.append(layer.name)
            continue
        (mapping, objectives, source), o = result
        values = ", ".join(f"{k} {v:.6g}" for k, v in objectives.items())
        note = f"{source} mapping of shape {shape.name} (study {o.run.study}): {values}"
        if o.problem.hardware_space is not None and o.points:
            note += f"; hardware {o.points[0].hardware.describe()}"
        entries.append((note, _entry(_writable(layer, layer.name), mapping)))
    if not entries:
        raise StudyError(f"no layer of model {model.name!r} has a tuned mapping to write")
    header = f"model {model.name} tuned by mapsearch: {len(entries)} of {len(model.layers)} layers"
    if missing:
        header += f"\nleft out (no result): {', '.join(missing)}"
    return _network_text(model.name, entries, header)


def tuned_hardware(outcomes: Sequence[TuneOutcome]) -> list[Hardware]:
    """The distinct hardware designs the outcomes' best points use, first-seen order (one,
    unless the hardware was co-designed per layer)."""
    designs = [o.points[0].hardware for o in outcomes if o.points]
    return list(dict.fromkeys(designs))


def hardware_file(hardware: Hardware) -> str:
    """The MAESTRO hardware file of ``hardware``."""
    return format_hardware_file(hardware)


def write_model_files(folder: Path, model: Model, outcomes: Sequence[TuneOutcome]) -> list[Path]:
    """Write ``<model>.m`` (:func:`model_file`) and the hardware file(s) of the tuned
    designs (:func:`tuned_hardware`): ``<model>.hw.m``, or ``<model>.hw<i>.m`` for each of
    several co-designed ones) into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = sanitise_name(model.name) or "model"
    texts = [(folder / f"{stem}.m", model_file(model, outcomes))]
    designs = tuned_hardware(outcomes)
    for i, hw in enumerate(designs):
        name = f"{stem}.hw.m" if len(designs) == 1 else f"{stem}.hw{i}.m"
        texts.append((folder / name, hardware_file(hw)))
    for path, text in texts:
        path.write_text(text, encoding="utf-8")
    return [path for path, _ in texts]


def write_tuned_files(folder: Path, result: TuneOutcome | ModelOutcome) -> list[Path]:
    """:func:`write_model_files` of a tuned model, or of a tuned layer as a model of that
    one layer (``tune --write-m``)."""
    if isinstance(result, ModelOutcome):
        return write_model_files(folder, result.model, result.outcomes)
    layer = result.problem.layer
    return write_model_files(
        folder, Model(name=layer.model or layer.name, layers=(layer,)), [result]
    )
