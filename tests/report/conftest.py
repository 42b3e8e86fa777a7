"""A small real sweep (VGG16 CONV5_1 and FC8 under KC-P) for the report tests."""

from __future__ import annotations

import pytest

from mapsearch.dse import FixedDataflow, build_space, run_dse, select_layers, sweep_budget
from mapsearch.dse.sweep import SweepResult


@pytest.fixture(scope="session")
def sweep_result() -> SweepResult:
    space = build_space(pes="64:256:x2", noc_bw="16,64", l1="8:64:x2", l2="1K:64K:x4")
    return run_dse(
        space,
        select_layers("vgg16", ["conv5_1", "fc8"]),
        FixedDataflow("kcp"),
        objectives=("throughput", "energy", "area"),
        constraints=sweep_budget(area_mm2=40.0),
    )


@pytest.fixture(scope="session")
def empty_sweep() -> SweepResult:
    """A sweep without a valid design (every design over the power budget)."""
    space = build_space(pes="64", noc_bw="16", l1="64", l2="64K")
    return run_dse(
        space,
        select_layers("vgg16", ["fc8"]),
        FixedDataflow("kcp"),
        constraints=sweep_budget(power_mw=1.0),
    )
