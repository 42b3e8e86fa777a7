"""Study storage: round trips, fingerprint checks, refusing files that are not studies, and
resuming after a killed or interrupted process with nothing lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

from mapsearch.errors import StudyError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study
from mapsearch.studies.backends import check_sqlite_file
from mapsearch.studies.fingerprint import fingerprint

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256, offchip_bw_words_per_cycle=10**6)


def problem(objectives=("edp",)) -> Problem:
    return Problem.create(
        LAYER, HW, list(objectives), options=SpaceOptions(levels=(1, 2)), semantics="maestro"
    )


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_evaluations_round_trip(kind, tmp_path):
    p = problem(("latency", "energy"))
    url = (
        f"sqlite:///{tmp_path / 's.sqlite3'}"
        if kind == "sqlite"
        else f"journal:{tmp_path / 's.log'}"
    )
    record = StudyRecord.open(url, "s", p)
    ev = p.evaluate(p.genome.random(40, np.random.default_rng(0)))
    assert ev.feasible.any() and (~ev.feasible).any()
    record.write(ev)
    numbers, back = record.history()
    assert numbers.tolist() == list(range(40))
    assert np.array_equal(back.genotypes, ev.genotypes)
    assert np.array_equal(back.feasible, ev.feasible)
    ok = ev.feasible
    assert np.array_equal(back.values[ok], ev.values[ok])
    assert back.reasons.tolist() == ev.reasons.tolist()
    # infeasible but scored candidates keep their values
    scored = ~ok & np.isfinite(ev.violation)
    assert np.array_equal(back.values[scored], ev.values[scored])


def test_the_history_is_the_finished_trials_of_its_study_read_a_chunk_at_a_time(
    tmp_path, monkeypatch
):
    """Another study's trials and a running trial's parameters share the tables; chunks
    of 7 rows split trials and tables anywhere."""
    from mapsearch.studies import _rdb

    monkeypatch.setattr(_rdb, "CHUNK_ROWS", 7)
    p = problem(("latency", "energy"))
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    rng = np.random.default_rng(1)
    other = StudyRecord.open(url, "other", p)
    other.write(p.evaluate(p.genome.random(9, rng)))
    record = StudyRecord.open(url, "s", p)
    ev = p.evaluate(p.genome.random(40, rng))
    assert ev.feasible.any() and (~ev.feasible).any()
    record.write(ev.take(np.arange(25)))
    optuna.load_study(study_name="s", storage=url).ask()
    record.write(ev.take(np.arange(25, 40)))
    running = optuna.load_study(study_name="s", storage=url).ask()
    with sqlite3.connect(tmp_path / "s.sqlite3") as con:  # no choice has this index
        con.execute(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
            "VALUES (?, ?, 999.0, '{}')",
            (running._trial_id, p.genome.genes[0].name),
        )
    numbers, back = record.history()
    assert numbers.tolist() == list(range(25)) + list(range(26, 41))
    assert np.array_equal(back.genotypes, ev.genotypes)
    assert np.array_equal(back.violation, ev.violation)
    assert np.array_equal(back.values, ev.values, equal_nan=True)
    assert back.reasons.tolist() == ev.reasons.tolist()
    assert len(other.history()[1]) == 9


def test_a_different_problem_is_refused_with_both_descriptions(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    StudyRecord.open(url, "s", problem(("edp",)))
    with pytest.raises(StudyError) as err:
        StudyRecord.open(url, "s", problem(("latency",)))
    text = str(err.value)
    assert "different problem" in text
    assert "edp (minimize)" in text and "latency (minimize)" in text


def test_reloading_rebuilds_the_problem(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    p = problem()
    StudyRecord.open(url, "s", p)
    assert fingerprint(StudyRecord.load(url, "s").problem) == fingerprint(p)


def test_a_corrupt_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(b"this is not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StudyError, match="not an SQLite database"):
        StudyRecord.open(f"sqlite:///{path}", "s", problem())
    assert path.read_bytes() == before


def _foreign_database(path: Path) -> None:
    """An SQLite database at ``path`` with a table of its own and no study."""
    con = sqlite3.connect(path)
    con.execute("create table notes (x int)")
    con.commit()
    con.close()


def test_an_sqlite_file_without_studies_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    _foreign_database(path)
    with pytest.raises(StudyError, match="holds no Optuna studies"):
        check_sqlite_file(path)


def test_a_path_with_uri_characters_is_checked_and_used_as_it_is(tmp_path):
    """``#``, ``%`` and spaces in a file's path are the file's name, not URI syntax: the
    file itself is checked (a foreign database is refused) and used, and no other file is
    made."""
    foreign = tmp_path / "a b#c%20.sqlite3"
    _foreign_database(foreign)
    with pytest.raises(StudyError, match="holds no Optuna studies"):
        check_sqlite_file(foreign)
    path = tmp_path / "d e#f%20.sqlite3"
    p = problem()
    ev = p.evaluate(p.genome.random(10, np.random.default_rng(0)))
    with StudyRecord.open(f"sqlite:///{path}", "s", p) as record:
        assert record.write(ev) == 10
    with StudyRecord.load(f"sqlite:///{path}", "s") as record:
        assert record.n_trials() == 10
    assert sorted(f.name for f in tmp_path.iterdir()) == [foreign.name, path.name]


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=30)
    try:
        return int(con.execute("select count(*) from trials").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _start_tune(tmp_path: Path, trials: int) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "mapsearch.cli.main",
        "tune",
        "--layer",
        "vgg16.conv5_1",
        "--semantics",
        "maestro",
        "--searcher",
        "random",
        "--batch-size",
        "16",
        "--trials",
        str(trials),
        "--study",
        "k",
        "--no-progress",
        "--no-seed-classics",
    ]
    return subprocess.Popen(
        args,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_hear_ctrl_c if os.name == "posix" else None,
    )


def _hear_ctrl_c() -> None:
    """Let the child take Ctrl-C whatever this process does with it: a test run started in
    the background of a script ignores SIGINT, and a child inherits that (Python then
    installs no KeyboardInterrupt handler), so the interrupt test would wait forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(path: Path, n: int, proc: subprocess.Popen, limit_s: float = 60) -> None:
    t0 = time.time()
    while _count(path) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < limit_s, "the tune process recorded too little"
        time.sleep(0.2)


