"""``optimal`` against a fake clock: without a deadline what it asks does not depend on the
clock; with one, a batch that was slow to evaluate makes the next asks small. Also what an
ask does to the process beyond its points: the garbage collector."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from test_optimal import HW, ONE_LEVEL, SMALL, STRIDED

from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import optimal
from mapsearch.searchers.optimal import FIRST_ASK, OptimalSearcher
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
    monkeypatch.setattr(optimal, "SLICE", 5)  # short slices: several asks before it closes
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
    [(STRIDED, ONE_LEVEL, "edp"), (SMALL, SMALL_COMPLETE, "latency")],
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


def _sizes(problem: Problem, per_point: float, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many points each of the first 200 asks of a run with a deadline returns, when
    each point takes ``per_point`` seconds (of a fake clock) to evaluate."""
    clock = FakeClock(None)
    monkeypatch.setattr(optimal, "time", clock)
    s = OptimalSearcher(batch_size=64)
    none = Evaluation.concat([], problem.n_genes, 1)
    s.start(problem, none, np.random.default_rng(0), deadline=clock.now + 1e6)
    sizes: list[int] = []
    while len(sizes) < 200 and len(points := s.ask(64)):
        sizes.append(len(points))
        clock.now += per_point * len(points)
        s.tell(problem.evaluate(points))
    return sizes


def test_with_a_deadline_the_asks_follow_the_pace_of_evaluation(monkeypatch):
    """Points that take 10 s each to evaluate are asked one at a time (a batch would run
    past the deadline); at a millisecond each the asks grow from :data:`FIRST_ASK` points."""
    problem = Problem.create(STRIDED, HW, ["edp"], options=ONE_LEVEL)
    slow = _sizes(problem, 10.0, monkeypatch)
    assert len(slow) > 10 and set(slow) == {1}
    fast = _sizes(problem, 1e-3, monkeypatch)
    assert fast[0] <= FIRST_ASK and max(fast) > 1 and len(fast) < len(slow)


@pytest.mark.parametrize("enabled", [True, False])
def test_an_ask_pauses_the_garbage_collector_and_leaves_it_as_it_was(enabled, monkeypatch):
    """The collector is off while an ask searches and as it was afterwards, also when the
    ask fails."""
    problem = Problem.create(SMALL, HW, ["latency"], options=ONE_LEVEL)
    s = OptimalSearcher()
    s.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
    seen: list[bool] = []
    search = s._next

    def spy(n: int) -> np.ndarray:
        seen.append(gc.isenabled())
        return search(n)

    def fail(n: int) -> np.ndarray:
        raise RuntimeError("a failing ask")

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        monkeypatch.setattr(s, "_next", spy)
        assert len(s.ask(4))
        assert seen == [False] and gc.isenabled() is enabled
        monkeypatch.setattr(s, "_next", fail)
        with pytest.raises(RuntimeError, match="a failing ask"):
            s.ask(4)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
