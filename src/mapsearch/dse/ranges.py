"""Sweep axes written as text: single values, lists, arithmetic and geometric ranges.

Syntax (one axis, e.g. ``--pes``), items separated by commas and merged:

- ``256``: one value;
- ``64:512``: every integer from 64 to 512 (stop included);
- ``64:512:64``: 64, 128, ..., 512 (arithmetic step; stop included when reached);
- ``64:4096:x2``: 64, 128, ..., 4096 (geometric: multiply by the integer factor after ``x``);
- ``64,96,128:512:x2``: any mix of the above.

Numbers may end in ``K`` (x1024) or ``M`` (x1024^2), e.g. ``16K:2M:x2``. The result is
sorted ascending without duplicates, so "the smallest provisioned size that fits" is simply
the first one that does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mapsearch.errors import HardwareError

#: Longest axis a range may expand to (its values are held in memory).
MAX_AXIS_VALUES = 1_000_000

_SUFFIXES = {"K": 1024, "M": 1024**2}

IntArray = npt.NDArray[np.int64]


def _number(token: str, *, option: str, text: str) -> int:
    t = token.strip()
    scale = 1
    if t[-1:].upper() in _SUFFIXES:
        scale = _SUFFIXES[t[-1].upper()]
        t = t[:-1]
    if not t.isdigit():
        raise HardwareError(
            f"{option}: {token.strip()!r} in {text!r} is not a whole number; "
            "write e.g. 64, 16K or 2M"
        )
    return int(t) * scale


def _item(item: str, *, option: str, text: str, minimum: int) -> list[int]:
    parts = item.split(":")
    if len(parts) == 1:
        values = [_number(parts[0], option=option, text=text)]
    elif len(parts) in (2, 3):
        start = _number(parts[0], option=option, text=text)
        stop = _number(parts[1], option=option, text=text)
        if start > stop:
            raise HardwareError(
                f"{option}: range {item!r} is empty: start must be <= stop, got "
                f"start={start}, stop={stop}; write {parts[1]}:{parts[0]}"
                + (f":{parts[2]}" if len(parts) == 3 else "")
            )
        step_text = parts[2].strip() if len(parts) == 3 else "1"
        if step_text[:1].lower() == "x":
            factor = _number(step_text[1:], option=option, text=text) if step_text[1:] else 0
            if factor < 2:
                raise HardwareError(
                    f"{option}: geometric factor in {item!r} must be an integer >= 2, "
                    f"got {step_text!r}; write e.g. {parts[0]}:{parts[1]}:x2"
                )
            if start < 1:
                raise HardwareError(
                    f"{option}: a geometric range must start at >= 1, got {start} in {item!r}"
                )
            values = []
            v = start
            while v <= stop:
                values.append(v)
                v *= factor
        else:
            step = _number(step_text, option=option, text=text)
            if step < 1:
                raise HardwareError(
                    f"{option}: step in {item!r} must be >= 1, got {step}; "
                    f"write e.g. {parts[0]}:{parts[1]}:1"
                )
            count = (stop - start) // step + 1
            if count > MAX_AXIS_VALUES:
                raise HardwareError(
                    f"{option}: range {item!r} has {count:,} values, more than "
                    f"{MAX_AXIS_VALUES:,}; use a larger step or a geometric range (x2)"
                )
            values = list(range(start, stop + 1, step))
    else:
        raise HardwareError(
            f"{option}: {item!r} in {text!r} is not a value or a range; "
            "write N, start:stop, start:stop:step or start:stop:xF"
        )
    low = [v for v in values if v < minimum]
    if low:
        raise HardwareError(f"{option}: values must be >= {minimum}, got {low[0]} in {item!r}")
    return values


def parse_axis(text: str, *, option: str = "axis", minimum: int = 1) -> tuple[int, ...]:
    """The sorted distinct integers that ``text`` describes (syntax in the module docstring).

    ``option`` names the flag in error messages; every value must be ``>= minimum``.
    """
    items = [s for s in text.replace(" ", "").split(",")]
    if not text.strip() or any(not s for s in items):
        raise HardwareError(
            f"{option}: empty value or list item in {text!r}; write e.g. 64,128 or 64:4096:x2"
        )
    values: set[int] = set()
    for item in items:
        values.update(_item(item, option=option, text=text, minimum=minimum))
        if len(values) > MAX_AXIS_VALUES:
            raise HardwareError(
                f"{option}: {text!r} has more than {MAX_AXIS_VALUES:,} values; "
                "use a larger step or a geometric range (x2)"
            )
    return tuple(sorted(values))
