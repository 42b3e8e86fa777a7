"""Mapping validation: is a mapping well formed for a layer and hardware, and legal?

A mapping is *legal* when it computes every MAC of the layer exactly once
(``docs/semantics.md`` rule 6): exactly the mappings the step simulator
(:mod:`mapsearch.costmodel.simulate`) runs without error. :func:`mapping_problems` collects
every problem, each naming its directive as ``directive <i> '<text>'`` (``i`` counts from 1
in written order); :func:`check_mapping` raises them all at once as a
:class:`~mapsearch.errors.MappingError`.

The rules, in the order they are checked:

*Each directive on its own*
  1. the dimension must belong to the layer's operator (``Y'``/``X'`` are allowed for
     convolution-like layers, not for GEMM);
  2. ``Sz(D)`` must name a dimension of the layer;
  3. size and offset must be >= 1; a ``Cluster`` size must be >= 1.

*Structure*
  4. the cluster sizes multiply to at most ``num_pes`` ("more clusters than PEs": MAESTRO
     crashes there); the ``Cluster`` at which the running product first exceeds the PEs is
     named;
  5. a level (the directives between two ``Cluster``) with more than one unit has a
     ``SpatialMap``, otherwise all of its units compute the same slices;
  6. at most two ``SpatialMap`` per level (the second advances diagonally with the first);
  7. a dimension is mapped at most once per level (``Y'`` counts as ``Y``, ``X'`` as ``X``).

*Every MAC exactly once* (checked when rules 1-4, 6 and 7 hold). The mapping is unfolded by
:mod:`mapsearch.directives.nest` and every dimension group is checked by
:mod:`mapsearch.directives.coverage`. A group that misses or repeats a MAC is reported at
the first level whose tiles, taken as leaves, already do, naming the directive of that level
responsible:

  8. two SpatialMaps of one level that are not a window pair (Y with R, X with S) advance
     together, so only matching slice pairs are computed;
  9. a window tile smaller than the filter tile of its level holds no output;
  10. slices of a dimension that is not part of a window overlap (offset < size) or skip
      values (offset > size);
  11. window tiles (Y with R, X with S) that repeat or skip an output row (column) with a
      filter row (column): the Y (X) directive is named with the offset that would tile
      exactly, or the R (S) directive when the level maps only that or when the filter
      slices themselves overlap or skip rows.

Deliberately *not* kept from MAESTRO's parser: its demand that a ``TemporalMap`` on R/S
covers the whole filter (``T(R,R) R``). Partial filter tiles (``T(1,1) R`` with
``T(1,1) Y``) are meaningful in the exact model and legal when exact; nor is the stride
required to divide a window offset (strided layers mapped with offset 1 are exact: the tiles
that start between two strides compute nothing). MAESTRO's limit of three ``Cluster``
directives is a limit of its implementation, not of the model, and is not enforced either.

Of the classic dataflows, YR-P_rs_vgg (MAESTRO's MICRO'19 row-stationary files) breaks
rules 8 and 9 on every layer with a filter wider than 1: its PEs pair one input column
with a whole filter row and advance X diagonally with R, so they compute no MAC. Those are
exactly the reference rows on which MAESTRO itself crashes (flag ``fpe_guard_build``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mapsearch.directives.coverage import Group, Miss, check, groups
from mapsearch.directives.directive import (
    Cluster,
    Directive,
    Mapping,
    SpatialMap,
    Sz,
)
from mapsearch.directives.nest import (
    Level,
    StepModel,
    level_units,
    split_levels,
    unfold_template,
)
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import OP_DIMS, OUTPUT_DIMS, Layer, Op


def label(position: int, directive: Directive) -> str:
    """How problems name a directive: ``directive 3 'TemporalMap(0,1) C'`` (1-based)."""
    return f"directive {position + 1} '{directive}'"


def known_dims(layer: Layer) -> tuple[str, ...]:
    """Dimensions a directive may map on ``layer`` (``Y'``/``X'`` only for conv-like ops)."""
    dims = OP_DIMS[layer.op]
    return dims if layer.op is Op.GEMM else (*dims, "Y'", "X'")


def _input_dim(dim: str) -> str:
    return OUTPUT_DIMS.get(dim, dim)


def _resolve(value: object, layer: Layer, what: str, where: str, problems: list[str]) -> int:
    """A size as an int; records a problem and returns 0 when it cannot be resolved or is < 1."""
    if isinstance(value, Sz):
        if value.dim not in known_dims(layer):
            problems.append(
                f"{where}: {what} {value} names a dimension {layer.op.value} layers do not "
                f"have; use one of {', '.join(known_dims(layer))}"
            )
            return 0
        resolved = layer.size(value.dim)
    elif isinstance(value, int) and not isinstance(value, bool):
        resolved = value
    else:
        problems.append(f"{where}: {what} must be an int or Sz(D), got {value!r}")
        return 0
    if resolved < 1:
        problems.append(f"{where}: {what} must be >= 1, got {resolved}")
        return 0
    return resolved


def _directive_problems(
    mapping: Mapping, layer: Layer, problems: list[str]
) -> list[tuple[int, int]]:
    """Rules 1-3; returns the resolved (size, offset) of every directive (0 where invalid)."""
    dims = known_dims(layer)
    resolved: list[tuple[int, int]] = []
    for i, d in enumerate(mapping.directives):
        where = label(i, d)
        if isinstance(d, Cluster):
            resolved.append((_resolve(d.size, layer, "cluster size", where, problems), 0))
            continue
        if d.dim not in dims:
            extra = (
                " (Y'/X' exist only for convolution-like layers)" if d.dim in OUTPUT_DIMS else ""
            )
            problems.append(
                f"{where}: unknown dimension {d.dim!r} for a {layer.op.value} layer{extra}; "
                f"use one of {', '.join(dims)}"
            )
        size = _resolve(d.size, layer, "size", where, problems)
        offset = _resolve(d.offset, layer, "offset", where, problems)
        resolved.append((size, offset))
    return resolved


def _structure_problems(
    mapping: Mapping, resolved: list[tuple[int, int]], hardware: Hardware, problems: list[str]
) -> tuple[bool, tuple[int, ...] | None]:
    """Rules 4-7; returns whether the level structure is sound enough for the coverage check
    and the units per level (None when the cluster sizes are invalid or too many)."""
    sound = True
    product = 1
    for i, d in enumerate(mapping.directives):
        if isinstance(d, Cluster) and resolved[i][0] >= 1:
            before, product = product, product * resolved[i][0]
            if product > hardware.num_pes >= before:
                problems.append(
                    f"{label(i, d)}: more clusters than PEs: the cluster sizes multiply to "
                    f"{product} > {hardware.num_pes} PEs of {hardware.name!r} (MAESTRO crashes "
                    f"there); use smaller clusters or more PEs"
                )
    kinds = [d.kind for d in mapping.directives]
    clusters = [
        resolved[i][0] for i, k in enumerate(kinds) if isinstance(mapping.directives[i], Cluster)
    ]
    units: tuple[int, ...] | None = None
    if all(c >= 1 for c in clusters) and math.prod(clusters) <= hardware.num_pes:
        units = level_units(hardware.num_pes, clusters)
    for lvl, (opener, members) in enumerate(split_levels(kinds)):
        if opener is None:
            span = f"{members[0] + 1}-{members[-1] + 1}" if members else "none"
            where = f"level 0 (directives {span})"
        else:
            where = f"level {lvl} ({label(opener, mapping.directives[opener])})"
        spatial = [i for i in members if isinstance(mapping.directives[i], SpatialMap)]
        if not spatial and (units is None or units[lvl] != 1):
            count = "every unit" if units is None else f"each of its {units[lvl]} units"
            problems.append(
                f"{where} has no SpatialMap: {count} would compute the same slices, so every "
                f"MAC of the level is computed more than once; map one of its dimensions with "
                f"a SpatialMap"
            )
        for i in spatial[2:]:
            sound = False
            problems.append(
                f"{label(i, mapping.directives[i])}: a level holds at most two SpatialMaps "
                f"(the second advances with the first); make it a TemporalMap or move it to "
                f"another level"
            )
        seen: dict[str, int] = {}
        for i in members:
            d = mapping.directives[i]
            assert not isinstance(d, Cluster)
            dim = _input_dim(d.dim)
            if dim in seen:
                sound = False
                first = seen[dim]
                problems.append(
                    f"{label(i, d)}: dimension {dim} is already mapped in this level by "
                    f"{label(first, mapping.directives[first])}; map each dimension once per "
                    f"level"
                )
            else:
                seen[dim] = i
    return sound, units


def _coverage_problems(mapping: Mapping, model: StepModel) -> list[str]:
    """Rules 8-11: every dimension group that misses or repeats a MAC, explained."""
    found: list[tuple[int, str]] = []
    for group in groups(model):
        miss = check(model.layer, group)
        if miss is not None:
            found += _explain(mapping, model, miss)
    return [text for _, text in sorted(found, key=lambda f: f[0])]


def _explain(mapping: Mapping, model: StepModel, miss: Miss) -> list[tuple[int, str]]:
    """(position, problem) naming the directives of the miss's level responsible for it."""
    layer, group = model.layer, miss.group
    level = model.levels[miss.level]

    def name(position: int) -> str:
        return label(position, mapping.directives[position])

    out: list[tuple[int, str]] = []
    spatial = [m for m in level.spatial_maps if m.dim in group.dims]
    if len(spatial) == 2:
        first, second = spatial
        pair = {first.dim, second.dim}
        if pair not in ({w, f} for w, f in layer.windows) and max(first.slices, second.slices) > 1:
            out.append(
                (
                    second.position,
                    f"{name(second.position)}: advances together with {name(first.position)} "
                    f"(unit p takes slice p of both), but {first.dim} and {second.dim} are not "
                    f"a window pair, so only matching slice pairs are computed and MACs are "
                    f"skipped; make it a TemporalMap",
                )
            )
    for wdim, fdim in layer.windows:
        if wdim not in group.dims or level.tiles[wdim] >= level.tiles[fdim]:
            continue
        culprit = level.map_on(wdim) or level.map_on(fdim)
        if culprit is not None:
            out.append(
                (
                    culprit.position,
                    f"{name(culprit.position)}: window tile smaller than the filter: the {wdim} "
                    f"tile ({level.tiles[wdim]}) is smaller than the {fdim} tile "
                    f"({level.tiles[fdim]}) of level {level.index}, so no output fits in it; "
                    f"give {wdim} a size >= {level.tiles[fdim]} or {fdim} a smaller tile",
                )
            )
    for m in level:
        if m.dim not in group.dims or layer.filter_of(m.dim) or layer.input_of(m.dim):
            continue
        if m.slices > 1 and m.offset < m.size:
            out.append(
                (
                    m.position,
                    f"{name(m.position)}: offset {m.offset} < size {m.size}: consecutive "
                    f"{m.dim} slices overlap, so MACs are computed more than once; use offset "
                    f"== size ({m.size})",
                )
            )
        elif m.slices > 1 and m.offset > m.size:
            out.append(
                (
                    m.position,
                    f"{name(m.position)}: offset {m.offset} > size {m.size}: {m.dim} slices "
                    f"skip values, so MACs are never computed; use offset == size ({m.size})",
                )
            )
    if not out:
        out.append(_window_or_generic(layer, level, group, miss, name))
    return out


