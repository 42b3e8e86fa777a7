"""An SQLite study in memory (``sqlite://``, ``sqlite:///:memory:``): one process's study,
kept while it runs; workers in other processes are refused with a clear message."""

from __future__ import annotations

import pytest
from robust_helpers import FAST, clean_exit, main, one_line_error, run

from mapsearch.studies.locations import in_memory


@pytest.mark.parametrize(
    ("url", "memory"),
    [
        ("sqlite://", True),
        ("sqlite:///:memory:", True),
        ("sqlite:///:memory:?timeout=5", True),
        ("sqlite:///studies/a.sqlite3", False),
        ("sqlite:////tmp/memory.sqlite3", False),
        ("postgresql://u@h/db", False),
    ],
)
def test_in_memory_urls(url, memory):
    assert in_memory(url) is memory


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_tune_in_memory_stores_its_trials_and_writes_no_file(tmp_path, url):
    done = run("tune", *FAST, "--trials", "48", "--storage", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert clean_exit(done)
    assert "48 evaluations in the study, 48 new" in done.stdout  # read back from the study
    assert "best mapping" in done.stdout
    assert not any(tmp_path.rglob("*.sqlite3"))


def test_workers_in_other_processes_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = main("tune", *FAST, "--trials", "48", "--storage", "sqlite://", "--jobs", "2")
    assert one_line_error(code, err)
    assert "cannot share: run with --jobs 1" in err
