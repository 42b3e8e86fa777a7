"""What a search optimises (objectives) and what it must respect (constraints).

Objectives read arrays off a cost-model ``Report``; constraints compare a report and its
hardware with limits and say, per candidate, by how much and why a candidate fails.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.report import Report
from mapsearch.errors import ConfigError, UnknownNameError
from mapsearch.hardware import UNLIMITED, Hardware

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


def _latency(r: Report) -> FloatArray:
    return r.runtime_cycles


def _energy(r: Report) -> FloatArray:
    return r.energy_total


def _edp(r: Report) -> FloatArray:
    return r.edp


def _throughput(r: Report) -> FloatArray:
    return r.throughput_macs_per_cycle


def _area(r: Report) -> FloatArray:
    return r.area_um2


def _power(r: Report) -> FloatArray:
    return r.power_mw


def _l1(r: Report) -> FloatArray:
    return r.l1_size_words


def _l2(r: Report) -> FloatArray:
    return r.l2_size_words


def _l2_required(r: Report) -> FloatArray:
    return r.l2_required_words


def _noc_bw(r: Report) -> FloatArray:
    return r.peak_noc_bw_words_per_cycle


@dataclass(frozen=True, slots=True, kw_only=True)
class Objective:
    """A named quantity of a report, minimised or maximised."""

    name: str
    direction: str
    unit: str
    doc: str
    value: Callable[[Report], FloatArray]

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(
                f"direction must be 'minimize' or 'maximize', got {self.direction!r} ({self.name})"
            )

    @property
    def sign(self) -> float:
        """+1 when smaller is better, -1 when larger is better (to turn every objective into a cost)."""
        return 1.0 if self.direction == "minimize" else -1.0


#: Every objective by name.
OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective(
            name="latency", direction="minimize", unit="cycles", doc="runtime", value=_latency
        ),
        Objective(
            name="energy",
            direction="minimize",
            unit="energy unit",
            doc="total energy",
            value=_energy,
        ),
        Objective(
            name="edp",
            direction="minimize",
            unit="energy x cycles",
            doc="energy-delay product",
            value=_edp,
        ),
        Objective(
            name="throughput",
            direction="maximize",
            unit="MACs/cycle",
            doc="MACs per cycle",
            value=_throughput,
        ),
        Objective(
            name="area",
            direction="minimize",
            unit="um2",
            doc="chip area (MAESTRO model)",
            value=_area,
        ),
        Objective(
            name="power", direction="minimize", unit="mW", doc="power (MAESTRO model)", value=_power
        ),
        Objective(
            name="l1", direction="minimize", unit="words/PE", doc="required L1 size", value=_l1
        ),
        Objective(name="l2", direction="minimize", unit="words", doc="required L2 size", value=_l2),
        Objective(
            name="noc_bw",
            direction="minimize",
            unit="words/cycle",
            doc="peak NoC bandwidth requirement",
            value=_noc_bw,
        ),
    )
}


def get_objective(name: str) -> Objective:
    """The objective called ``name`` (unknown names list close matches)."""
    key = name.strip().lower().replace("-", "_")
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

    def limits(self, hardware: Hardware) -> list[tuple[str, Callable[[Report], FloatArray], float]]:
        """(description, required quantity, limit) of every active constraint on ``hardware``."""
        out: list[tuple[str, Callable[[Report], FloatArray], float]] = []
        if self.buffers and hardware.l1_size_words < UNLIMITED:
            out.append(
                (
                    f"L1 requirement exceeds {hardware.l1_size_words} words/PE",
                    _l1,
                    hardware.l1_size_words,
                )
            )
        if self.buffers and hardware.l2_size_words < UNLIMITED:
            out.append(
                (
                    f"L2 requirement exceeds {hardware.l2_size_words} words",
                    _l2_required,
                    hardware.l2_size_words,
                )
            )
        if self.max_noc_bw_words_per_cycle is not None:
            out.append(
                (
                    f"NoC bandwidth requirement exceeds {self.max_noc_bw_words_per_cycle:g} words/cycle",
                    _noc_bw,
                    self.max_noc_bw_words_per_cycle,
                )
            )
        if self.max_offchip_bw_words_per_cycle is not None:
            out.append(
                (
                    f"off-chip bandwidth requirement exceeds {self.max_offchip_bw_words_per_cycle:g} words/cycle",
                    _offchip,
                    self.max_offchip_bw_words_per_cycle,
                )
            )
        if self.area_budget_um2 is not None:
            out.append(
                (
                    f"area exceeds the budget of {self.area_budget_um2:g} um2",
                    _area,
                    self.area_budget_um2,
                )
            )
        if self.power_budget_mw is not None:
            out.append(
                (
                    f"power exceeds the budget of {self.power_budget_mw:g} mW",
                    _power,
                    self.power_budget_mw,
                )
            )
        if self.strict_capacity and hardware.l2_size_words < UNLIMITED:
            out.append(
                (
                    f"L2 footprint exceeds {hardware.l2_size_words} words",
                    _l2,
                    hardware.l2_size_words,
                )
            )
        if self.strict_capacity and hardware.noc_bw_words_per_cycle < UNLIMITED:
            out.append(
                (
                    f"NoC bandwidth requirement exceeds the hardware's {hardware.noc_bw_words_per_cycle} words/cycle",
                    _noc_bw,
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
            excess = np.asarray(quantity(report), dtype=np.float64) / float(limit) - 1.0
            over = excess > 0
            violation[over] += excess[over]
            sep = np.where(reasons[over] == "", "", "; ")
            reasons[over] = reasons[over] + sep + text
        return violation, reasons


def _offchip(r: Report) -> FloatArray:
    return r.offchip_bw_words_per_cycle
