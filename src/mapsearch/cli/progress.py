"""Progress bars: one task per search run (on stderr), fed by the run's ``progress``
callback, and the bar of a hardware sweep (on stdout, under its headline)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mapsearch.cli.console import console, err_console
from mapsearch.objectives import Objective
from mapsearch.report.progress import ProgressLines, ProgressState

if TYPE_CHECKING:  # a search's bars need neither the sweep nor the study machinery
    from mapsearch.dse.space import DesignSpace
    from mapsearch.dse.sweep import ChunkResult
    from mapsearch.studies.run import Progress as RunProgress


class RunBars:
    """A live display of search runs (nothing shown unless ``show``); :meth:`task` adds a
    bar and returns the callback that advances it. Use it as a context manager."""

    def __init__(self, total: int | None, *, show: bool) -> None:
        self.total = total
        self.show = show
        self.plain: list[ProgressLines] = []
        self.display = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} eval/s"),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=not show or not err_console.is_terminal,
        )

    def __enter__(self) -> RunBars:
        self.display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.__exit__(None, None, None)
        for lines in self.plain:
            lines.close()

    def task(self, description: str = "tuning", elapsed_s: float | None = None) -> RunProgress:
        """A new bar; the callback shows evaluations, their rate and the best value so far
        (the run's, kept when a report has none). ``elapsed_s``: seconds the run already
        took (a run searched elsewhere, reported when done), counted in its rate. Where
        stderr is not a terminal (a log), plain lines instead (``ProgressLines``): the
        previous run's last line, the description, then progress every few seconds."""
        before = elapsed_s or 0.0
        if self.show and not err_console.is_terminal:
            for done in self.plain:  # the previous run's last line, under its own header
                done.close()
            if description != "tuning":
                err_console.print(description, markup=False, highlight=False)
            # a run reported when done took exactly ``elapsed_s``: its clock stands still, so
            # its rate does not count the wait until the next run's line closes this one
            state = (
                ProgressState(budget=self.total)
                if elapsed_s is None
                else ProgressState(budget=self.total, clock=lambda: before)
            )
            state.start_s -= before
            lines = ProgressLines(state, sys.stderr, "tuning")
            self.plain = [lines]
            return lines
        task = self.display.add_task(description, total=self.total, rate="-", best="-")
        t0 = time.time() - before
        count = 0

        def advance(n: int, best: float | None) -> None:
            nonlocal count
            count += n
            rate = f"{count / max(time.time() - t0, 1e-9):,.0f}"
            if best is None:
                self.display.update(task, advance=n, rate=rate)
            else:
                self.display.update(task, advance=n, rate=rate, best=f"{best:.4g}")

        return advance


class SweepBar:
    """The live display of a hardware sweep (nothing shown unless ``show``): designs swept,
    valid ones, rate and the best value of the first objective; :meth:`on_chunk` feeds it.
    Use it as a context manager."""

    def __init__(self, space: DesignSpace, n_layers: int, first: Objective, *, show: bool) -> None:
        self.first = first
        self.display = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
        )
        self.task = self.display.add_task(
            f"analysing {space.n_cores:,} cores x {n_layers} layers", total=space.size, stats=""
        )

    def __enter__(self) -> SweepBar:
        self.display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.__exit__(None, None, None)

    def on_chunk(self, acc: ChunkResult, elapsed: float) -> None:
        from mapsearch.report.dse_tables import short_number

        first, best = self.first, acc.best[0]
        best_txt = short_number(first.sign * float(best.objectives[0, 0])) if len(best) else "-"
        rate = acc.n_designs / max(elapsed, 1e-9)
        self.display.update(
            self.task,
            description="sweep",
            completed=acc.n_designs,
            stats=f"valid {acc.n_valid:,} | {rate:,.0f}/s | best {first.name} {best_txt} {first.unit}",
        )
