"""The compiled per-class sums equal their definition: per set and class, the least of each
factor of each group over the parts it may play, then per counted pair the telescoped
``sum_j prod_{g<j} G_g (U - G)_j prod_{g>j} U_g``, the product of the largest PE MACs, and
the later steps' largest delay floor, summed over classes (small integers, so every float is
exact). When one part gives every least factor, the telescoped sum is ``prod U - prod G``."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from mapsearch.bounds import Bounder
from mapsearch.bounds import _kernel as kernel
from mapsearch.bounds.counts import (
    FIELDS,
    CountBounds,
    ceil_down,
    compulsory,
    energy_bound,
    objective_bounds,
    row_objective_bounds,
    runtime_bound,
)
from mapsearch.hardware import Hardware
from mapsearch.hardware.config import EnergyTable
from mapsearch.layers import Layer
from mapsearch.objectives.objectives import get_objectives
from mapsearch.problem import Constraints, Problem
from mapsearch.spaces import SpaceOptions

N_PAIRS = 3
F = 3 * N_PAIRS + 1
INGRESS, EGRESS = np.asarray([0, 1]), 2


def _features(rng: np.random.Generator, B: int, G: int, P: int) -> np.ndarray:
    """Per set, group and part: ``G <= U`` for each pair (``U - G`` between) and MACs."""
    f = np.zeros((B, G, P, F))
    for k in range(N_PAIRS):
        kept = rng.integers(0, 4, size=(B, G, P))
        union = kept + rng.integers(0, 4, size=(B, G, P))
        f[..., 3 * k], f[..., 3 * k + 1], f[..., 3 * k + 2] = kept, union - kept, union
    f[..., 3 * N_PAIRS] = rng.integers(1, 5, size=(B, G, P))
    return f


def _terms(mask: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Per pair (and last the MACs), set and class: the definition, ``(N_PAIRS + 1, B, C)``."""
    B = max(mask.shape[0], f.shape[0])
    C = mask.shape[1]
    out = np.zeros((N_PAIRS + 1, B, C))
    for b in range(B):
        m_b, f_b = mask[min(b, mask.shape[0] - 1)], f[min(b, f.shape[0] - 1)]
        for c in range(C):
            least = np.stack([f_b[g][m_b[c, g]].min(axis=0) for g in range(f.shape[1])])
            for k in range(N_PAIRS):
                kept, new, union = least[:, 3 * k], least[:, 3 * k + 1], least[:, 3 * k + 2]
                out[k, b, c] = sum(
                    kept[:j].prod() * new[j] * union[j + 1 :].prod() for j in range(len(new))
                )
            out[N_PAIRS, b, c] = least[:, 3 * N_PAIRS].prod()
    return out


def _sums(mask: np.ndarray, f: np.ndarray, vector_width: float, noc_bw: float) -> np.ndarray:
    t = _terms(mask, f)
    ingress, macs = t[INGRESS].sum(axis=0), t[N_PAIRS]
    later = ceil_down(macs[:, 1:] / vector_width)
    if noc_bw > 0:
        later = np.maximum(later, ceil_down(ingress[:, 1:] / noc_bw))
        later = np.maximum(later, ceil_down(t[EGRESS][:, 1:] / noc_bw))
    rows = {
        kernel.COMPUTE: macs.sum(axis=1),
        kernel.FIRST_COMPUTE: macs[:, 0],
        kernel.FIRST_INGRESS: ingress[:, 0],
        kernel.LATER: later.sum(axis=1),
    }
    return np.concatenate([t[:N_PAIRS].sum(axis=2), np.stack([rows[r] for r in range(4)])])


