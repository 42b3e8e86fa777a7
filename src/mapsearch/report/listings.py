"""Listings for ``mapsearch layers`` (the model zoo, model files) and ``mapsearch presets``
(hardware presets): each renderer is a plain function of the data, giving a rich
``Table`` or a JSON / CSV string."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich import box
from rich.table import Table

from mapsearch.hardware.config import UNLIMITED
from mapsearch.hardware.presets import Preset
from mapsearch.layers.layer import Layer, Op
from mapsearch.schemas import SCHEMA_VERSION

#: (model name, its layers) as listed by ``mapsearch layers``.
ModelLayers = tuple[str, tuple[Layer, ...]]

#: Column order of the CSV: every dimension name any operator uses.
_CSV_DIMS = ("G", "N", "M", "K", "C", "R", "S", "Y", "X")


class OutputFormat(StrEnum):
    """The formats a listing is printed in (``--format``)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def output_shape(layer: Layer) -> str:
    """The output tensor's shape: ``KxY'xX'`` for convolutions (``C`` depthwise), ``MxN`` GEMM."""
    s = layer.sizes
    if layer.op is Op.GEMM:
        return f"{s['M']}x{s['N']}"
    channels = s["C"] if layer.op is Op.DSCONV else s.get("G", 1) * s["K"]
    return f"{channels}x{layer.out_y}x{layer.out_x}"


def layer_record(layer: Layer) -> dict[str, Any]:
    """A JSON-ready description of one layer."""
    return {
        "name": layer.qualified_name,
        "op": layer.op.value,
        "dims": dict(layer.dims),
        "stride": [layer.stride_y, layer.stride_x],
        "output": output_shape(layer),
        "macs": layer.macs,
    }


def layers_table(listing: Sequence[ModelLayers]) -> Table:
    """One table of every listed layer, with a total-MACs line after each model."""
    table = Table(title="Model zoo", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("layer", no_wrap=True)
    table.add_column("type")
    table.add_column("dims")
    table.add_column("output", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    for model, layers in listing:
        for layer in layers:
            table.add_row(
                layer.qualified_name,
                layer.op.value,
                layer.describe(),
                output_shape(layer),
                f"{layer.macs:,}",
            )
        table.add_section()
        total = sum(layer.macs for layer in layers)
        table.add_row(f"{model} total", "", f"{len(layers)} layers", "", f"{total:,}", style="bold")
        table.add_section()
    return table


def layers_json(listing: Sequence[ModelLayers]) -> str:
    """``[{"schema_version", "model", "total_macs", "layers": [layer_record, ...]}, ...]`` as
    indented JSON."""
    doc = [
        {
            "schema_version": SCHEMA_VERSION,
            "model": model,
            "total_macs": sum(layer.macs for layer in layers),
            "layers": [layer_record(layer) for layer in layers],
        }
        for model, layers in listing
    ]
    return json.dumps(doc, indent=2)


def layers_csv(listing: Sequence[ModelLayers]) -> str:
    """One row per layer; dimensions an operator does not have are left empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "layer", "op", *_CSV_DIMS, "stride_y", "stride_x", "output", "macs"])
    for model, layers in listing:
        for layer in layers:
            s = layer.sizes
            writer.writerow(
                [
                    model,
                    layer.name,
                    layer.op.value,
                    *(s.get(d, "") for d in _CSV_DIMS),
                    layer.stride_y,
                    layer.stride_x,
                    output_shape(layer),
                    layer.macs,
                ]
            )
    return out.getvalue()


def preset_record(p: Preset) -> dict[str, Any]:
    """A JSON-ready description of one hardware preset."""
    hw = p.hardware
    return {
        "name": hw.name,
        "num_pes": hw.num_pes,
        "l1_size_words": hw.l1_size_words,
        "l2_size_words": hw.l2_size_words,
        "noc_bw_words_per_cycle": hw.noc_bw_words_per_cycle,
        "noc_latency_cycles": hw.noc_latency_cycles,
        "offchip_bw_words_per_cycle": hw.offchip_bw_words_per_cycle,
        "word_bytes": hw.word_bytes,
        "vector_width": hw.vector_width,
        "energy": hw.energy.source,
        "source": p.source,
    }


def presets_table(presets: Sequence[Preset]) -> Table:
    """Sizes in words, bandwidths in words/cycle; sources listed under the table."""
    table = Table(
        title="Hardware presets",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        caption="\n".join(f"{p.name}: {p.source}" for p in presets),
        caption_justify="left",
    )
    table.add_column("name", no_wrap=True)
    for header in ("PEs", "L1\n/PE", "L2", "NoC\nbw", "NoC\nlat", "offchip\nbw", "word\nbytes"):
        table.add_column(header, justify="right", no_wrap=True)
    for p in presets:
        hw = p.hardware
        values = (
            hw.num_pes,
            hw.l1_size_words,
            hw.l2_size_words,
            hw.noc_bw_words_per_cycle,
            hw.noc_latency_cycles,
            hw.offchip_bw_words_per_cycle,
            hw.word_bytes,
        )
        table.add_row(hw.name, *("unlimited" if v >= UNLIMITED else str(v) for v in values))
    return table


def presets_json(presets: Sequence[Preset]) -> str:
    return json.dumps([preset_record(p) for p in presets], indent=2)


def presets_csv(presets: Sequence[Preset]) -> str:
    out = io.StringIO()
    records = [preset_record(p) for p in presets]
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()
