"""A node's configurations and least factors, as the branch and bound computes them: the L1
fit keeps exactly what the one-group-at-a-time fixpoint keeps (and every configuration that
fits with some completion), with or without its first check from the tiles' range, and :class:`LeastFactors` gives :func:`group_values`' values,
bit for bit, whether a group's set was met before or not; the compiled L1 checks are
their numpy definitions."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from mapsearch.bounds import Bounder
from mapsearch.bounds import _kernel as kernel
from mapsearch.bounds.combine import LeastFactors, group_values
from mapsearch.bounds.table import StructureTable, structures
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

Configs = list[npt.NDArray[np.int64]]


def _tables(l1_words: int) -> list[tuple[StructureTable, Configs]]:
    """The first structures' tables of a small conv with a tight L1, each with every
    configuration its groups score (refused ones aside)."""
    layer = Layer.conv("c", K=8, C=4, R=3, S=3, Y=8, X=6)
    hw = Hardware(num_pes=4, l1_size_words=l1_words)
    problem = Problem.create(layer, hw, ["edp"], options=SpaceOptions(levels=(1, 2)))
    bounder = Bounder(problem)
    out = []
    for st in structures(problem.space)[:16]:
        for sb in bounder.structure(st):
            scored = [np.flatnonzero(~g.refused).astype(np.int64) for g in sb.table.groups]
            out.append((sb.table, scored))
    return out


def _fixpoint(table: StructureTable, configs: Configs, l1_words: int) -> Configs | None:
    """Drop one configuration at a time whose L1 requirement with the other groups'
    least tiles exceeds ``l1_words``, the least taken anew after each drop."""
    kept = [list(a.tolist()) for a in configs]
    while True:
        for g, a in enumerate(kept):
            for c in a:
                need = 0.0
                for t in range(3):
                    tile = float(table.groups[g].tile_max[c, t])
                    for h, b in enumerate(kept):
                        if h != g:
                            tile *= min(float(table.groups[h].tile_max[x, t]) for x in b)
                    need += tile
                if 2 * need > l1_words * (1 + 1e-9):
                    a.remove(c)
                    if not a:
                        return None
                    break
            else:
                continue
            break
        else:
            return [np.asarray(a, dtype=np.int64) for a in kept]


def _subsets(configs: Configs, rng: np.random.Generator) -> Configs:
    """A random non-empty subset of each group's configurations."""
    out = []
    for a in configs:
        keep = rng.random(a.size) < 0.6
        keep[rng.integers(a.size)] = True
        out.append(a[keep])
    return out


@pytest.mark.parametrize("l1_words", [40, 64, 120])
def test_the_l1_fit_keeps_the_fixpoint_and_every_configuration_that_fits(l1_words):
    rng = np.random.default_rng(l1_words)
    bounder = Bounder(
        Problem.create(
            Layer.conv("c", K=8, C=4, R=3, S=3, Y=8, X=6),
            Hardware(num_pes=4, l1_size_words=l1_words),
            ["edp"],
            options=SpaceOptions(levels=(1, 2)),
        )
    )
    dropped = 0
    for table, scored in _tables(l1_words):
        least = LeastFactors(table)
        for _ in range(4):
            configs = _subsets(scored, rng)
            fit = bounder.fit(table, configs)
            quick = bounder.fit(table, configs, least)  # the check from the tiles' range first
            expected = _fixpoint(table, configs, l1_words)
            if expected is None:
                assert fit is None and quick is None
                continue
            assert fit is not None and quick is not None
            for a, b, c in zip(fit, quick, expected, strict=True):
                np.testing.assert_array_equal(a, c)
                np.testing.assert_array_equal(b, c)
            dropped += sum(a.size - b.size for a, b in zip(configs, fit, strict=True))
            if np.prod([a.size for a in configs]) > 5000:
                continue
            for combo in itertools.product(*configs):  # a fitting point keeps its configurations
                tiles = np.prod(
                    [grp.tile_max[c] for grp, c in zip(table.groups, combo, strict=True)], axis=0
                )
                if 2 * tiles.sum() <= l1_words:
                    assert all(c in a for c, a in zip(combo, fit, strict=True))
    assert dropped > 0  # the L1 was tight enough to matter


