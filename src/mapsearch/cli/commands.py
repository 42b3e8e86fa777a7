"""Import every command module so that each registers its commands on ``app``.

One import per line, one module per command family; add yours here.
"""

from __future__ import annotations

import mapsearch.cli.dse
import mapsearch.cli.evaluate
import mapsearch.cli.layers
import mapsearch.cli.mappings
import mapsearch.cli.studies
import mapsearch.cli.tune  # noqa: F401
