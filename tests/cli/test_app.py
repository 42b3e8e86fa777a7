"""The application lists its commands in one place, and each is reachable by its name."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from mapsearch.cli.app import COMMANDS, app, app_for, build_app, command


def test_every_command_is_registered_once_by_its_name() -> None:
    names = [name for name, _ in COMMANDS]
    assert [c.name for c in app.registered_commands] == names
    assert len(set(names)) == len(names)
    assert [c.name for c in build_app().registered_commands] == names  # nothing kept globally


def test_help_names_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name, _ in COMMANDS:
        assert name in result.output


def test_an_unknown_format_is_a_one_line_error_that_lists_the_formats() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mapsearch", "tune", "--layer", "conv3_1", "--format", "xml"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: unknown format 'xml'; choose from table, json"


def test_every_command_is_thin() -> None:
    """Each command parses its flags, calls one function and renders: at most 40 lines
    after its signature and help text (library code belongs in ``mapsearch.service``)."""
    for name, _ in COMMANDS:
        (node,) = ast.parse(textwrap.dedent(inspect.getsource(command(name)))).body
        assert isinstance(node, ast.FunctionDef)
        body = node.body[1:] if ast.get_docstring(node) else node.body
        assert node.end_lineno is not None
        lines = node.end_lineno - body[0].lineno + 1
        assert lines <= 40, f"{name}: {lines} lines"


def test_a_command_line_builds_only_the_command_it_names() -> None:
    assert [c.name for c in app_for(["tune", "--layer", "conv3_1"]).registered_commands] == ["tune"]
    everything = [name for name, _ in COMMANDS]
    for args in ([], ["--help"], ["--version"], ["tnue"]):
        assert [c.name for c in app_for(args).registered_commands] == everything


def test_a_mistyped_command_is_a_usage_error_that_suggests_the_right_one() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mapsearch", "tnue"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "tune" in proc.stderr


def test_tune_does_not_import_what_other_commands_need() -> None:
    """Start-up is part of every short search: ``tune`` loads neither the hardware sweep
    (``mapsearch.dse``) nor plotting nor joblib."""
    code = (
        "import sys; from mapsearch.cli.app import app_for; app_for(['tune']); "
        "print(sorted(m for m in ('mapsearch.dse', 'matplotlib', 'joblib') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_tune_loads_no_compiled_model_before_its_first_evaluation() -> None:
    """``tune`` starts by parsing its flags (a usage error, ``--help``) without numba, the
    bounds or the exact model; it loads them when it scores (a maestro run scores its best
    point under exact at the end) and certifies, and never the loop-nest report."""
    wanted = (
        "numba",
        "mapsearch.bounds.subspace",
        "mapsearch.costmodel.exact",
        "mapsearch.report.loopnest",
    )
    code = (
        "import sys; from mapsearch.cli.app import app_for; app_for(['tune']); "
        f"print(sorted(m for m in {wanted!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
