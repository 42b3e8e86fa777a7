"""The classic dataflows that ship with MAESTRO, by name.

Nine dataflows (``docs/maestro_model.md`` section 14.1), each a function of the layer: sizes written
``Sz(R)`` stay symbolic until :meth:`Mapping.resolve`; YX-P's ``8+S-1``-column X tile is
computed from the layer. Names are MAESTRO's (as in the reference table's ``dataflow``
column); lookup also accepts short aliases, ignoring case, ``-`` and ``_``.

Variants by layer operator (:func:`dataflow_variant`):

* ``native``: CONV layers get the directives as written.
* ``dsconv_dropK`` / ``dsconv_dpt_fallback``: depthwise layers have no K, so directives on
  K are dropped; if that leaves a cluster level without a SpatialMap (KC-P, CK-P, YK-P,
  MAERI) MAESTRO's depthwise dataflow ``dpt`` is used instead
  (``SpatialMap(1,1) C; TemporalMap(R,1) Y; TemporalMap(S,1) X; TemporalMap(R,R) R;
  TemporalMap(S,S) S``), as MAESTRO's MobileNetV2 example files do.
* ``gconv``: grouped convolutions run the native dataflow group by group
  (``TemporalMap(1,1) G`` prepended), as MAESTRO's ResNeXt50 example files do.
* ``gemm``: GEMM layers (``out[M,N] = in[M,K] @ w[K,N]``) get the dataflow's analogue
  under the correspondence conv K -> GEMM N (output channels), conv C -> GEMM K (the
  reduction), conv output pixels Y'X' -> GEMM M, filter R, S -> nothing. KC-P, CK-P, X-P,
  C-P and YK-P have such an analogue. YX-P (a 2-D tiling of output pixels), both
  row-stationary YR-P dataflows (a diagonal over sliding-window rows) and MAERI_kp (a
  reduction tree over the filter window) have none: they raise ``UnsupportedError``.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import TypeAlias

from mapsearch.directives.directive import (
    Cluster,
    Directive,
    DirectiveKind,
    Mapping,
    Size,
    SpatialMap,
    Sz,
    TemporalMap,
)
from mapsearch.errors import UnknownNameError, UnsupportedError
from mapsearch.layers import Layer, Op


@dataclass(frozen=True, slots=True)
class _SzPlus:
    """``Sz(dim) + plus``: a size that depends on the layer but is not a full dimension."""

    dim: str
    plus: int

    def __str__(self) -> str:
        return f"Sz({self.dim})+{self.plus}"


_Value: TypeAlias = int | Sz | _SzPlus
#: ``(TEMPORAL | SPATIAL, size, offset, dim)`` or ``(CLUSTER, size)``.
_Spec: TypeAlias = tuple[DirectiveKind, _Value, _Value, str] | tuple[DirectiveKind, _Value]

R, S = Sz("R"), Sz("S")


def _t(size: _Value, offset: _Value, dim: str) -> _Spec:
    return (DirectiveKind.TEMPORAL, size, offset, dim)


def _s(size: _Value, offset: _Value, dim: str) -> _Spec:
    return (DirectiveKind.SPATIAL, size, offset, dim)


def _c(size: _Value) -> _Spec:
    return (DirectiveKind.CLUSTER, size)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataflowInfo:
    """A classic dataflow: canonical name, aliases, origin, description and directives.

    ``directives`` is the CONV form with ``Sz()`` unresolved; ``gemm_directives`` the GEMM
    analogue (empty when there is none).
    """

    name: str
    aliases: tuple[str, ...]
    origin: str
    description: str
    directives: str
    gemm_directives: str


@dataclass(frozen=True, slots=True)
class _Entry:
    info: DataflowInfo
    conv: tuple[_Spec, ...]
    gemm: tuple[_Spec, ...]
    gemm_unsupported: str


_DPT: tuple[_Spec, ...] = (
    _s(1, 1, "C"),
    _t(R, 1, "Y"),
    _t(S, 1, "X"),
    _t(R, R, "R"),
    _t(S, S, "S"),
)


def _text(specs: tuple[_Spec, ...]) -> str:
    parts = []
    for spec in specs:
        if spec[0] is DirectiveKind.CLUSTER:
            parts.append(f"Cluster({spec[1]})")
        else:
            kind, size, offset, dim = spec  # type: ignore[misc]
            word = "SpatialMap" if kind is DirectiveKind.SPATIAL else "TemporalMap"
            parts.append(f"{word}({size},{offset}) {dim}")
    return "; ".join(parts)


def _entry(
    name: str,
    aliases: tuple[str, ...],
    origin: str,
    description: str,
    conv: tuple[_Spec, ...],
    gemm: tuple[_Spec, ...] = (),
    gemm_unsupported: str = "",
) -> _Entry:
    info = DataflowInfo(
        name=name,
        aliases=aliases,
        origin=origin,
        description=description,
        directives=_text(conv),
        gemm_directives=_text(gemm),
    )
    return _Entry(info=info, conv=conv, gemm=gemm, gemm_unsupported=gemm_unsupported)


_ENTRIES: tuple[_Entry, ...] = (
    _entry(
        "KC-P_kcp_ws",
        ("kcp_ws", "kcp", "nvdla"),
        "NVDLA-like weight stationary (NVIDIA NVDLA); MAESTRO *_kcp_ws.m, tools kcp_ws.m",
        "output channels K across clusters, input channels C across the 64 PEs of a cluster",
        (
            _s(1, 1, "K"),
            _t(64, 64, "C"),
            _t(R, R, "R"),
            _t(S, S, "S"),
            _t(R, 1, "Y"),
            _t(S, 1, "X"),
            _c(64),
            _s(1, 1, "C"),
            _t(R, 1, "Y"),
            _t(S, 1, "X"),
            _t(R, R, "R"),
            _t(S, S, "S"),
        ),
        gemm=(_s(1, 1, "N"), _t(64, 64, "K"), _t(1, 1, "M"), _c(64), _s(1, 1, "K")),
    ),
    _entry(
        "CK-P_ckp_ws",
        ("ckp_ws", "ckp"),
        "weight stationary, C outer / K inner; MAESTRO vgg16_ckp_ws.m",
        "input channels C across clusters, output channels K across the 64 PEs of a cluster",
        (
            _s(1, 1, "C"),
            _t(64, 64, "K"),
            _t(R, R, "R"),
            _t(S, S, "S"),
            _t(1, 1, "Y'"),
            _t(1, 1, "X'"),
            _c(64),
            _s(1, 1, "K"),
            _t(R, R, "R"),
            _t(S, S, "S"),
        ),
        gemm=(_s(1, 1, "K"), _t(64, 64, "N"), _t(1, 1, "M"), _c(64), _s(1, 1, "N")),
    ),
    _entry(
        "YX-P_yxp_os",
        ("yxp_os", "yxp", "shidiannao"),
        "ShiDianNao-like output stationary (Du et al., ISCA 2015); MAESTRO *_yxp_os.m",
        "output rows across clusters, 8-column output tiles across the 8 PEs of a cluster",
        (
            _t(1, 1, "K"),
            _t(1, 1, "C"),
            _s(R, 1, "Y"),
            _t(_SzPlus("S", 7), 8, "X"),
            _c(8),
            _s(S, 1, "X"),
            _t(R, R, "R"),
            _t(S, S, "S"),
        ),
        gemm_unsupported="it tiles output pixels in two dimensions; a GEMM has one pixel axis (M)",
    ),
    _entry(
        "X-P_xp_ws",
        ("xp_ws", "xp"),
        "weight stationary, output columns in parallel; MAESTRO *_xp_ws.m",
        "one level: input columns X across all PEs, everything else temporal",
        (
            _t(1, 1, "K"),
            _t(1, 1, "C"),
            _t(R, 1, "Y"),
            _s(S, 1, "X"),
            _t(R, R, "R"),
            _t(S, S, "S"),
        ),
        gemm=(_t(1, 1, "N"), _t(1, 1, "K"), _s(1, 1, "M")),
    ),
    _entry(
        "YR-P_rs_vgg",
        ("rs_vgg",),
        "Eyeriss row stationary as in the MICRO'19 files; MAESTRO vgg16_rs.m, Resnet50_rs.m",
        "rows Y across clusters, X with filter rows R diagonally inside: no MAC when S > 1",
        (
            _t(2, 2, "K"),
            _t(3, 3, "C"),
            _t(R, R, "R"),
            _s(R, 1, "Y"),
            _t(S, 1, "X"),
            _c(R),
            _s(1, 1, "X"),
            _s(1, 1, "R"),
            _t(S, S, "S"),
        ),
        gemm_unsupported="row stationary pairs input rows with filter rows; a GEMM has no window",
    ),
    _entry(
        "YR-P_rs_tools",
        ("rs_tools", "rs", "eyeriss"),
        "Eyeriss row stationary (Chen et al., ISCA 2016); MAESTRO tools rs.m, googlenet_rs.m",
        "output rows across clusters of R PEs; input row y+r and filter row r on PE r (diagonal)",
        (
            _s(1, 1, "Y'"),
            _t(1, 1, "X'"),
            _t(1, 1, "C"),
            _t(16, 16, "K"),
            _t(R, R, "R"),
            _t(S, S, "S"),
            _c(R),
            _s(1, 1, "Y"),
            _s(1, 1, "R"),
            _t(S, S, "S"),
        ),
        gemm_unsupported="row stationary pairs input rows with filter rows; a GEMM has no window",
    ),
    _entry(
        "C-P_nlr",
        ("nlr", "cp"),
        "no local reuse (DianNao-like); MAESTRO *_nlr.m",
        "one level: input channels C across all PEs, innermost; every step refetches",
        (
            _t(1, 1, "K"),
            _t(R, 1, "Y"),
            _t(S, 1, "X"),
            _t(R, R, "R"),
            _t(S, S, "S"),
            _s(1, 1, "C"),
        ),
        gemm=(_t(1, 1, "N"), _t(1, 1, "M"), _s(1, 1, "K")),
    ),
    _entry(
        "YK-P_ykp_os",
        ("ykp_os", "ykp"),
        "output stationary, Y and K in parallel; MAESTRO *_ykp_os.m (R/S offsets fixed)",
        "output rows across clusters, 16 output channels K across the 16 PEs of a cluster",
        (
            _t(16, 16, "K"),
            _s(R, 1, "Y"),
            _t(S, 1, "X"),
            _t(1, 1, "C"),
            _c(16),
            _s(1, 1, "K"),
            _t(R, 1, "Y"),
            _t(S, 1, "X"),
            _t(R, R, "R"),
            _t(S, S, "S"),
        ),
        gemm=(_t(16, 16, "N"), _s(1, 1, "M"), _t(1, 1, "K"), _c(16), _s(1, 1, "N")),
    ),
    _entry(
        "MAERI_kp",
        ("maeri",),
        "MAERI (Kwon et al., ASPLOS 2018), three levels; MAESTRO tools maeri.m",
        "K across clusters of R*S PEs; filter rows and columns reduced spatially inside",
        (
            _t(1, 1, "C"),
            _s(1, 1, "K"),
            _t(1, 1, "Y'"),
            _t(1, 1, "X'"),
            _t(R, R, "R"),
            _t(S, S, "S"),
            _c(R),
            _s(1, 1, "Y"),
            _s(1, 1, "R"),
            _c(S),
            _s(1, 1, "X"),
            _s(1, 1, "S"),
        ),
        gemm_unsupported="its clusters reduce over the R x S filter window; a GEMM has no window",
    ),
)

_BY_NAME: dict[str, _Entry] = {e.info.name: e for e in _ENTRIES}

#: Canonical names of the classic dataflows, in the order of ``docs/maestro_model.md``.
DATAFLOWS: tuple[str, ...] = tuple(_BY_NAME)

#: Variants :func:`dataflow_variant` can return.
VARIANTS: tuple[str, ...] = ("native", "dsconv_dropK", "dsconv_dpt_fallback", "gconv", "gemm")


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


@functools.cache
def _keys() -> dict[str, tuple[str, ...]]:
    """Normalised spelling -> canonical names it may mean (more than one: ambiguous)."""
    keys: dict[str, set[str]] = {}
    for e in _ENTRIES:
        prefix = e.info.name.split("_", 1)[0]  # e.g. "KC-P", shared by both YR-P dataflows
        for spelling in (e.info.name, prefix, *e.info.aliases):
            keys.setdefault(_key(spelling), set()).add(e.info.name)
    return {k: tuple(n for n in DATAFLOWS if n in v) for k, v in keys.items()}


def canonical_name(name: str) -> str:
    """The canonical name of a dataflow given by name or alias.

    Raises :class:`UnknownNameError` with close matches, or the candidates when the name is
    ambiguous (``YR-P`` is both row-stationary variants).
    """
    found = _keys().get(_key(name))
    if found is None:
        spellings = [*DATAFLOWS, *(a for e in _ENTRIES for a in e.info.aliases)]
        close = difflib.get_close_matches(name.lower(), [s.lower() for s in spellings], n=5)
        known = [s for s in spellings if s.lower() in close] or spellings
        raise UnknownNameError("dataflow", name, known)
    if len(found) > 1:
        raise UnknownNameError("dataflow", name, found, ambiguous=True)
    return found[0]


def dataflow_info(name: str) -> DataflowInfo:
    """Name, aliases, origin, description and directives of a classic dataflow."""
    return _BY_NAME[canonical_name(name)].info


def _value(value: _Value, layer: Layer) -> Size:
    if isinstance(value, _SzPlus):
        return layer.size(value.dim) + value.plus
    return value


def _build(specs: tuple[_Spec, ...], layer: Layer) -> tuple[Directive, ...]:
    out: list[Directive] = []
    for spec in specs:
        if spec[0] is DirectiveKind.CLUSTER:
            out.append(Cluster(_value(spec[1], layer)))
        else:
            kind, size, offset, dim = spec  # type: ignore[misc]
            cls = SpatialMap if kind is DirectiveKind.SPATIAL else TemporalMap
            out.append(cls(_value(size, layer), _value(offset, layer), dim))
    return tuple(out)


def _levels_without_spatial(specs: tuple[_Spec, ...]) -> bool:
    levels: list[bool] = [False]
    for spec in specs:
        if spec[0] is DirectiveKind.CLUSTER:
            levels.append(False)
        elif spec[0] is DirectiveKind.SPATIAL:
            levels[-1] = True
    return not all(levels)


def _specs(entry: _Entry, layer: Layer) -> tuple[str, tuple[_Spec, ...]]:
    """The variant and directive specs of ``entry`` for ``layer``'s operator."""
    if layer.op is Op.GEMM:
        if not entry.gemm:
            raise UnsupportedError(
                f"dataflow {entry.info.name} has no GEMM form ({entry.gemm_unsupported}); "
                f"layer {layer.qualified_name!r} is a GEMM: use one of "
                f"{', '.join(e.info.name for e in _ENTRIES if e.gemm)} or write a mapping"
            )
        return "gemm", entry.gemm
    if layer.op is Op.DSCONV:
        kept = tuple(
            s
            for s in entry.conv
            if s[0] is DirectiveKind.CLUSTER or s[3] != "K"  # type: ignore[misc]
        )
        if _levels_without_spatial(kept):
            return "dsconv_dpt_fallback", _DPT
        return "dsconv_dropK", kept
    if layer.op is Op.GCONV:
        return "gconv", (_t(1, 1, "G"), *entry.conv)
    return "native", entry.conv


def dataflow(name: str, layer: Layer) -> Mapping:
    """The classic dataflow ``name`` (canonical or alias) for ``layer``.

    The mapping is named with the canonical name; full-size tiles stay ``Sz(D)`` until
    :meth:`Mapping.resolve`. Raises :class:`UnknownNameError` for an unknown name and
    :class:`UnsupportedError` for a GEMM layer when the dataflow has no GEMM form.
    """
    entry = _BY_NAME[canonical_name(name)]
    _, specs = _specs(entry, layer)
    return Mapping(directives=_build(specs, layer), name=entry.info.name)


def dataflow_variant(name: str, layer: Layer) -> str:
    """Which form of the dataflow ``layer`` gets: one of :data:`VARIANTS`."""
    variant, _ = _specs(_BY_NAME[canonical_name(name)], layer)
    return variant
