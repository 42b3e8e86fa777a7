"""What the cost model returns: aligned read-only arrays, one entry per mapping of a batch."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ROLES: tuple[str, ...] = ("input", "filter", "output")


def _frozen(values: npt.ArrayLike, dtype: type, seen: set[int]) -> npt.NDArray[Any]:
    """``values`` as a read-only array of ``dtype``: copied when it is a view of another
    array or already taken by a field (``seen``: ids of the arrays taken so far), so no
    field aliases another and nobody can change a report under its readers."""
    arr = np.asarray(values)
    if arr.dtype != dtype and dtype is np.int64 and arr.dtype.kind == "f":
        arr = np.rint(arr)  # counts computed in floating point: exact integers by construction
    if arr.dtype != dtype or id(arr) in seen or arr.base is not None:
        arr = np.array(arr, dtype=dtype)
    arr.flags.writeable = False
    seen.add(id(arr))
    return arr


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorCounts:
    """One array per tensor: counts in words, or energy in the table's unit."""

    input: npt.NDArray[Any]
    filter: npt.NDArray[Any]
    output: npt.NDArray[Any]

    def total(self) -> npt.NDArray[Any]:
        return self.input + self.filter + self.output

    @classmethod
    def energy(
        cls, reads: TensorCounts, writes: TensorCounts, per_read: float, per_write: float
    ) -> TensorCounts:
        """Access energy per tensor of one buffer level: reads and writes times their cost."""
        return cls(
            input=reads.input * per_read + writes.input * per_write,
            filter=reads.filter * per_read + writes.filter * per_write,
            output=reads.output * per_read + writes.output * per_write,
        )

    def at(self, i: int) -> dict[str, float]:
        return {r: _num(getattr(self, r)[i]) for r in ROLES}

    def _frozen(self, dtype: type, seen: set[int]) -> TensorCounts:
        return TensorCounts(**{r: _frozen(getattr(self, r), dtype, seen) for r in ROLES})


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Cost-model results for ``B`` mappings; every array has shape ``(B,)`` and is read-only.

    Counts (words, MACs, cycles, minimum and maximum delays) are int64; quantities that can
    be fractional (bandwidths, averages, utilisation, energy, area, power) are float64. No
    two fields share an array. Energy is in the hardware energy table's unit
    (``energy_unit``). ``feasible`` is False where the model itself finds the mapping
    impossible (e.g. it computes fewer MACs than the layer has); ``reason`` says why (""
    when feasible).
    """

    semantics: str
    macs: IntArray
    runtime_cycles: IntArray
    l1_reads: TensorCounts
    l1_writes: TensorCounts
    l2_reads: TensorCounts
    l2_writes: TensorCounts
    l1_size_words: IntArray
    l2_size_words: IntArray
    #: The L2 capacity the mapping needs to run as modelled, what capacity checks use: the
    #: L2 size requirement under ``maestro`` (staging for double buffering); 0 under
    #: ``exact``, whose ``l2_size_words`` is the tensors' footprint and a smaller L2 only
    #: adds off-chip refills the model does not price (docs/semantics.md, rule 13).
    l2_required_words: IntArray
    peak_noc_bw_words_per_cycle: FloatArray
    avg_noc_bw_words_per_cycle: FloatArray
    offchip_bw_words_per_cycle: FloatArray
    avg_utilized_pes: FloatArray
    ingress_delay_min: IntArray
    ingress_delay_max: IntArray
    ingress_delay_avg: FloatArray
    egress_delay_min: IntArray
    egress_delay_max: IntArray
    egress_delay_avg: FloatArray
    compute_delay_min: IntArray
    compute_delay_max: IntArray
    compute_delay_avg: FloatArray
    energy_l1: TensorCounts
    energy_l2: TensorCounts
    energy_mac: FloatArray
    energy_total: FloatArray
    energy_unit: str
    area_um2: FloatArray
    power_mw: FloatArray
    feasible: BoolArray
    reason: tuple[str, ...]

    #: Fields holding counts (int64); every other array field is float64 (``feasible`` bool).
    COUNTS: ClassVar[frozenset[str]] = frozenset(
        (
            "macs",
            "runtime_cycles",
            "l1_reads",
            "l1_writes",
            "l2_reads",
            "l2_writes",
            "l1_size_words",
            "l2_size_words",
            "l2_required_words",
            "ingress_delay_min",
            "ingress_delay_max",
            "egress_delay_min",
            "egress_delay_max",
            "compute_delay_min",
            "compute_delay_max",
        )
    )

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "feasible":
                dtype: type = np.bool_
            elif f.name in self.COUNTS:
                dtype = np.int64
            else:
                dtype = np.float64
            if isinstance(value, TensorCounts):
                object.__setattr__(self, f.name, value._frozen(dtype, seen))
            elif isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, _frozen(value, dtype, seen))
        n = len(self)
        if len(self.reason) != n:
            raise ValueError(f"reason has {len(self.reason)} entries for {n} mappings")

    def __len__(self) -> int:
        return int(self.macs.shape[0])

    @property
    def edp(self) -> FloatArray:
        """Energy-delay product (energy unit x cycles)."""
        return self.energy_total * self.runtime_cycles

    @property
    def throughput_macs_per_cycle(self) -> FloatArray:
        return self.macs / np.maximum(self.runtime_cycles, 1)

    def record(self, i: int) -> dict[str, Any]:
        """Mapping ``i`` as a JSON-ready dict (the keys ``mapsearch evaluate --format json`` promises)."""
        out: dict[str, Any] = {"semantics": self.semantics}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, TensorCounts):
                out[f.name] = value.at(i)
            elif isinstance(value, np.ndarray):
                out[f.name] = _num(value[i])
        out["energy_mac_units"] = out["energy_total"] if self.energy_unit == "mac" else None
        out["energy_unit"] = self.energy_unit
        out["edp"] = _num(self.edp[i])
        out["throughput_macs_per_cycle"] = _num(self.throughput_macs_per_cycle[i])
        out["reason"] = self.reason[i]
        return out

    def take(self, index: npt.ArrayLike) -> Report:
        """The reports of the mappings ``index`` (fancy or boolean indexing), in that order."""
        idx = np.asarray(index)
        rows = np.arange(len(self))[idx].tolist()
        kw: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, TensorCounts):
                kw[f.name] = TensorCounts(**{r: getattr(value, r)[idx] for r in ROLES})
            elif isinstance(value, np.ndarray):
                kw[f.name] = value[idx]
            elif f.name == "reason":
                kw[f.name] = tuple(self.reason[i] for i in rows)
            else:
                kw[f.name] = value
        return Report(**kw)

    @classmethod
    def concat(cls, parts: Sequence[Report]) -> Report:
        """One report of the mappings of ``parts`` in order (same semantics and energy unit)."""
        if not parts:
            raise ValueError("Report.concat needs at least one report")
        first = parts[0]
        for p in parts[1:]:
            if (p.semantics, p.energy_unit) != (first.semantics, first.energy_unit):
                raise ValueError(
                    f"cannot concatenate {p.semantics}/{p.energy_unit} reports to "
                    f"{first.semantics}/{first.energy_unit} ones"
                )
        kw: dict[str, Any] = {}
        for f in fields(first):
            value = getattr(first, f.name)
            if isinstance(value, TensorCounts):
                kw[f.name] = TensorCounts(
                    **{
                        r: np.concatenate([getattr(getattr(p, f.name), r) for p in parts])
                        for r in ROLES
                    }
                )
            elif isinstance(value, np.ndarray):
                kw[f.name] = np.concatenate([getattr(p, f.name) for p in parts])
            elif f.name == "reason":
                kw[f.name] = tuple(itertools.chain.from_iterable(p.reason for p in parts))
            else:
                kw[f.name] = value
        return cls(**kw)


def _num(x: Any) -> Any:
    """A numpy scalar as a plain int when integral, else float (bool stays bool)."""
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    v = float(x)
    return int(v) if v.is_integer() and abs(v) < 2**63 else v
