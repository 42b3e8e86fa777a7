"""Nothing is overwritten, or written outside its place, without ``--force``.

Issue 11 measured on the code before: ``export s --storage sqlite:///X.sqlite3 -o
X.sqlite3`` replaced a 3,000-evaluation study with 3.5 KB of JSON; ``-o`` and ``dse --out``
replaced earlier files without asking; ``tune --model`` wrote its tuning table under the
current folder wherever ``--storage`` pointed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from robust_helpers import FAST, main, one_line_error

DSE = ["dse", "--layer", "fc8", "--pes", "64", "--noc-bw", "16", "--l1", "64", "--l2", "64K"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``studies/s.sqlite3``, a 32-evaluation study named ``s``."""
    folder = tmp_path_factory.mktemp("outputs")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        code, _, err = main("tune", *FAST, "--trials", "32", "--study", "s")
    assert code == 0, err
    return folder


def test_export_never_writes_over_the_study_itself(study, monkeypatch):
    monkeypatch.chdir(study)
    db = study / "studies" / "s.sqlite3"
    before = db.read_bytes()
    for force in ([], ["--force"]):
        args = ["export", "s", "--storage", "sqlite:///studies/s.sqlite3", "-o", str(db)]
        code, _, err = main(*args, *force)
        assert one_line_error(code, err) and "is the study database" in err, err
        code, _, err = main("export", "studies/s.sqlite3", "-o", "studies/../studies/s.sqlite3")
        assert one_line_error(code, err) and "is the study database" in err, err
    assert db.read_bytes() == before


def test_export_replaces_a_file_only_with_force(study, monkeypatch, tmp_path):
    monkeypatch.chdir(study)
    out = tmp_path / "best.json"
    out.write_text("mine\n")
    code, _, err = main("export", "s", "-o", str(out))
    assert one_line_error(code, err) and "already exists" in err and "--force" in err, err
    assert out.read_text() == "mine\n"
    code, _, err = main("export", "s", "-o", str(out), "--force")
    assert code == 0, err
    assert json.loads(out.read_text())["study"] == "s"
    code, _, err = main("export", "s", "-o", str(tmp_path))
    assert one_line_error(code, err) and "is a folder" in err, err


def test_dse_keeps_earlier_results_unless_forced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "results"
    code, _, err = main(*DSE, "--out", str(out), "--no-progress")
    assert code == 0, err
    before = (out / "summary.json").read_bytes()
    code, _, err = main(*DSE, "--pes", "128", "--out", str(out), "--no-progress")
    assert one_line_error(code, err) and "summary.json" in err and "--force" in err, err
    assert (out / "summary.json").read_bytes() == before
    keep = tmp_path / "designs.csv"
    keep.write_text("mine\n")
    code, _, err = main(*DSE, "--out", str(tmp_path / "other"), "--keep", "all", str(keep))
    assert one_line_error(code, err) and "designs.csv" in err, err
    assert keep.read_text() == "mine\n"
    code, _, err = main(*DSE, "--pes", "128", "--out", str(out), "--no-progress", "--force")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["designs"] == 1


def test_the_tuning_table_goes_beside_the_storage(tmp_path, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    fast = [f for f in FAST if f not in ("--layer", "vgg16.conv5_1")]
    url = f"sqlite:///{elsewhere / 'alexnet.sqlite3'}"
    code, _, err = main("tune", "--model", "alexnet", *fast, "--trials", "8", "--storage", url)
    assert code == 0, err
    assert list(elsewhere.glob("alexnet-*.tuning.json"))
    assert not (work / "studies").exists()
