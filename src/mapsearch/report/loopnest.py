"""A mapping as an indented loop nest, for people.

One loop per map directive, outer first, in directive order; a ``Cluster`` opens the next
level. Levels, trip counts and extents come from :mod:`mapsearch.directives.nest`
(``docs/semantics.md`` rules 1-4): a directive of size M and offset O over a nominal extent E
has ``n = 1`` slice if ``M >= E``, else ``ceil((E - M) / O) + 1``. A level's first
SpatialMap is a ``par_for`` over its P units in ``ceil(n / P)`` folds; a second SpatialMap
advances with it (``par_with``, the diagonal of row stationary). ``Y'``/``X'`` directives are
shown with their size in input rows/columns. The innermost line is the MAC, with the most
MACs one PE computes in one step.
"""

from __future__ import annotations

import math
import sys

from mapsearch.directives.directive import Mapping
from mapsearch.directives.nest import DimMap, Level, StepModel, fold_count, unfold
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

_INDENT = "  "


def _var(d: DimMap, level: int) -> str:
    return f"{d.dim.lower()}{level}"


def _comment(d: DimMap, mapping: Mapping) -> str:
    text = f"# {mapping.directives[d.position]}"
    if d.written != d.dim:
        text += f" = {d.dim}({d.size},{d.offset})"
    return f"{text}  [E={d.extent}]"


def _pe_macs(layer: Layer, leaf: Level) -> int:
    """MACs of one PE in one step for a full (unclipped) leaf tile (``docs/semantics.md``
    rule 5)."""
    tiles = {d: int(v) for d, v in leaf.tiles.items()}
    for wdim, fdim in layer.windows:
        fits = tiles[wdim] >= tiles[fdim]
        stride = layer.stride_along(wdim)
        tiles[wdim] = (tiles[wdim] - tiles[fdim]) // stride + 1 if fits else 0
    return math.prod(tiles.values())


def _levels(mapping: Mapping, layer: Layer) -> StepModel:
    """The mapping's levels (their extents and slices do not depend on the PE count)."""
    return unfold(layer, mapping, sys.maxsize)


def loop_nest(mapping: Mapping, layer: Layer, *, num_pes: int | None = None) -> str:
    """``mapping`` on ``layer`` as an indented loop nest (with ``num_pes``: units and folds).

    Without ``num_pes`` the units of level 0 are shown as ``P0``.
    """
    levels = _levels(mapping, layer).levels  # raises MappingError before resolve() could fail
    mapping = mapping.resolve(layer)
    below = math.prod(int(lv.units) for lv in levels[1:])
    units: list[int | None] = [
        num_pes // below if num_pes is not None else None,
        *(int(lv.units) for lv in levels[1:]),
    ]
    title = mapping.name or "mapping"
    pes = f", {num_pes} PEs" if num_pes is not None else ""
    shape = " x ".join(str(u) if u is not None else "P0" for u in units)
    lines = [f"# {title} on {layer.qualified_name} [{layer.describe()}]{pes}: units {shape}"]
    depth = 0
    for level, count in zip(levels, units, strict=True):
        pad = _INDENT * depth
        shown = str(count) if count is not None else "P0"
        what = "PEs" if level.index == len(levels) - 1 else "clusters"
        if level.cluster is None:
            lines.append(f"{pad}# level 0: {shown} units ({what})")
        else:
            opener = mapping.directives[level.cluster]
            lines.append(f"{pad}# {opener} -> level {level.index}: {shown} units ({what})")
        lead: DimMap | None = None
        for d in level:
            pad = _INDENT * depth
            var = _var(d, level.index)
            comment = _comment(d, mapping)
            if d.spatial and lead is None:
                lead = d
                if count is None:
                    folds = f"ceil({d.slices}/P0)"
                else:
                    folds = str(fold_count(int(d.slices), count)) if count > 0 else "no"
                head = f"par_for {var} in {d.slices} over {shown} units, {folds} fold(s):"
            elif d.spatial:
                assert lead is not None
                lead_var = _var(lead, level.index)
                head = f"par_with {var} in {d.slices} (advances with {lead_var}):"
            else:
                head = f"for {var} in {d.slices}:"
            lines.append(f"{pad}{head}  {comment}")
            depth += 1
    lines.append(
        f"{_INDENT * depth}MAC  # up to {_pe_macs(layer, levels[-1])} MACs per PE per step"
    )
    return "\n".join(lines)


def mapping_sheet(mapping: Mapping, layer: Layer, hardware: Hardware, *, variant: str = "") -> str:
    """What ``mapsearch show-mapping`` prints: layer, hardware, resolved directives,
    validation status and, when the mapping can be read as levels, the loop nest."""
    readable = _resolvable(mapping, layer)
    resolved = mapping.resolve(layer) if readable else mapping
    title = mapping.name or "mapping"
    lines = [
        f"layer:    {layer.qualified_name} [{layer.describe()}]",
        f"hardware: {hardware.name}: {hardware.describe()}",
        f"mapping:  {title}" + (f" ({variant})" if variant else ""),
        resolved.to_text(indent="  "),
    ]
    problems = mapping_problems(mapping, layer, hardware)
    if problems:
        lines.append(f"validation: ILLEGAL ({len(problems)} problem(s))")
        lines += [f"  - {p}" for p in problems]
    else:
        lines.append("validation: legal (every MAC computed exactly once)")
    if readable:
        lines += ["loop nest:", loop_nest(mapping, layer, num_pes=hardware.num_pes)]
    return "\n".join(lines)


def _resolvable(mapping: Mapping, layer: Layer) -> bool:
    try:
        _levels(mapping, layer)
    except MappingError:
        return False
    return True