def _pooled(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per set features ``(B, G, P, F)`` as class_sums takes them: every set's rows in one
    pool ``(B G, P, F)`` and each set's row of each group ``(B, G)``."""
    B, G = f.shape[:2]
    return f.reshape(B * G, *f.shape[2:]), np.arange(B * G, dtype=np.int64).reshape(B, G)


def _call(mask: np.ndarray, f: np.ndarray, vector_width: float = 1.0, noc_bw: float = 0.0):
    keys = np.arange(len(f), dtype=np.int64)
    return kernel.class_sums(
        mask,
        kernel.row_ids(mask),
        np.arange(len(mask)),
        *_pooled(f),
        keys,
        N_PAIRS,
        3 * N_PAIRS,
        INGRESS,
        EGRESS,
        vector_width,
        noc_bw,
    )


@pytest.mark.parametrize(("Bm", "Bf"), [(1, 1), (4, 1), (1, 4), (4, 4)])
def test_class_terms_equal_their_definition(Bm: int, Bf: int) -> None:
    rng = np.random.default_rng(Bm * 10 + Bf)
    for _ in range(20):
        C, G, P = (int(v) for v in rng.integers(1, 5, size=3))
        mask = rng.random((Bm, C, G, P)) < 0.5
        mask[..., 0] |= ~mask.any(axis=-1)  # every group plays some part
        f = _features(rng, Bf, G, P)
        vector_width, noc_bw = float(rng.integers(1, 3)), float(rng.integers(0, 4))
        got, missing = _call(mask, f, vector_width, noc_bw)
        assert not missing
        np.testing.assert_array_equal(got, _sums(mask, f, vector_width, noc_bw))


@pytest.mark.parametrize("n_var", [0, 1, 2, 3, 5])
def test_sets_that_differ_in_some_groups_share_the_others(n_var: int) -> None:
    """Sets whose rows differ in ``n_var`` groups and are one row in the others (a node's
    children on one group, a grid of two, every group when points are bounded one by one):
    the fixed groups are taken once per mask row and class, in runs between the varying
    ones, and the sums equal the definition's, with every set's own features, under one
    mask block or several."""
    rng = np.random.default_rng(7 + n_var)
    for _ in range(30):
        G = int(rng.integers(max(n_var, 1), 6))
        C, P, B, M = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(2, 8)), 3
        mask = rng.random((M, C, G, P)) < 0.5
        mask[..., 1:] &= rng.random((M, C, G, 1)) < 0.5  # often one part only
        mask[..., 0] |= ~mask.any(axis=-1)
        var = rng.choice(G, size=n_var, replace=False)
        f = np.repeat(_features(rng, 1, G, P), B, axis=0)
        f[:, var] = _features(rng, B, n_var, P)
        pool, rows = _pooled(f)
        fixed = np.setdiff1d(np.arange(G), var)
        rows[:, fixed] = rows[0, fixed]  # one row for every set
        mask_of = rng.integers(0, M, size=B)
        vector_width, noc_bw = float(rng.integers(1, 3)), float(rng.integers(0, 4))
        args = (N_PAIRS, 3 * N_PAIRS, INGRESS, EGRESS, vector_width, noc_bw)
        keys = np.arange(B, dtype=np.int64)
        for blocks, m_of in ((mask[:1], np.zeros(1, dtype=np.int64)), (mask, mask_of)):
            got, missing = kernel.class_sums(
                blocks, kernel.row_ids(blocks), m_of, pool, rows, keys, *args
            )
            assert not missing
            want = _sums(blocks[np.broadcast_to(m_of, B)], f, vector_width, noc_bw)
            np.testing.assert_array_equal(got, want)


