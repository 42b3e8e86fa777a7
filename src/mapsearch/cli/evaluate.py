"""``mapsearch evaluate``: score mappings (MAESTRO files or classic dataflows) on hardware.

Thin front end: :func:`jobs_from_files`, :func:`jobs_from_names`, :func:`command_hardware`,
:func:`evaluate_jobs` and the three renderers are the library calls behind the command;
tests reach them directly.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mapsearch.cli.app import app, console
from mapsearch.costmodel.api import SEMANTICS
from mapsearch.directives import Mapping
from mapsearch.errors import MappingError, UnknownNameError
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.hardware.energy import energy_unit_name, with_energy_table
from mapsearch.layers import Layer

#: MAESTRO's command-line defaults (``maestro --help``), except the PE count: MAESTRO's 7 PEs
#: is a toy value, mapsearch uses 256 when ``--pes`` is not given.
CLI_DEFAULT_PES = 256
CLI_DEFAULT_OFFCHIP_BW = 70000
FORMATS = ("table", "json", "csv")
#: Width of the table when the output is not a terminal, in characters.
TABLE_WIDTH = 150


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One (layer, mapping) to score; ``source`` says where it came from (file or dataflow)."""

    source: str
    layer: Layer
    mapping: Mapping


def jobs_from_files(paths: list[Path]) -> list[Job]:
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
) -> Hardware:
    """The hardware the flags describe.

    ``hw`` is a MAESTRO hardware file (NoC latency 1, as MAESTRO's ``--HW_file``) or a preset
    name; the other flags override its values. Without ``hw`` the flags have MAESTRO's
    command-line meaning: NoC latency 0 unless given, off-chip bandwidth 70000, unlimited NoC
    bandwidth and buffers.
    """
    if hw is not None:
        path = Path(hw)
        if path.suffix == ".m" or path.is_file():
            from mapsearch.directives.maestro_file import read_hardware_file

            base = read_hardware_file(path)
        else:
            from mapsearch.hardware.presets import preset

            base = preset(hw)
    else:
        base = Hardware(
            name="command line",
            num_pes=CLI_DEFAULT_PES,
            noc_latency_cycles=0,
            offchip_bw_words_per_cycle=CLI_DEFAULT_OFFCHIP_BW,
        )
    overrides = {
        "num_pes": pes,
        "noc_bw_words_per_cycle": noc_bw,
        "noc_latency_cycles": noc_latency,
        "offchip_bw_words_per_cycle": offchip_bw,
        "l1_size_words": l1_size,
        "l2_size_words": l2_size,
        "vector_width": vector_width,
    }
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **given) if given else base


def evaluate_jobs(
    jobs: list[Job], hardware: Hardware, *, semantics: str = "exact"
) -> list[dict[str, Any]]:
    """Validate and score every job; one JSON-ready record per job.

    Each record holds ``Report.record`` plus ``file`` (the source), ``layer``, ``model``,
    ``mapping`` (directive text), ``hardware`` and ``warnings`` (requirements above capacity);
    ``area_um2`` and ``power_mw`` are None on a hardware whose NoC bandwidth is unlimited.
    """
    if semantics not in SEMANTICS:
        raise UnknownNameError("semantics", semantics, SEMANTICS)
    from mapsearch.costmodel.api import evaluate

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
        f"{what} {_fmt(record[key])} {unit} exceeds the hardware's {_fmt(cap)}"
        for what, key, cap, unit in checks
        if cap < UNLIMITED and record[key] > cap
    ]
    footprint, cap = record["l2_size_words"], hardware.l2_size_words
    if record["l2_required_words"] < footprint and cap < UNLIMITED and footprint > cap:
        out.append(
            f"L2 footprint {_fmt(footprint)} words exceeds the hardware's {_fmt(cap)} "
            "(the off-chip refills this causes are not modelled)"
        )
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}"
    return f"{int(v):,}"


_COLUMNS = (
    ("MACs", "macs"),
    ("runtime\n[cycles]", "runtime_cycles"),
    ("energy\n[{unit}]", "energy_total"),
    ("L1 req\n[words/PE]", "l1_size_words"),
    ("L2 req\n[words]", "l2_size_words"),
    ("peak NoC BW\n[words/cycle]", "peak_noc_bw_words_per_cycle"),
    ("off-chip BW\n[words/cycle]", "offchip_bw_words_per_cycle"),
    ("PEs used\n[avg]", "avg_utilized_pes"),
)


