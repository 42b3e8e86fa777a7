"""MAESTRO ``.m`` files: mapping files (layers + dataflows) and hardware files, read and written.

Mapping-file grammar (MAESTRO's "DFSL"; see the tokeniser in :mod:`._tokens` for how words
are split)::

    Constant NAME value;                        // optional, before or after the Network
    Network NAME {
      Layer NAME {
        Type: CONV | TRCONV | DSCONV | NGCONV | GEMM
        Stride { X: sx, Y: sy }                  // optional, default 1; before Dimensions
        Dimensions { K: k, C: c, R: r, S: s, Y: y, X: x }   // any order; N optional (1)
        Dataflow {                               // optional
          TemporalMap(size,offset) DIM;  SpatialMap(size,offset) DIM;  Cluster(size,P);
        }
      }
    }

Choices where MAESTRO is silent, lenient or quirky (all tested):

* Constants are resolved to ints while reading; ``Sz(D)`` stays ``Sz("D")`` in the mapping
  (the cost model resolves it against the layer). Constant names must be new and not a
  keyword or dimension name; redefining one is an error.
* ``Stride`` after ``Dimensions`` is an error, as in MAESTRO (the stride is needed to turn
  ``Y'``/``X'`` into input rows/columns).
* A dimension given twice is accepted when both values agree (MAESTRO's ``UNet_RS.m`` has
  ``N: 1, N: 1``) and an error otherwise; ``Y`` together with ``Y'`` is an error.
* A layer without ``Dataflow`` gets ``mapping=None``. MAESTRO would silently reuse the
  previous layer's dataflow (and crash on clustered ones, its quirk 19); mapsearch does not.
* ``TRCONV`` is read as a convolution, as MAESTRO models it; ``declared_type`` keeps the
  word. ``DSCONV`` files write ``K: 1``; any other K is an error. ``FC``, ``POOL``, ``LSTM``
  and ``RESIDUAL_IDENTITY`` raise :class:`UnsupportedError` (MAESTRO parses them but models
  none of them).
* ``Y'``/``X'`` in ``Dimensions`` give ``Y = (Y' - 1) * stride + R``; MAESTRO itself ignores
  the stride there (``Y = Y' + R - 1``).
* Names are read as written between the keyword and ``{`` on its line: ``Layer Conv2d-1 {``
  is layer ``Conv2d-1`` (MAESTRO's tokeniser would keep only ``1``). The network name may
  be empty, as MAESTRO allows; a layer needs one.
* ``Constant`` lines go outside the Network block. A ``Dataflow`` may precede
  ``Dimensions`` (nothing is resolved against them while reading; MAESTRO needs the
  dimensions first to resolve ``Sz()``).
* An ``Accelerator { ... }`` block (parsed and ignored by MAESTRO) is skipped.
* ``/* */`` comments are not accepted: MAESTRO does not accept them and no shipped file
  uses them.

Hardware files are ``key: value`` lines (``num_pes``, ``l1_size_cstr``, ``l2_size_cstr``,
``noc_bw_cstr``, ``offchip_bw_cstr``, and optionally ``NoC_NumHops``), see
:func:`parse_hardware_text`.

Numbers are read with their sign (MAESTRO's tokeniser drops ``-``: ``K: -3`` would read 3)
and refused outside 1..2**31-1 (MAESTRO's C ``int``); files are read up to 16 MiB.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from mapsearch.directives._tokens import (
    Token,
    TokenStream,
    describe,
    int_value,
    is_int,
    one_of,
    tokenize,
)
from mapsearch.directives.directive import (
    Cluster,
    Directive,
    Mapping,
    Size,
    SpatialMap,
    Sz,
    TemporalMap,
)
from mapsearch.errors import (
    LayerError,
    MappingError,
    ParseError,
    UnsupportedError,
)
from mapsearch.hardware.config import FIELD_RANGES, UNLIMITED, EnergyTable, Hardware
from mapsearch.layers.layer import OP_DIMS, Layer, Op

#: Declared ``Type`` -> operator. TRCONV is modelled by MAESTRO as a plain convolution.
LAYER_TYPES: MappingProxyType[str, Op] = MappingProxyType(
    {"CONV": Op.CONV, "TRCONV": Op.CONV, "DSCONV": Op.DSCONV, "NGCONV": Op.GCONV, "GEMM": Op.GEMM}
)

#: Types MAESTRO's parser knows but does not model, with how to express them instead.
UNSUPPORTED_TYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "FC": "write it as CONV with R=S=Y=X=1 (or R=Y, S=X)",
        "POOL": "pooling has no MACs; leave the layer out",
        "LSTM": "write its gate matrix products as GEMM layers",
        "RESIDUAL_IDENTITY": "an element-wise add has no MACs; leave the layer out",
    }
)

#: The type word the writer uses for each operator.
_TYPE_OF_OP: MappingProxyType[Op, str] = MappingProxyType(
    {Op.CONV: "CONV", Op.DSCONV: "DSCONV", Op.GCONV: "NGCONV", Op.GEMM: "GEMM"}
)

_OUTPUT_DIMS = ("Y'", "X'")
#: Dimension names a directive (or ``Sz``) of each operator may name. Depthwise layers keep K
#: because MAESTRO's depthwise files declare ``K: 1`` and may map it.
DIRECTIVE_DIMS: MappingProxyType[Op, tuple[str, ...]] = MappingProxyType(
    {
        Op.CONV: (*OP_DIMS[Op.CONV], *_OUTPUT_DIMS),
        Op.DSCONV: ("N", "K", "C", "R", "S", "Y", "X", *_OUTPUT_DIMS),
        Op.GCONV: (*OP_DIMS[Op.GCONV], *_OUTPUT_DIMS),
        Op.GEMM: OP_DIMS[Op.GEMM],
    }
)
#: Largest number a file may write (MAESTRO reads numbers into a C ``int``).
MAX_INT = 2**31 - 1
#: Largest file read: MAESTRO files are text of a few kB; this stops ``/dev/zero`` & co.
MAX_FILE_BYTES = 16 * 2**20
#: Every dimension name MAESTRO knows.
ALL_DIMS: tuple[str, ...] = ("G", "N", "K", "C", "R", "S", "Y", "X", "Y'", "X'", "M")

_MAP_KEYWORDS = ("TemporalMap", "SpatialMap")
_DIRECTIVE_KEYWORDS = (*_MAP_KEYWORDS, "Cluster")
_LAYER_KEYWORDS = ("Type", "Stride", "Dimensions", "Dataflow")
_KEYWORDS = frozenset(
    ("Constant", "Network", "Layer", "Accelerator", "Sz", *_LAYER_KEYWORDS, *_DIRECTIVE_KEYWORDS)
)
#: One token for MAESTRO's tokeniser (a constant name must be one; a name must start and end
#: with one).
_WORD = re.compile(r"[^\s,\->():;{}]+")
#: What a network or layer name may not hold: braces and whitespace that breaks lines.
_NAME_BREAK = re.compile(r"[{}]|[^\S \t]")


def _hint(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    return f" (did you mean {one_of(close)}?)" if close else ""


# --- values ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroLayer:
    """One ``Layer`` block: the layer, its dataflow (None without ``Dataflow``) and its type word.

    ``declared_type`` is the file's ``Type`` (``"TRCONV"`` stays ``"TRCONV"`` although the
    layer is a convolution); left empty it is derived from the layer's operator. ``line`` is
    where the block starts (0 when not read from a file) and takes no part in equality.
    """

    layer: Layer
    mapping: Mapping | None = None
    declared_type: str = ""
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.declared_type:
            object.__setattr__(self, "declared_type", _TYPE_OF_OP[self.layer.op])
        op = LAYER_TYPES.get(self.declared_type)
        if op is not self.layer.op:
            types = [t for t, o in LAYER_TYPES.items() if o is self.layer.op]
            raise LayerError(
                f"layer {self.layer.name!r}: declared type {self.declared_type!r} does not match "
                f"its operator {self.layer.op.value}; use {one_of(types)}"
            )
        if self.mapping is not None and len(self.mapping) == 0:
            raise MappingError(
                [f"layer {self.layer.name!r}: the mapping has no directive; use mapping=None"]
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroNetwork:
    """A parsed mapping (or model) file: its ``Network`` and ``Constant`` definitions.

    ``constants`` keeps the file's ``(name, value)`` pairs in order; they are already
    substituted wherever the file used them. ``path`` says where the network was read from
    and takes no part in equality, so ``read(write(x)) == x``.
    """

    name: str
    layers: tuple[MaestroLayer, ...]
    constants: tuple[tuple[str, int], ...] = ()
    path: str = field(default="<string>", compare=False)

    def __post_init__(self) -> None:
        # Lists compare unequal to tuples: store tuples whatever the caller passed.
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "constants", tuple((n, int(v)) for n, v in self.constants))


# --- reading mapping files ---------------------------------------------------------------
def read_mapping_file(path: str | Path) -> MaestroNetwork:
    """Read a MAESTRO mapping or model file (see the module docstring for the grammar)."""
    return parse_mapping_text(_read_text(path), path=str(path))


def parse_mapping_text(text: str, *, path: str = "<string>") -> MaestroNetwork:
    """Parse the text of a MAESTRO mapping file; ``path`` only names it in error messages.

    Raises :class:`ParseError` (with file and line) for a malformed file and
    :class:`UnsupportedError` for a layer type MAESTRO does not model (FC, POOL, ...).
    """
    ts = TokenStream(text, path)
    constants: dict[str, int] = {}
    network: tuple[str, tuple[MaestroLayer, ...]] | None = None
    while (tok := ts.peek()) is not None:
        ts.pos += 1
        if tok.text == "Constant":
            _parse_constant(ts, tok, constants)
        elif tok.text == "Accelerator":
            _skip_block(ts, tok)
        elif tok.text == "Network":
            if network is not None:
                raise ts.error(
                    f"a second Network block (the first is {network[0]!r}); "
                    "a MAESTRO file holds one network",
                    tok,
                )
            network = _parse_network(ts, tok, constants)
        else:
            raise ts.error(
                f"expected 'Network', 'Constant' or 'Accelerator', got {describe(tok)}"
                + _hint(tok.text, ["Network", "Constant", "Accelerator"]),
                tok,
            )
    if network is None:
        raise ts.error("no 'Network NAME { ... }' block in the file", 1)
    return MaestroNetwork(
        name=network[0], layers=network[1], constants=tuple(constants.items()), path=path
    )


def parse_directives(text: str) -> Mapping:
    """Parse bare directive text, e.g. dev.csv's ``SpatialMap(1,1) K; ...; Cluster(64,P); ...``.

    Sizes are integers or ``Sz(D)``; any dimension MAESTRO knows is accepted (the layer is
    not known here).
    """
    ts = TokenStream(text, "<directives>")
    directives: list[Directive] = []
    while (tok := ts.peek()) is not None:
        ts.pos += 1
        directives.append(_parse_directive(ts, tok, {}, ALL_DIMS))
    if not directives:
        raise ts.error("expected at least one directive, got none", 1)
    return Mapping(directives=tuple(directives))


def _read_text(path: str | Path) -> str:
    """The file's text, read up to ``MAX_FILE_BYTES`` (more is refused, unread)."""
    try:
        with Path(path).open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ParseError(f"cannot read the file: {e.strerror}", path=str(path), line=0) from e
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(
            f"larger than {MAX_FILE_BYTES // 2**20} MiB; a MAESTRO file is a few kB of text",
            path=str(path),
            line=0,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"not a text file ({e.reason})", path=str(path), line=0) from e


