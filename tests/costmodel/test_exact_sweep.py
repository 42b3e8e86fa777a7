"""The exact model's NoC-bandwidth sweep (counted once, re-timed per bandwidth) equals a full
evaluation at every bandwidth, and more bandwidth never slows a mapping.

Example count: ``MAPSEARCH_SWEEP_EXAMPLES`` (unset: the CI's 60).
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from exact_strategies import any_mappings, layers, mappings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mapsearch.costmodel import MappingBatch, cost_model
from mapsearch.directives import Mapping
from mapsearch.directives.dataflows import dataflow
from mapsearch.directives.validate import mapping_problems
from mapsearch.hardware import Hardware
from mapsearch.hardware.config import UNLIMITED
from mapsearch.layers import Layer

EXAMPLES = int(os.environ.get("MAPSEARCH_SWEEP_EXAMPLES", "60"))
EXACT = cost_model("exact")
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
BWS = st.lists(st.sampled_from([1, 2, 3, 5, 8, 16, 1000, UNLIMITED]), min_size=1, max_size=6)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Layer, Hardware, MappingBatch, list[int]]:
    """A layer, hardware (finite or unlimited off-chip bandwidth), 1-4 mappings legal on it
    (legal by construction or drawn freely; mixed templates) and NoC bandwidths."""
    layer = draw(layers(long=draw(st.booleans())))
    first, hw = draw(mappings(layer))
    hw = replace(hw, offchip_bw_words_per_cycle=draw(st.sampled_from([1, 4, UNLIMITED])))
    more = draw(st.lists(st.one_of(mappings(layer), any_mappings(layer)), max_size=3))
    legal = [first] + [m for m, _ in more if not mapping_problems(m, layer, hw)]
    return layer, hw, MappingBatch.from_mappings(legal, layer), draw(BWS)


def assert_sweep_equals_evaluations(
    layer: Layer, hw: Hardware, batch: MappingBatch, bws: list[int]
) -> None:
    swept = EXACT.runtime_sweep(layer, hw, batch, bws)
    assert swept.shape == (len(bws), len(batch))
    for k, bw in enumerate(bws):
        full = EXACT.evaluate_batch(layer, replace(hw, noc_bw_words_per_cycle=bw), batch)
        np.testing.assert_array_equal(swept[k], full.runtime_cycles, err_msg=f"bw {bw}")


@SETTINGS
@given(cases())
def test_sweep_equals_a_full_evaluation_at_every_bandwidth(
    case: tuple[Layer, Hardware, MappingBatch, list[int]],
) -> None:
    assert_sweep_equals_evaluations(*case)


@SETTINGS
@given(cases())
def test_more_bandwidth_never_slows_a_mapping(
    case: tuple[Layer, Hardware, MappingBatch, list[int]],
) -> None:
    layer, hw, batch, bws = case
    assume(len(batch) > 0)
    swept = EXACT.runtime_sweep(layer, hw, batch, sorted(set(bws)))
    assert (np.diff(swept, axis=0) <= 0).all(), swept


def test_sweep_of_named_dataflows_on_a_vgg_layer() -> None:
    """Realistic sizes (many step cases per mapping): CONV3_1-like, every bandwidth of a
    DSE axis, three dataflows in one batch."""
    layer = Layer.conv("c3", K=64, C=32, R=3, S=3, Y=30, X=30)
    hw = Hardware(num_pes=128, noc_latency_cycles=2, offchip_bw_words_per_cycle=64)
    flows: list[Mapping] = [dataflow(f, layer) for f in ("KC-P", "X-P", "YX-P")]
    batch = MappingBatch.from_mappings(flows, layer)
    assert_sweep_equals_evaluations(layer, hw, batch, list(range(8, 257, 8)))


def test_no_bandwidths_give_an_empty_sweep() -> None:
    layer = Layer.conv("c", K=4, C=4, R=3, S=3, Y=6, X=6)
    batch = MappingBatch.from_mappings([dataflow("KC-P", layer)], layer)
    assert EXACT.runtime_sweep(layer, Hardware(num_pes=8), batch, []).shape == (0, 1)
