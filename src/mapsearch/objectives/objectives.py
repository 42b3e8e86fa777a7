"""What a search optimises (objectives) and what it must respect (constraints).

Objectives read arrays off a cost-model ``Report`` (or off a hardware sweep's per-design
metrics, which use the same names); constraints compare a report and its hardware with
limits and say, per candidate, by how much and why a candidate fails. Areas are in um^2
inside; flags and ``*_mm2`` outputs convert at the edge (:func:`um2_from_mm2`,
:func:`mm2_from_um2`).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.report import Report
from mapsearch.errors import ConfigError, UnknownNameError
from mapsearch.hardware import UNLIMITED, Hardware

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


class Direction(StrEnum):
    """Whether smaller or larger values of an objective are better (Optuna's spelling)."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @property
    def sign(self) -> float:
        """+1 when smaller is better, -1 when larger is better (to turn values into costs)."""
        return 1.0 if self is Direction.MINIMIZE else -1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Objective:
    """A named quantity, minimised or maximised.

    ``quantity`` names the attribute the objective reads: a ``Report`` property, or the
    same name on a sweep's per-design metrics (:mod:`mapsearch.dse.sweep`). ``per_core``
    says the value depends only on a design's core (PE count, vector width, NoC bandwidth)
    and not on its provisioned L1/L2 capacities, so a hardware sweep computes it once per
    core; area and power price the provisioned buffers and are not per core.
    """

    name: str
    direction: Direction
    unit: str
    doc: str
    quantity: str
    per_core: bool

    @property
    def sign(self) -> float:
        """+1 when smaller is better, -1 when larger is better (to turn every objective into a cost)."""
        return self.direction.sign

    def value(self, measured: object) -> FloatArray:
        """The objective's values on a report (or on anything with the same quantity names)."""
        return np.asarray(getattr(measured, self.quantity), dtype=np.float64)


_MIN, _MAX = Direction.MINIMIZE, Direction.MAXIMIZE

#: Every objective by name: one name and one unit per quantity.
OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective(
            name="latency",
            direction=_MIN,
            unit="cycles",
            doc="runtime",
            quantity="runtime_cycles",
            per_core=True,
        ),
        Objective(
            name="energy",
            direction=_MIN,
            unit="energy unit",
            doc="total energy",
            quantity="energy_total",
            per_core=True,
        ),
        Objective(
            name="edp",
            direction=_MIN,
            unit="energy x cycles",
            doc="energy-delay product",
            quantity="edp",
            per_core=True,
        ),
        Objective(
            name="throughput",
            direction=_MAX,
            unit="MACs/cycle",
            doc="MACs per cycle",
            quantity="throughput_macs_per_cycle",
            per_core=True,
        ),
        Objective(
            name="area",
            direction=_MIN,
            unit="um2",
            doc="chip area (MAESTRO model)",
            quantity="area_um2",
            per_core=False,
        ),
        Objective(
            name="power",
            direction=_MIN,
            unit="mW",
            doc="power (MAESTRO model)",
            quantity="power_mw",
            per_core=False,
        ),
        Objective(
            name="l1",
            direction=_MIN,
            unit="words/PE",
            doc="required L1 size",
            quantity="l1_size_words",
            per_core=True,
        ),
        Objective(
            name="l2",
            direction=_MIN,
            unit="words",
            doc="required L2 size",
            quantity="l2_size_words",
            per_core=True,
        ),
        Objective(
            name="noc_bw",
            direction=_MIN,
            unit="words/cycle",
            doc="peak NoC bandwidth requirement",
            quantity="peak_noc_bw_words_per_cycle",
            per_core=True,
        ),
    )
}

#: Older names still accepted: ``mapsearch dse`` called latency ``runtime``.
ALIASES: dict[str, str] = {"runtime": "latency"}


def um2_from_mm2(area_mm2: float) -> float:
    """An area given in mm^2 (the unit of the ``--area-budget`` flags), in um^2."""
    return area_mm2 * 1e6


def mm2_from_um2(area_um2: npt.ArrayLike) -> FloatArray:
    """Areas in um^2 (the unit used inside), in mm^2 (the unit of ``*_mm2`` outputs)."""
    return np.asarray(area_um2, dtype=np.float64) / 1e6


