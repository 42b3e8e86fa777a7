"""Named hardware configurations, each with its source.

Two families:

* MAESTRO's reference configurations (``hw_*``, ``cli_default_pe256``): the hardware of
  MAESTRO's reference runs, one per file in ``tests/data/maestro/inputs/hw/`` plus
  ``hw_pe1024_bw256``. Words are MAESTRO's elements (``word_bytes=1``), one MAC per PE per
  cycle, MAESTRO's relative energy table. A hardware file sets the NoC latency to 1; the
  command-line mode of MAESTRO leaves it at 0 (``cli_default_pe256``).
* Accelerators an architect recognises (``eyeriss``, ``nvdla_small``) and ``edge_256``, the
  default target of ``mapsearch tune``. Where a paper or spec gives a figure it is used;
  what MAESTRO's abstraction needs and the source does not give is marked *assumed*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mapsearch.errors import UnknownNameError
from mapsearch.hardware.config import Hardware
from mapsearch.hardware.energy import EYERISS_65NM


@dataclass(frozen=True, slots=True, kw_only=True)
class Preset:
    """A named ``Hardware`` and where its numbers come from."""

    hardware: Hardware
    source: str

    @property
    def name(self) -> str:
        return self.hardware.name


def _maestro(
    name: str, *, pes: int, l1: int, l2: int, noc: int, offchip: int, latency: int, source: str
) -> Preset:
    hw = Hardware(
        name=name,
        num_pes=pes,
        l1_size_words=l1,
        l2_size_words=l2,
        noc_bw_words_per_cycle=noc,
        noc_latency_cycles=latency,
        offchip_bw_words_per_cycle=offchip,
    )
    return Preset(hardware=hw, source=source)


_REF = "hardware file of the MAESTRO reference runs"

_PRESETS = (
    _maestro(
        "hw_default_pe256",
        pes=256,
        l1=100,
        l2=3000,
        noc=1000,
        offchip=50,
        latency=1,
        source="MAESTRO's shipped data/hw/accelerator_1.m (hardware file)",
    ),
    _maestro(
        "hw_default_pe256_offchip1e6",
        pes=256,
        l1=100,
        l2=3000,
        noc=1000,
        offchip=1_000_000,
        latency=1,
        source=f"{_REF}: accelerator_1.m with off-chip bandwidth 1e6",
    ),
    _maestro(
        "hw_pe64_bw32",
        pes=64,
        l1=512,
        l2=65536,
        noc=32,
        offchip=32,
        latency=1,
        source=_REF,
    ),
    _maestro(
        "hw_pe256_bw64_offchip1e6",
        pes=256,
        l1=1024,
        l2=1_048_576,
        noc=64,
        offchip=1_000_000,
        latency=1,
        source=_REF,
    ),
    _maestro(
        "hw_pe1024_bw256",
        pes=1024,
        l1=512,
        l2=1_048_576,
        noc=256,
        offchip=256,
        latency=1,
        source=_REF,
    ),
    _maestro(
        "cli_default_pe256",
        pes=256,
        l1=100,
        l2=3000,
        noc=1000,
        offchip=50,
        latency=0,
        source="MAESTRO reference runs: accelerator_1.m values as CLI flags (NoC latency 0)",
    ),
    Preset(
        # Chen et al., ISSCC 2016 / JSSC 52(1) 2017: 12x14 = 168 PEs, 16-bit fixed point,
        # per-PE scratchpads of 12 (ifmap) + 224 (filter) + 24 (psum) 16-bit words = 260
        # words (0.5 kB), 108 kB global buffer = 55,296 16-bit words, 64-bit off-chip bus
        # (4 words per cycle, assuming it runs at the core clock). NoC 16 words/cycle is
        # assumed: the chip has separate multicast networks per data type, MAESTRO one.
        hardware=Hardware(
            name="eyeriss",
            num_pes=168,
            l1_size_words=260,
            l2_size_words=108 * 1024 // 2,
            noc_bw_words_per_cycle=16,
            offchip_bw_words_per_cycle=4,
            word_bytes=2,
            energy=EYERISS_65NM,
        ),
        source="Eyeriss (Chen et al., ISSCC 2016 / JSSC 2017), 16-bit words; NoC bw assumed",
    ),
    Preset(
        # NVDLA nv_small (nvdla/hw spec/defs/nv_small.spec): atomic-C 8 x atomic-K 8 = 64
        # int8 MACs; convolution buffer 32 banks x 512 entries x 8 bytes = 128 KiB; 64-bit
        # primary memory interface = 8 bytes per cycle. Assumed: per-MAC storage of 64 words
        # (weights held in the MAC array plus a share of the accumulators) and a NoC of 16
        # words/cycle (one 8-byte bank read each of activations and weights per cycle).
        hardware=Hardware(
            name="nvdla_small",
            num_pes=64,
            l1_size_words=64,
            l2_size_words=32 * 512 * 8,
            noc_bw_words_per_cycle=16,
            offchip_bw_words_per_cycle=8,
        ),
        source="NVDLA nv_small spec (64 int8 MACs, 128 KiB CBUF, 64-bit memif); L1/NoC assumed",
    ),
    Preset(
        # mapsearch's default design point, chosen to be mid-size for an edge NPU: a 16x16
        # array of int8 MACs, 512 words of L1 per PE, an L2 as large as Eyeriss's global
        # buffer (108 KiB), a 512-bit NoC (64 words/cycle) and 16 bytes/cycle off-chip
        # (about one x32 LPDDR4-4266 channel, 17 GB/s, at a 1 GHz clock).
        hardware=Hardware(
            name="edge_256",
            num_pes=256,
            l1_size_words=512,
            l2_size_words=108 * 1024,
            noc_bw_words_per_cycle=64,
            offchip_bw_words_per_cycle=16,
        ),
        source="mapsearch default for `tune`: 256 int8 PEs, 108 KiB L2, 64 w/cyc NoC",
    ),
)

#: Preset name -> :class:`Preset`, in listing order.
PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _PRESETS})

#: The preset ``mapsearch tune`` uses when none is given.
DEFAULT_PRESET = "edge_256"


def preset_names() -> tuple[str, ...]:
    """Names of every preset, in listing order."""
    return tuple(PRESETS)


def preset(name: str) -> Hardware:
    """The hardware of preset ``name`` (case-insensitive; ``-`` and ``_`` are the same)."""
    key = name.strip().lower().replace("-", "_")
    try:
        return PRESETS[key].hardware
    except KeyError:
        raise UnknownNameError("hardware preset", name, PRESETS) from None
