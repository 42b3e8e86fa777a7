"""Progress of a search for people and for logs.

:class:`ProgressState` follows a run (evaluations, rate, best first-objective value, time
left); a terminal gets a rich bar drawn from it, anything else (a log, a pipe, CI) gets a
plain line every few seconds from :class:`ProgressLines`, and a last one when it ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

#: Seconds between two plain progress lines.
LINE_INTERVAL_S = 5.0


@dataclass(slots=True, kw_only=True)
class ProgressState:
    """A run's progress: ``done`` new evaluations, the study's ``budget`` (None: until a
    timeout; a resumed study already holds some, so what is left is at most ``budget -
    done``), the best first-objective value seen (``minimize`` says which way is better)."""

    budget: int | None
    minimize: bool = True
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    best: float | None = None
    start_s: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.start_s = self.clock()

    def update(self, n: int, best: float | None) -> None:
        """``n`` more evaluations; ``best`` the best value among all so far, if known."""
        self.done += n
        if best is not None and (
            self.best is None or (best < self.best if self.minimize else best > self.best)
        ):
            self.best = best

    @property
    def elapsed_s(self) -> float:
        return max(self.clock() - self.start_s, 1e-9)

    @property
    def rate_per_s(self) -> float:
        return self.done / self.elapsed_s

    @property
    def eta_s(self) -> float | None:
        """At most this many seconds left at the current rate (None without a budget or a
        rate)."""
        if self.budget is None or self.done == 0:
            return None
        return max(self.budget - self.done, 0) / self.rate_per_s

    def line(self, label: str) -> str:
        """``label: 1,200 new evaluations (budget 4,000), 310/s, best 1.234e+17, at most
        9 s left``."""
        total = "" if self.budget is None else f" (budget {self.budget:,})"
        best = "-" if self.best is None else f"{self.best:.4g}"
        eta = self.eta_s
        left = "" if eta is None else f", at most {format_seconds(eta)} left"
        return (
            f"{label}: {self.done:,} new evaluations{total}, {self.rate_per_s:,.0f}/s, "
            f"best {best}{left}"
        )


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 4 min``."""
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class ProgressLines:
    """The ``studies.run.Progress`` callback for logs: a plain line on ``stream`` at most
    every ``interval_s`` seconds, and one from :meth:`close`."""

    def __init__(
        self,
        state: ProgressState,
        stream: TextIO,
        label: str,
        interval_s: float = LINE_INTERVAL_S,
    ) -> None:
        self.state = state
        self.stream = stream
        self.label = label
        self.interval_s = interval_s
        self._last_s = state.clock()

    def __call__(self, n: int, best: float | None) -> None:
        self.state.update(n, best)
        now = self.state.clock()
        if now - self._last_s >= self.interval_s:
            self._last_s = now
            self._write()

    def close(self) -> None:
        """The last line (none when the run added nothing: the run's note says why)."""
        if self.state.done:
            self._write()

    def _write(self) -> None:
        print(self.state.line(self.label), file=self.stream, flush=True)
