"""What the cost model returns: aligned arrays, one entry per mapping of a batch."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorCounts:
    """One array per tensor (words, or energy in the table's unit)."""

    input: FloatArray
    filter: FloatArray
    output: FloatArray

    def total(self) -> FloatArray:
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
        return {
            "input": _num(self.input[i]),
            "filter": _num(self.filter[i]),
            "output": _num(self.output[i]),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Cost-model results for ``B`` mappings; every array has shape ``(B,)``.

    Counts are in words. Energy is in the hardware energy table's unit (``energy_unit``).
    ``feasible`` is False where the model itself finds the mapping impossible (e.g. it
    computes fewer MACs than the layer has); ``reason`` says why ("" when feasible).
    """

    semantics: str
    macs: FloatArray
    runtime_cycles: FloatArray
    l1_reads: TensorCounts
    l1_writes: TensorCounts
    l2_reads: TensorCounts
    l2_writes: TensorCounts
    l1_size_words: FloatArray
    l2_size_words: FloatArray
    #: The L2 capacity the mapping needs to run as modelled, what capacity checks use: the
    #: L2 size requirement under ``maestro`` (staging for double buffering); 0 under
    #: ``exact``, whose ``l2_size_words`` is the tensors' footprint and a smaller L2 only
    #: adds off-chip refills the model does not price (docs/semantics.md, rule 13).
    l2_required_words: FloatArray
    peak_noc_bw_words_per_cycle: FloatArray
    avg_noc_bw_words_per_cycle: FloatArray
    offchip_bw_words_per_cycle: FloatArray
    avg_utilized_pes: FloatArray
    ingress_delay_min: FloatArray
    ingress_delay_max: FloatArray
    ingress_delay_avg: FloatArray
    egress_delay_min: FloatArray
    egress_delay_max: FloatArray
    egress_delay_avg: FloatArray
    compute_delay_min: FloatArray
    compute_delay_max: FloatArray
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

    def __len__(self) -> int:
        return int(self.macs.shape[0])

    @property
    def edp(self) -> FloatArray:
        """Energy-delay product (energy unit x cycles)."""
        return self.energy_total * self.runtime_cycles

    @property
    def throughput_macs_per_cycle(self) -> FloatArray:
        return self.macs / np.maximum(self.runtime_cycles, 1.0)

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


def _num(x: Any) -> Any:
    """A numpy scalar as a plain int when integral, else float (bool stays bool)."""
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    v = float(x)
    return int(v) if v.is_integer() and abs(v) < 2**63 else v