def test_shared_classes_are_the_classes_computed_apart() -> None:
    """Sets drawn from a few mask blocks and a few feature rows (many sets share a class's
    row and features, often with equal features under different keys): given once each
    (``mask_of``, and keys equal where the rows are), the sums are bit for bit those of every
    set with its own mask block and key (nothing shared), and the definition's; so are those
    of one mask block for all, and of a group's children."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        C, G, P = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        M, K, B = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 40))
        rows = rng.random((3, G, P)) < 0.5  # a class's row is one of three: they repeat
        rows[..., 0] |= ~rows.any(axis=-1)
        blocks = rows[rng.integers(0, 3, size=(M, C))]
        f = _features(rng, K, G, P)
        f[rng.integers(0, K)] = f[0]  # equal rows under two keys
        mask_of, f_of = rng.integers(0, M, size=B), rng.integers(0, K, size=B)
        vector_width, noc_bw = float(rng.integers(1, 3)), float(rng.integers(0, 4))
        args = (N_PAIRS, 3 * N_PAIRS, INGRESS, EGRESS, vector_width, noc_bw)
        apart, _ = _call(blocks[mask_of], f[f_of], vector_width, noc_bw)
        shared, missing = kernel.class_sums(
            blocks, kernel.row_ids(blocks), mask_of, *_pooled(f[f_of]), f_of, *args
        )
        assert not missing
        np.testing.assert_array_equal(shared, apart)
        np.testing.assert_array_equal(shared, _sums(blocks[mask_of], f[f_of], vector_width, noc_bw))
        one = np.zeros(1, dtype=np.int64)
        got, _ = kernel.class_sums(
            blocks[:1], kernel.row_ids(blocks[:1]), one, *_pooled(f[f_of]), f_of, *args
        )
        np.testing.assert_array_equal(got, _call(blocks[:1], f[f_of], vector_width, noc_bw)[0])
        group = int(rng.integers(0, G))
        children = np.repeat(f[:1], B, axis=0)
        children[:, group] = f[f_of, group]
        pool, rows = _pooled(children)
        rows[:, np.arange(G) != group] = rows[0, np.arange(G) != group]  # shared rows
        got, _ = kernel.class_sums(
            blocks[:1], kernel.row_ids(blocks[:1]), one, pool, rows, f_of, *args
        )
        np.testing.assert_array_equal(got, _call(blocks[:1], children, vector_width, noc_bw)[0])


def test_rows_read_by_index_are_the_rows_copied_per_set() -> None:
    """Sets reading their groups' rows from a pool by index (rows shared by many sets and
    groups, unused rows, in any order) get bit for bit the sums of every set given its own
    copies of those rows, and the definition's, under one or several mask blocks, with and
    with one group's rows differing between the sets or all (the fixed groups' least factors
    kept per mask row and class)."""
    rng = np.random.default_rng(13)
    for _ in range(30):
        C, G, P = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        M, R, B = int(rng.integers(1, 4)), int(rng.integers(1, 8)), int(rng.integers(1, 40))
        mask = rng.random((M, C, G, P)) < 0.5
        mask[..., 0] |= ~mask.any(axis=-1)
        pool = _features(rng, R, 1, P)[:, 0]
        of = rng.integers(0, R, size=(B, G))
        group = int(rng.integers(0, G))
        of_group = np.repeat(of[:1], B, axis=0)  # a node's children on one group
        of_group[:, group] = of[:, group]
        vector_width, noc_bw = float(rng.integers(1, 3)), float(rng.integers(0, 4))
        args = (N_PAIRS, 3 * N_PAIRS, INGRESS, EGRESS, vector_width, noc_bw)
        mask_of = rng.integers(0, M, size=B)
        for blocks, m_of, rows in (
            (mask, mask_of, of),
            (mask[:1], np.zeros(1, dtype=np.int64), of),
            (mask[:1], np.zeros(1, dtype=np.int64), of_group),
            (mask, mask_of, of_group),  # a grid of a group and a level
        ):
            keys = np.unique(rows, axis=0, return_inverse=True)[1].reshape(B)  # equal rows
            got, missing = kernel.class_sums(
                blocks, kernel.row_ids(blocks), m_of, pool, rows, keys, *args
            )
            assert not missing
            copied, _ = kernel.class_sums(
                blocks, kernel.row_ids(blocks), m_of, *_pooled(pool[rows]), keys, *args
            )
            assert got.tobytes() == copied.tobytes()
            want = _sums(blocks[np.broadcast_to(m_of, B)], pool[rows], vector_width, noc_bw)
            np.testing.assert_array_equal(got, want)


def test_row_ids_are_each_rows_first_equal_block() -> None:
    """Per row ``(m, c)``, the first block whose row of class ``c`` is equal, by direct
    comparison (rows repeat across blocks and classes, one block or many, rows longer
    than a 63-bit word); and class_sums given other ids gives other sums."""
    rng = np.random.default_rng(17)
    for _ in range(40):
        M, C, G = (int(v) for v in rng.integers(1, 6, size=3))
        P = int(rng.choice([1, 3, 20]))
        rows = rng.random((3, G, P)) < 0.5
        mask = rows[rng.integers(0, 3, size=(M, C))]
        want = [
            [next(k for k in range(M) if (mask[k, c] == mask[m, c]).all()) for c in range(C)]
            for m in range(M)
        ]
        np.testing.assert_array_equal(kernel.row_ids(mask), np.asarray(want).reshape(M, C))
    mask = np.zeros((2, 1, 1, 2), dtype=bool)
    mask[0, 0, 0, 0] = mask[1, 0, 0, 1] = True  # two blocks, distinct rows
    f = _features(rng, 1, 1, 2).repeat(2, axis=0)  # both sets' features, keyed equal
    f[:, 0, 1] += 1  # part 1's factors exceed part 0's
    ids = kernel.row_ids(mask)
    args = (np.arange(2), *_pooled(f), np.zeros(2, dtype=np.int64), N_PAIRS, 3 * N_PAIRS)
    right, _ = kernel.class_sums(mask, ids, *args, INGRESS, EGRESS, 1.0, 0.0)
    wrong, _ = kernel.class_sums(mask, np.zeros_like(ids), *args, INGRESS, EGRESS, 1.0, 0.0)
    np.testing.assert_array_equal(right, _sums(mask, f, 1.0, 0.0))
    assert not np.array_equal(right, wrong)  # set 1 took set 0's class: ids matter


def test_one_part_per_group_gives_the_difference_of_products() -> None:
    rng = np.random.default_rng(5)
    mask = np.zeros((1, 3, 4, 2), dtype=bool)
    mask[..., 1] = True
    f = _features(rng, 1, 4, 2)
    got, _ = _call(mask, f)
    for k in range(N_PAIRS):
        expected = f[0, :, 1, 3 * k + 2].prod() - f[0, :, 1, 3 * k].prod()
        assert got[k, 0] == 3 * expected


@pytest.mark.parametrize("B", [1, 3])
def test_a_group_without_a_part_is_reported(B: int) -> None:
    """Whether the group is one row for every set (``B`` 1) or each set's own."""
    mask = np.ones((1, 2, 2, 2), dtype=bool)
    mask[0, 1, 1] = False
    _, missing = _call(mask, _features(np.random.default_rng(0), B, 2, 2))
    assert missing