def _parse_int(
    ts: TokenStream,
    tok: Token,
    constants: MappingABC[str, int],
    what: str,
    forms: str = "an integer or a Constant",
) -> int:
    """An integer literal or a constant's value, from 1 to ``MAX_INT``; ``forms`` says what
    else was allowed."""
    value = int_value(tok, MAX_INT)
    if value is None and tok.text in constants:
        value = -constants[tok.text] if tok.minus else constants[tok.text]
    if value is None:
        raise ts.error(
            f"expected {what} ({forms}), got {describe(tok)}" + _hint(tok.text, list(constants)),
            tok,
        )
    shown = ("-" if tok.minus else "") + tok.text
    if value < 1:
        raise ts.error(f"{what} must be >= 1, got {shown}", tok)
    if value > MAX_INT:
        raise ts.error(f"{what} must be <= {MAX_INT:,} (a C int in MAESTRO), got {shown}", tok)
    return value


def _parse_constant(ts: TokenStream, start: Token, constants: dict[str, int]) -> None:
    name = ts.next("a constant name after 'Constant'")
    if (
        name.text in _KEYWORDS
        or name.text in ALL_DIMS
        or name.text in ("{", "}")
        or is_int(name.text)
    ):
        raise ts.error(
            f"constant name {name.text!r} is a keyword, dimension or number; choose another name",
            name,
        )
    if name.text in constants:
        raise ts.error(f"constant {name.text} is defined twice; define it once", name)
    value = ts.next(f"a value for constant {name.text}")
    constants[name.text] = _parse_int(ts, value, constants, f"the value of constant {name.text}")