def render_table(records: list[dict[str, Any]], hardware: Hardware) -> Table:
    """Aligned table with units; warnings and infeasibility reasons go in the caption."""
    semantics = records[0]["semantics"] if records else ""
    table = Table(title=f"{semantics} semantics on {hardware.name}: {hardware.describe()}")
    several = len({rec["file"] for rec in records}) > 1
    if several:
        table.add_column("file", no_wrap=True)
    table.add_column("layer", style="bold", no_wrap=True)
    unit = records[0]["energy_unit"] if records else "mac"
    unit_name = energy_unit_name(unit)
    for title, _ in _COLUMNS:
        table.add_column(escape(title.format(unit=unit_name)), justify="right", no_wrap=True)
    notes = []
    for rec in records:
        cells = [_fmt(rec[key]) for _, key in _COLUMNS]
        first = [Path(rec["file"]).stem, rec["layer"]] if several else [rec["layer"]]
        table.add_row(*first, *cells)
        where = escape(" ".join(first))
        notes += [f"[yellow]warning[/]: {where}: {escape(w)}" for w in rec["warnings"]]
        if not rec["feasible"]:
            notes.append(f"[red]infeasible[/]: {where}: {escape(rec['reason'])}")
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def render_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2)


def render_csv(records: list[dict[str, Any]]) -> str:
    """One row per record; nested per-tensor counts become ``l2_reads.input`` etc."""
    rows = []
    for rec in records:
        flat: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, dict):
                flat.update({f"{k}.{t}": x for t, x in v.items()})
            elif isinstance(v, list):
                flat[k] = "; ".join(v)
            else:
                flat[k] = v
        rows.append(flat)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


@app.command("evaluate")
def evaluate_command(
    extra_files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More mapping files after --mapping (--mapping a.m b.m).", show_default=False
        ),
    ] = None,
    mapping: Annotated[
        list[Path] | None,
        typer.Option("--mapping", "-m", help="MAESTRO mapping file(s); every layer is scored."),
    ] = None,
    layer: Annotated[
        str | None, typer.Option("--layer", "-l", help="Zoo layer, e.g. vgg16.conv3_1.")
    ] = None,
    dataflow: Annotated[
        str | None, typer.Option("--dataflow", "-d", help="Classic dataflow, e.g. kcp.")
    ] = None,
    hw: Annotated[
        str | None,
        typer.Option("--hw", help="MAESTRO hardware file (.m) or preset name (see `presets`)."),
    ] = None,
    pes: Annotated[int | None, typer.Option("--pes", min=1, help="Number of PEs.")] = None,
    noc_bw: Annotated[
        int | None, typer.Option("--noc-bw", min=1, help="NoC bandwidth [words/cycle].")
    ] = None,
    noc_latency: Annotated[
        int | None, typer.Option("--noc-latency", min=0, help="NoC latency [cycles].")
    ] = None,
    offchip_bw: Annotated[
        int | None, typer.Option("--offchip-bw", min=1, help="Off-chip bandwidth [words/cycle].")
    ] = None,
    l1_size: Annotated[
        int | None, typer.Option("--l1-size", min=1, help="L1 size per PE [words].")
    ] = None,
    l2_size: Annotated[
        int | None, typer.Option("--l2-size", min=1, help="L2 size [words].")
    ] = None,
    vector_width: Annotated[
        int | None, typer.Option("--vector-width", min=1, help="MACs per PE per cycle.")
    ] = None,
    semantics: Annotated[
        str, typer.Option("--semantics", help="Cost-model semantics: exact or maestro.")
    ] = "exact",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    energy: Annotated[
        str | None,
        typer.Option("--energy", help="Energy table: maestro, eyeriss_65nm or horowitz_45nm_int8."),
    ] = None,
) -> None:
    """Score mappings: every layer of MAESTRO mapping files, or a zoo layer with a dataflow."""
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format"
        )
    if semantics not in SEMANTICS:
        raise typer.BadParameter(
            f"must be one of {', '.join(SEMANTICS)}, got {semantics!r}", param_hint="--semantics"
        )
    files = [*(mapping or []), *(extra_files or [])]
    if extra_files and not mapping:
        raise typer.BadParameter("give mapping files after --mapping", param_hint="--mapping")
    if files and (layer or dataflow):
        raise typer.BadParameter(
            "use either --mapping or --layer with --dataflow", param_hint="--mapping"
        )
    if files:
        jobs = jobs_from_files(files)
    elif layer and dataflow:
        jobs = jobs_from_names(layer, dataflow)
    else:
        raise typer.BadParameter(
            "give --mapping FILE.m [FILE.m ...], or --layer NAME with --dataflow NAME",
            param_hint="--mapping",
        )
    hardware = command_hardware(
        hw,
        pes=pes,
        noc_bw=noc_bw,
        noc_latency=noc_latency,
        offchip_bw=offchip_bw,
        l1_size=l1_size,
        l2_size=l2_size,
        vector_width=vector_width,
    )
    if energy is not None:
        hardware = with_energy_table(hardware, energy)
    records = evaluate_jobs(jobs, hardware, semantics=semantics)
    if fmt == "json":
        console.print(render_json(records), markup=False, highlight=False, soft_wrap=True)
    elif fmt == "csv":
        console.print(render_csv(records), markup=False, highlight=False, soft_wrap=True, end="")
    else:
        # Piped output gets a wide console: rich would squeeze the table to 80 columns.
        out = console if console.is_terminal else Console(width=TABLE_WIDTH)
        out.print(render_table(records, hardware))