def test_resume_after_a_killed_process_loses_nothing(tmp_path):
    db = tmp_path / "studies" / "k.sqlite3"
    proc = _start_tune(tmp_path, 1_000_000)
    _wait_for(db, 48, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    url = f"sqlite:///{db}"
    killed = StudyRecord.load(url, "k")
    numbers, before = killed.history()
    n = len(numbers)
    assert n >= 48 and numbers.tolist() == list(range(n))
    p = killed.problem
    result = run_study(
        p,
        StudyRecord.open(url, "k", p),
        RunConfig(searcher="random", n_trials=n + 32, batch_size=16),
    )
    assert result.n_new == 32
    numbers, after = StudyRecord.load(url, "k").history()
    assert numbers.tolist() == list(range(n + 32))
    assert np.array_equal(after.genotypes[:n], before.genotypes)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    db = tmp_path / "studies" / "k.sqlite3"
    proc = _start_tune(tmp_path, 1_000_000)
    _wait_for(db, 32, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err  # 128 + SIGINT: scripts can tell it stopped early
    assert "interrupted" in out and "resume" in out
    assert _count(db) >= 32


def test_a_commit_in_flight_is_not_taken_for_damage(tmp_path):
    """A writer mid-commit may have written a header that counts pages it has not appended
    yet; the check waits for SQLite's lock instead of reading that header (two processes
    creating one study file met this)."""
    path = tmp_path / "s.sqlite3"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
    head = path.read_bytes()[:100]
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("begin exclusive")
    with path.open("r+b") as f:  # the header of a commit in flight: 5 pages more
        f.seek(28)
        f.write((int.from_bytes(head[28:32], "big") + 5).to_bytes(4, "big"))
    outcome: list[BaseException | None] = []

    def check() -> None:
        try:
            check_sqlite_file(path)
            outcome.append(None)
        except StudyError as e:
            outcome.append(e)

    reader = threading.Thread(target=check)
    reader.start()
    reader.join(0.5)  # the check waits for the writer's lock
    with path.open("r+b") as f:  # the commit completes
        f.seek(28)
        f.write(head[28:32])
    writer.execute("commit")
    writer.close()
    reader.join(30)
    assert outcome == [None]


def test_the_check_keeps_its_lock_until_every_page_is_read(tmp_path, monkeypatch):
    """Reading the header through a descriptor of its own and closing it would drop SQLite's
    shared lock (POSIX locks are per process), and another process could commit while the
    pages are visited: a shape searched in parallel took a sound study for damaged."""
    from mapsearch.studies import backends

    path = tmp_path / "s.sqlite3"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
    write = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0.2); "
        "c.execute('create table other (a)'); c.commit()"
    )
    writers: list[subprocess.CompletedProcess[str]] = []
    visit = backends._visit_every_page

    def visit_after_a_write(con, objects):  # type: ignore[no-untyped-def]
        cmd = [sys.executable, "-c", write, str(path)]
        writers.append(subprocess.run(cmd, capture_output=True, text=True, timeout=60))
        visit(con, objects)

    monkeypatch.setattr(backends, "_visit_every_page", visit_after_a_write)
    check_sqlite_file(path)
    assert len(writers) == 1
    assert writers[0].returncode != 0 and "locked" in writers[0].stderr, writers[0].stderr
