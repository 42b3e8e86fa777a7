"""Fixtures shared by every test folder: the X-P and KC-P mappings written out by hand.

They are MAESTRO's own files for VGG16 CONV3_1 (``tests/data/maestro/inputs/mapping/
VGG16__CONV3_1__X_P_xp_ws.m`` and ``..._KC_P_kcp_ws.m``), directive by directive, so that
tests of the cost models, the validator and the search spaces do not lean on
``mapsearch.directives.dataflows``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap


@pytest.fixture(scope="session")
def xp() -> Callable[..., Mapping]:
    """``xp(**override)``: X-P (one level, X spatial, 3x3 filter windows); a keyword
    ``D=directive`` replaces the directive of dimension D (to break one rule at a time)."""

    def build(**override: TemporalMap | SpatialMap) -> Mapping:
        directives: dict[str, TemporalMap | SpatialMap] = {
            "K": TemporalMap(1, 1, "K"),
            "C": TemporalMap(1, 1, "C"),
            "Y": TemporalMap(3, 1, "Y"),
            "X": SpatialMap(3, 1, "X"),
            "R": TemporalMap(3, 3, "R"),
            "S": TemporalMap(3, 3, "S"),
        }
        directives.update(override)
        return Mapping(directives=tuple(directives.values()), name="X-P")

    return build


@pytest.fixture(scope="session")
def kcp() -> Callable[..., Mapping]:
    """``kcp(c_tile=64, cluster=64)``: NVDLA-like KC-P, two levels (K across clusters, C
    across the PEs of a cluster), 3x3 filter windows."""

    def build(c_tile: int = 64, cluster: int = 64) -> Mapping:
        return Mapping(
            directives=(
                SpatialMap(1, 1, "K"),
                TemporalMap(c_tile, c_tile, "C"),
                TemporalMap(3, 3, "R"),
                TemporalMap(3, 3, "S"),
                TemporalMap(3, 1, "Y"),
                TemporalMap(3, 1, "X"),
                Cluster(cluster),
                SpatialMap(1, 1, "C"),
                TemporalMap(3, 1, "Y"),
                TemporalMap(3, 1, "X"),
                TemporalMap(3, 3, "R"),
                TemporalMap(3, 3, "S"),
            ),
            name="KC-P",
        )

    return build