def _skip_block(ts: TokenStream, start: Token) -> None:
    """Skip a ``NAME { ... }`` block with nested braces (MAESTRO's unused Accelerator block)."""
    ts.expect("{", after=start.text)
    depth = 1
    while depth:
        tok = ts.next(f"'}}' closing the {start.text} block opened at line {start.line}")
        depth += {"{": 1, "}": -1}.get(tok.text, 0)


def _block_name(ts: TokenStream, keyword: Token, *, required: bool) -> str:
    """The name between ``keyword`` and ``{`` on the keyword's line, then the ``{``."""
    name = ts.rest_of_line_until("{", keyword.line)
    if required and not name:
        raise ts.error(
            f"expected a name after '{keyword.text}', got {describe(ts.peek())}", keyword
        )
    ts.expect("{", after=f"{keyword.text} {name}".strip())
    return name


def _parse_network(
    ts: TokenStream, start: Token, constants: dict[str, int]
) -> tuple[str, tuple[MaestroLayer, ...]]:
    """A Network block: its name and layers."""
    name = _block_name(ts, start, required=False)  # MAESTRO allows an unnamed network
    layers: list[MaestroLayer] = []
    while True:
        tok = ts.next(f"'}}' closing Network {name} (opened at line {start.line})")
        if tok.text == "}":
            return name, tuple(layers)
        if tok.text == "Layer":
            layers.append(_parse_layer(ts, tok, constants, name))
        elif tok.text == "Accelerator":
            _skip_block(ts, tok)
        else:
            raise ts.error(
                f"expected 'Layer' or '}}' in Network {name}, got {describe(tok)}"
                + _hint(tok.text, ["Layer"]),
                tok,
            )


