"""Score given mappings (``mapsearch evaluate``): every layer of MAESTRO mapping files, or a
zoo layer with a classic dataflow, as JSON-ready records with capacity warnings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mapsearch.costmodel import Semantics
from mapsearch.directives import Mapping
from mapsearch.errors import LayerError, MappingError, UnknownNameError
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.layers import Layer
from mapsearch.report.evaluate import number
from mapsearch.service.hardware import resolve_hardware

#: MAESTRO's command-line hardware (``maestro --help``), except the PE count: MAESTRO's 7
#: PEs is a toy value, mapsearch uses 256 when ``--pes`` is not given.
MAESTRO_COMMAND_LINE = Hardware(
    name="command line", num_pes=256, noc_latency_cycles=0, offchip_bw_words_per_cycle=70000
)


def command_hardware(
    hw: str | None = None,
    *,
    pes: int | None = None,
    noc_bw: int | None = None,
    noc_latency: int | None = None,
    offchip_bw: int | None = None,
    l1_size: int | None = None,
    l2_size: int | None = None,
    vector_width: int | None = None,
    energy: str | None = None,
) -> Hardware:
    """The hardware the flags describe (``energy``: a named energy table).

    ``hw`` is a MAESTRO hardware file (NoC latency 1, as MAESTRO's ``--HW_file``) or a preset
    name; the other flags override its values. Without ``hw`` the flags have MAESTRO's
    command-line meaning: NoC latency 0 unless given, off-chip bandwidth 70000, unlimited NoC
    bandwidth and buffers.
    """
    return resolve_hardware(
        hw,
        default=MAESTRO_COMMAND_LINE,
        num_pes=pes,
        noc_bw_words_per_cycle=noc_bw,
        noc_latency_cycles=noc_latency,
        offchip_bw_words_per_cycle=offchip_bw,
        l1_size_words=l1_size,
        l2_size_words=l2_size,
        vector_width=vector_width,
        energy=energy,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One (layer, mapping) to score; ``source`` says where it came from (file or dataflow)."""

    source: str
    layer: Layer
    mapping: Mapping


def jobs_from_files(paths: Sequence[Path]) -> list[Job]:
    """Every layer of every MAESTRO mapping file, in file order.

    A layer without a ``Dataflow`` block reuses the previous layer's directives, as MAESTRO
    does (without MAESTRO's shared-object bug, quirk 19).
    """
    from mapsearch.directives.maestro_file import read_mapping_file

    jobs: list[Job] = []
    for path in paths:
        network = read_mapping_file(path)
        previous: Mapping | None = None
        for entry in network.layers:
            mapping = entry.mapping if entry.mapping is not None else previous
            if mapping is None:
                raise MappingError(
                    [
                        f"layer {entry.layer.name!r} of {path} has no Dataflow block and no "
                        "earlier layer to inherit one from; add a Dataflow block"
                    ],
                    mapping_name=path.name,
                )
            previous = mapping
            jobs.append(Job(source=str(path), layer=entry.layer, mapping=mapping))
    return jobs


def jobs_from_names(layer: str, dataflow: str) -> list[Job]:
    """A zoo layer (``vgg16.conv3_1``) with a classic dataflow (``kcp``)."""
    from mapsearch.directives.dataflows import dataflow as classic
    from mapsearch.layers.zoo import find_layer

    the_layer = find_layer(layer)
    return [Job(source=dataflow, layer=the_layer, mapping=classic(dataflow, the_layer))]


def mapping_from_file(path: Path, layer: str | None = None) -> tuple[Layer, Mapping]:
    """The layer named ``layer`` in a MAESTRO mapping file (or its only layer) and its mapping."""
    from mapsearch.directives.maestro_file import read_mapping_file

    network = read_mapping_file(path)
    entries = {e.layer.name.lower(): e for e in network.layers}
    if layer is None:
        if len(entries) != 1:
            names = ", ".join(e.layer.name for e in network.layers)
            raise LayerError(f"{path} holds {len(entries)} layers; pick one with --layer: {names}")
        (entry,) = entries.values()
    elif layer.lower() in entries:
        entry = entries[layer.lower()]
    else:
        raise UnknownNameError(f"layer in {path.name}", layer, entries)
    if entry.mapping is None:
        raise MappingError(
            [f"layer {entry.layer.name!r} of {path} has no Dataflow block; add one"],
            mapping_name=path.name,
        )
    return entry.layer, replace(entry.mapping, name=entry.mapping.name or path.name)


def evaluate_jobs(
    jobs: Sequence[Job], hardware: Hardware, *, semantics: Semantics | str = Semantics.EXACT
) -> list[dict[str, Any]]:
    """Validate and score every job; one JSON-ready record per job.

    Each record holds ``Report.record`` plus ``file`` (the source), ``layer``, ``model``,
    ``mapping`` (directive text), ``hardware`` and ``warnings`` (requirements above capacity).
    """
    from mapsearch.costmodel import evaluate

    semantics = Semantics.parse(semantics)
    records = []
    for job in jobs:
        try:
            report = evaluate(job.layer, hardware, job.mapping, semantics=semantics)
        except MappingError as e:
            raise MappingError(
                [f"{job.source}, layer {job.layer.name}: {p}" for p in e.problems],
                mapping_name=job.mapping.name,
            ) from e
        rec = {
            "file": job.source,
            "layer": job.layer.name,
            "model": job.layer.model,
            "mapping": str(job.mapping.resolve(job.layer)),
            "hardware": hardware.name,
            **report.record(0),
        }
        if hardware.noc_bw_words_per_cycle >= UNLIMITED:
            # MAESTRO's area and power price the NoC as provisioned: an unlimited one has none.
            rec["area_um2"] = rec["power_mw"] = None
        rec["warnings"] = capacity_warnings(rec, hardware)
        records.append(rec)
    return records


def evaluate_files(
    paths: Sequence[str | Path], hardware: Hardware, *, semantics: Semantics | str = Semantics.EXACT
) -> list[dict[str, Any]]:
    """Every layer of MAESTRO mapping files scored on ``hardware`` (see :func:`evaluate_jobs`)."""
    return evaluate_jobs(jobs_from_files([Path(p) for p in paths]), hardware, semantics=semantics)


def capacity_warnings(record: dict[str, Any], hardware: Hardware) -> list[str]:
    """Requirements of one record above the hardware's capacity (MAESTRO's ``warn_*``).

    Where the model requires less L2 than the tensors' footprint (``exact``), a footprint
    above the L2 gets a note instead: the off-chip refills it causes are not modelled.
    """
    checks = (
        ("L1 size requirement", "l1_size_words", hardware.l1_size_words, "words per PE"),
        ("L2 size requirement", "l2_required_words", hardware.l2_size_words, "words"),
        (
            "NoC bandwidth requirement",
            "peak_noc_bw_words_per_cycle",
            hardware.noc_bw_words_per_cycle,
            "words/cycle",
        ),
        (
            "off-chip bandwidth requirement",
            "offchip_bw_words_per_cycle",
            hardware.offchip_bw_words_per_cycle,
            "words/cycle",
        ),
    )
    out = [
        f"{what} {number(record[key])} {unit} exceeds the hardware's {number(cap)}"
        for what, key, cap, unit in checks
        if cap < UNLIMITED and record[key] > cap
    ]
    footprint, cap = record["l2_size_words"], hardware.l2_size_words
    if record["l2_required_words"] < footprint and cap < UNLIMITED and footprint > cap:
        out.append(
            f"L2 footprint {number(footprint)} words exceeds the hardware's {number(cap)} "
            "(the off-chip refills this causes are not modelled)"
        )
    return out
