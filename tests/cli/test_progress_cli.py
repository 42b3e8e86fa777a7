"""The plain progress lines of ``tune`` where stderr is not a terminal (a log)."""

from __future__ import annotations

import re
import time

import pytest

from mapsearch.cli.progress import RunBars


def _rate(line: str) -> float:
    found = re.search(r"([\d,]+)/s", line)
    assert found is not None, line
    return float(found.group(1).replace(",", ""))


def test_each_layer_line_sits_under_its_header_and_counts_its_own_search_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A model's layers: each "tuning:" line follows its own "layer i/N" header, and a
    layer searched elsewhere (reported when done, ``elapsed_s``) is rated by its own
    search time, not by the instant of the report nor by the wait until its line closes."""
    with RunBars(2000, show=True) as bars:
        bars.task("layer 1/2: a")(2000, 1.0)
        bars.task("layer 2/2: b", elapsed_s=4.0)(2000, 2.0)
        time.sleep(0.2)  # the next layer's report (or the end) comes later
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["layer 1/2", "tuning", "layer 2/2", "tuning"]
    assert _rate(lines[3]) == 2000 / 4.0
