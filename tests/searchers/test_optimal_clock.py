"""``optimal`` against a fake clock: without a deadline what it asks does not depend on the
clock; with one, a batch that was slow to evaluate makes the next asks small."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimal import CONV, HW, SMALL, TWO_LEVELS

from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import optimal
from mapsearch.searchers.optimal import EVAL_S, FIRST_ASK, OptimalSearcher
from mapsearch.spaces import SpaceOptions

#: A small conv on the complete space (a compact warm-up first), two levels.
SMALL_COMPLETE = SpaceOptions(kind="complete", levels=(2,), fixed=(("L0.order", "KCYX"),))


class FakeClock:
    """A stand-in for the ``time`` module whose clocks jump irregularly at every reading
    (seeded), or, without a seed, only when a test moves ``now``."""

    def __init__(self, seed: int | None, step: float = 3.0) -> None:
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._step = step
        self.now = 1.0e6

    def _read(self) -> float:
        if self._rng is not None:
            self.now += float(self._rng.choice([0.0, 0.01, self._step]))
        return self.now

    def time(self) -> float:
        return self._read()

    def perf_counter(self) -> float:
        return self._read()

    def process_time(self) -> float:
        return self._read()


def _asks(problem: Problem, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every batch a run of ``optimal`` with no deadline asks, to the end, under ``clock``."""
    monkeypatch.setattr(optimal, "time", clock)
    s = OptimalSearcher()
    s.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
    batches = []
    while len(points := s.ask(16)):
        batches.append(points.tobytes())
        s.tell(problem.evaluate(points))
    assert s.proof().closed
    return batches


@pytest.mark.parametrize(
    ("layer", "options", "objective"),
    [(CONV, TWO_LEVELS, "edp"), (SMALL, SMALL_COMPLETE, "latency")],
)
def test_without_a_deadline_a_jumping_clock_changes_nothing_asked(
    layer, options, objective, monkeypatch
):
    """Time slices count expansions, not seconds: two runs under clocks that jump at
    different readings (by up to 3 s, more than a slice took in seconds) ask the same
    batches as a run whose clock stands still."""
    problem = Problem.create(layer, HW, [objective], options=options)
    still = _asks(problem, FakeClock(None), monkeypatch)
    assert len(still) > 1
    assert _asks(problem, FakeClock(1), monkeypatch) == still
    assert _asks(problem, FakeClock(2), monkeypatch) == still


def test_with_a_deadline_the_next_ask_fits_the_last_batch_pace(monkeypatch):
    """The first ask returns at most :data:`FIRST_ASK` points; a batch whose evaluation
    took 10 s a point makes the next ask return one point; one evaluated in a millisecond
    a point lets the next return the whole batch."""
    problem = Problem.create(CONV, HW, ["edp"], options=TWO_LEVELS)
    clock = FakeClock(None)
    monkeypatch.setattr(optimal, "time", clock)
    s = OptimalSearcher(batch_size=64)
    none = Evaluation.concat([], problem.n_genes, 1)
    s.start(problem, none, np.random.default_rng(0), deadline=clock.now + 1e5)
    first = s.ask(64)
    assert 0 < len(first) <= FIRST_ASK
    clock.now += 10.0 * len(first)
    s.tell(problem.evaluate(first))
    assert len(s.ask(64)) == max(1, int(EVAL_S / 10.0))
    s._limit, s._polish = 64, []  # past the new best's neighbours: leaves only
    points = s.ask(64)
    assert len(points) > 1
    clock.now += 1e-3 * len(points)
    s.tell(none)
    assert s._limit == 64 and len(s.ask(64)) > len(first)
