"""The compiled cell kernels of the joint walk (``_exact_joint``) against element sets.

Each kernel counts unions and differences of boxes on the cells their edges cut; here the
same counts are taken element by element with Python sets, on random small boxes. Example
count: ``MAPSEARCH_JOINT_EXAMPLES`` (unset: 150).
"""

from __future__ import annotations

import itertools
import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mapsearch.costmodel._exact_joint import (
    _box_sums,
    _by_dependence,
    _distinct,
    _doubled,
    _first_covered,
    _first_unwritten,
    _Grid,
    _moved_rows,
    _unique_boxes,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("MAPSEARCH_JOINT_EXAMPLES", "0")) or 150, deadline=None
)


@st.composite
def boxes(draw: st.DrawFn, n: int, d: int) -> np.ndarray:
    """``n`` non-empty boxes of ``d`` dimensions inside ``[0, 7)``."""
    out = np.zeros((n, d, 2), dtype=np.int64)
    for b, k in itertools.product(range(n), range(d)):
        lo = draw(st.integers(0, 5))
        out[b, k] = lo, draw(st.integers(lo + 1, 6))
    return out


def elements(box: np.ndarray) -> set[tuple[int, ...]]:
    return set(itertools.product(*(range(lo, hi) for lo, hi in box)))


@st.composite
def walks(draw: st.DrawFn) -> tuple[np.ndarray, list[int], list[int]]:
    """Tiles of a few steps (step-major), each step a few distinct coordinates."""
    d = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 5))
    coord: list[int] = []
    bounds = [0]
    for _ in range(steps):
        coord += draw(st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True))
        bounds.append(len(coord))
    return draw(boxes(len(coord), d)), coord, bounds


@SETTINGS
@given(walks(), st.data())
def test_moved_rows_counts_unions_and_differences(walk, data) -> None:  # type: ignore[no-untyped-def]
    tiles, _, bounds = walk
    grid = _Grid(tiles)
    n = len(tiles)
    # every tile of a step "held" some tile (or nothing, -1)
    old = np.array(data.draw(st.lists(st.integers(-1, n - 1), min_size=n, max_size=n)))
    # positions may repeat boxes (units a role does not tell apart), and (new, old) pairs
    new = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))
    got = _moved_rows(*grid.cells(tiles), new, old, np.array(bounds), grid.weight).tolist()
    for r in range(len(bounds) - 1):
        at = range(bounds[r], bounds[r + 1])
        news = [elements(tiles[new[i]]) for i in at]
        olds = [elements(tiles[old[i]]) if old[i] >= 0 else set() for i in at]
        held = [o for i, o in zip(at, olds, strict=True) if old[i] >= 0]
        want = [
            len(set().union(*news)),
            len(set().union(*(a - b for a, b in zip(news, olds, strict=True)))),
            len(set().union(*held)),
            len(set().union(*(b - a for a, b in zip(news, olds, strict=True)))),
        ]
        assert got[r] == want


@SETTINGS
@given(walks())
def test_first_covered_and_distinct(walk) -> None:  # type: ignore[no-untyped-def]
    tiles, coord, bounds = walk
    grid, cells = _Grid(tiles), _Grid(tiles).cells(tiles)
    step = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    fv = _first_covered(*cells, np.arange(len(tiles)), step, grid.weight, len(bounds) - 1).tolist()
    seen: set[tuple[int, ...]] = set()
    for t in range(len(bounds) - 1):
        now = set().union(*(elements(tiles[i]) for i in range(bounds[t], bounds[t + 1])))
        assert fv[t] == len(now - seen)
        seen |= now
    # per element, the number of distinct steps covering it
    count = _distinct(*cells, np.arange(len(tiles)), step, grid.weight.size)
    by_element = {
        e: len({step[i] for i in range(len(tiles)) if e in elements(tiles[i])}) for e in seen
    }
    for cell in range(grid.weight.size):
        idx = np.unravel_index(cell, [e.size - 1 for e in grid.edges])
        corner = tuple(int(grid.edges[k][i]) for k, i in enumerate(idx))
        assert count[cell] == by_element.get(corner, 0)
    assert coord  # every step has a coordinate


