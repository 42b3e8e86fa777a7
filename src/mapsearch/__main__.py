"""``python -m mapsearch`` runs the command line."""

from __future__ import annotations

from mapsearch.cli.main import run

run()
