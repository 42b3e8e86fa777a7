from __future__ import annotations

import numpy as np
import pytest

from mapsearch.objectives.pareto import nondominated


def brute_force(f: np.ndarray, tb: np.ndarray) -> set[int]:
    """O(n^2): non-dominated rows, one per distinct vector, smallest (tiebreak, index)."""
    n = len(f)
    out = set()
    for i in range(n):
        dominated = any(np.all(f[j] <= f[i]) and np.any(f[j] < f[i]) for j in range(n) if j != i)
        if dominated:
            continue
        twins = [j for j in range(n) if np.array_equal(f[j], f[i])]
        rep = min(twins, key=lambda j: (*tb[j], j))
        out.add(rep)
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 160))
    # small integer grid: many ties and duplicates
    f = rng.integers(0, 6, size=(n, k)).astype(float)
    tb = rng.integers(0, 3, size=(n, 2)).astype(float)
    got = nondominated(f, tb)
    assert set(got.tolist()) == brute_force(f, tb)
    assert len(got) == len(set(got.tolist()))


def test_large_three_objectives_uses_blocks() -> None:
    rng = np.random.default_rng(7)
    f = rng.random((1500, 3))  # more rows than one block
    got = set(nondominated(f).tolist())
    assert got == brute_force(f, np.zeros((len(f), 0)))


def test_closed_form_cases() -> None:
    f = np.array([[1.0, 5.0], [2.0, 2.0], [5.0, 1.0], [3.0, 3.0], [2.0, 2.0], [1.0, 6.0]])
    # (3,3) dominated by (2,2); duplicate (2,2) -> the first; (1,6) dominated by (1,5)
    assert sorted(nondominated(f).tolist()) == [0, 1, 2]
    # tie-break picks the duplicate with the smaller key
    assert sorted(nondominated(f, np.array([[0], [9], [0], [0], [1], [0]])).tolist()) == [0, 2, 4]
    assert nondominated(np.zeros((0, 2))).tolist() == []
    assert nondominated(np.array([[3.0], [1.0], [1.0]])).tolist() == [1]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="NaN"):
        nondominated(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        nondominated(np.array([1.0, 2.0]))


def test_merging_fronts_equals_one_pass() -> None:
    rng = np.random.default_rng(3)
    f = rng.integers(0, 20, size=(600, 3)).astype(float)
    tb = np.arange(600, dtype=float)[:, None]
    whole = set(nondominated(f, tb).tolist())
    kept = np.zeros(0, dtype=np.int64)
    for s in range(0, 600, 97):
        part = np.arange(s, min(s + 97, 600))
        local = part[nondominated(f[part], tb[part])]
        both = np.concatenate([kept, local])
        kept = both[nondominated(f[both], tb[both])]
    assert set(kept.tolist()) == whole
