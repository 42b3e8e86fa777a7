"""JSON Schema files of mapsearch's JSON outputs (``docs/formats.md``), and their version.

Every JSON output carries ``schema_version``. Version 1 is what came before the field:
``export --format json`` wrote a layer's ``dims`` as ``[[dim, size], ...]``; version 2 writes
``dims`` as ``{dim: size}`` everywhere, as the tuning table always did.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_VERSION = 2

#: Output -> schema file (in this package).
SCHEMAS = {
    "tune": "tune.schema.json",
    "tune_model": "tune_model.schema.json",
    "tuning_table": "tuning_table.schema.json",
    "export": "export.schema.json",
    "point": "point.schema.json",
    "evaluate": "evaluate.schema.json",
    "layers": "layers.schema.json",
}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of output ``name`` (a key of ``SCHEMAS``)."""
    text = resources.files(__package__).joinpath(SCHEMAS[name]).read_text(encoding="utf-8")
    return dict(json.loads(text))