def _hardware(latency: int) -> Hardware:
    """4 PEs of one MAC per cycle, a NoC of 4 words per cycle and ``latency`` cycles, 2
    off-chip words per cycle."""
    return Hardware(
        num_pes=4,
        noc_bw_words_per_cycle=4,
        noc_latency_cycles=latency,
        vector_width=1,
        offchip_bw_words_per_cycle=2,
    )


@pytest.mark.parametrize(
    ("latency", "offchip_words", "expected"),
    [
        # first step 1 + 3 - 1 = 3 cycles, drain 1 + 2 - 1 = 2: 3 + 100 MACs + 2 = 105
        (1, 100, 105),
        # the off-chip words over 2 words per cycle: 150
        (1, 300, 150),
        # no NoC latency: first step 0 + 3 - 1 = 2, drain 1: 2 + 100 + 1 = 103
        (0, 100, 103),
    ],
)
def test_runtime_bound_by_hand(latency: int, offchip_words: int, expected: float) -> None:
    """Rule 12 on counts: first-step ingress 10 words, drain 5, 100 MACs (4 in the first
    step, 90 cycles after it), 56 words in, 40 out, on a NoC of 4 words per cycle."""
    one = np.ones(1)
    counts = replace(
        compulsory(Layer.gemm("g", M=2, N=2, K=2), 1),
        first_ingress_words=10 * one,
        drain_words=5 * one,
        compute_macs=100 * one,
        first_compute_macs=4 * one,
        later_step_cycles=90 * one,
        l2_reads_input=30 * one,
        l2_reads_filter=20 * one,
        l2_reads_output=6 * one,
        egress_words=40 * one,
        offchip_words=offchip_words * one,
    )
    assert runtime_bound(counts, _hardware(latency)).tolist() == [expected]


def test_group_products_are_the_products_over_groups() -> None:
    rng = np.random.default_rng(7)
    fill, tile_max = rng.integers(1, 9, size=(2, 5, 4, 3)).astype(np.float64)
    drain, compute = rng.integers(1, 9, size=(2, 5, 4)).astype(np.float64)
    used = rng.integers(1, 9, size=(5, 4, 2)).astype(np.float64)
    got = kernel.group_products(fill, drain, compute, tile_max, used)
    np.testing.assert_array_equal(got[:3], fill.prod(axis=1).T)
    np.testing.assert_array_equal(got[3], drain.prod(axis=1))
    np.testing.assert_array_equal(got[4], compute.prod(axis=1))
    np.testing.assert_array_equal(got[5], 2 * tile_max.prod(axis=1).sum(axis=1))
    np.testing.assert_array_equal(got[6:], used.prod(axis=1).T)


