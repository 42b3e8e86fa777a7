"""The analytical exact model equals the brute-force simulator on every count and on runtime.

Example counts: ``MAPSEARCH_EXACT_EXAMPLES`` (each property test runs that many; unset: the
CI's counts below, about a minute in all), e.g. ``MAPSEARCH_EXACT_EXAMPLES=2000 python -m
pytest tests/costmodel/test_exact_equivalence.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from exact_strategies import any_mappings, layers, mappings, resuming_cases
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from mapsearch.costmodel import _exact_groups, exact
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.exact import evaluate_batch
from mapsearch.costmodel.simulate import SimResult, noc_delay, simulate
from mapsearch.directives import Mapping
from mapsearch.directives.validate import mapping_problems
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer


def examples(ci: int) -> int:
    """The example count of a property test: ``MAPSEARCH_EXACT_EXAMPLES``, else ``ci``."""
    return int(os.environ.get("MAPSEARCH_EXACT_EXAMPLES", "0")) or ci


def assert_equal(layer: Layer, hw: Hardware, mapping: Mapping, sim: SimResult | None = None) -> str:
    """The model equals the simulator on every count and finds the mapping feasible
    ("accepted"); it never refuses one."""
    sim = sim or simulate(layer, hw, mapping)
    rep = evaluate_batch(layer, hw, MappingBatch.from_mappings([mapping], layer))
    got = rep.record(0)
    want = expected_record(sim, hw)
    diff = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not diff, f"{layer.describe()} {layer.op} on {hw.describe()}\n{mapping}\n{diff}"
    assert rep.feasible[0], rep.reason[0]
    return "accepted"


def expected_record(sim: SimResult, hw: Hardware) -> dict[str, object]:
    """The report fields the simulator defines, in ``Report.record`` form."""
    steps = sim.steps
    ing = [noc_delay(w, hw) for w in sim.ingress_words]
    egr = [noc_delay(w, hw) for w in sim.egress_words]
    return {
        "macs": sim.macs,
        "runtime_cycles": sim.runtime_cycles,
        "l1_reads": {"input": sim.macs, "filter": sim.macs, "output": sim.macs},
        "l1_writes": {
            "input": sim.l1_writes.input,
            "filter": sim.l1_writes.filter,
            "output": sim.l1_writes.output,
        },
        "l2_reads": {
            "input": sim.l2_reads.input,
            "filter": sim.l2_reads.filter,
            "output": sim.l2_reads.output,
        },
        "l2_writes": {
            "input": sim.l2_writes.input,
            "filter": sim.l2_writes.filter,
            "output": sim.l2_writes.output,
        },
        "l1_size_words": sim.l1_size_words,
        "l2_size_words": sim.l2_size_words,
        "compute_delay_max": max(sim.compute_cycles),
        "compute_delay_min": min(sim.compute_cycles),
        "ingress_delay_max": max(ing),
        "ingress_delay_min": min(ing),
        "ingress_delay_avg": _num(sum(ing) / steps),
        "egress_delay_max": max(egr),
        "egress_delay_min": min(egr),
        "egress_delay_avg": _num(sum(egr) / steps),
        "compute_delay_avg": _num(sum(sim.compute_cycles) / steps),
        "avg_utilized_pes": _num(sim.active_pe_steps / steps),
        # the first step is not double-buffered: the requirement comes from the others
        "peak_noc_bw_words_per_cycle": _num(
            max(
                max(i, e) / max(c, 1)
                for i, e, c in list(
                    zip(sim.ingress_words, sim.egress_words, sim.compute_cycles, strict=True)
                )[1 if steps > 1 else 0 :]
            )
        ),
    }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


@st.composite
def cases(
    draw: st.DrawFn, row_stationary: bool = False, long: bool = False
) -> tuple[Layer, Mapping, Hardware]:
    layer = draw(layers(long=long))
    mapping, hw = draw(mappings(layer, row_stationary=row_stationary))
    return layer, mapping, hw


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(max_examples=examples(700), **SETTINGS)  # type: ignore[arg-type]
@given(cases())
def test_exact_equals_simulator(case: tuple[Layer, Mapping, Hardware]) -> None:
    layer, mapping, hw = case
    event(assert_equal(layer, hw, mapping))


@settings(max_examples=examples(500), **SETTINGS)  # type: ignore[arg-type]
@given(cases(row_stationary=True))
def test_exact_equals_simulator_row_stationary(case: tuple[Layer, Mapping, Hardware]) -> None:
    layer, mapping, hw = case
    event(assert_equal(layer, hw, mapping))


@settings(max_examples=examples(300), **SETTINGS)  # type: ignore[arg-type]
@given(cases(long=True))
def test_exact_equals_simulator_long_loops(case: tuple[Layer, Mapping, Hardware]) -> None:
    """One dimension of 12-20: outer loops of more than 8 trips, walked whole and (as for
    walks too long to do whole) shrunk and extrapolated."""
    layer, mapping, hw = case
    sim = simulate(layer, hw, mapping)
    event(assert_equal(layer, hw, mapping, sim))
    with shrinking_every_walk():
        assert_equal(layer, hw, mapping, sim)


@contextlib.contextmanager
def shrinking_every_walk() -> Iterator[None]:
    """Cores computed with every long outermost loop shrunk and extrapolated, however short
    the walk (fresh caches inside and after)."""
    caches = (_exact_groups._core_of, exact._group_core, exact._group_summary, exact._slot_core)
    direct = _exact_groups._WALK_DIRECT
    for cache in caches:
        cache.cache_clear()
    _exact_groups._WALK_DIRECT = 0
    try:
        yield
    finally:
        _exact_groups._WALK_DIRECT = direct
        for cache in caches:
            cache.cache_clear()


@settings(max_examples=examples(200), **SETTINGS)  # type: ignore[arg-type]
@given(resuming_cases())
def test_exact_equals_simulator_units_resuming(case: tuple[Layer, Mapping, Hardware]) -> None:
    """Units that first work in a later fold, under other groups' loops: those groups are
    walked with the window's."""
    layer, mapping, hw = case
    event(assert_equal(layer, hw, mapping))


