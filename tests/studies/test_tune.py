"""``tune`` (the library call): it returns what it found and writes nothing but the study."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig
from mapsearch.studies.tune import pareto_plot_path, tune

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def test_a_pareto_tuning_writes_only_its_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    problem = Problem.create(
        LAYER, HW, ["latency", "energy"], options=SpaceOptions(levels=(1,)), semantics="maestro"
    )
    url = f"sqlite:///{tmp_path / 'out' / 's.sqlite3'}"
    outcome = tune(problem, RunConfig(searcher="random", n_trials=24), study="s", storage=url)
    assert outcome.points and outcome.run.n_evaluations == 24
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["out/s.sqlite3"]
    # the caller decides where the Pareto plot goes: beside the study file
    assert pareto_plot_path(outcome.run) == tmp_path / "out" / "s.pareto.png"
