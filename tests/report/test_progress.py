"""Progress lines for logs: count, rate, best and time left, at most every few seconds."""

from __future__ import annotations

import io

from mapsearch.report.progress import ProgressLines, ProgressState, format_seconds
from mapsearch.report.tables import fmt_column


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_says_count_rate_best_and_eta():
    clock = Clock()
    state = ProgressState(budget=1000, clock=clock)
    state.update(200, 5.0)
    state.update(50, 7.0)  # worse: the best stays
    clock.now += 10.0
    assert state.line("tuning x") == (
        "tuning x: 250 new evaluations (budget 1,000), 25/s, best 5, at most 30 s left"
    )
    high = ProgressState(budget=None, minimize=False, clock=clock)
    high.update(10, 5.0)
    high.update(10, 7.0)
    assert high.best == 7.0 and "left" not in high.line("t")


def test_lines_come_every_interval_and_at_the_end():
    clock = Clock()
    out = io.StringIO()
    lines = ProgressLines(ProgressState(budget=100, clock=clock), out, "t", interval_s=5.0)
    for _ in range(10):
        clock.now += 1.0
        lines(10, 1.0)
    lines.close()
    written = out.getvalue().splitlines()
    assert len(written) == 3  # at 5 s, at 10 s, and the last one
    assert written[-1] == "t: 100 new evaluations (budget 100), 10/s, best 1, at most 0 s left"


def test_seconds_are_readable():
    assert [format_seconds(s) for s in (42, 185, 7440)] == ["42 s", "3 min 5 s", "2 h 4 min"]


def test_a_column_has_one_number_format():
    assert fmt_column([7_357_018_880.0, 1200, None]) == ["7,357,018,880", "1,200", "-"]
    assert fmt_column([7.421e9 + 0.5, 7_357_018_880.0]) == ["7.421e+09", "7.357e+09"]
