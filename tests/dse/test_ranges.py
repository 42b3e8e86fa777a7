from __future__ import annotations

import pytest

from mapsearch.dse.ranges import MAX_AXIS_VALUES, parse_axis
from mapsearch.errors import HardwareError, MapsearchError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256", (256,)),
        ("64:68", (64, 65, 66, 67, 68)),
        ("64:512:128", (64, 192, 320, 448)),
        ("64:4096:x2", (64, 128, 256, 512, 1024, 2048, 4096)),
        ("1:100:x10", (1, 10, 100)),
        ("3:30:x3", (3, 9, 27)),
        ("128,64,256", (64, 128, 256)),
        ("64,64:256:x2,96", (64, 96, 128, 256)),
        ("16K:64K:x2", (16384, 32768, 65536)),
        ("1M", (1048576,)),
        (" 8 , 16 ", (8, 16)),
    ],
)
def test_parse_axis(text: str, expected: tuple[int, ...]) -> None:
    assert parse_axis(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("64,", "empty"),
        ("abc", "not a whole number"),
        ("4096:64", "start must be <= stop"),
        ("64:128:0", "step"),
        ("64:128:x1", "factor"),
        ("64:128:x", "factor"),
        ("1:2:3:4", "not a value or a range"),
        ("0:8", ">= 1"),
        ("-4", "not a whole number"),
        ("2.5", "not a whole number"),
        (f"1:{MAX_AXIS_VALUES + 10}", "values"),
    ],
)
def test_parse_axis_errors(text: str, fragment: str) -> None:
    with pytest.raises(HardwareError) as e:
        parse_axis(text, option="--pes")
    msg = str(e.value)
    assert fragment in msg
    assert msg.startswith("--pes:")
    assert isinstance(e.value, MapsearchError) and isinstance(e.value, ValueError)


def test_minimum_is_enforced() -> None:
    assert parse_axis("0:2", minimum=0) == (0, 1, 2)
    with pytest.raises(HardwareError, match=">= 2"):
        parse_axis("1,4", minimum=2)
