"""Import every command module so that each registers its commands on ``app``.

One import per line, one module per command family; add yours here.
"""

from __future__ import annotations

import mapsearch.cli.layers  # noqa: F401
import mapsearch.cli.dse  # noqa: F401
import mapsearch.cli.mappings  # noqa: F401
import mapsearch.cli.tune  # noqa: F401
import mapsearch.cli.studies  # noqa: F401
import mapsearch.cli.evaluate  # noqa: F401