@st.composite
def any_cases(draw: st.DrawFn) -> tuple[Layer, Mapping, Hardware]:
    layer = draw(layers(long=draw(st.integers(0, 4)) == 0))
    mapping, hw = draw(any_mappings(layer))
    return layer, mapping, hw


@settings(max_examples=examples(500), **SETTINGS)  # type: ignore[arg-type]
@given(any_cases())
def test_exact_scores_every_legal_mapping(case: tuple[Layer, Mapping, Hardware]) -> None:
    """Issue 9's check, run as an independent checker would: mappings drawn freely (1-3
    levels, stride 1-2, conv, depthwise and GEMM, odd offsets, ``Y'``/``X'``, tiles smaller
    than the filter window), kept when the validator accepts them. Exact scores every one
    (no UnsupportedError, feasible) and equals the simulator count by count."""
    layer, mapping, hw = case
    assume(not mapping_problems(mapping, layer, hw))
    event(assert_equal(layer, hw, mapping))


@st.composite
def mixed_cases(draw: st.DrawFn) -> tuple[Layer, list[Mapping], Hardware]:
    """Several freely drawn mappings of one layer (different templates, numbers of groups
    and of loops), with the hardware of the first; each kept when the validator accepts it."""
    layer = draw(layers())
    drawn = draw(st.lists(any_mappings(layer), min_size=2, max_size=6))
    hw = drawn[0][1]
    return layer, [m for m, _ in drawn if not mapping_problems(m, layer, hw)], hw


@settings(max_examples=examples(150), **SETTINGS)  # type: ignore[arg-type]
@given(mixed_cases())
def test_a_mixed_batch_scores_each_mapping_as_alone(
    case: tuple[Layer, list[Mapping], Hardware],
) -> None:
    """Templates are data: one call on mappings of different templates (their groups padded
    to the batch's most groups and loops) gives every mapping the report it gets alone,
    which the tests above compare with the simulator."""
    layer, maps, hw = case
    assume(len(maps) >= 2)
    together = evaluate_batch(layer, hw, MappingBatch.from_mappings(maps, layer))
    for i, m in enumerate(maps):
        alone = evaluate_batch(layer, hw, MappingBatch.from_mappings([m], layer))
        assert together.record(i) == alone.record(0), f"{layer.describe()}\n{m}"
        assert together.reason[i] == alone.reason[0]
