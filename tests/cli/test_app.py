"""The application lists its commands in one place, and each is reachable by its name."""

from __future__ import annotations

from typer.testing import CliRunner

from mapsearch.cli.app import COMMANDS, app, build_app


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
