"""New SQLite study files are copies of an empty database Optuna made: the same tables as
Optuna's own, read by ``optuna.load_study``, made without Optuna's schema migrations; a
file of another schema revision is still Optuna's to open (and refuse)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from mapsearch.errors import StudyError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import StudyRecord
from mapsearch.studies.backends import sqlite_database

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def problem() -> Problem:
    return Problem.create(
        LAYER, HW, ["edp"], options=SpaceOptions(levels=(1, 2)), semantics="maestro"
    )


def schema(path: Path) -> list[tuple[str, str, str | None]]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute("select type, name, sql from sqlite_master order by name").fetchall()
        rows += con.execute("select 'revision', version_num, null from alembic_version").fetchall()
    finally:
        con.close()
    return rows


def test_a_new_study_file_has_optunas_own_tables_and_optuna_reads_it(tmp_path):
    made_by_optuna = tmp_path / "optuna.sqlite3"
    optuna.storages.RDBStorage(f"sqlite:///{made_by_optuna}").engine.dispose()
    path = tmp_path / "studies" / "s.sqlite3"
    p = problem()
    record = StudyRecord.open(f"sqlite:///{path}", "s", p)
    ev = p.evaluate(p.genome.random(40, np.random.default_rng(0)))
    assert record.write(ev) == 40
    assert schema(path) == schema(made_by_optuna)
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{path}")
    assert len(study.trials) == 40
    # Optuna's own checks pass on the file, and it writes there too.
    study.enqueue_trial({})
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{path}").trials) == 41


def test_a_new_study_needs_no_schema_migrations_once_the_template_exists(tmp_path):
    """A fresh process opening a new study file does not import alembic (Optuna's schema
    migrations, about a second of start-up)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = (
        "import sys; from mapsearch.problem import Problem; "
        "from mapsearch.hardware.presets import preset; from mapsearch.layers.zoo import "
        "find_layer; from mapsearch.studies import StudyRecord; "
        "p = Problem.create(find_layer('conv3_1'), preset('edge_256'), ['edp']); "
        f"StudyRecord.open('sqlite:///{tmp_path}/' + sys.argv[1], 's', p); "
        "print('alembic' in sys.modules)"
    )
    outs = [
        subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, env=env)
        for name in ("a.sqlite3", "b.sqlite3")
    ]
    assert [o.returncode for o in outs] == [0, 0], outs[0].stderr + outs[1].stderr
    assert [o.stdout.strip() for o in outs] == ["True", "False"]  # the first made the template
    assert (
        tmp_path / "cache" / "mapsearch" / f"optuna-{optuna.__version__}-empty.sqlite3"
    ).exists()


def test_a_file_of_another_schema_revision_is_left_to_optuna(tmp_path):
    path = tmp_path / "old.sqlite3"
    StudyRecord.open(f"sqlite:///{path}", "s", problem())
    con = sqlite3.connect(path)
    with con:
        con.execute("update alembic_version set version_num = 'v3.0.0.a'")
    con.close()
    assert sqlite_database(f"sqlite:///{path}") is None
    with pytest.raises(StudyError, match="upgrade"):
        StudyRecord.open(f"sqlite:///{path}", "s", problem())


def test_without_a_cache_folder_optuna_makes_the_file(tmp_path, monkeypatch):
    from mapsearch.studies import backends

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    backends._template.cache_clear()
    try:
        assert sqlite_database(f"sqlite:///{tmp_path / 'a.sqlite3'}") is None
        path = tmp_path / "b.sqlite3"
        StudyRecord.open(f"sqlite:///{path}", "s", problem())
        assert optuna.load_study(study_name="s", storage=f"sqlite:///{path}").trials == []
    finally:
        backends._template.cache_clear()
