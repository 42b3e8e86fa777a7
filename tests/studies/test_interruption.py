"""Ctrl-C stops a run cleanly wherever it lands: inside a compiled (numba) call, which
reports it as a ``SystemError`` caused by it, and before any command runs (while the
modules load), where the CLI says ``interrupted`` and exits 130 instead of a traceback."""

from __future__ import annotations

import contextlib
import signal
import sys

import pytest

import mapsearch.cli.app as cli_app
import mapsearch.cli.main as cli_main
from mapsearch.errors import INTERRUPTED, INTERRUPTED_EXIT, interruption
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig
from mapsearch.studies.tune import tune

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(name="hw16", num_pes=16, l1_size_words=256)


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_python():
    """Ctrl-C as in a terminal: a shell starts a background job (``cmd &``) with SIGINT
    ignored, and the CLI then leaves it so, which would make these tests depend on how
    pytest was started."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _compiled_interrupt() -> SystemError:
    """What a numba dispatcher raises when Ctrl-C arrives while it loads a cached kernel."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as cause:
            raise SystemError("returned a result with an exception set") from cause
    except SystemError as e:
        return e


def test_only_an_interrupt_is_an_interruption():
    assert interruption(KeyboardInterrupt())
    assert interruption(_compiled_interrupt())
    assert not interruption(SystemError("a bug"))
    assert not interruption(ValueError("bad input"))


def test_an_interrupt_inside_a_compiled_call_keeps_what_was_scored(tmp_path, fail_third_batch):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    problem = Problem.create(LAYER, HW, ["edp"], options=SpaceOptions(levels=(1, 2)))
    fail_third_batch(_compiled_interrupt())
    cut = tune(problem, RunConfig(n_trials=300, batch_size=16), study="cut", storage=url)
    assert cut.run.interrupted and 0 < cut.run.n_evaluations < 300
    assert any(n.startswith("interrupted:") for n in cut.notes)


def test_another_system_error_is_raised(tmp_path, fail_third_batch):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    problem = Problem.create(LAYER, HW, ["edp"], options=SpaceOptions(levels=(1, 2)))
    fail_third_batch(SystemError("a bug"))
    with pytest.raises(SystemError, match="a bug"):
        tune(problem, RunConfig(n_trials=300, batch_size=16), study="bug", storage=url)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), _compiled_interrupt()])
def test_the_cli_exits_130_when_interrupted_before_a_command_runs(monkeypatch, capsys, error):
    def loading(argv):  # type: ignore[no-untyped-def]
        raise error  # as if Ctrl-C came while the command's modules were imported

    monkeypatch.setattr(cli_app, "app_for", loading)
    with pytest.raises(SystemExit) as stop:
        cli_main.run()
    assert stop.value.code == INTERRUPTED_EXIT
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_an_error_after_ctrl_c_is_an_interruption(monkeypatch, capsys):
    """numba interrupted while it loads its registries swallows the KeyboardInterrupt and
    fails later with a KeyError ("duplicate registration"): after a Ctrl-C, that is an
    interruption too; without one, the same error is raised."""

    def loading(argv):  # type: ignore[no-untyped-def]
        if signal.getsignal(signal.SIGINT) is cli_main._interrupt:
            with contextlib.suppress(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)  # Ctrl-C, swallowed by the library
        raise KeyError("duplicate registration")

    monkeypatch.setattr(cli_app, "app_for", loading)
    with pytest.raises(SystemExit) as stop:
        cli_main.run()
    assert stop.value.code == INTERRUPTED_EXIT and "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert not INTERRUPTED.is_set()  # cleared when the CLI ends
    monkeypatch.setattr(signal, "raise_signal", lambda signum: None)  # no Ctrl-C this time
    with pytest.raises(KeyError, match="duplicate registration"):
        cli_main.run()


def test_a_ctrl_c_a_finalizer_swallowed_stops_the_run_at_its_next_batch(tmp_path, monkeypatch):
    """Python ignores a ``KeyboardInterrupt`` raised in ``__del__`` (seen in llvmlite's):
    the CLI's handler records it, the run stops after the batch under way, keeping it, and
    the ignored exception is not printed."""
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    problem = Problem.create(LAYER, HW, ["edp"], options=SpaceOptions(levels=(1, 2)))
    calls = []
    evaluate = Problem.evaluate

    def swallowed(self, genotypes):  # type: ignore[no-untyped-def]
        calls.append(len(genotypes))
        if len(calls) == 3:
            INTERRUPTED.set()  # what the handler did before the finalizer swallowed it
        return evaluate(self, genotypes)

    monkeypatch.setattr(Problem, "evaluate", swallowed)
    try:
        cut = tune(problem, RunConfig(n_trials=300, batch_size=16), study="cut", storage=url)
    finally:
        INTERRUPTED.clear()
    assert cut.run.interrupted and 0 < cut.run.n_evaluations < 300 and len(calls) == 3
    assert any(n.startswith("interrupted:") for n in cut.notes)


def test_a_ctrl_c_in_a_finalizer_is_not_printed(capsys):
    class Finalized:
        def __del__(self):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt

    hook = sys.unraisablehook
    sys.unraisablehook = cli_main._unraisable
    try:
        Finalized()  # collected at once: its KeyboardInterrupt is unraisable

        class Other:
            def __del__(self):  # type: ignore[no-untyped-def]
                raise ValueError("a real bug in a finalizer")

        Other()
    finally:
        sys.unraisablehook = hook
    err = capsys.readouterr().err
    assert "KeyboardInterrupt" not in err and "a real bug in a finalizer" in err