@pytest.mark.parametrize("latency", [0, 1, 3])
def test_objective_bounds_in_one_pass_are_the_numpy_ones(latency: int) -> None:
    """The compiled energy and runtime of counts of one shape are bit for bit
    ``energy_bound`` and ``runtime_bound`` (non-integer energies and counts, so any other
    order of the operations would round differently somewhere), and so are the objectives
    of counts of mixed shapes (which take those functions)."""
    rng = np.random.default_rng(latency)
    layer = Layer.conv("c", K=8, C=4, R=3, S=3, Y=9, X=9)
    energy = EnergyTable(mac=0.7, l1_read=1.3, l1_write=1.9, l2_read=17.3, l2_write=19.1)
    hw = replace(_hardware(latency), energy=energy)
    B = 5000  # each count over many magnitudes: the sums round somewhere
    counts = CountBounds(**{f: rng.random(B) * 10.0 ** rng.integers(0, 6, size=B) for f in FIELDS})
    objectives = get_objectives(["edp", "energy", "latency", "throughput"])
    got = objective_bounds(counts, layer, hw, objectives)
    energy, runtime = energy_bound(counts, layer, hw), runtime_bound(counts, hw)
    assert got[:, 1].tobytes() == energy.tobytes()
    assert got[:, 2].tobytes() == runtime.tobytes()
    assert got[:, 0].tobytes() == (energy * runtime).tobytes()
    mixed = replace(counts, l1_words=counts.l1_words[:1])  # broadcast: the numpy path
    assert objective_bounds(mixed, layer, hw, objectives).tobytes() == got.tobytes()


@pytest.mark.parametrize(
    "names",
    [["edp", "energy", "latency", "throughput"], ["area", "power", "l1", "l2", "noc_bw", "edp"]],
)
def test_objective_bounds_of_rows_are_those_of_the_counts(names: list[str]) -> None:
    """Counts given as rows (``count_bounds``) have bit for bit the objectives of the
    same counts as a ``CountBounds``, and ``CountBounds.of_rows`` takes them apart in field
    order (each field a different random row, so a mix-up of rows shows)."""
    rng = np.random.default_rng(11)
    layer = Layer.conv("c", K=8, C=4, R=3, S=3, Y=9, X=9)
    energy = EnergyTable(mac=0.7, l1_read=1.3, l1_write=1.9, l2_read=17.3, l2_write=19.1)
    hw = replace(_hardware(1), energy=energy)
    B = 2000
    rows = rng.random((len(FIELDS), B)) * 10.0 ** rng.integers(0, 6, size=(len(FIELDS), B))
    counts = CountBounds.of_rows(rows)
    for k, f in enumerate(FIELDS):
        assert getattr(counts, f).tobytes() == rows[k].tobytes()
    objectives = get_objectives(names)
    want = objective_bounds(counts, layer, hw, objectives)
    assert row_objective_bounds(rows, layer, hw, objectives).tobytes() == want.tobytes()


@pytest.mark.parametrize(
    ("names", "area"),
    [
        (["edp"], None),
        (["latency", "energy", "throughput", "edp"], None),
        (["edp", "energy"], 1e5),  # an area budget: the numpy path
    ],
)
def test_costs_in_one_pass_are_the_objectives_of_the_counts(
    names: list[str], area: float | None
) -> None:
    """``Bounder.row_objectives`` (one compiled call, ``_kernel.costs``, for energy and
    runtime objectives under the L1 limit alone) is bit for bit ``Bounder.objectives`` of
    the same counts (numpy): non-integer energies and counts, sets over the L1 limit (cost
    ``inf``) and a ``nan`` count (never over the limit)."""
    rng = np.random.default_rng(5)
    layer = Layer.conv("c", K=8, C=4, R=3, S=3, Y=9, X=9)
    energy = EnergyTable(mac=0.7, l1_read=1.3, l1_write=1.9, l2_read=17.3, l2_write=19.1)
    hw = replace(_hardware(1), energy=energy, l1_size_words=64)
    constraints = Constraints(area_budget_um2=area)
    problem = Problem.create(
        layer, hw, names, constraints=constraints, options=SpaceOptions(levels=(1,))
    )
    bounder = Bounder(problem)
    assert (bounder._fused is None) == (area is not None)
    B = 3000
    rows = rng.random((len(FIELDS), B)) * 10.0 ** rng.integers(-2, 6, size=(len(FIELDS), B))
    rows[FIELDS.index("l1_words"), :3] = (np.nan, 64.0, 64.0 * (1 + 2e-9))
    got = bounder.row_objectives(rows)
    want = bounder.objectives(CountBounds.of_rows(rows))
    assert got.tobytes() == want.tobytes()
    assert np.isinf(got).any() and np.isfinite(got).any()
    assert np.isfinite(got[:2]).all() and np.isinf(got[2]).all()