@dataclass(slots=True)
class _LayerParts:
    """What a Layer block said, collected before the layer is built at its closing brace."""

    name: str
    start: Token
    seen: dict[str, Token] = field(default_factory=dict)  # layer keyword -> where it is
    type_tok: Token | None = None
    stride: dict[str, int] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    dataflow: list[Directive] | None = None


def _parse_layer(
    ts: TokenStream, start: Token, constants: dict[str, int], network: str
) -> MaestroLayer:
    parts = _LayerParts(name=_block_name(ts, start, required=True), start=start)
    while True:
        tok = ts.next(f"'}}' closing Layer {parts.name} (opened at line {start.line})")
        if tok.text == "}":
            break
        if tok.text in parts.seen:
            raise ts.error(
                f"layer {parts.name}: a second '{tok.text}' (the first is at line "
                f"{parts.seen[tok.text].line}); give it once",
                tok,
            )
        if tok.text in _LAYER_KEYWORDS:
            parts.seen[tok.text] = tok
        if tok.text == "Type":
            parts.type_tok = _parse_type(ts, tok)
        elif tok.text == "Stride":
            if "Dimensions" in parts.seen:
                raise ts.error(
                    f"layer {parts.name}: 'Stride' must come before 'Dimensions' "
                    "(MAESTRO rejects it after); move the Stride line up",
                    tok,
                )
            parts.stride = _parse_pairs(ts, tok, constants, ("X", "Y"), parts.name)
        elif tok.text == "Dimensions":
            parts.dims = _parse_pairs(ts, tok, constants, ALL_DIMS, parts.name)
        elif tok.text == "Dataflow":
            parts.dataflow = _parse_dataflow(ts, tok, constants, parts)
        else:
            raise ts.error(
                f"unknown keyword {tok.text!r} in Layer {parts.name}; expected "
                + one_of([*_LAYER_KEYWORDS, "'}'"])
                + _hint(tok.text, _LAYER_KEYWORDS),
                tok,
            )
    layer, declared = _build_layer(ts, parts, network)
    mapping = None if parts.dataflow is None else Mapping(directives=tuple(parts.dataflow))
    return MaestroLayer(layer=layer, mapping=mapping, declared_type=declared, line=start.line)


def _parse_type(ts: TokenStream, keyword: Token) -> Token:
    tok = ts.next("a layer type after 'Type'")
    if tok.text in UNSUPPORTED_TYPES:
        raise UnsupportedError(
            f"{ts.path}:{tok.line}: layer type {tok.text} is not supported by mapsearch "
            f"(nor modelled by MAESTRO); {UNSUPPORTED_TYPES[tok.text]}"
        )
    if tok.text not in LAYER_TYPES:
        raise ts.error(
            f"unknown layer type {tok.text!r}; expected {one_of(list(LAYER_TYPES))}"
            + _hint(tok.text, list(LAYER_TYPES)),
            tok,
        )
    return tok


