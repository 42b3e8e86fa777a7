"""Hypothesis strategies: tiny layers and mappings legal by construction (exact-model tests).

Legal by construction (``docs/semantics.md`` rule 6): a non-window dimension is tiled with
offset = size (non-divisible sizes allowed); a window dimension Y is tiled in whole output
rows, ``k`` outputs per slice: size ``(k - 1) * stride + R``, offset ``k * stride`` (or the
same written as ``Y'(k, k)``), with ``k`` shrinking from level to level; R and S stay whole.
Every level with more than one unit has exactly one SpatialMap. ``row_stationary=True``
also draws split windows (R tiles of one row with a diagonal second SpatialMap), which only
the simulator models.
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
