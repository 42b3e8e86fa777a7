"""The ``Layer`` value: an operator, its dimension sizes and stride.

Conventions follow MAESTRO: ``Y``/``X`` are *input* rows/columns (unpadded), the output has
``Y' = (Y - R) // stride_y + 1`` rows and ``X' = (X - S) // stride_x + 1`` columns.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from mapsearch.errors import LayerError


class Op(StrEnum):
    """Layer operators. GCONV is grouped convolution (K and C are per group)."""

    CONV = "conv"
    DSCONV = "dsconv"
    GCONV = "gconv"
    GEMM = "gemm"


#: Dimension names of each operator, in canonical (MAESTRO ``Dimensions``) order.
OP_DIMS: Mapping[Op, tuple[str, ...]] = MappingProxyType(
    {
        Op.CONV: ("N", "K", "C", "R", "S", "Y", "X"),
        Op.DSCONV: ("N", "C", "R", "S", "Y", "X"),
        Op.GCONV: ("G", "N", "K", "C", "R", "S", "Y", "X"),
        Op.GEMM: ("M", "N", "K"),
    }
)

#: Tensor name -> dimensions that index it. ``Y``/``X`` of the output mean output rows/cols.
OP_TENSORS: Mapping[Op, Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        Op.CONV: MappingProxyType(
            {
                "input": frozenset("NCYX"),
                "filter": frozenset("KCRS"),
                "output": frozenset("NKYX"),
            }
        ),
        Op.DSCONV: MappingProxyType(
            {
                "input": frozenset("NCYX"),
                "filter": frozenset("CRS"),
                "output": frozenset("NCYX"),
            }
        ),
        Op.GCONV: MappingProxyType(
            {
                "input": frozenset("GNCYX"),
                "filter": frozenset("GKCRS"),
                "output": frozenset("GNKYX"),
            }
        ),
        Op.GEMM: MappingProxyType(
            {
                "input": frozenset("MK"),
                "filter": frozenset("KN"),
                "output": frozenset("MN"),
            }
        ),
    }
)

#: Sliding-window pairs (input dimension, filter dimension) of convolution-like operators.
WINDOWS: tuple[tuple[str, str], ...] = (("Y", "R"), ("X", "S"))

TENSORS: tuple[str, ...] = ("input", "filter", "output")

#: Output-space dimensions a directive may name -> the input dimension whose windows they count.
OUTPUT_DIMS: Mapping[str, str] = MappingProxyType({"Y'": "Y", "X'": "X"})

#: Largest dimension size or stride (MAESTRO holds them in a C ``int``).
MAX_DIM = 2**31 - 1
#: Largest MAC count and tensor size of a layer, 2**46 (7.0e13; a batch-64 GPT-3
#: feed-forward GEMM is about this). The cost models multiply these by factors the hardware
#: bounds (a NoC latency below 2**16 cycles, hardware.config), so every count stays below
#: 2**62, inside int64 with margin; a MAC count is also exact in float64 (below 2**53).
MAX_MACS = 2**46


def _count_problem(name: str, value: object) -> str:
    """Why ``value`` is not a size from 1 to ``MAX_DIM`` ("" when it is); numpy integers are
    integers, bools are not."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        return f"{name} must be an integer, got {value!r}"
    if int(value) < 1:
        return f"{name} must be >= 1, got {value}"
    if int(value) > MAX_DIM:
        return f"{name} must be <= {MAX_DIM:,}, got {value}"
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One DNN layer.

    ``dims`` holds ``(name, size)`` pairs in the operator's canonical order (see ``OP_DIMS``);
    build layers with :meth:`conv`, :meth:`dsconv`, :meth:`gconv` or :meth:`gemm`.
    """

    name: str
    op: Op
    dims: tuple[tuple[str, int], ...]
    stride_y: int = 1
    stride_x: int = 1
    model: str = ""

    def __post_init__(self) -> None:
        names = tuple(d for d, _ in self.dims)
        want = OP_DIMS[self.op]
        problems = []
        if names != want:
            problems.append(f"{self.op.value} dimensions must be {want}, got {names}")
        counts = [*self.dims, ("stride_y", self.stride_y), ("stride_x", self.stride_x)]
        problems += [p for d, v in counts if (p := _count_problem(d, v))]
        if names == want and self.op is not Op.GEMM:
            size = dict(self.dims)
            problems += [
                f"window {w}={size[w]} is larger than input {d}={size[d]}"
                for d, w in WINDOWS
                if not (_count_problem(d, size[d]) or _count_problem(w, size[w]))
                and size[w] > size[d]
            ]
        if problems:
            raise LayerError(f"layer {self.name!r}: " + "; ".join(problems))
        # Plain ints (numpy's overflow silently), so that the products below are exact.
        object.__setattr__(self, "dims", tuple((d, int(v)) for d, v in self.dims))
        object.__setattr__(self, "stride_y", int(self.stride_y))
        object.__setattr__(self, "stride_x", int(self.stride_x))
        totals = {"MACs": self.macs} | {f"{t} size": self.tensor_size(t) for t in TENSORS}
        problems = [
            f"{what} {n:,} exceeds {MAX_MACS:,} (2**46)"
            for what, n in totals.items()
            if n > MAX_MACS
        ]
        if problems:
            raise LayerError(f"layer {self.name!r}: " + "; ".join(problems))

    # --- constructors -------------------------------------------------------------------
    @classmethod
    def conv(
        cls,
        name: str,
        *,
        K: int,
        C: int,
        R: int,
        S: int,
        Y: int,
        X: int,
        N: int = 1,
        stride: int = 1,
        model: str = "",
    ) -> Layer:
        """A convolution (FC layers are 1x1 convolutions, or R=Y, S=X)."""
        dims = (("N", N), ("K", K), ("C", C), ("R", R), ("S", S), ("Y", Y), ("X", X))
        return cls(name=name, op=Op.CONV, dims=dims, stride_y=stride, stride_x=stride, model=model)

    @classmethod
    def dsconv(
        cls,
        name: str,
        *,
        C: int,
        R: int,
        S: int,
        Y: int,
        X: int,
        N: int = 1,
        stride: int = 1,
        model: str = "",
    ) -> Layer:
        """A depthwise convolution: one filter per channel, output indexed by C."""
        dims = (("N", N), ("C", C), ("R", R), ("S", S), ("Y", Y), ("X", X))
        return cls(
            name=name, op=Op.DSCONV, dims=dims, stride_y=stride, stride_x=stride, model=model
        )

    @classmethod
    def gconv(
        cls,
        name: str,
        *,
        G: int,
        K: int,
        C: int,
        R: int,
        S: int,
        Y: int,
        X: int,
        N: int = 1,
        stride: int = 1,
        model: str = "",
    ) -> Layer:
        """A grouped convolution with G groups of K output and C input channels each."""
        dims = (("G", G), ("N", N), ("K", K), ("C", C), ("R", R), ("S", S), ("Y", Y), ("X", X))
        return cls(name=name, op=Op.GCONV, dims=dims, stride_y=stride, stride_x=stride, model=model)

    @classmethod
    def gemm(cls, name: str, *, M: int, N: int, K: int, model: str = "") -> Layer:
        """``out[M, N] = in[M, K] @ w[K, N]`` (MAESTRO's GEMM convention)."""
        return cls(name=name, op=Op.GEMM, dims=(("M", M), ("N", N), ("K", K)), model=model)

    # --- derived ------------------------------------------------------------------------
    @property
    def sizes(self) -> dict[str, int]:
        """Dimension name -> size."""
        return dict(self.dims)

    def size(self, dim: str) -> int:
        """Size of one dimension; ``Y'``/``X'`` give the output rows/columns."""
        if dim == "Y'":
            return self.out_y
        if dim == "X'":
            return self.out_x
        return dict(self.dims)[dim]

    @property
    def dim_names(self) -> tuple[str, ...]:
        return OP_DIMS[self.op]

    @property
    def tensors(self) -> Mapping[str, frozenset[str]]:
        """Tensor name -> the dimensions indexing it (output ``Y``/``X`` are output rows/cols)."""
        return OP_TENSORS[self.op]

    @property
    def out_y(self) -> int:
        s = dict(self.dims)
        return (s["Y"] - s["R"]) // self.stride_y + 1 if "Y" in s else 1

    @property
    def out_x(self) -> int:
        s = dict(self.dims)
        return (s["X"] - s["S"]) // self.stride_x + 1 if "X" in s else 1

    @property
    def stride(self) -> int:
        """The stride when it is the same along Y and X (the common case)."""
        if self.stride_y != self.stride_x:
            raise LayerError(f"layer {self.name!r} has different Y/X strides")
        return self.stride_y

    @property
    def macs(self) -> int:
        """Multiply-accumulates, honouring stride."""
        s = dict(self.dims)
        if self.op is Op.GEMM:
            return s["M"] * s["N"] * s["K"]
        rest = math.prod(v for d, v in self.dims if d not in ("Y", "X"))
        return rest * self.out_y * self.out_x

    def tensor_size(self, tensor: str) -> int:
        """Number of elements of ``input``, ``filter`` or ``output``."""
        s = dict(self.dims)
        if tensor == "output" and self.op is not Op.GEMM:
            s["Y"], s["X"] = self.out_y, self.out_x
        return math.prod(s[d] for d in self.tensors[tensor])

    @property
    def shape_key(self) -> tuple[object, ...]:
        """What makes two layers the same problem: operator, dimensions and strides (not names)."""
        return (self.op, self.dims, self.stride_y, self.stride_x)

    @property
    def qualified_name(self) -> str:
        return f"{self.model}.{self.name}" if self.model else self.name

    def describe(self) -> str:
        """Short human-readable shape, e.g. ``K256 C128 R3 S3 Y56 X56 s1``."""
        dims = " ".join(f"{d}{v}" for d, v in self.dims if not (d in ("N", "G") and v == 1))
        stride = f" s{self.stride_y}" if self.op is not Op.GEMM else ""
        if self.stride_y != self.stride_x:
            stride = f" s{self.stride_y}x{self.stride_x}"
        return dims + stride

    # --- window geometry ------------------------------------------------------------------
    @property
    def windows(self) -> tuple[tuple[str, str], ...]:
        """The sliding-window pairs (input dimension, filter dimension); none for GEMM."""
        return () if self.op is Op.GEMM else WINDOWS

    def filter_of(self, dim: str) -> str | None:
        """The filter dimension that windows input dimension ``dim`` (``R`` for ``Y``), if any."""
        return next((f for d, f in self.windows if d == dim), None)

    def input_of(self, dim: str) -> str | None:
        """The input dimension that filter dimension ``dim`` windows (``Y`` for ``R``), if any."""
        return next((d for d, f in self.windows if f == dim), None)

    def stride_along(self, dim: str) -> int:
        """The stride of the window that ``dim`` belongs to (``Y``, ``Y'`` or ``R``: the Y
        stride; ``X``, ``X'`` or ``S``: the X stride); 1 for a dimension no window slides on."""
        base = OUTPUT_DIMS.get(dim, dim)
        base = self.input_of(base) or base
        if self.filter_of(base) is None:
            return 1
        return self.stride_y if base == "Y" else self.stride_x

    def out_size(self, dim: str) -> int:
        """Output positions along input dimension ``dim`` (``Y'`` for ``Y``); its size otherwise."""
        if self.filter_of(dim) is None:
            return self.size(dim)
        return self.out_y if dim == "Y" else self.out_x


def group_by_shape(layers: Iterable[Layer]) -> tuple[tuple[Layer, ...], ...]:
    """``layers`` grouped by :attr:`Layer.shape_key`, groups and members in first-seen order.

    One mapping tuned for a group's first layer serves every layer of the group.
    """
    groups: dict[tuple[object, ...], list[Layer]] = {}
    for layer in layers:
        groups.setdefault(layer.shape_key, []).append(layer)
    return tuple(tuple(group) for group in groups.values())
