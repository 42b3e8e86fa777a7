"""Named energy tables, each with its source.

An :class:`~mapsearch.hardware.config.EnergyTable` gives the energy of one MAC and of one
word accessed at each level. Tables in MAC units (``unit="mac"``) are relative: only
ratios between designs are meaningful; ``unit="pJ"`` tables are absolute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from mapsearch.errors import UnknownNameError
from mapsearch.hardware.config import EnergyTable, Hardware

#: MAESTRO's table (``Energy.hpp``, Kwon et al. MICRO 2019): MAC 1, L1 1.68, L2 18.61.
MAESTRO = EnergyTable()

#: Eyeriss, 65 nm, 16-bit fixed point, relative to one MAC (Chen, Emer & Sze, ISCA 2016,
#: "Eyeriss: A Spatial Architecture for Energy-Efficient Dataflow for CNNs", normalized
#: energy cost per access: ALU 1x, register file (0.5 kB) 1x, inter-PE array 2x, global
#: buffer (100-500 kB) 6x, DRAM 200x). The 2x inter-PE hop has no level of its own here.
EYERISS_65NM = EnergyTable(
    mac=1.0,
    l1_read=1.0,
    l1_write=1.0,
    l2_read=6.0,
    l2_write=6.0,
    dram_access=200.0,
    unit="mac",
    source="Eyeriss 65 nm relative costs (Chen, Emer & Sze, ISCA 2016): MAC/RF 1, GLB 6, DRAM 200",
)

#: 8-bit integer datapath at 45 nm, in pJ, from Horowitz, "Computing's energy problem (and
#: what we can do about it)", ISSCC 2014: 8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ per MAC;
#: a 64-bit SRAM read costs 10 pJ from 8 KB (L1), 100 pJ from 1 MB (L2), and a 64-bit DRAM
#: access 1.3-2.6 nJ (midpoint 1.95 nJ); memory costs are divided by the 8 one-byte words of a
#: 64-bit access. Writes are taken to cost the same as reads.
HOROWITZ_45NM_INT8 = EnergyTable(
    mac=0.23,
    l1_read=10.0 / 8,
    l1_write=10.0 / 8,
    l2_read=100.0 / 8,
    l2_write=100.0 / 8,
    dram_access=1950.0 / 8,
    unit="pJ",
    source="Horowitz ISSCC 2014, 45 nm, int8 MAC, 8 KB L1 / 1 MB L2 SRAM, DRAM midpoint",
)

#: Name -> table.
ENERGY_TABLES: Mapping[str, EnergyTable] = MappingProxyType(
    {"maestro": MAESTRO, "eyeriss_65nm": EYERISS_65NM, "horowitz_45nm_int8": HOROWITZ_45NM_INT8}
)


def energy_unit_name(unit: str) -> str:
    """How tables, plots and messages name an energy table's unit: ``MAC-energy units``
    (``unit="mac"``, one MAC's energy) or the unit itself (``pJ``)."""
    return "MAC-energy units" if unit == "mac" else unit


def objective_unit(unit: str, energy_unit: str) -> str:
    """An objective's unit with its generic ``energy unit`` named (``energy x cycles`` ->
    ``MAC-energy units x cycles``)."""
    name = energy_unit_name(energy_unit)
    return unit.replace("energy unit", name).replace("energy x", f"{name} x")


def energy_table(name: str) -> EnergyTable:
    """The energy table called ``name`` (case-insensitive; ``-`` and ``_`` are the same)."""
    key = name.strip().lower().replace("-", "_")
    try:
        return ENERGY_TABLES[key]
    except KeyError:
        raise UnknownNameError("energy table", name, ENERGY_TABLES) from None


def with_energy_table(hardware: Hardware, name: str) -> Hardware:
    """``hardware`` priced with the energy table called ``name`` (``--energy``)."""
    return replace(hardware, energy=energy_table(name))
