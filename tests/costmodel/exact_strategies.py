"""Hypothesis strategies: tiny layers and mappings for the exact-model tests.

:func:`mappings` draws mappings legal by construction (``docs/semantics.md`` rule 6): a
non-window dimension is tiled with offset = size (non-divisible sizes allowed); a window
dimension Y is tiled in whole output rows, ``k`` outputs per slice: size
``(k - 1) * stride + R``, offset ``k * stride`` (or the same written as ``Y'(k, k)``), with
``k`` shrinking from level to level; R and S stay whole. Every level with more than one
unit has exactly one SpatialMap. ``row_stationary=True`` also draws split windows (R tiles
of one row with a diagonal second SpatialMap).

:func:`any_mappings` draws mappings with no regard to legality (the tests keep those the
validator accepts), which reaches what construction does not: tiles
smaller than the filter window, partial windows, any offsets, second SpatialMaps on any
dimension.
"""

from __future__ import annotations

from hypothesis import strategies as st

from mapsearch.directives import Cluster, Directive, Mapping, SpatialMap, TemporalMap
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.layer import Op

WINDOW_OF = {"Y": "R", "X": "S"}


@st.composite
def layers(draw: st.DrawFn, long: bool = False) -> Layer:
    """A conv, depthwise conv or GEMM with every dimension 1-6 and stride 1-2.

    ``long``: one dimension (Y, or GEMM's M) of 12-20 instead, the others 1-3, so that
    outer loops can run more than 8 trips (the exact model then shrinks them).
    """
    op = draw(st.sampled_from(["conv", "conv", "dsconv", "gemm"]))
    d = st.integers(1, 3) if long else st.integers(1, 6)
    big = st.integers(12, 20) if long else d
    if op == "gemm":
        return Layer.gemm("g", M=draw(big), N=draw(d), K=draw(d))
    y, x = draw(big), draw(d)
    r, s = draw(st.integers(1, min(3, y))), draw(st.integers(1, min(3, x)))
    stride = draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    if op == "dsconv":
        return Layer.dsconv("d", C=draw(d), R=r, S=s, Y=y, X=x, N=n, stride=stride)
    return Layer.conv("c", K=draw(d), C=draw(d), R=r, S=s, Y=y, X=x, N=n, stride=stride)


@st.composite
def mappings(
    draw: st.DrawFn,
    layer: Layer,
    *,
    max_levels: int = 3,
    maestro_compatible: bool = False,
    row_stationary: bool = False,
) -> tuple[Mapping, Hardware]:
    """A legal mapping of ``layer`` with 1-``max_levels`` levels, and hardware to run it.

    ``maestro_compatible`` puts a SpatialMap in every level and writes windows as ``Y``/``X``
    only (MAESTRO needs both). ``row_stationary`` may give a level below the top, whose
    parent hands it one output row (or column), the diagonal pair ``SpatialMap(1,1) Y;
    SpatialMap(1,1) R`` (Eyeriss, MAERI): unit p takes input row p and filter row p.
    """
    n_levels = draw(st.integers(1, max_levels))
    units = [draw(st.integers(1, 4)) for _ in range(n_levels)]
    spare = draw(st.integers(0, max(0, _prod(units[1:]) - 1)))
    num_pes = units[0] * _prod(units[1:]) + spare
    sizes = layer.sizes
    stride = {"Y": layer.stride_y, "X": layer.stride_x}
    win = {} if layer.op is Op.GEMM else WINDOW_OF
    # per dimension: nominal extent (non-window) or outputs per slice (window)
    extent = dict(sizes)
    outs = {d: (layer.out_y if d == "Y" else layer.out_x) for d in win}
    directives: list[Directive] = []
    done: set[str] = set()  # window pairs already split row by row
    for lv in range(n_levels):
        if lv:
            directives.append(Cluster(units[lv]))
        pairs = [d for d in win if outs[d] == 1 and d not in done]
        diagonal = (
            draw(st.sampled_from(pairs))
            if lv and row_stationary and pairs and draw(st.booleans())
            else None
        )
        if diagonal:
            done |= {diagonal, win[diagonal]}
        dims = [
            d
            for d in layer.dim_names
            if (d not in ("R", "S") or layer.op is Op.GEMM) and d not in done
        ]
        # a random subset as a prefix of a permutation (unique lists reject too many draws)
        least = 1 if (units[lv] > 1 or maestro_compatible) and not diagonal else 0
        chosen = draw(st.permutations(dims))[: draw(st.integers(least, len(dims)))]
        windows = [
            w for w in ("R", "S") if w in sizes and layer.op is not Op.GEMM and w not in done
        ]
        order = draw(st.permutations(chosen + [w for w in windows if draw(st.booleans())]))
        if diagonal:
            at = draw(st.integers(0, len(order)))
            order = [*order[:at], "diag", *order[at:]]
        needs = (units[lv] > 1 or maestro_compatible) and not diagonal
        spatial = draw(st.sampled_from(order)) if needs else None
        if spatial is None and order and not diagonal and draw(st.booleans()):
            spatial = draw(st.sampled_from(order))
        for d in order:
            if d == "diag":
                assert diagonal is not None
                directives += [SpatialMap(1, 1, diagonal), SpatialMap(1, 1, win[diagonal])]
                continue
            cls = SpatialMap if d == spatial else TemporalMap
            if d in win:
                k = draw(st.integers(1, outs[d]))
                outs[d] = k
                if k == 1 and stride[d] > 1 and draw(st.booleans()):
                    # one output per slice, advancing one row: slices between outputs
                    # compute nothing (MAESTRO's own T(R,1) Y on a strided layer)
                    directives.append(cls(sizes[win[d]], 1, d))
                    continue
                if not maestro_compatible and draw(st.booleans()):
                    directives.append(cls(k, k, d + "'"))
                else:
                    size = (k - 1) * stride[d] + sizes[win[d]]
                    directives.append(cls(size, k * stride[d], d))
            elif d in ("R", "S") and layer.op is not Op.GEMM:
                directives.append(cls(sizes[d], sizes[d], d))
            else:
                m = draw(st.integers(1, extent[d]))
                extent[d] = m
                directives.append(cls(m, m, d))
    return Mapping(directives=tuple(directives)), Hardware(
        num_pes=num_pes,
        noc_bw_words_per_cycle=draw(st.integers(1, 8)),
        noc_latency_cycles=draw(st.integers(0, 2)),
        vector_width=draw(st.integers(1, 3)),
    )