def _window_or_generic(
    layer: Layer, level: Level, group: Group, miss: Miss, name: Callable[[int], str]
) -> tuple[int, str]:
    """Rule 11 (a window pair's tiles repeat or skip outputs), or the group's first directive
    of the level when no rule above explains the miss."""
    what = (
        f"is computed {miss.times} times: tiles overlap"
        if miss.times > 1
        else "is never computed: tiles leave a gap"
    )
    pair = next(((w, f) for w, f in layer.windows if w in group.dims), None)
    maps = [m for m in level if m.dim in group.dims]
    spatial = [m for m in maps if m.spatial]
    culprit = spatial[1] if len(spatial) == 2 else maps[0]
    if pair is None:
        where = ", ".join(f"{d}={v}" for d, v in miss.witness.items())
        return (
            culprit.position,
            f"{name(culprit.position)}: the MAC at {where} {what} (level {level.index}); the "
            f"slices of each dimension must tile their parent exactly once",
        )
    wdim, fdim = pair
    lw, lf = level.map_on(wdim), level.map_on(fdim)
    culprit = lw or lf or culprit
    if lf is not None and lf.slices > 1 and lf.offset != lf.size:
        culprit = lf  # the filter slices themselves overlap or skip rows
    out_name = "row" if wdim == "Y" else "column"
    out_axis = f"{wdim}'"
    where = (
        f"output {out_name} {miss.witness[out_axis]} with filter {out_name} {miss.witness[fdim]}"
    )
    others = ", ".join(f"{d}={v}" for d, v in miss.witness.items() if d not in (out_axis, fdim))
    if others:
        where += f" ({others})"
    hint = ""
    if lw is not None and culprit is lw:
        stride = layer.stride_along(wdim)
        t_f = level.tiles[fdim]
        k = (lw.size - t_f) // stride + 1
        written = k if lw.written != lw.dim else k * stride
        if written != (lw.offset // stride if lw.written != lw.dim else lw.offset):
            hint = (
                f"; a {wdim} tile of {lw.size} with a {fdim} tile of {t_f} holds {k} output "
                f"{out_name}(s) at stride {stride}, so use offset {written}"
            )
        else:  # the offset fits the tile: the parent's tiles overlap and this level splits them
            hint = (
                f"; the {wdim} tiles this level splits overlap, so use parent tiles that do not "
                f"overlap or keep the {fdim} tile whole"
            )
    return (
        culprit.position,
        f"{name(culprit.position)}: {where} {what} (level {level.index}){hint}",
    )


def mapping_problems(mapping: Mapping, layer: Layer, hardware: Hardware) -> list[str]:
    """Every problem of ``mapping`` on ``layer`` and ``hardware`` (empty when legal)."""
    problems: list[str] = []
    resolved = _directive_problems(mapping, layer, problems)
    resolvable = not problems
    sound, units = _structure_problems(mapping, resolved, hardware, problems)
    if resolvable and sound and units is not None:
        model = unfold_template(
            layer,
            [d.kind for d in mapping.directives],
            ["" if isinstance(d, Cluster) else d.dim for d in mapping.directives],
            [size for size, _ in resolved],
            [offset for _, offset in resolved],
            units,
        )
        problems += _coverage_problems(mapping, model)
    return problems


def check_mapping(mapping: Mapping, layer: Layer, hardware: Hardware) -> None:
    """Raise :class:`MappingError` listing every problem when ``mapping`` is not legal."""
    problems = mapping_problems(mapping, layer, hardware)
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)
