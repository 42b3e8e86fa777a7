"""Legality agrees with the referee: ``check_mapping`` passes exactly when the step simulator
computes every MAC exactly once (``docs/semantics.md`` rule 6).

Mappings are drawn to be legal and illegal in about equal measure: tiny conv, depthwise and
GEMM layers with stride 1-2; 1-3 levels of 1-3 units with spare PEs; any dimension order,
zero to two SpatialMaps per level (diagonals within and across dimension groups), ``Y'``/
``X'`` directives, tiles smaller than the filter window, odd offsets, and exact tilings.

The number of examples comes from ``MAPSEARCH_LEGALITY_EXAMPLES`` (default 300, what CI
runs); outside CI run it at 2,000 or more::

    MAPSEARCH_LEGALITY_EXAMPLES=2000 python -m pytest tests/directives/test_legality.py
"""

from __future__ import annotations

import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapsearch.costmodel.simulate import simulate
from mapsearch.directives import Cluster, Directive, Mapping, SpatialMap, TemporalMap
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

EXAMPLES = int(os.environ.get("MAPSEARCH_LEGALITY_EXAMPLES", "300"))


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    """A conv, depthwise conv or GEMM, every dimension 1-4 (windows 1-7), stride 1-2."""
    op = draw(st.sampled_from(["conv", "conv", "dsconv", "gemm"]))
    d = st.integers(1, 4)
    if op == "gemm":
        return Layer.gemm("g", M=draw(d), N=draw(d), K=draw(d))
    y, x = draw(st.integers(1, 7)), draw(st.integers(1, 5))
    r, s = draw(st.integers(1, min(3, y))), draw(st.integers(1, min(3, x)))
    stride = draw(st.integers(1, 2))
    if op == "dsconv":
        return Layer.dsconv("d", C=draw(d), R=r, S=s, Y=y, X=x, stride=stride)
    return Layer.conv("c", K=draw(d), C=draw(d), R=r, S=s, Y=y, X=x, stride=stride)


@st.composite
def directive(draw: st.DrawFn, layer: Layer, dim: str, spatial: bool) -> TemporalMap | SpatialMap:
    """A directive on ``dim``, biased towards exact tilings but often not exact."""
    cls = SpatialMap if spatial else TemporalMap
    if dim.endswith("'"):
        out = layer.out_size(dim[0])
        k = draw(st.integers(1, out + 1))
        return cls(k, draw(st.sampled_from([k, k, 1, draw(st.integers(1, out + 1))])), dim)
    full = layer.size(dim)
    f = layer.filter_of(dim)
    shape = draw(st.sampled_from(["tile", "tile", "window", "any"]))
    if shape == "window" and f is not None:
        # k whole output rows: size (k - 1) * stride + R, offset k * stride (or a near miss)
        stride = layer.stride_along(dim)
        k = draw(st.integers(1, layer.out_size(dim)))
        size = (k - 1) * stride + layer.size(f)
        offset = draw(st.sampled_from([k * stride, k * stride, 1, k * stride + 1]))
        return cls(size, max(offset, 1), dim)
    size = draw(st.integers(1, full + 1))
    if shape == "tile":
        return cls(size, size, dim)
    return cls(size, draw(st.integers(1, full + 1)), dim)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Layer, Hardware, Mapping]:
    layer = draw(layers())
    n_levels = draw(st.integers(1, 3))
    clusters = [draw(st.integers(1, 3)) for _ in range(n_levels - 1)]
    top = draw(st.integers(1, 3))
    spare = draw(st.integers(0, 2))
    num_pes = top * math.prod(clusters) + spare
    names = list(layer.dim_names)
    if layer.windows:
        names += ["Y'", "X'"]
    directives: list[Directive] = []
    for lv in range(n_levels):
        if lv:
            directives.append(Cluster(clusters[lv - 1]))
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
        if draw(st.integers(0, 9)):  # mostly one directive per dimension (Y' counts as Y)
            firsts = {d[0]: d for d in reversed(chosen)}
            chosen = [d for d in chosen if firsts[d[0]] == d]
        n_spatial = draw(st.sampled_from([0, 1, 1, 1, 2, 2]))
        spatial = set(draw(st.permutations(range(len(chosen))))[:n_spatial])
        for i, d in enumerate(chosen):
            directives.append(draw(directive(layer, d, i in spatial)))
    return layer, Hardware(num_pes=num_pes), Mapping(directives=tuple(directives))


def _simulator_exact(layer: Layer, hw: Hardware, m: Mapping) -> bool:
    try:
        result = simulate(layer, hw, m)
    except MappingError:
        return False
    assert result.macs == layer.macs
    return True


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_legal_exactly_when_the_simulator_computes_every_mac_once(
    case: tuple[Layer, Hardware, Mapping],
) -> None:
    layer, hw, m = case
    problems = mapping_problems(m, layer, hw)
    assert (not problems) == _simulator_exact(layer, hw, m), (str(m), layer.describe(), problems)
    for p in problems:  # every problem names a directive or a level
        assert p.startswith(("directive ", "level ")), p