def _parse_pairs(
    ts: TokenStream,
    keyword: Token,
    constants: dict[str, int],
    keys: tuple[str, ...],
    layer: str,
) -> dict[str, int]:
    """``{ KEY value, ... }``: Stride and Dimensions blocks."""
    ts.expect("{", after=keyword.text)
    out: dict[str, int] = {}
    while True:
        tok = ts.next(
            f"'}}' closing {keyword.text} of layer {layer} (opened at line {keyword.line})"
        )
        if tok.text == "}":
            if not out:
                raise ts.error(f"layer {layer}: empty {keyword.text} block", keyword)
            return out
        if tok.text not in keys:
            raise ts.error(
                f"layer {layer}: expected a {keyword.text} key ({one_of(keys)}) or '}}', "
                f"got {describe(tok)}" + _hint(tok.text, keys),
                tok,
            )
        value_tok = ts.next(f"a value for {tok.text} in {keyword.text}")
        value = _parse_int(ts, value_tok, constants, f"{keyword.text} value of {tok.text}")
        if out.get(tok.text, value) != value:
            raise ts.error(
                f"layer {layer}: {tok.text} is given twice with different values "
                f"({out[tok.text]} and {value}); give it once",
                tok,
            )
        out[tok.text] = value


def _parse_dataflow(
    ts: TokenStream, keyword: Token, constants: dict[str, int], parts: _LayerParts
) -> list[Directive]:
    ts.expect("{", after="Dataflow")
    # The type may come after the Dataflow block in a file; check dimensions when it is known.
    op = LAYER_TYPES[parts.type_tok.text] if parts.type_tok is not None else None
    dims = ALL_DIMS if op is None else DIRECTIVE_DIMS[op]
    out: list[Directive] = []
    while True:
        tok = ts.next(
            f"'}}' closing Dataflow of layer {parts.name} (opened at line {keyword.line})"
        )
        if tok.text == "}":
            if not out:
                raise ts.error(
                    f"layer {parts.name}: empty Dataflow block; give directives or drop the block",
                    keyword,
                )
            return out
        out.append(_parse_directive(ts, tok, constants, dims))


def _parse_size(
    ts: TokenStream, constants: MappingABC[str, int], dims: tuple[str, ...], what: str
) -> Size:
    tok = ts.next(what)
    if tok.text != "Sz":
        return _parse_int(ts, tok, constants, what, "an integer, a Constant or Sz(D)")
    dim = ts.next("a dimension inside Sz()")
    if dim.text not in dims:
        raise ts.error(
            f"expected a dimension inside Sz() ({one_of(dims)}), got {describe(dim)}", dim
        )
    return Sz(dim.text)


def _parse_directive(
    ts: TokenStream, tok: Token, constants: MappingABC[str, int], dims: tuple[str, ...]
) -> Directive:
    """One directive starting at keyword ``tok`` (already consumed)."""
    if tok.text == "Cluster":
        size = _parse_size(ts, constants, dims, "the size of Cluster()")
        nxt = ts.peek()
        if nxt is not None and nxt.text in ("P", "L"):  # MAESTRO's cluster type, ignored
            ts.pos += 1
        return Cluster(size)
    if tok.text not in _MAP_KEYWORDS:
        raise ts.error(
            f"expected a directive ({one_of(_DIRECTIVE_KEYWORDS)}) or '}}', got {describe(tok)}"
            + _hint(tok.text, _DIRECTIVE_KEYWORDS),
            tok,
        )
    size = _parse_size(ts, constants, dims, f"the size of {tok.text}()")
    offset = _parse_size(ts, constants, dims, f"the offset of {tok.text}()")
    dim = ts.peek()
    if dim is None or dim.text not in dims:
        raise ts.error(
            f"expected a dimension ({one_of(dims)}) after '{tok.text}({size},{offset})', "
            f"got {describe(dim)}",
            tok,
        )
    ts.pos += 1
    cls = TemporalMap if tok.text == "TemporalMap" else SpatialMap
    return cls(size, offset, dim.text)