@SETTINGS
@given(walks())
def test_first_unwritten_follows_the_holders(walk) -> None:  # type: ignore[no-untyped-def]
    tiles, coord, bounds = walk
    grid = _Grid(tiles)
    got = _first_unwritten(
        *grid.cells(tiles), np.arange(len(tiles)), np.array(bounds), np.array(coord), 4, grid.weight
    ).tolist()
    holding: dict[int, set[tuple[int, ...]]] = {}
    written: set[tuple[int, ...]] = set()
    for t in range(len(bounds) - 1):
        at = range(bounds[t], bounds[t + 1])
        news = {coord[i]: elements(tiles[i]) for i in at}
        for c, new in news.items():  # a unit lets go of what it does not keep
            written |= holding.get(c, set()) - new
        entering = set().union(*(new - holding.get(c, set()) for c, new in news.items()))
        assert got[t] == len(entering - written)
        holding.update(news)


@SETTINGS
@given(walks(), st.data())
def test_box_sums_are_volumes_and_overlaps(walk, data) -> None:  # type: ignore[no-untyped-def]
    tiles, _, bounds = walk
    n = len(tiles)
    old = np.array(data.draw(st.lists(st.integers(-1, n - 1), min_size=n, max_size=n)))
    got = _box_sums(tiles, np.arange(n), old, np.array(bounds)).tolist()
    for r in range(len(bounds) - 1):
        at = range(bounds[r], bounds[r + 1])
        volume = sum(len(elements(tiles[i])) for i in at)
        overlap = sum(len(elements(tiles[i]) & elements(tiles[old[i]])) for i in at if old[i] >= 0)
        assert got[r] == [volume, overlap]


@SETTINGS
@given(st.integers(1, 3).flatmap(lambda d: st.lists(boxes(1, d), min_size=1, max_size=12)))
def test_unique_boxes_names_equal_boxes_alike(drawn) -> None:  # type: ignore[no-untyped-def]
    tiles = np.concatenate(drawn + drawn[::2])  # some boxes twice
    uid, first = _unique_boxes(tiles)
    keys = [t.tobytes() for t in tiles]
    assert [keys[f] for f in first] == list(dict.fromkeys(keys))  # first-seen order
    assert all(keys[first[u]] == k for u, k in zip(uid, keys, strict=True))


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 6), st.data())
def test_doubled_keeps_the_used_rows(ndim: int, rows: int, data: st.DataObject) -> None:
    shape = (rows, *data.draw(st.lists(st.integers(1, 3), min_size=ndim - 1, max_size=ndim - 1)))
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    used = data.draw(st.integers(0, rows))
    out = _doubled(a, used)
    assert out.shape == (2 * rows, *shape[1:])
    assert np.array_equal(out[:used], a[:used])


@SETTINGS
@given(st.data())
def test_by_dependence_orders_by_the_innermost_loop_that_changes(data: st.DataObject) -> None:
    n_loops = data.draw(st.integers(1, 5))
    trips = np.array(data.draw(st.lists(st.integers(1, 3), min_size=n_loops, max_size=n_loops)))
    n_steps, n = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 3))
    steps = np.zeros((n_steps, 7), dtype=np.int64)
    for s in range(n_steps):
        steps[s, 0] = data.draw(st.integers(0, n - 1))
        steps[s, 1] = data.draw(st.integers(0, n_loops - 1))
        steps[s, 4] = s  # the directive's position, to follow it
    split = data.draw(st.integers(0, n_steps))
    out, dep = _by_dependence(trips.astype(np.int64), steps, split, n)
    # the same directives, the first split ones first
    assert sorted(out[:split, 4]) == list(range(split))
    assert sorted(out[split:, 4]) == list(range(split, n_steps))
    # each dimension's directives in their order; dep: the innermost changing loop so far
    for k in range(n):
        mine = [s for s in range(n_steps) if steps[s, 0] == k]
        assert [int(p) for p in out[:, 4] if steps[p, 0] == k] == mine
        most = -1
        for s in mine:
            most = max(most, int(steps[s, 1]) if trips[steps[s, 1]] > 1 else -1)
            assert dep[list(out[:, 4]).index(s)] == most
    for part in (dep[:split], dep[split:]):
        assert (np.diff(part) >= 0).all()
