"""Helpers of the robustness tests: the real ``mapsearch`` entry point in a subprocess, the
processes of a session, and what a study database holds (read with plain sqlite3)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

#: Flags that keep a tune run small and quick: MAESTRO semantics, random candidates.
FAST = [
    "--layer",
    "vgg16.conv5_1",
    "--semantics",
    "maestro",
    "--searcher",
    "random",
    "--batch-size",
    "16",
    "--no-progress",
    "--no-seed-classics",
]
POSTGRES_URL = os.environ.get("MAPSEARCH_TEST_POSTGRES", "")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mapsearch", *args]


def run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``mapsearch ARGS`` to completion (stdout, stderr and exit code)."""
    return subprocess.run(command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``mapsearch ARGS`` in a session of its own (its pid is the session id)."""
    return subprocess.Popen(
        command(*args),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(entry.name))
    return out


def numbers(db: Path) -> list[int]:
    """Trial numbers of every trial in an SQLite study file (all studies), sorted."""
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=60)
    try:
        return sorted(r[0] for r in con.execute("select number from trials"))
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        con.close()


def wait_for_trials(db: Path, n: int, proc: subprocess.Popen[str], limit_s: float = 120) -> None:
    t0 = time.time()
    while len(numbers(db)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < limit_s, "the tune process recorded too little"
        time.sleep(0.2)


def clean_exit(result: subprocess.CompletedProcess[str] | tuple[str, str]) -> bool:
    """No traceback and no SQL in what a process wrote on stderr."""
    err = result[1] if isinstance(result, tuple) else result.stderr
    return "Traceback" not in err and "[SQL" not in err and "sqlalche.me" not in err


def main(*args: str) -> tuple[int, str, str]:
    """``mapsearch ARGS`` through the real entry point, in this process (fast): exit code,
    stdout and stderr."""
    import contextlib
    import io

    from mapsearch.cli.main import run as entry_point

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["mapsearch", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                entry_point()
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def one_line_error(code: int, err: str) -> bool:
    """Exit 2 with a single ``error: ...`` line (no traceback, no usage box)."""
    return code == 2 and err.startswith("error: ") and err.strip().count("\n") == 0
