"""Studies anyone can read: plain Optuna sees each trial's mapping, hardware and metrics, the
objectives' names and how the study was made; a run that does not do what was asked says so."""

from __future__ import annotations

import numpy as np
import optuna

from mapsearch import __version__
from mapsearch.costmodel.summary import TRIAL_METRICS, directive_texts
from mapsearch.directives.maestro_file import format_directives, parse_directives
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig
from mapsearch.studies.tune import tune

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def problem(objectives=("edp",)) -> Problem:
    return Problem.create(LAYER, HW, list(objectives), options=SpaceOptions(levels=(1, 2)))


def test_directive_texts_equal_formatting_each_mapping():
    p = problem()
    decoded, _, _ = p.decode(p.genome.random(300, np.random.default_rng(3)))
    batch = decoded.batch
    assert batch is not None and len(batch.templates()[0]) > 5  # a mixed batch
    expected = [format_directives(batch.mapping(k)) for k in range(len(batch))]
    assert directive_texts(batch) == expected


def test_plain_optuna_reads_the_best_mapping_hardware_and_metrics(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    config = RunConfig(searcher="random", n_trials=150, seed=4)
    outcome = tune(problem(), config, study="s", storage=url)
    study = optuna.load_study(study_name="s", storage=url)
    assert study.metric_names == ["edp"]
    attrs = study.best_trial.user_attrs
    best = outcome.points[0]
    assert parse_directives(attrs["mapping"]) == best.mapping
    assert attrs["hardware"]["num_pes"] == HW.num_pes
    assert attrs["hardware"]["l1_size_words"] == HW.l1_size_words
    for key in TRIAL_METRICS:
        expected = best.metrics["energy_mac_units" if key == "energy_total" else key]
        assert attrs["metrics"][key] == expected
    assert attrs["metrics"]["energy_unit"] == "mac"
    assert attrs["metrics"]["energy_total"] * attrs["metrics"]["runtime_cycles"] == (
        study.best_value
    )
    # Every trial that decoded carries its mapping; infeasible ones say why as well.
    failed = [t for t in study.trials if t.state is optuna.trial.TrialState.FAIL]
    assert failed and all("infeasible" in t.user_attrs for t in failed)
    assert all("mapping" in t.user_attrs for t in study.trials if "hardware" in t.user_attrs)
    made = study.user_attrs
    assert made["mapsearch.searcher"] == "random"
    assert made["mapsearch.seed"] == 4
    assert made["mapsearch.semantics"] == "exact"
    assert made["mapsearch.version"] == __version__
    assert made["mapsearch.runs"][0]["n_new"] == 150


def test_a_spent_budget_and_another_searcher_are_said(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    first = tune(problem(), RunConfig(searcher="random", n_trials=60), study="s", storage=url)
    assert first.notes == ()
    again = tune(problem(), RunConfig(searcher="tpe", n_trials=60), study="s", storage=url)
    assert again.run.n_new == 0
    text = " ".join(again.notes)
    assert "made by random" in text and "0 new evaluations" in text
    assert "--trials above 60" in text and "--study" in text
    assert again.to_json()["notes"] == list(again.notes)
    more = tune(problem(), RunConfig(searcher="tpe", n_trials=80), study="s", storage=url)
    assert more.run.n_new == 20
    assert any("made by random" in n for n in more.notes)
    runs = optuna.load_study(study_name="s", storage=url).user_attrs["mapsearch.runs"]
    assert [(r["searcher"], r["n_new"]) for r in runs] == [("random", 60), ("tpe", 0), ("tpe", 20)]


def test_the_ga_spends_its_whole_budget_after_the_classic_seeds(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    out = tune(problem(("latency",)), RunConfig(searcher="ga", n_trials=64), study="s", storage=url)
    assert out.run.n_evaluations == out.run.n_new == 64
    assert out.notes == ()


def test_a_run_short_of_its_budget_says_why(tmp_path, fail_third_batch):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    # out of time after the classic seeds (written before the search's first batch)
    late = tune(problem(), RunConfig(n_trials=64, timeout_s=1e-6), study="late", storage=url)
    assert 0 < late.run.n_new < 64
    assert any("--timeout ran out" in n and "of the --trials budget of 64" in n for n in late.notes)
    # every point of a tiny space tried
    tiny = Problem.create(
        Layer.conv("tiny", K=2, C=2, R=1, S=1, Y=2, X=2),
        Hardware(name="h4", num_pes=4),
        ["latency"],
        options=SpaceOptions(levels=(1,)),
    )
    done = tune(tiny, RunConfig(searcher="exhaustive", n_trials=5000), study="all", storage=url)
    assert done.run.exhausted and done.run.n_evaluations < 5000
    assert any("exhaustive found nothing new to try" in n for n in done.notes)
    # interrupted (Ctrl-C or SIGTERM) during the search's second batch
    fail_third_batch(KeyboardInterrupt())
    cut = tune(problem(), RunConfig(n_trials=300, batch_size=16), study="cut", storage=url)
    assert cut.run.interrupted and 0 < cut.run.n_evaluations < 300
    (note,) = cut.notes
    assert note.startswith("interrupted:") and "rerun the same command to resume" in note
    assert cut.to_json()["notes"] == [note]
