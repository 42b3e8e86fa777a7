"""Fuzzing the MAESTRO file readers: whatever the bytes, a mapping/model file or a hardware
file gives a result or a ``MapsearchError`` (a one-line ``file:line`` error in the CLI),
never another exception.

Three sources of input: raw bytes; soups of MAESTRO's own tokens (keywords, dimensions,
numbers with signs, past int64, separators); and MAESTRO's shipped files with pieces
replaced, inserted or cut. ``MAPSEARCH_FUZZ_EXAMPLES`` sets the examples per test (200 by
default; CI keeps the default, run with e.g. 20000 to fuzz for longer).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapsearch.directives.maestro_file import (
    parse_hardware_text,
    parse_mapping_text,
    read_hardware_file,
    read_mapping_file,
)
from mapsearch.errors import MapsearchError

DATA = Path(__file__).resolve().parents[1] / "data" / "maestro"
SEEDS = [
    p.read_text()
    for p in sorted((DATA / "examples").rglob("*.m")) + sorted((DATA / "inputs").rglob("*.m"))
][:40]
FUZZ = settings(
    max_examples=int(os.environ.get("MAPSEARCH_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_WORDS = [
    "Network", "Layer", "Type", "Stride", "Dimensions", "Dataflow", "Constant", "Accelerator",
    "TemporalMap", "SpatialMap", "Cluster", "Sz", "CONV", "DSCONV", "NGCONV", "TRCONV", "GEMM",
    "FC", "LSTM", "P", "L", *"GNKCRSYXM", "Y'", "X'", "num_pes", "l1_size_cstr", "l2_size_cstr",
    "noc_bw_cstr", "offchip_bw_cstr", "NoC_NumHops", "0", "1", "3", "64", "-1", "-3", "2147483647",
    "2147483648", "99999999999999999999", "9" * 5000, "1e6", "0x10",
]  # fmt: skip
_PUNCT = ["{", "}", "(", ")", ",", ";", ":", "-", "->", "//", " ", "\t", "\n", "\r\n", "\x00"]
token_soup = st.lists(st.sampled_from(_WORDS + _PUNCT), max_size=300).map(" ".join)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A shipped file with up to 8 edits: a slice replaced, cut, or text inserted."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        piece = draw(st.one_of(st.sampled_from(_WORDS + _PUNCT), st.text(max_size=12)))
        text = text[:i] + piece + text[j:] if draw(st.booleans()) else text[:i] + text[j:]
    return text


def parses_or_refuses(parse, *args) -> None:
    try:
        parse(*args)
    except MapsearchError as e:
        assert str(e).strip(), "an error must say something"


def through_a_file(read, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.m"
        path.write_bytes(data)
        parses_or_refuses(read, path)


@FUZZ
@given(st.binary(max_size=2000))
def test_mapping_files_of_any_bytes(data: bytes) -> None:
    through_a_file(read_mapping_file, data)


@FUZZ
@given(st.binary(max_size=600))
def test_hardware_files_of_any_bytes(data: bytes) -> None:
    through_a_file(read_hardware_file, data)


@FUZZ
@given(st.one_of(token_soup, mutated(), st.text(max_size=500)))
def test_mapping_text_of_maestro_tokens_and_edited_files(text: str) -> None:
    parses_or_refuses(parse_mapping_text, text)


@FUZZ
@given(st.one_of(token_soup, mutated(), st.text(max_size=300)))
def test_hardware_text_of_maestro_tokens_and_edited_files(text: str) -> None:
    parses_or_refuses(parse_hardware_text, text)


def test_the_seeds_are_the_shipped_files() -> None:
    assert len(SEEDS) >= 10 and any("Dataflow" in s for s in SEEDS)