def _build_layer(ts: TokenStream, parts: _LayerParts, network: str) -> tuple[Layer, str]:
    """The Layer a block describes, and its declared type; errors point at the block."""
    where = f"layer {parts.name}"
    if parts.type_tok is None:
        raise ts.error(f"{where} has no 'Type'; add e.g. 'Type: CONV'", parts.start)
    if "Dimensions" not in parts.seen:
        raise ts.error(f"{where} has no 'Dimensions' block", parts.start)
    declared = parts.type_tok.text
    op = LAYER_TYPES[declared]
    at = parts.seen["Dimensions"]
    given = dict(parts.dims)
    allowed = DIRECTIVE_DIMS[op]
    extra = [d for d in given if d not in allowed]
    if extra:
        raise ts.error(
            f"{where}: {one_of(extra)} {'is' if len(extra) == 1 else 'are'} not a dimension "
            f"of a {declared} layer "
            f"(its dimensions: {', '.join(allowed)})",
            at,
        )
    if parts.dataflow is not None:
        wrong = sorted(
            {d for directive in parts.dataflow for d in _dims_named(directive) if d not in allowed}
        )
        if wrong:
            raise ts.error(
                f"{where}: the Dataflow names {one_of(wrong)}, not a dimension of a {declared} "
                f"layer (its dimensions: {', '.join(allowed)})",
                parts.seen["Dataflow"],
            )
    if op is Op.DSCONV and given.pop("K", 1) != 1:
        raise ts.error(
            f"{where}: a DSCONV layer has one filter per channel, so K must be 1, got "
            f"{parts.dims['K']}; write K: 1 (or use CONV)",
            at,
        )
    stride_y, stride_x = parts.stride.get("Y", 1), parts.stride.get("X", 1)
    if op is Op.GEMM and (stride_y, stride_x) != (1, 1):
        raise ts.error(
            f"{where}: a GEMM layer has no stride; drop the Stride block", parts.seen["Stride"]
        )
    for out_dim, in_dim, window, stride in (("Y'", "Y", "R", stride_y), ("X'", "X", "S", stride_x)):
        if out_dim not in given:
            continue
        if in_dim in given:
            raise ts.error(
                f"{where}: both {in_dim} and {out_dim} are given; give the input size {in_dim} "
                f"or the output size {out_dim}, not both",
                at,
            )
        if window not in given:
            raise ts.error(f"{where}: {out_dim} needs {window} to find {in_dim}", at)
        # Input rows covered by the outputs at this stride. MAESTRO itself ignores the stride
        # here (it takes Y = Y' + R - 1).
        given[in_dim] = (given.pop(out_dim) - 1) * stride + given[window]
    if op is not Op.GEMM:
        given.setdefault("N", 1)
    missing = [d for d in OP_DIMS[op] if d not in given]
    if missing:
        raise ts.error(
            f"{where}: Dimensions lacks {one_of(missing)} (a {declared} layer needs "
            f"{', '.join(d for d in OP_DIMS[op] if d != 'N' or op is Op.GEMM)})",
            at,
        )
    try:
        layer = Layer(
            name=parts.name,
            op=op,
            dims=tuple((d, given[d]) for d in OP_DIMS[op]),
            stride_y=stride_y,
            stride_x=stride_x,
            model=network,
        )
    except LayerError as e:
        raise ts.error(str(e), at) from e
    return layer, declared


def _dims_named(directive: Directive) -> list[str]:
    sizes = (
        [directive.size] if isinstance(directive, Cluster) else [directive.size, directive.offset]
    )
    named = [s.dim for s in sizes if isinstance(s, Sz)]
    return named if isinstance(directive, Cluster) else [*named, directive.dim]


# --- writing mapping files ---------------------------------------------------------------
def format_directive(directive: Directive) -> str:
    """One directive in MAESTRO syntax, e.g. ``TemporalMap(3,1) Y`` or ``Cluster(64,P)``."""
    if isinstance(directive, Cluster):
        return f"Cluster({directive.size},P)"
    return str(directive)


def format_directives(mapping: Mapping) -> str:
    """A mapping on one line, ``"; "``-joined, as dev.csv's ``directives`` column writes it."""
    return "; ".join(format_directive(d) for d in mapping)


def format_network(network: MaestroNetwork) -> str:
    """The text of a MAESTRO mapping file that reads back to ``network``.

    Layout follows MAESTRO's files: ``Type``, ``Stride``, ``Dimensions`` (input ``Y``/``X``;
    depthwise layers get ``K: 1``), ``Dataflow`` with ``Cluster(n,P)``. ``Sz(Y')``/``Sz(X')``
    are written as such and read back by mapsearch, but MAESTRO only resolves ``Sz()`` of
    declared dimensions: write ``mapping.resolve(layer)`` for it instead. Raises
    :class:`LayerError` for a name that would not read back (braces, ``//``, a separator at
    either end) and :class:`MappingError` for a directive size below 1.
    """
    lines = [f"Constant {_checked_constant(n)} {v};" for n, v in network.constants]
    name = _checked_name("network", network.name)
    lines.append(f"Network {name} {{" if name else "Network {")
    for entry in network.layers:
        lines += _format_layer(entry)
    lines.append("}")
    return "\n".join(lines) + "\n"


