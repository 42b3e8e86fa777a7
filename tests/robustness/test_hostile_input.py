"""Hostile input, each case from issue 11: a one-line ``error: ...``, exit 2, nothing written
and nothing lost, and no hang. Before, each of these gave a traceback, hung, ran on with a
wrong number, or wrote where it should not.

The commands run through the real entry point in this process (``robust_helpers.main``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from robust_helpers import FAST, main, one_line_error

from mapsearch.errors import ConfigError, HardwareError, LayerError, MapsearchError
from mapsearch.hardware import EnergyTable, Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints
from mapsearch.spaces import HardwareSpace, SpaceOptions
from mapsearch.spaces.genes import divisors
from mapsearch.studies import RunConfig
from mapsearch.studies.locations import check_study_name, derived_study_name

TUNE = ["tune", *FAST, "--trials", "16"]
LAYER = """Network n {{
Layer L1 {{
Type: CONV
Dimensions {{ {dims} }}
Dataflow {{ {dataflow} }}
}}
}}
"""
DIMS = "K: 8, C: 4, R: 3, S: 3, Y: 8, X: 8"
DATAFLOW = "TemporalMap(1,1) K; SpatialMap(1,1) C; TemporalMap(3,1) Y; TemporalMap(3,1) X;"
HW = "num_pes: {pes}\nl1_size_cstr: 100\nl2_size_cstr: 3000\nnoc_bw_cstr: 1000\noffchip_bw_cstr: 50\n"


def refused(args: list[str], fragment: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mapsearch ARGS`` in ``cwd`` exits 2 with one error line holding ``fragment``, fast,
    and writes no study."""
    monkeypatch.chdir(cwd)
    t0 = time.time()
    code, _, err = main(*args)
    assert one_line_error(code, err), (code, err)
    assert fragment in err, err
    assert time.time() - t0 < 30  # no hang
    assert not (cwd / "studies").exists()


# --- flags -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--pes", "9223372036854775807"], "num_pes must be <= 16,777,216"),  # hung in divisors
        (["--pes", "-3"], "num_pes must be >= 1"),
        (["--timeout", "nan"], "timeout_s must be a finite number > 0, got nan"),  # ran forever
        (["--timeout", "inf"], "timeout_s must be a finite number > 0, got inf"),
        (["--co-design", "--area-budget", "nan"], "area_budget_um2=nan"),  # switched it off
        (["--max-noc-bw", "nan"], "max_noc_bw_words_per_cycle=nan"),
        (["--batch-size", "0"], "batch_size must be from 1"),  # traceback
        (["--seed", "-1"], "seed must be >= 0, got -1"),  # traceback after 5 trials
        (["--jobs", "0"], "jobs must be from 1"),
        (["--trials", "0"], "n_trials must be from 1"),
        (["--noc-bw", "0"], "noc_bw_words_per_cycle must be >= 1"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_out_of_range_flags_are_refused(flags, fragment, tmp_path, monkeypatch):
    refused([*TUNE, *flags], fragment, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    "name",
    ["a/b", "../escaped", "/abs/path", "x?mode=ro", "x" * 300, "with space", ".."],
    ids=["slash", "dotdot", "absolute", "query", "300-chars", "space", "dots"],
)
def test_study_names_are_names(name, tmp_path, monkeypatch):
    """A study name never reaches outside studies/ nor leaves a stray file (before: writes
    anywhere, ``x?mode=ro`` left a file, ``/`` with a Pareto study and 300 characters gave
    tracebacks)."""
    work = tmp_path / "work"
    work.mkdir()
    refused(
        [*TUNE, "-o", "latency", "-o", "energy", "--study", name], "study name", work, monkeypatch
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["work"]


def test_storage_naming_a_folder_or_an_ordinary_file(tmp_path, monkeypatch):
    (tmp_path / "folder").mkdir()
    refused(
        [*TUNE, "--storage", "sqlite:///folder"], "folder is a directory", tmp_path, monkeypatch
    )
    plain = tmp_path / "notes.txt"
    plain.write_text("my notes\n")
    refused(
        [*TUNE, "--storage", "sqlite:///notes.txt"], "not an SQLite database", tmp_path, monkeypatch
    )
    assert plain.read_text() == "my notes\n"


# --- files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dims", "dataflow", "fragment"),
    [
        (DIMS.replace("K: 8", "K: -3"), DATAFLOW, "value of K must be >= 1, got -3"),  # read 3
        (DIMS, DATAFLOW.replace("TemporalMap(1,1) K", "TemporalMap(-1,1) K"), "got -1"),
        (DIMS.replace("K: 8", "K: 99999999999999999999"), DATAFLOW, "must be <= 2,147,483,647"),
        (DIMS.replace("X: 8", "X: 1000000000000"), DATAFLOW, "must be <= 2,147,483,647"),  # 7 TiB
        (
            DIMS.replace("K: 8, C: 4", "K: 1000000000, C: 1000000000"),  # negative MACs
            DATAFLOW,
            "exceeds 70,368,744,177,664 (2**46)",
        ),
        (DIMS, DATAFLOW.replace("SpatialMap(1,1) C", "SpatialMap(1 , - 1) C"), "got -1"),
    ],
    ids=["K-3", "TemporalMap-1", "past-int64", "X1e12", "MACs-overflow", "spaced-minus"],
)
def test_mapping_files_with_bad_numbers(dims, dataflow, fragment, tmp_path, monkeypatch):
    path = tmp_path / "m.m"
    path.write_text(LAYER.format(dims=dims, dataflow=dataflow))
    refused(["evaluate", "--mapping", str(path)], fragment, tmp_path, monkeypatch)


def test_an_endless_file_is_read_with_a_cap(tmp_path, monkeypatch):
    refused(["evaluate", "--mapping", "/dev/zero"], "larger than 16 MiB", tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (HW.format(pes=-3), "num_pes must be an integer >= 1, got '-3'"),  # read as 3 PEs
        ("num_pes: 256\nl1_size_cstr: 100\n", "missing l2_size_cstr, noc_bw_cstr, offchip_bw_cstr"),
        ("", "missing num_pes, l1_size_cstr"),  # read as 1 PE, no limits
        (HW.format(pes=2**40), "num_pes must be an integer <= 16,777,216"),
        (HW.format(pes=256) + "NoC_NumHops: -1\n", "NoC_NumHops must be an integer >= 0"),
    ],
    ids=["minus", "truncated", "empty", "huge", "negative-hops"],
)
def test_hardware_files_with_bad_or_missing_numbers(text, fragment, tmp_path, monkeypatch):
    path = tmp_path / "hw.m"
    path.write_text(text)
    args = ["evaluate", "--layer", "conv3_1", "--dataflow", "kcp", "--hw", str(path)]
    refused(args, fragment, tmp_path, monkeypatch)


