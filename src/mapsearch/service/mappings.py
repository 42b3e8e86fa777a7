"""One mapping shown on one layer (``mapsearch show-mapping``): resolved directives,
validation status and loop nest, from a classic dataflow or a MAESTRO ``.m`` file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mapsearch.directives.dataflows import dataflow, dataflow_variant
from mapsearch.errors import LayerError
from mapsearch.hardware import Hardware
from mapsearch.report.loopnest import mapping_sheet
from mapsearch.service.evaluate import mapping_from_file
from mapsearch.service.hardware import resolve_hardware


def _hardware(hw: str | None, pes: int | None) -> Hardware:
    """The hardware ``hw`` names; a PE count other than its own shows in its name."""
    base = resolve_hardware(hw)
    if pes is None or pes == base.num_pes:
        return base
    return replace(base, name=f"{base.name} with {pes} PEs", num_pes=pes)


def show_mapping_text(
    *, source: str | Path, layer: str | None = None, hw: str | None = None, pes: int | None = None
) -> str:
    """Resolved directives, validation status and loop nest of one mapping on one layer.

    ``source`` is a classic dataflow name (``str``; ``layer`` is then a zoo layer name) or a
    MAESTRO ``.m`` file (``Path``; ``layer`` picks one of its layers, optional when it has
    only one).
    """
    from mapsearch.layers.zoo import find_layer

    hardware = _hardware(hw, pes)
    if isinstance(source, Path):
        the_layer, mapping = mapping_from_file(source, layer)
        variant = f"from {source}"
    else:
        if layer is None:
            raise LayerError("a classic dataflow needs a layer: give --layer (e.g. vgg16.conv3_1)")
        the_layer = find_layer(layer)
        mapping = dataflow(source, the_layer)
        variant = dataflow_variant(source, the_layer)
    return mapping_sheet(mapping, the_layer, hardware, variant=variant)
