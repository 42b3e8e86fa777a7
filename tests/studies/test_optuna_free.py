"""A run on a relational storage writes Optuna's tables without importing Optuna: the
distribution texts and the state and direction names mapsearch writes are Optuna's own,
and a whole ``tune`` on an SQLite file never imports it, nor SQLAlchemy (the file is
written with ``sqlite3``), nor the searchers it does not use."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
from optuna.distributions import distribution_to_json
from optuna.study import StudyDirection
from optuna.trial import TrialState

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.spaces.optuna_params import distributions
from mapsearch.studies import _rdb
from mapsearch.studies.storage import distribution_json

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


@pytest.mark.parametrize(
    ("kind", "co_design"), [("compact", False), ("complete", False), ("compact", True)]
)
def test_distribution_texts_are_optunas(kind, co_design) -> None:
    from mapsearch.spaces import HardwareSpace

    problem = Problem.create(
        LAYER,
        HW,
        ["edp"],
        options=SpaceOptions(levels=(1, 2), kind=kind, fixed=(("L0.order", "KCYX"),)),
        co_design=HardwareSpace.around(HW) if co_design else None,
        semantics="maestro",
    )
    genes = problem.genes
    assert any(g.ordered for g in genes) and any(not g.ordered for g in genes)
    expected = {name: distribution_to_json(d) for name, d in distributions(genes).items()}
    assert distribution_json(genes) == expected
    assert "L0.order" not in expected  # fixed genes are no parameters


def test_state_and_direction_names_are_optunas() -> None:
    assert [m.name for m in _rdb.TrialState] == [m.name for m in TrialState]
    assert [m.name for m in _rdb.StudyDirection] == [m.name for m in StudyDirection]


_TUNE = """
import sys
from mapsearch.cli.main import run
sys.argv = ["mapsearch", "tune", "--layer", "conv3_1", "--objective", "edp", "--trials", "40",
            "--searcher", "random", "--semantics", "maestro", "--format", "json", "--no-progress"]
try:
    run()
finally:
    print("MODULES", sorted({m.split(".")[0] for m in sys.modules}))
"""


def test_a_sqlite_tune_imports_neither_optuna_nor_sqlalchemy_nor_other_searchers(
    tmp_path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _TUNE], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    out, modules = done.stdout.rsplit("MODULES", 1)
    assert json.loads(out)["n_evaluations"] == 40
    imported = set(ast.literal_eval(modules.strip()))
    assert "mapsearch" in imported
    assert not imported & {"optuna", "sqlalchemy", "deap"}


_GUARDED = """
import sys
from mapsearch.errors import StudyError
from mapsearch.studies.backends import guarded

assert "optuna" not in sys.modules
try:
    with guarded("sqlite:///s.sqlite3"):
        import optuna.exceptions  # as opening an Optuna storage inside the block would

        raise optuna.exceptions.StorageInternalError("disk I/O error")
except StudyError as e:
    print(e)
"""


def test_guarded_catches_the_storage_error_of_an_optuna_imported_in_its_block(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _GUARDED], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "cannot be used as a study database (disk I/O error)" in done.stdout
