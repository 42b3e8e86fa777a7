"""Package attributes imported on first use, so that importing a package (``mapsearch``,
``mapsearch.service``, ...) imports none of its heavy modules, and a command imports only
what it uses."""

from __future__ import annotations

import importlib
import sys

# NOTE: not ``typing.TYPE_CHECKING``: ``import mapsearch`` imports this module, and importing
# typing would double its import time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def lazy_attributes(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: attribute ``name`` is taken from
    module ``exports[name]`` when first asked for, then kept in the package."""

    def get(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return get, names