def get_objective(name: str) -> Objective:
    """The objective called ``name`` (unknown names list close matches)."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in OBJECTIVES:
        raise UnknownNameError("objective", name, list(OBJECTIVES))
    return OBJECTIVES[key]


def get_objectives(names: Sequence[str]) -> tuple[Objective, ...]:
    """Objectives by name, in order, without repeats."""
    out: list[Objective] = []
    for n in names:
        o = get_objective(n)
        if o in out:
            raise ValueError(f"objective {o.name!r} is given twice; give each objective once")
        out.append(o)
    if not out:
        raise ValueError("at least one objective is needed, got none")
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraints:
    """Limits a candidate must respect to be feasible.

    ``buffers``: the required L1/L2 sizes must fit the hardware's L1/L2 (``UNLIMITED``
    means no limit). The others are ``None`` (no limit) or a maximum: NoC and off-chip
    bandwidth requirements (words/cycle), area (um2), power (mW) and PE count.
    ``strict_capacity``: the tensors' L2 footprint and the peak NoC bandwidth must fit the
    hardware's L2 and NoC as well (``tune --strict-capacity``).
    """

    buffers: bool = True
    max_noc_bw_words_per_cycle: float | None = None
    max_offchip_bw_words_per_cycle: float | None = None
    area_budget_um2: float | None = None
    power_budget_mw: float | None = None
    max_pes: int | None = None
    strict_capacity: bool = False

    def __post_init__(self) -> None:
        # NOTE: ``not value > 0`` also refuses NaN, which every comparison would let pass
        # (a NaN budget would silently switch the limit off).
        bad = [
            f"{name}={value}"
            for name, value in (
                ("max_noc_bw_words_per_cycle", self.max_noc_bw_words_per_cycle),
                ("max_offchip_bw_words_per_cycle", self.max_offchip_bw_words_per_cycle),
                ("area_budget_um2", self.area_budget_um2),
                ("power_budget_mw", self.power_budget_mw),
                ("max_pes", self.max_pes),
            )
            if value is not None and not (isinstance(value, numbers.Real) and value > 0)
        ]
        if self.max_pes is not None and not isinstance(self.max_pes, numbers.Integral):
            bad.append(f"max_pes={self.max_pes} (not an integer)")
        if bad:
            raise ConfigError(f"constraint limits must be numbers > 0, got {', '.join(bad)}")

    def to_dict(self) -> dict[str, object]:
        return {
            "buffers": self.buffers,
            "max_noc_bw_words_per_cycle": self.max_noc_bw_words_per_cycle,
            "max_offchip_bw_words_per_cycle": self.max_offchip_bw_words_per_cycle,
            "area_budget_um2": self.area_budget_um2,
            "power_budget_mw": self.power_budget_mw,
            "max_pes": self.max_pes,
            # Only when set: studies made before the flag keep their fingerprint.
            **({"strict_capacity": True} if self.strict_capacity else {}),
        }

    def limits(self, hardware: Hardware) -> list[tuple[str, str, float]]:
        """(description, ``Report`` quantity, limit) of every active constraint on ``hardware``."""
        out: list[tuple[str, str, float]] = []
        if self.buffers and hardware.l1_size_words < UNLIMITED:
            out.append(
                (
                    f"L1 requirement exceeds {hardware.l1_size_words} words/PE",
                    "l1_size_words",
                    hardware.l1_size_words,
                )
            )
        if self.buffers and hardware.l2_size_words < UNLIMITED:
            out.append(
                (
                    f"L2 requirement exceeds {hardware.l2_size_words} words",
                    "l2_required_words",
                    hardware.l2_size_words,
                )
            )
        if self.max_noc_bw_words_per_cycle is not None:
            out.append(
                (
                    f"NoC bandwidth requirement exceeds {self.max_noc_bw_words_per_cycle:g} words/cycle",
                    "peak_noc_bw_words_per_cycle",
                    self.max_noc_bw_words_per_cycle,
                )
            )
        if self.max_offchip_bw_words_per_cycle is not None:
            out.append(
                (
                    f"off-chip bandwidth requirement exceeds {self.max_offchip_bw_words_per_cycle:g} words/cycle",
                    "offchip_bw_words_per_cycle",
                    self.max_offchip_bw_words_per_cycle,
                )
            )
        if self.area_budget_um2 is not None:
            out.append(
                (
                    f"area exceeds the budget of {self.area_budget_um2:g} um2",
                    "area_um2",
                    self.area_budget_um2,
                )
            )
        if self.power_budget_mw is not None:
            out.append(
                (
                    f"power exceeds the budget of {self.power_budget_mw:g} mW",
                    "power_mw",
                    self.power_budget_mw,
                )
            )
        if self.strict_capacity and hardware.l2_size_words < UNLIMITED:
            out.append(
                (
                    f"L2 footprint exceeds {hardware.l2_size_words} words",
                    "l2_size_words",
                    hardware.l2_size_words,
                )
            )
        if self.strict_capacity and hardware.noc_bw_words_per_cycle < UNLIMITED:
            out.append(
                (
                    f"NoC bandwidth requirement exceeds the hardware's {hardware.noc_bw_words_per_cycle} words/cycle",
                    "peak_noc_bw_words_per_cycle",
                    hardware.noc_bw_words_per_cycle,
                )
            )
        return out

    def check(self, report: Report, hardware: Hardware) -> tuple[FloatArray, ObjArray]:
        """Per candidate: total relative violation (0 when feasible) and the reasons ("" when feasible)."""
        n = len(report)
        violation = np.zeros(n, dtype=np.float64)
        reasons: ObjArray = np.full(n, "", dtype=object)
        if self.max_pes is not None and hardware.num_pes > self.max_pes:
            violation += hardware.num_pes / self.max_pes - 1.0
            reasons[:] = f"{hardware.num_pes} PEs exceed the maximum of {self.max_pes}"
        for text, quantity, limit in self.limits(hardware):
            excess = np.asarray(getattr(report, quantity), dtype=np.float64) / float(limit) - 1.0
            over = excess > 0
            violation[over] += excess[over]
            sep = np.where(reasons[over] == "", "", "; ")
            reasons[over] = reasons[over] + sep + text
        return violation, reasons
