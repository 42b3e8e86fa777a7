"""Invariants every cost-model semantics must keep (issue 4 point 4), as property tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from exact_strategies import layers, mappings
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from mapsearch.costmodel import evaluate_batch
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.directives import Mapping
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.layer import Op

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEMANTICS = ("exact", "maestro")


@st.composite
def cases(draw: st.DrawFn) -> tuple[Layer, Mapping, Hardware]:
    layer = draw(layers())
    mapping, hw = draw(mappings(layer, max_levels=2, maestro_compatible=True))
    return layer, mapping, hw


def score(layer: Layer, hw: Hardware, mapping: Mapping, semantics: str) -> Report:
    """The report, or reject the example if the semantics refuses the mapping (maestro does
    for what MAESTRO cannot model; exact scores every mapping)."""
    try:
        return evaluate_batch(
            layer, hw, MappingBatch.from_mappings([mapping], layer), semantics=semantics
        )
    except UnsupportedError:
        reject()


def usable(rep: Report, semantics: str) -> bool:
    """maestro flags what MAESTRO gets plainly wrong; invariants hold on the rest."""
    return semantics == "exact" or bool(rep.feasible[0])


@pytest.mark.parametrize("semantics", SEMANTICS)
@SETTINGS
@given(case=cases())
def test_counts_are_non_negative(semantics: str, case: tuple[Layer, Mapping, Hardware]) -> None:
    layer, mapping, hw = case
    rep = score(layer, hw, mapping, semantics)
    for f in dataclasses.fields(rep):
        value = getattr(rep, f.name)
        arrays = (
            [value.input, value.filter, value.output]
            if isinstance(value, TensorCounts)
            else [value]
            if isinstance(value, np.ndarray) and value.dtype != bool
            else []
        )
        for a in arrays:
            assert (a >= 0).all(), f"{semantics}: {f.name} = {a}"


@SETTINGS
@given(case=cases())
def test_exact_macs_and_compulsory_traffic(case: tuple[Layer, Mapping, Hardware]) -> None:
    layer, mapping, hw = case
    rep = score(layer, hw, mapping, "exact")
    assert rep.macs[0] == layer.macs
    assert rep.l2_reads.filter[0] >= layer.tensor_size("filter")
    assert rep.l2_writes.filter[0] == layer.tensor_size("filter")
    # inputs: every element some MAC uses (stride may leave trailing rows unused)
    if layer.op is Op.GEMM:
        used = layer.tensor_size("input")
    else:
        s = layer.sizes
        rows = (
            (layer.out_y - 1) * layer.stride_y + s["R"]
            if s["R"] >= layer.stride_y
            else layer.out_y * s["R"]
        )
        cols = (
            (layer.out_x - 1) * layer.stride_x + s["S"]
            if s["S"] >= layer.stride_x
            else layer.out_x * s["S"]
        )
        used = layer.tensor_size("input") // (s["Y"] * s["X"]) * rows * cols
    # tiles are whole slices, so unused columns inside a slice are fetched too
    assert rep.l2_writes.input[0] >= used
    assert rep.l2_reads.input[0] >= rep.l2_writes.input[0]
    assert rep.l2_writes.output[0] >= layer.tensor_size("output")


@pytest.mark.parametrize("semantics", SEMANTICS)
@SETTINGS
@given(case=cases(), factor=st.sampled_from([2, 3, 64]))
def test_more_noc_bandwidth_never_slows_down(
    semantics: str, case: tuple[Layer, Mapping, Hardware], factor: int
) -> None:
    layer, mapping, hw = case
    fast = dataclasses.replace(hw, noc_bw_words_per_cycle=hw.noc_bw_words_per_cycle * factor)
    slow_rep, fast_rep = (
        score(layer, hw, mapping, semantics),
        score(layer, fast, mapping, semantics),
    )
    if usable(slow_rep, semantics) and usable(fast_rep, semantics):
        assert fast_rep.runtime_cycles[0] <= slow_rep.runtime_cycles[0]


@pytest.mark.parametrize("semantics", SEMANTICS)
@SETTINGS
@given(case=cases())
def test_runtime_at_least_ideal(semantics: str, case: tuple[Layer, Mapping, Hardware]) -> None:
    layer, mapping, hw = case
    rep = score(layer, hw, mapping, semantics)
    if usable(rep, semantics):
        assert rep.runtime_cycles[0] * hw.num_pes * hw.vector_width >= rep.macs[0]


@pytest.mark.parametrize("semantics", SEMANTICS)
@SETTINGS
@given(case=cases())
def test_doubling_an_untiled_dimension_doubles_macs(
    semantics: str, case: tuple[Layer, Mapping, Hardware]
) -> None:
    """A dimension no directive mentions is one whole slice everywhere: it tiles evenly."""
    layer, mapping, hw = case
    mentioned = {d.dim.rstrip("'") for d in mapping.directives if hasattr(d, "dim")}
    free = [d for d in ("N", "K", "C", "M") if d in layer.sizes and d not in mentioned]
    if not free:
        return
    d = free[0]
    bigger = dataclasses.replace(
        layer, dims=tuple((n, v * 2 if n == d else v) for n, v in layer.dims)
    )
    base, double = score(layer, hw, mapping, semantics), score(bigger, hw, mapping, semantics)
    if usable(base, semantics) and usable(double, semantics):
        assert double.macs[0] == 2 * base.macs[0]