def _prod(xs: list[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


@st.composite
def any_mappings(draw: st.DrawFn, layer: Layer, *, max_levels: int = 3) -> tuple[Mapping, Hardware]:
    """A mapping of ``layer`` drawn with no regard to legality, and hardware to run it.

    1-``max_levels`` levels of 1-4 units (spare PEs); per level a random subset of the
    dimensions in random order (``Y'``/``X'``, ``R``/``S`` included, each dimension once),
    sizes from 1 to the parent's tile, offsets equal to the size or any, and zero to two
    SpatialMaps on any of them. Among the legal ones: tiles smaller than the filter window
    and partial windows, windows advancing by less or more than the stride (units that idle
    and then work), second SpatialMaps on another dimension group (legal when both have one
    slice), levels where only some units work.
    """
    n_levels = draw(st.integers(1, max_levels))
    units = [draw(st.integers(1, 4)) for _ in range(n_levels)]
    spare = draw(st.integers(0, max(0, _prod(units[1:]) - 1)))
    names = list(layer.dim_names) + ([] if layer.op is Op.GEMM else ["Y'", "X'"])
    outs = {"Y": layer.out_y, "X": layer.out_x}
    extent = dict(layer.sizes)
    directives: list[Directive] = []
    for lv in range(n_levels):
        if lv:
            directives.append(Cluster(units[lv]))
        # units > 1 need a SpatialMap (otherwise they all compute the same MACs)
        least = 1 if units[lv] > 1 else 0
        order = draw(st.permutations(names))[: draw(st.integers(least, len(names)))]
        # each dimension once per level (Y' is Y)
        order = [d for i, d in enumerate(order) if d[0] not in [e[0] for e in order[:i]]]
        n_spatial = min(len(order), draw(st.sampled_from([least, 1, 1, 2])))
        spatial = draw(st.permutations(range(len(order))))[:n_spatial]
        for i, d in enumerate(order):
            base = d.rstrip("'")
            top = outs[base] if d.endswith("'") else extent[base]
            size = draw(st.integers(1, max(1, top)))
            # mostly offset = size: other offsets overlap or skip unless a window hides it
            offset = size if draw(st.integers(0, 3)) else draw(st.integers(1, max(1, top)))
            directives.append((SpatialMap if i in spatial else TemporalMap)(size, offset, d))
            if not d.endswith("'"):
                extent[base] = min(extent[base], size)
    return Mapping(directives=tuple(directives)), Hardware(
        num_pes=units[0] * _prod(units[1:]) + spare,
        noc_bw_words_per_cycle=draw(st.integers(1, 8)),
        noc_latency_cycles=draw(st.integers(0, 2)),
        vector_width=draw(st.integers(1, 3)),
    )


@st.composite
def resuming_cases(draw: st.DrawFn) -> tuple[Layer, Mapping, Hardware]:
    """A legal mapping in which units resume after idling while another group's loops run.

    On a stride-2 layer a window advancing by one row computes on every other slice only;
    spread over an odd number of units (3 or 5) with more than one fold, some units first
    work in a later fold. Temporal loops on other dimensions (tiles of any size) go before
    and after the SpatialMap, optionally under a first level spreading another dimension.
    """
    depthwise = draw(st.booleans())
    r = draw(st.integers(1, 3))
    p = draw(st.sampled_from([3, 5]))
    y = draw(st.integers(r + p, r + 2 * p + 1))  # more slices than units: two folds or more
    c, x = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    s, n = draw(st.integers(1, min(2, x))), draw(st.integers(1, 2))
    if depthwise:
        layer = Layer.dsconv("d", C=c, R=r, S=s, Y=y, X=x, N=n, stride=2)
    else:
        k = draw(st.integers(1, 3))
        layer = Layer.conv("c", K=k, C=c, R=r, S=s, Y=y, X=x, N=n, stride=2)
    others = [d for d in layer.dim_names if d not in ("Y", "R", "S", "X")]
    loops: list[Directive] = []
    for d in draw(st.permutations(others)):
        if draw(st.booleans()):
            m = draw(st.integers(1, layer.size(d)))
            loops.append(TemporalMap(m, m, d))
    if draw(st.booleans()):
        loops.append(TemporalMap(s, 1, "X"))  # X with its own holes
    at = draw(st.integers(0, len(loops)))
    level = [*loops[:at], SpatialMap(r, 1, "Y"), *loops[at:]]
    top: list[Directive] = []
    units = 1
    if others and draw(st.booleans()):
        d = draw(st.sampled_from(others))
        units = draw(st.integers(1, 3))
        top = [SpatialMap(1, 1, d), Cluster(p)]
        level = [e for e in level if getattr(e, "dim", "") != d]
    mapping = Mapping(directives=(*top, *level))
    return (
        layer,
        mapping,
        Hardware(
            num_pes=units * p if top else p,
            noc_bw_words_per_cycle=draw(st.integers(1, 8)),
            noc_latency_cycles=draw(st.integers(0, 2)),
            vector_width=draw(st.integers(1, 3)),
        ),
    )