# --- the Python API --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda: Layer.conv("x", K=-3, C=4, R=3, S=3, Y=8, X=8),
        lambda: Layer.conv("x", K=3.5, C=4, R=3, S=3, Y=8, X=8),
        lambda: Layer.conv("x", K=True, C=4, R=3, S=3, Y=8, X=8),
        lambda: Layer.conv("x", K=10**9, C=10**9, R=1, S=1, Y=8, X=8),
        lambda: Layer.gemm("x", M=2**31, N=2, K=2),
        lambda: Layer.conv("x", K=4, C=4, R=3, S=3, Y=8, X=8, stride=0),
        lambda: Hardware(num_pes=2**63 - 1),
        lambda: Hardware(num_pes=4, noc_latency_cycles=-1),
        lambda: Hardware(num_pes=4, l2_size_words=2**40),
        lambda: Hardware(num_pes=4.5),
        lambda: EnergyTable(mac=math.nan),
        lambda: EnergyTable(l2_read=math.inf),
        lambda: Constraints(area_budget_um2=math.nan),
        lambda: Constraints(max_pes=0),
        lambda: RunConfig(timeout_s=math.nan, n_trials=None),
        lambda: RunConfig(timeout_s=math.inf, n_trials=None),
        lambda: RunConfig(seed=-1),
        lambda: RunConfig(batch_size=0),
        lambda: RunConfig(n_trials=2**40),
        lambda: SpaceOptions(levels=(1, 9)),
        lambda: HardwareSpace.around(Hardware(num_pes=4), [("num_pes", (2**30,))]),
    ],
)
def test_the_python_api_checks_every_number(build):
    t0 = time.time()
    with pytest.raises((LayerError, HardwareError, ConfigError)) as info:
        build()
    assert isinstance(info.value, MapsearchError) and isinstance(info.value, ValueError)
    assert time.time() - t0 < 1


def test_divisors_of_a_huge_number_are_refused_at_once():
    t0 = time.time()
    with pytest.raises(ValueError, match="divisors of"):
        divisors(2**63 - 1)
    assert divisors(2**31 - 1) == (1, 2**31 - 1)  # a prime: trial division to its root
    assert time.time() - t0 < 1


def test_tiles_any_on_a_huge_dimension_is_refused(tmp_path, monkeypatch):
    from mapsearch.problem import Problem

    layer = Layer.gemm("g", M=2**20, N=4, K=4)
    with pytest.raises(ConfigError, match="too many tile sizes"):
        Problem.create(layer, Hardware(num_pes=16), ["edp"], options=SpaceOptions(tiles="any"))


def test_names_made_from_layer_names_are_names():
    """Per-layer studies of ``tune --model M --study S`` and default names from long or odd
    layer names (e.g. ONNX's ``/conv1/Conv``) become names instead of failing."""
    long = "L" * 300
    names = [derived_study_name(t) for t in ("s-/conv1/Conv", long + "1", long + "2", "..")]
    assert names[0] == "s-_conv1_Conv"
    assert all(check_study_name(n) == n for n in names)
    assert names[1] != names[2] and len(names[1]) == 200
