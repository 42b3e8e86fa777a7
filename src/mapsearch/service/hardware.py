"""Which hardware a command means: a preset name or a MAESTRO hardware file, with values
replaced by flags. One resolution for ``tune``, ``space``, ``evaluate`` and ``show-mapping``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import DEFAULT_PRESET, preset


def resolve_hardware(
    spec: str | Path | None = None,
    *,
    default: Hardware | None = None,
    num_pes: int | None = None,
    l1_size_words: int | None = None,
    l2_size_words: int | None = None,
    noc_bw_words_per_cycle: int | None = None,
    noc_latency_cycles: int | None = None,
    offchip_bw_words_per_cycle: int | None = None,
    vector_width: int | None = None,
    energy: str | None = None,
) -> Hardware:
    """The hardware ``spec`` names, with every value given here replacing its own
    (``energy``: a named energy table, ``maestro``, ``eyeriss_65nm``, ...).

    ``spec`` is a MAESTRO hardware file (a ``.m`` path, or any existing file) or a preset
    name (close matches are listed for unknown names); ``None`` means ``default``, or the
    ``edge_256`` preset without one. The hardware keeps its name.
    """
    if spec is None:
        base = default if default is not None else preset(DEFAULT_PRESET)
    elif Path(spec).suffix == ".m" or Path(spec).is_file():
        from mapsearch.directives.maestro_file import read_hardware_file

        base = read_hardware_file(Path(spec))
    else:
        base = preset(str(spec))
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("num_pes", num_pes),
            ("l1_size_words", l1_size_words),
            ("l2_size_words", l2_size_words),
            ("noc_bw_words_per_cycle", noc_bw_words_per_cycle),
            ("noc_latency_cycles", noc_latency_cycles),
            ("offchip_bw_words_per_cycle", offchip_bw_words_per_cycle),
            ("vector_width", vector_width),
        )
        if value is not None
    }
    hardware = replace(base, **changes) if changes else base
    if energy is None:
        return hardware
    from mapsearch.hardware.energy import with_energy_table

    return with_energy_table(hardware, energy)