def format_mapping_file(layer: Layer, mapping: Mapping, network_name: str | None = None) -> str:
    """A one-layer MAESTRO mapping file; the network is named ``network_name``, else
    ``layer.model``, else ``"mapsearch"``."""
    name = network_name or layer.model or "mapsearch"
    return format_network(
        MaestroNetwork(name=name, layers=(MaestroLayer(layer=layer, mapping=mapping),))
    )


def write_mapping_file(network: MaestroNetwork, path: str | Path) -> None:
    """Write ``network`` as a MAESTRO mapping file."""
    Path(path).write_text(format_network(network), encoding="utf-8")


def _checked_constant(name: str) -> str:
    if (
        not _WORD.fullmatch(name)
        or "//" in name
        or name in _KEYWORDS
        or name in ALL_DIMS
        or is_int(name)
    ):
        raise LayerError(
            f"constant name {name!r} cannot be written to a MAESTRO file: it must be one word "
            "without spaces or any of , - > ( ) : ; { } //, and not a number, keyword or dimension"
        )
    return name


def _checked_name(kind: str, name: str) -> str:
    """A network or layer name that reads back unchanged (see ``rest_of_line_until``)."""
    if name and not (
        _WORD.match(name[0])
        and _WORD.match(name[-1])
        and "//" not in name
        and _NAME_BREAK.search(name) is None
    ):
        raise LayerError(
            f"{kind} name {name!r} cannot be written to a MAESTRO file: it must start and end "
            "with a letter, digit or symbol other than , - > ( ) : ; and hold no braces, no "
            "'//' and no whitespace but spaces and tabs; rename it"
        )
    if kind == "layer" and not name:
        raise LayerError("a layer without a name cannot be written to a MAESTRO file; name it")
    return name


def _format_layer(entry: MaestroLayer) -> list[str]:
    layer = entry.layer
    sizes = layer.sizes
    if layer.op is Op.DSCONV:
        sizes = {"N": sizes["N"], "K": 1, **{d: v for d, v in sizes.items() if d != "N"}}
    # Batch 1 is left implicit, as in MAESTRO's files, unless the dataflow names N (MAESTRO
    # resolves Sz(N) against the declared dimensions only).
    named = {d for directive in entry.mapping or () for d in _dims_named(directive)}
    if layer.op is not Op.GEMM and sizes["N"] == 1 and "N" not in named:
        del sizes["N"]
    lines = [
        f"  Layer {_checked_name('layer', layer.name)} {{",
        f"    Type: {entry.declared_type}",
    ]
    if layer.op is not Op.GEMM:
        lines.append(f"    Stride {{ X: {layer.stride_x}, Y: {layer.stride_y} }}")
    lines.append("    Dimensions { " + ", ".join(f"{d}: {v}" for d, v in sizes.items()) + " }")
    if entry.mapping is not None:
        problems = [
            f"directive {i} ({format_directive(d)}): sizes must be >= 1"
            for i, d in enumerate(entry.mapping)
            if any(isinstance(s, int) and s < 1 for s in _sizes_of(d))
        ]
        if problems:
            raise MappingError(problems, mapping_name=entry.mapping.name)
        lines.append("    Dataflow {")
        lines += [f"      {format_directive(d)};" for d in entry.mapping]
        lines.append("    }")
    lines.append("  }")
    return lines


def _sizes_of(directive: Directive) -> tuple[Size, ...]:
    return (
        (directive.size,) if isinstance(directive, Cluster) else (directive.size, directive.offset)
    )


# --- hardware files ----------------------------------------------------------------------
#: Hardware-file key -> Hardware field.
HARDWARE_KEYS: MappingProxyType[str, str] = MappingProxyType(
    {
        "num_pes": "num_pes",
        "l1_size_cstr": "l1_size_words",
        "l2_size_cstr": "l2_size_words",
        "noc_bw_cstr": "noc_bw_words_per_cycle",
        "offchip_bw_cstr": "offchip_bw_words_per_cycle",
        "NoC_NumHops": "noc_latency_cycles",
    }
)


#: Keys every hardware file must give (MAESTRO's own files all do); ``NoC_NumHops`` is the
#: one optional key.
REQUIRED_HARDWARE_KEYS: tuple[str, ...] = (
    "num_pes",
    "l1_size_cstr",
    "l2_size_cstr",
    "noc_bw_cstr",
    "offchip_bw_cstr",
)


def read_hardware_file(path: str | Path, *, name: str | None = None) -> Hardware:
    """Read a MAESTRO hardware file (``--HW_file``); see :func:`parse_hardware_text`."""
    return parse_hardware_text(_read_text(path), path=str(path), name=name)


