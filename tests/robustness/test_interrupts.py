"""Killed and terminated parents: ``--jobs 2`` workers end with their parent, SIGTERM stops a
run as Ctrl-C does (exit 130, everything kept), and nothing already stored is lost.

Issue 11 measured on the code before: after ``kill -9`` of the parent, its workers kept
writing (from 4,229 to 12,000 trials) and four processes were alive minutes later.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from robust_helpers import FAST, numbers, session_pids, start, wait_for_trials

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and /proc")

#: Seconds the workers (and their helper processes) may take to go after their parent.
GRACE_S = 5.0


def _gone_within(sid: int, limit_s: float) -> list[int]:
    t0 = time.time()
    while (left := session_pids(sid)) and time.time() - t0 < limit_s:
        time.sleep(0.1)
    return left


def test_kill_9_of_a_jobs_2_parent_leaves_no_process(tmp_path: Path) -> None:
    db = tmp_path / "studies" / "k.sqlite3"
    proc = start("tune", *FAST, "--jobs", "2", "--trials", "1000000", "--study", "k", cwd=tmp_path)
    wait_for_trials(db, 48, proc)
    assert len(session_pids(proc.pid)) > 1  # the workers are running
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone_within(proc.pid, GRACE_S) == []
    kept = numbers(db)
    assert kept == list(range(len(kept))) and len(kept) >= 48
    time.sleep(0.5)
    assert numbers(db) == kept  # nobody writes any more


def test_sigterm_of_a_jobs_2_parent_stops_cleanly_with_exit_130(tmp_path: Path) -> None:
    db = tmp_path / "studies" / "t.sqlite3"
    proc = start("tune", *FAST, "--jobs", "2", "--trials", "1000000", "--study", "t", cwd=tmp_path)
    wait_for_trials(db, 48, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in out and "resume" in out
    assert "Traceback" not in err
    assert _gone_within(proc.pid, GRACE_S) == []
    kept = numbers(db)
    assert kept == list(range(len(kept))) and len(kept) >= 48
