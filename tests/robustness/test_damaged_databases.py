"""A damaged or foreign study database is a one-line error naming the file, from ``tune``,
``show``, ``export`` and ``studies``; ``studies`` still lists the healthy ones; nothing is
written to the damaged file.

Issue 11 measured on the code before: a zeroed or garbled page in the middle of a study
file, or a truncated last byte, gave Optuna/SQLAlchemy tracebacks from all four commands,
and one damaged file stopped ``studies`` from listing the others.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from robust_helpers import FAST, main, one_line_error

from mapsearch.service.studies import study_listing

PAGE = 4096


def _garble(data: bytearray, page: int) -> None:
    data[page * PAGE : (page + 1) * PAGE] = bytes((i * 151 + 7) % 256 for i in range(PAGE))


def _zero(data: bytearray, page: int) -> None:
    data[page * PAGE : (page + 1) * PAGE] = bytes(PAGE)


DAMAGE = {
    "garbled": lambda d: _garble(d, len(d) // PAGE // 2),
    "zeroed": lambda d: _zero(d, len(d) // PAGE // 2),
    "truncated": lambda d: d.__delitem__(slice(len(d) - 1, None)),
    "zeroed-header": lambda d: _zero(d, 0),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``studies/`` with a healthy study ``ok`` and a damaged copy of it per kind of damage,
    plus an SQLite file of something else."""
    root = tmp_path_factory.mktemp("damaged")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code, _, err = main("tune", *FAST, "--trials", "160", "--study", "ok")
    assert code == 0, err
    studies = root / "studies"
    healthy = (studies / "ok.sqlite3").read_bytes()
    assert len(healthy) // PAGE > 20
    for kind, damage in DAMAGE.items():
        data = bytearray(healthy)
        damage(data)
        (studies / f"{kind}.sqlite3").write_bytes(bytes(data))
    con = sqlite3.connect(studies / "foreign.sqlite3")
    con.execute("create table notes (x text)")
    con.commit()
    con.close()
    return root


@pytest.mark.parametrize("kind", [*DAMAGE, "foreign"])
@pytest.mark.parametrize("command", ["tune", "show", "export"])
def test_a_damaged_file_is_one_line_naming_it(folder, kind, command, monkeypatch, tmp_path):
    work = tmp_path / "studies"
    work.mkdir()
    path = work / f"{kind}.sqlite3"
    shutil.copy(folder / "studies" / path.name, path)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    args = {
        "tune": [
            "tune",
            *FAST,
            "--trials",
            "200",
            "--study",
            "ok",
            "--storage",
            f"sqlite:///{path}",
        ],
        "show": ["show", "ok", "--storage", f"sqlite:///{path}"],
        "export": ["export", "ok", "--storage", f"sqlite:///{path}", "--format", "csv"],
    }[command]
    code, _, err = main(*args)
    assert one_line_error(code, err), err
    assert str(path) in err
    assert path.read_bytes() == before  # nothing written to it


def test_studies_lists_the_healthy_and_marks_the_damaged(folder, monkeypatch):
    monkeypatch.chdir(folder)
    rows = study_listing(None, Path("studies"))
    healthy = [s for s, _ in rows if s.name != "?"]
    assert [s.name for s in healthy] == ["ok"] and healthy[0].n_trials == 160
    bad = {s.url: (s.description, best) for s, best in rows if s.name == "?"}
    assert set(bad) == {f"sqlite:///studies/{k}.sqlite3" for k in [*DAMAGE, "foreign"]}
    for url, (why, best) in bad.items():
        assert url[len("sqlite:///") :] in why and best == "unreadable"
    code, out, err = main("studies")
    assert code == 0 and err == "", err
    assert out.count("unreadable") == len(bad)
