"""Import every command module so that each registers its commands on ``app``.

One import per line, one module per command family; add yours here.
"""

from __future__ import annotations
