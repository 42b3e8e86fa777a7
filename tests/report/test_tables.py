"""Tables for people: what each table shows, read back from its rendered text."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console
from rich.table import Table

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.report.tables import (
    baselines_table,
    comparison_table,
    fmt,
    history_table,
    layers_table,
    pareto_table,
    studies_table,
)
from mapsearch.studies.certificate import certify
from mapsearch.studies.fingerprint import fingerprint
from mapsearch.studies.results import Baseline, Point, classic_baselines, exact_score
from mapsearch.studies.run import RunResult
from mapsearch.studies.storage import StoredStudy
from mapsearch.studies.tune import TuneOutcome

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8, model="toy")
HW = Hardware(name="hw16", num_pes=16, offchip_bw_words_per_cycle=10**6)


def text(table: Table) -> str:
    console = Console(record=True, width=250)
    console.print(table)
    return console.export_text()


def problem(objectives: tuple[str, ...]) -> Problem:
    return Problem.create(LAYER, HW, list(objectives), semantics="maestro")


def as_point(b: Baseline, trial: int) -> Point:
    exact = exact_score(problem(("latency", "energy")), b.mapping, HW)
    return Point(
        trial=trial,
        mapping=b.mapping,
        hardware=HW,
        objectives=b.objectives,
        metrics=b.metrics,
        exact=exact,
    )


@pytest.fixture(scope="module")
def baselines() -> list[Baseline]:
    found = classic_baselines(problem(("latency", "energy")))
    assert sum(b.feasible for b in found) >= 2
    return found


def test_fmt_is_short_and_readable() -> None:
    assert fmt(None) == "-"
    assert fmt(1234567) == "1,234,567"
    assert fmt(2.0) == "2"
    assert fmt(3.14159265) == "3.142"
    assert fmt({"input": 1, "filter": 2, "output": None}) == "3"
    assert fmt(True) == "True"
    assert fmt("kcp") == "kcp"


def test_comparison_table_puts_tuned_beside_the_classic(baselines: list[Baseline]) -> None:
    p = problem(("latency", "energy"))
    best, other = baselines[0], baselines[1]
    out = text(comparison_table(p, as_point(other, 7), best))
    assert "tuned vs best classic dataflow" in out and best.name in out
    assert "latency (cycles)" in out and "energy (MAC-energy units)" in out
    ratio = best.objectives["latency"] / other.objectives["latency"]
    assert f"{ratio:.2f}x" in out
    # latency and energy are shown once, as objectives, not again as metrics
    assert "runtime (cycles)" not in out and out.count("energy (MAC-energy units)") == 1
    assert "L1 required (words/PE)" in out
    alone = text(comparison_table(p, as_point(other, 7), None))
    assert "ratio" not in alone and fmt(other.objectives["latency"]) in alone


def test_pareto_and_baselines_tables(baselines: list[Baseline]) -> None:
    p = problem(("latency", "energy"))
    points = [as_point(b, i) for i, b in enumerate(baselines[:2])]
    out = text(pareto_table(p, points))
    assert "Pareto front (2 points)" in out
    assert "SpatialMap" in out  # the mapping column
    for pt in points:
        assert fmt(pt.objectives["energy"]) in out and fmt(pt.objectives["latency"]) in out
    out = text(baselines_table(p, baselines))
    assert all(b.name in out for b in baselines)
    assert out.count("yes") == sum(b.feasible for b in baselines)


def test_studies_table_summarises_the_fingerprint() -> None:
    p = problem(("edp",))
    mapsearch_study = StoredStudy(
        name="s1",
        url="sqlite:///x.sqlite3",
        n_trials=42,
        description="",
        fingerprint=fingerprint(p),
    )
    foreign = StoredStudy(
        name="s2", url="sqlite:///y.sqlite3", n_trials=3, description="not ours", fingerprint=None
    )
    out = text(studies_table([(mapsearch_study, "edp 12"), (foreign, "-")]))
    assert "toy.small on hw16: edp (maestro)" in out
    assert "42" in out and "edp 12" in out and "not ours" in out


def test_layers_table_of_a_model_tuning(baselines: list[Baseline]) -> None:
    p = problem(("latency", "energy"))
    run = RunResult(
        study="s", storage="sqlite:///s", n_new=5, n_evaluations=5, wall_s=0.1,
        interrupted=False, exhausted=False,
    )  # fmt: skip
    best = baselines[0]
    worse = next(b for b in baselines[1:] if b.feasible)
    point = as_point(worse, 0)
    cert = certify(p, point.objectives["latency"], None, run.n_evaluations)
    outcome = TuneOutcome(
        problem=p, run=run, points=(point,), baselines=tuple(baselines), certificate=cert
    )
    out = text(layers_table([outcome]))
    assert "toy.small" in out and f"({best.name})" in out
    assert f"{outcome.speedup():.2f}x" in out and "tuned latency" in out
    # the gap to the proven bound (maestro: its runtime floor), never proved by a heuristic
    assert cert.gap_percent is not None and f"<= {cert.gap_percent:.2f}%" in out


def test_history_table_tracks_the_best_so_far() -> None:
    p = problem(("latency",))
    values = np.array([[5.0], [7.0], [3.0], [4.0], [np.nan]])
    reasons = ["", "", "", "", "L1 requirement exceeds"]
    out = text(history_table(p, [0, 1, 2, 3, 4], values, reasons, every=2))
    cells = [line.replace("│", " ").split() for line in out.splitlines()]
    rows = [c for c in cells if c and c[0].isdigit()]
    # (evaluations, best so far, feasible so far) every 2 evaluations and at the end
    assert [r[:3] for r in rows] == [["2", "5", "2"], ["4", "3", "4"], ["5", "3", "4"]]


def test_a_dataflow_the_model_does_not_score_shows_no_value() -> None:
    """MAESTRO's row-stationary file maps no MAC of a layer whose filter is wider than one
    column, and the weight-stationary ones need 64-PE clusters: on 16 PEs their rows say
    why and show no objective value (the model's values, all 0, are no schedule's), after
    every dataflow the model scored."""
    p = Problem.create(LAYER, HW, ["edp", "latency"], semantics="exact")
    found = classic_baselines(p)
    unscored = [b for b in found if not b.scored]
    assert {b.name for b in unscored} == {"YR-P_rs_vgg", "KC-P_kcp_ws", "CK-P_ckp_ws"}
    assert found[-len(unscored) :] == unscored
    reasons = {b.name: b.reason for b in unscored}
    assert "computes 0 MACs" in reasons["YR-P_rs_vgg"]
    assert "need more than 16 PEs" in reasons["KC-P_kcp_ws"]
    lines = text(baselines_table(p, found)).splitlines()
    for b in found:
        row = next(line for line in lines if b.name in line)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert (cells[1:3] == ["-", "-"]) is not b.scored
    assert all(b.objectives["edp"] > 0 for b in found if b.scored)