def test_one_blocks_row_ids_are_zeros() -> None:
    """``count_bounds`` takes a single mask block's row ids as zeros without calling
    ``row_ids``: each row is its block's own, whatever the mask."""
    rng = np.random.default_rng(3)
    mask = rng.random((1, 7, 4, 5)) < 0.5
    got = kernel.row_ids(mask)
    assert got.dtype == np.int64 and got.tobytes() == np.zeros((1, 7), np.int64).tobytes()


def _ordered_sums(
    mask: np.ndarray, f: np.ndarray, vector_width: float, noc_bw: float
) -> np.ndarray:
    """``class_sums`` of one mask block per set and one feature row per set and group (every
    group's rows differ between the sets), with every float operation in the kernel's order
    (the least over parts is exact in any order): the telescoped sum from the right, ``total
    = (U - G)_j right + G_j total`` then ``right = right U_j`` (with one or two groups, the
    kernel's coefficients give the same floats: they are 0 or 1 here). The reference for
    features whose products round."""
    B, C, G = f.shape[0], mask.shape[1], f.shape[1]
    out = np.zeros((N_PAIRS + 4, B))
    for b, c in itertools.product(range(B), range(C)):
        m = mask[min(b, len(mask) - 1), c]
        least = np.stack([np.where(m[g][:, None], f[b, g], np.inf).min(axis=0) for g in range(G)])
        terms = []
        for k in range(N_PAIRS):
            total, right = 0.0, 1.0
            for j in range(G - 1, -1, -1):
                total = least[j, 3 * k + 1] * right + least[j, 3 * k] * total
                right = right * least[j, 3 * k + 2]
            terms.append(total)
        macs = 1.0
        for g in range(G):
            macs = macs * least[g, 3 * N_PAIRS]
        words = 0.0
        for k in INGRESS:
            words += terms[k]
        step = float(ceil_down(macs / vector_width))
        if noc_bw > 0:
            step = max(step, float(ceil_down(words / noc_bw)))
            step = max(step, float(ceil_down(terms[EGRESS] / noc_bw)))
        out[:N_PAIRS, b] += terms
        out[N_PAIRS + kernel.COMPUTE, b] += macs
        if c == 0:
            out[N_PAIRS + kernel.FIRST_COMPUTE, b] = macs
            out[N_PAIRS + kernel.FIRST_INGRESS, b] = words
        else:
            out[N_PAIRS + kernel.LATER, b] += step
    return out


@pytest.mark.parametrize("Bm", [1, 4])
def test_class_sums_of_rounding_features_are_the_kernels_arithmetic(Bm: int) -> None:
    """Bit for bit the kernel's float operations on features that round (reals over many
    magnitudes, ``inf`` for some parts): each group's least factors in a class are those of
    the first part it may play, then the least with each later one (most classes: one
    part), the same floats as the least of every part's with ``inf``."""
    rng = np.random.default_rng(Bm)
    for _ in range(30):
        C, G, P = (int(v) for v in rng.integers(1, 6, size=3))
        B = 4
        mask = rng.random((Bm, C, G, P)) < 0.4
        f = rng.random((B, G, P, F)) * 10.0 ** rng.integers(-3, 8, size=(B, G, P, F))
        f[rng.random((B, G, P)) < 0.2] = np.inf  # parts a group lacks
        for b in range(B):  # every group plays a part it has in every class
            bm = min(b, Bm - 1)
            for c, g in itertools.product(range(C), range(G)):
                if not np.isfinite(f[b, g][mask[bm, c, g], 0]).any():
                    p = int(rng.integers(0, P))
                    mask[bm, c, g, p] = True
                    f[b, g, p] = rng.random(F) * 10.0 ** rng.integers(-3, 8, size=F)
        vector_width, noc_bw = float(rng.integers(1, 3)), float(rng.integers(0, 4))
        got, missing = _call(mask, f, vector_width, noc_bw)
        assert not missing
        assert got.tobytes() == _ordered_sums(mask, f, vector_width, noc_bw).tobytes()
