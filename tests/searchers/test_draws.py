"""``Draws`` makes the very values of the numpy generator it stands for."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.searchers._draws import Draws

#: Bounds of ``integers(0, n)``: tiny, odd, and near 2**31..2**32, where Lemire's method
#: rejects often (a wrong threshold shows at once).
BOUNDS = (1, 2, 3, 7, 100, 3 * 2**30, 2**31 + 1, 2**32 - 1, 2**32)


@pytest.mark.parametrize("seed", [0, 1, 2026])
def test_draws_equal_the_generators_own_interleaved_calls(seed: int) -> None:
    """A random mix of ``random()`` and ``integers(0, n)`` draws, longer than a block, and
    after ``close`` the generator's next draws: all equal to the generator's own."""
    plan = np.random.default_rng(seed + 100).integers(0, len(BOUNDS) + 1, size=10_000).tolist()
    ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    theirs.integers(0, 5)  # an odd start: half of a 64-bit output left over
    ours.integers(0, 5)
    draws = Draws(ours)
    for k in plan:
        if k == len(BOUNDS):
            assert draws.random() == theirs.random()
        else:
            assert draws.integers(BOUNDS[k]) == int(theirs.integers(0, BOUNDS[k]))
    draws.close()
    assert ours.integers(0, 9, size=5).tolist() == theirs.integers(0, 9, size=5).tolist()
    assert ours.random(3).tolist() == theirs.random(3).tolist()
    assert ours.bit_generator.state == theirs.bit_generator.state


def test_draws_refuse_another_bit_generator() -> None:
    with pytest.raises(ValueError, match="PCG64"):
        Draws(np.random.Generator(np.random.MT19937(0)))