def test_least_factors_are_group_values_bit_for_bit():
    rng = np.random.default_rng(3)
    for table, scored in _tables(10**6)[:8]:
        least = LeastFactors(table)
        sets = [_subsets(scored, rng)]
        sets += [[*sets[0][:1], *_subsets(sets[0][1:], rng)] for _ in range(3)]  # shared groups
        for configs in sets * 2:  # again: every group's set met before
            got, want = least.values(configs), group_values(table, [configs])
            for name in ("features", "features_of", "fill", "tile_max", "drain", "compute", "used"):
                a, b = getattr(got, name), getattr(want, name)
                assert a.dtype == b.dtype and a.shape == b.shape, name
                np.testing.assert_array_equal(a, b, err_msg=name)


def _numpy_others(least: np.ndarray) -> np.ndarray:
    """Per group, the product of the other groups' least tiles (the numpy definition)."""
    ones = np.ones((1, 3))
    left = np.cumprod(np.concatenate([ones, least[:-1]]), axis=0)
    right = np.cumprod(np.concatenate([ones, least[:0:-1]]), axis=0)[::-1]
    out: np.ndarray = left * right
    return out


def _numpy_alive(tiles: np.ndarray, group: np.ndarray, n_groups: int, limit: float):
    """The rounds of drops of the L1 fit as numpy array operations: what is left and whether
    every group keeps a configuration."""
    alive = np.ones(len(tiles), dtype=bool)
    while True:
        if not np.bincount(group[alive], minlength=n_groups).all():
            return alive, False
        least = np.stack([tiles[alive & (group == g)].min(axis=0) for g in range(n_groups)])
        drop = alive & ~(2 * (tiles * _numpy_others(least)[group]).sum(axis=1) <= limit)
        if not drop.any():
            return alive, True
        alive &= ~drop


def test_the_compiled_l1_checks_are_their_numpy_definitions():
    rng = np.random.default_rng(5)
    passed = failed = 0
    for _ in range(400):
        n_groups = int(rng.integers(1, 6))
        sizes = rng.integers(1, 6, size=n_groups)
        group = np.repeat(np.arange(n_groups), sizes)
        tiles = rng.integers(1, 9, size=(len(group), 3)).astype(np.float64)
        limit = float(rng.integers(10, 3000))
        alive, fits = kernel.fit_alive(tiles, group, n_groups, limit)
        want_alive, want_fits = _numpy_alive(tiles, group, n_groups, limit)
        assert fits == want_fits
        np.testing.assert_array_equal(alive, want_alive)
        least = np.stack([tiles[group == g].min(axis=0) for g in range(n_groups)])
        most = np.stack([tiles[group == g].max(axis=0) for g in range(n_groups)])
        quick = bool(kernel.fits_all(least, most, limit))
        assert quick == bool((2 * (most * _numpy_others(least)).sum(axis=1) <= limit).all())
        passed, failed = passed + quick, failed + (not quick)
    assert passed and failed  # both answers were checked


def test_an_order_mask_from_kept_level_parts_is_the_or_of_its_orders_masks():
    """``StructureBounds.order_mask`` (each level's part kept) is the OR of the masks of
    every allowed order of every level, for random allowed orders, asked twice (the
    second from the kept parts)."""
    layer = Layer.conv("c", K=8, C=4, R=3, S=3, Y=8, X=6)
    problem = Problem.create(layer, Hardware(num_pes=4), ["edp"], options=SpaceOptions(levels=(2,)))
    bounder = Bounder(problem)
    rng = np.random.default_rng(5)
    checked = 0
    for st in structures(problem.space)[:8]:
        for sb in bounder.structure(st):
            for _ in range(20):
                orders = tuple(
                    tuple(sorted(rng.choice(n, size=rng.integers(1, n + 1), replace=False)))
                    for n in sb.table.order_sizes
                )
                expected = np.zeros(sb.table.masks[0].shape[1:], dtype=bool)
                for lv, allowed in enumerate(orders):  # some allowed order of some level
                    for o in allowed:
                        expected |= sb.table.masks[lv][o]
                for _ in range(2):
                    got = sb.order_mask(orders)
                    assert got.dtype == bool
                    np.testing.assert_array_equal(got, expected)
                    checked += 1
    assert checked >= 100