def parse_hardware_text(text: str, *, path: str = "<string>", name: str | None = None) -> Hardware:
    """Parse ``key: value`` lines with MAESTRO's meaning of a hardware file.

    Required keys (:data:`REQUIRED_HARDWARE_KEYS`): ``num_pes``, ``l1_size_cstr``,
    ``l2_size_cstr``, ``noc_bw_cstr`` and ``offchip_bw_cstr``, as every MAESTRO hardware
    file writes them; ``2147483647`` (MAESTRO's INT_MAX) means no limit. Optional:
    ``NoC_NumHops``, the NoC latency in cycles, 1 when absent (MAESTRO's hardware-file
    default; its command line gives 0). A file without a required key is refused, naming
    what is missing: MAESTRO would read an empty or truncated file as 1 PE with every
    limit off, without a word. Values are integers in words (words/cycle), in the ranges
    of ``hardware.config.FIELD_RANGES``; a minus sign is refused. The hardware is named
    ``name``, else the file's stem.
    """
    lines: dict[int, list[Token]] = {}
    for tok in tokenize(text):
        lines.setdefault(tok.line, []).append(tok)
    values: dict[str, int] = {}
    seen_at: dict[str, int] = {}
    for lineno, toks in lines.items():
        key = toks[0].text
        if key not in HARDWARE_KEYS:
            raise ParseError(
                f"unknown hardware key {key!r}{_hint(key, list(HARDWARE_KEYS))}; "
                f"known keys: {', '.join(HARDWARE_KEYS)}",
                path=path,
                line=lineno,
            )
        if key in seen_at:
            raise ParseError(
                f"{key} is given twice (first at line {seen_at[key]}); give it once",
                path=path,
                line=lineno,
            )
        if len(toks) != 2:
            got = "nothing" if len(toks) == 1 else f"extra {toks[2].text!r}"
            raise ParseError(
                f"expected one integer after {key} ('{key}: value'), got {got}",
                path=path,
                line=lineno,
            )
        low, high = FIELD_RANGES[HARDWARE_KEYS[key]]
        value = int_value(toks[1], high)
        if value is None or not low <= value <= high:
            shown = ("-" if toks[1].minus else "") + toks[1].text
            bound = f"<= {high:,}" if value is not None and value > high else f">= {low}"
            raise ParseError(
                f"{key} must be an integer {bound}, got {shown!r}", path=path, line=lineno
            )
        seen_at[key] = lineno
        values[HARDWARE_KEYS[key]] = value
    missing = [k for k in REQUIRED_HARDWARE_KEYS if k not in seen_at]
    if missing:
        raise ParseError(
            f"missing {', '.join(missing)}: a hardware file gives "
            f"{', '.join(REQUIRED_HARDWARE_KEYS)} ({UNLIMITED} for no limit); "
            "NoC_NumHops is optional (default 1)",
            path=path,
            line=max(1, len(text.splitlines())),
        )
    hw_name = name or (Path(path).stem if path != "<string>" else "custom")
    return Hardware(
        name=hw_name,
        num_pes=values["num_pes"],
        l1_size_words=values["l1_size_words"],
        l2_size_words=values["l2_size_words"],
        noc_bw_words_per_cycle=values["noc_bw_words_per_cycle"],
        noc_latency_cycles=values.get("noc_latency_cycles", 1),
        offchip_bw_words_per_cycle=values["offchip_bw_words_per_cycle"],
    )


def format_hardware_file(hw: Hardware) -> str:
    """A MAESTRO hardware file for ``hw``.

    Every required key is written (``2147483647`` for no limit); ``NoC_NumHops`` only when
    it is not its default 1. What a hardware file cannot say (vector width, word size,
    energy table) is written as comments giving MAESTRO's equivalent, and is not read back.
    """
    lines = [f"// {hw.name}: {hw.describe()}"]
    for key, attr in HARDWARE_KEYS.items():
        value = getattr(hw, attr)
        if key in REQUIRED_HARDWARE_KEYS or value != 1:
            lines.append(f"{key}: {value}")
    if hw.vector_width != 1:
        lines.append(
            f"// vector_width {hw.vector_width}: pass --num_simd_lanes {hw.vector_width} to MAESTRO"
        )
    if hw.word_bytes != 1:
        lines.append(f"// word_bytes {hw.word_bytes}: MAESTRO counts words, not bytes")
    if hw.energy != EnergyTable():
        lines.append(f"// energy table not expressible in MAESTRO: {hw.energy.source}")
    return "\n".join(lines) + "\n"
