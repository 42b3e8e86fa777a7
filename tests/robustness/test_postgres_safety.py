"""PostgreSQL storages: a server that never answers fails in seconds, and a password in the
URL is never printed (errors, ``tune`` output, ``studies``).

Issue 11 measured on the code before: a server that accepts the connection but never
answers took 131 s to fail; the password was echoed in errors and in ``tune`` and
``studies`` output.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from robust_helpers import FAST, POSTGRES_URL, main

from mapsearch.errors import StudyError
from mapsearch.studies import backends
from mapsearch.studies.backends import open_storage
from mapsearch.studies.locations import display_url

SECRET = "s3cret-Pa55"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_never_answers_fails_in_seconds(silent_server, monkeypatch):
    assert backends.PG_CONNECT_TIMEOUT_S <= 10
    monkeypatch.setattr(backends, "PG_CONNECT_TIMEOUT_S", 1)
    url = f"postgresql://user:{SECRET}@127.0.0.1:{silent_server}/db"
    t0 = time.time()
    with pytest.raises(StudyError) as info:
        open_storage(url)
    assert time.time() - t0 < 10
    assert SECRET not in str(info.value) and "***" in str(info.value)


def test_errors_never_show_the_password(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://user:{SECRET}@127.0.0.1:{port}/db"
    monkeypatch.chdir(tmp_path)
    for args in (
        ["tune", *FAST, "--trials", "8", "--storage", url],
        ["show", "x", "--storage", url],
        ["studies", "--storage", url],  # lists the storage as unreadable, exit 0
    ):
        code, out, err = main(*args)
        assert code in (0, 2) and SECRET not in out + err, (args, out, err)
        assert "unreadable" in out if args[0] == "studies" else code == 2
    assert display_url(url) == f"postgresql://user:***@127.0.0.1:{port}/db"


@pytest.mark.skipif(not POSTGRES_URL, reason="set MAPSEARCH_TEST_POSTGRES (.ci/run does)")
def test_tune_and_studies_output_mask_the_password(tmp_path, monkeypatch):
    """The test server trusts local connections, so any password is accepted: put one in."""
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL).set(password=SECRET).render_as_string(hide_password=False)
    name = f"pw-{uuid.uuid4().hex[:10]}"
    monkeypatch.chdir(tmp_path)
    code, out, err = main(
        "tune", *FAST, "--trials", "32", "--storage", url, "--study", name, "--format", "json"
    )
    assert code == 0, err
    assert SECRET not in out + err and json.loads(out)["storage"] == display_url(url)
    for args in (["studies", "--storage", url], ["show", name, "--storage", url]):
        code, out, err = main(*args)
        assert code == 0 and SECRET not in out + err, (args, err)
    assert not (tmp_path / "studies").exists()
