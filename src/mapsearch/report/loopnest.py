"""A mapping as an indented loop nest, for people.

One loop per map directive, outer first, in directive order; a ``Cluster`` opens the next
level. Trip counts follow the step model (DESIGN.md section 4, rule 2): a directive of size
M and offset O over a nominal extent E has ``n = 1`` slice if ``M >= E``, else
``ceil((E - M) / O) + 1``. A level's first SpatialMap is a ``par_for`` over its P units in
``ceil(n / P)`` folds; a second SpatialMap advances with it (``par_with``, the diagonal of
row stationary). ``Y'``/``X'`` directives are shown with their size in input rows/columns.
The innermost line is the MAC, with the most MACs one PE computes in one step.
"""

from __future__ import annotations

import math

from mapsearch.directives.directive import Mapping
from mapsearch.directives.validate import OUTPUT_DIMS, Level, Loop, mapping_levels, mapping_problems
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import WINDOWS, Layer, Op

_INDENT = "  "


def _var(loop: Loop, level: int) -> str:
    return f"{loop.dim.lower()}{level}"


def _comment(loop: Loop) -> str:
    text = f"# {loop.directive}"
    if loop.directive.dim in OUTPUT_DIMS:
        text += f" = {loop.dim}({loop.size},{loop.offset})"
    return f"{text}  [E={loop.extent}]"


def _pe_macs(layer: Layer, leaf: Level) -> int:
    """MACs of one PE in one step for a full (unclipped) leaf tile (DESIGN.md rule 3)."""
    tiles = dict(leaf.tiles)
    if layer.op is not Op.GEMM:
        for (wdim, fdim), stride in zip(WINDOWS, (layer.stride_y, layer.stride_x), strict=True):
            fits = tiles[wdim] >= tiles[fdim]
            tiles[wdim] = (tiles[wdim] - tiles[fdim]) // stride + 1 if fits else 0
    return math.prod(tiles.values())


def loop_nest(mapping: Mapping, layer: Layer, *, num_pes: int | None = None) -> str:
    """``mapping`` on ``layer`` as an indented loop nest (with ``num_pes``: units and folds).

    Without ``num_pes`` the units of level 0 are shown as ``P0``.
    """
    levels = mapping_levels(mapping, layer)  # raises MappingError before resolve() could fail
    mapping = mapping.resolve(layer)
    below = math.prod(lv.cluster_size for lv in levels[1:])
    units: list[int | None] = [
        num_pes // below if num_pes is not None else None,
        *(lv.cluster_size for lv in levels[1:]),
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
        lead: Loop | None = None
        for loop in level.loops:
            pad = _INDENT * depth
            var = _var(loop, level.index)
            comment = _comment(loop)
            if loop.spatial and lead is None:
                lead = loop
                if count is None:
                    folds = f"ceil({loop.slices}/P0)"
                else:
                    folds = str(-(-loop.slices // count)) if count > 0 else "no"
                head = f"par_for {var} in {loop.slices} over {shown} units, {folds} fold(s):"
            elif loop.spatial:
                assert lead is not None
                lead_var = _var(lead, level.index)
                head = f"par_with {var} in {loop.slices} (advances with {lead_var}):"
            else:
                head = f"for {var} in {loop.slices}:"
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
        mapping_levels(mapping, layer)
    except MappingError:
        return False
    return True
