"""ONNX graphs as mapsearch layers (``--model net.onnx``), read with the ``onnx`` package.

What becomes a layer (every other node is skipped and counted in one note):

* ``Conv``, 1-D or 2-D, dilation 1. ``group == 1`` is a ``conv``; depthwise
  (``group == C == output channels``) a ``dsconv``; any other grouping one ``conv`` per
  group (``K`` and ``C`` per group) named ``<node>_g<i>``: the ``maestro`` semantics does not
  model ``gconv`` layers, per-group convolutions evaluate under both. A 1-D convolution is
  a 2-D one with a single row (``Y = R = 1``).
* Padding is added to the input size (``Y = H + pad_top + pad_bottom``; ``auto_pad``
  ``SAME_*``/``VALID`` as ONNX defines them), so every layer's output size equals the
  graph's: the zoo's ``published`` convention. Strides are kept per axis.
* ``Gemm``: ``out[M, N] = A[M, K] @ B[K, N]``, ``transA``/``transB`` honoured.
* ``MatMul``, with numpy broadcasting over the leading (batch) dimensions. A batch
  dimension only the left operand has folds into ``M`` (the same right-hand matrix applied
  to more rows, as a linear layer over every token); one only the right operand has folds
  into ``N``; one both operands have (a transformer's per-head ``Q @ K^T`` and ``P @ V``)
  gives one GEMM per index, named ``<node>_<i>``, as the zoo's BERT-base lists one GEMM per
  head. A 1-D operand is one row (left) or one column (right).

Sizes come from ``onnx.shape_inference`` (with data propagation). Weights are never read,
only their shapes, so external data files need not be present. A symbolic first dimension
of a graph input (the batch) is taken as 1, with a note; any other size a layer needs that
is symbolic or unknown is an error naming the node. A convolution with dilation, or of 3
or more dimensions, is not imported (a note names it). Layer names are node names with
each run of characters other than letters, digits and ``_`` replaced by ``_``
(``/layer1/layer1.0/conv1/Conv`` is ``layer1_layer1_0_conv1_Conv``), made unique with a
``_2``, ``_3``... suffix; an unnamed node is ``<OpType>_<node index>``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import onnx.inliner
from google.protobuf.message import DecodeError

from mapsearch.errors import LayerError, ModelFileError, UnsupportedError
from mapsearch.layers.layer import OP_DIMS, Layer, Op
from mapsearch.models.model import Model, file_model_name, sanitise_name

#: Operators that multiply-accumulate but are not imported: the skipped-nodes note says
#: their MACs are not counted.
MAC_OPS_NOT_IMPORTED = frozenset(
    (
        "ConvTranspose",
        "ConvInteger",
        "QLinearConv",
        "MatMulInteger",
        "QLinearMatMul",
        "Einsum",
        "LSTM",
        "GRU",
        "RNN",
        "Attention",
    )
)

_DEFAULT_DOMAINS = ("", "ai.onnx")

#: A tensor's shape as inference left it: sizes, symbol names, or None where unknown.
Shape = tuple[int | str | None, ...]


def read_onnx(path: str | Path) -> Model:
    """The Conv, Gemm and MatMul layers of an ONNX file (see the module docstring).

    The model is named after the file. Raises :class:`ModelFileError`, naming the file
    (and the node), for a file that is not a readable ONNX model, a size that shape
    inference cannot fix, or a model without any layer to import.
    """
    where = str(path)
    model = _load(where)
    notes = _fix_batch(model.graph)
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    graph = _Graph(path=where, model=file_model_name(where), shapes=_shapes(inferred))
    layers: list[Layer] = []
    skipped: Counter[str] = Counter()
    not_imported: list[str] = []
    for index, node in enumerate(inferred.graph.node):
        convert = _CONVERTERS.get(node.op_type) if node.domain in _DEFAULT_DOMAINS else None
        if convert is None:
            default = node.domain in _DEFAULT_DOMAINS
            skipped[node.op_type if default else f"{node.domain}.{node.op_type}"] += 1
            continue
        name = graph.unique(sanitise_name(node.name) or f"{node.op_type}_{index}")
        try:
            layers += convert(_Node(node, graph), name)
        except UnsupportedError as e:
            not_imported.append(f"{name} ({node.op_type}: {e})")
    notes += _skipped_note(skipped)
    if not_imported:
        notes.append(
            f"not imported ({len(not_imported)} nodes, their MACs are not counted): "
            + ", ".join(not_imported)
        )
    if not layers:
        raise ModelFileError(
            "no Conv, Gemm or MatMul node to import" + (f" ({'; '.join(notes)})" if notes else ""),
            path=where,
        )
    return Model(name=graph.model, layers=tuple(layers), source=where, notes=tuple(notes))


# --- reading -----------------------------------------------------------------------------
def _load(path: str) -> onnx.ModelProto:
    try:
        model = onnx.load(path, load_external_data=False)
    except OSError as e:
        raise ModelFileError(f"cannot read the file: {e.strerror}", path=path) from e
    except DecodeError as e:
        raise ModelFileError("not an ONNX model (it does not parse as one)", path=path) from e
    if not model.graph.node:
        raise ModelFileError("not an ONNX model, or one whose graph has no node", path=path)
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    return model


def _fix_batch(graph: onnx.GraphProto) -> list[str]:
    """Set a symbolic or unknown first dimension of each graph input to 1; notes saying so."""
    weights = {t.name for t in graph.initializer}
    fixed = []
    for value in graph.input:
        tensor = value.type.tensor_type
        if value.name in weights or not tensor.HasField("shape") or len(tensor.shape.dim) < 2:
            continue
        first = tensor.shape.dim[0]
        if not first.HasField("dim_value"):
            fixed.append(f"{value.name!r} ({first.dim_param or 'unknown'})")
            first.Clear()
            first.dim_value = 1
    if not fixed:
        return []
    return [f"batch size taken as 1: the first dimension of input {', '.join(fixed)} is symbolic"]


def _shape(value: onnx.ValueInfoProto) -> Shape | None:
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    return tuple(
        d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim
    )


def _shapes(model: onnx.ModelProto) -> dict[str, Shape]:
    """Tensor name -> shape: inferred values, graph inputs and outputs, weights."""
    g = model.graph
    shapes = {v.name: s for v in (*g.input, *g.value_info, *g.output) if (s := _shape(v))}
    shapes |= {t.name: tuple(int(d) for d in t.dims) for t in g.initializer}
    return shapes


def _skipped_note(skipped: Counter[str]) -> list[str]:
    if not skipped:
        return []
    counts = ", ".join(f"{op} x{n}" for op, n in skipped.most_common())
    total = skipped.total()
    note = f"skipped {total} node{'s' if total > 1 else ''}: {counts}"
    with_macs = sorted(op for op in skipped if op in MAC_OPS_NOT_IMPORTED)
    if with_macs:
        note += f" ({', '.join(with_macs)} multiply-accumulate: their MACs are not counted)"
    return [note]


@dataclass(slots=True)
class _Graph:
    """What the converters share: the file (for errors), tensor shapes and the names taken."""

    path: str
    model: str
    shapes: dict[str, Shape]
    taken: set[str] = field(default_factory=set)

    def unique(self, name: str) -> str:
        """``name``, or ``name_2``, ``name_3``, ... if taken; then taken."""
        out, i = name, 1
        while out in self.taken:
            i += 1
            out = f"{name}_{i}"
        self.taken.add(out)
        return out


@dataclass(frozen=True, slots=True)
class _Node:
    """One node being converted: its sizes and attributes, read with errors that name it."""

    node: onnx.NodeProto
    graph: _Graph

    def error(self, message: str) -> ModelFileError:
        node = self.node
        return ModelFileError(
            f"node {node.name or node.op_type!r} ({node.op_type}): {message}",
            path=self.graph.path,
        )

    def sizes(self, tensor: str, what: str) -> tuple[int, ...]:
        """The shape of ``tensor`` (an input or output name of the node), every size known."""
        shape = self.graph.shapes.get(tensor)
        if shape is None:
            raise self.error(
                f"the shape of its {what} {tensor!r} is unknown after shape inference; export "
                "the model with fixed input sizes (or simplify it, e.g. with onnxsim)"
            )
        known = tuple(d for d in shape if isinstance(d, int))
        if len(known) != len(shape):
            shown = ", ".join("?" if d is None else str(d) for d in shape)
            raise self.error(
                f"its {what} {tensor!r} has symbolic or unknown sizes ({shown}); export the "
                "model with fixed sizes"
            )
        return known

    def _attribute(self, name: str, kind: int, what: str) -> onnx.AttributeProto | None:
        attribute = next((a for a in self.node.attribute if a.name == name), None)
        if attribute is not None and attribute.type != kind:
            raise self.error(f"attribute {name} must be {what}")
        return attribute

    def attr_ints(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        attribute = self._attribute(name, onnx.AttributeProto.INTS, "a list of integers")
        return default if attribute is None else tuple(attribute.ints)

    def attr_int(self, name: str, default: int) -> int:
        attribute = self._attribute(name, onnx.AttributeProto.INT, "an integer")
        return default if attribute is None else attribute.i

    def attr_text(self, name: str, default: str) -> str:
        attribute = self._attribute(name, onnx.AttributeProto.STRING, "a string")
        return default if attribute is None else attribute.s.decode()

    def layer(
        self, name: str, op: Op, sizes: dict[str, int], strides: tuple[int, int] = (1, 1)
    ) -> Layer:
        try:
            return Layer(
                name=name,
                op=op,
                dims=tuple((d, sizes[d]) for d in OP_DIMS[op]),
                stride_y=strides[0],
                stride_x=strides[1],
                model=self.graph.model,
            )
        except LayerError as e:
            raise self.error(str(e)) from e


# --- converters --------------------------------------------------------------------------
def _total_pads(
    node: _Node, sizes: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...]
) -> tuple[int, ...]:
    """Zero padding added along each spatial axis (both ends together)."""
    auto = node.attr_text("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):  # output = ceil(size / stride)
        return tuple(
            max((-(-n // s) - 1) * s + k - n, 0)
            for n, k, s in zip(sizes, kernel, strides, strict=True)
        )
    if auto == "VALID":
        return (0,) * len(sizes)
    pads = node.attr_ints("pads", (0,) * 2 * len(sizes))
    if len(pads) != 2 * len(sizes):
        raise node.error(f"pads {pads} must give a start and an end for each spatial axis")
    return tuple(pads[i] + pads[i + len(sizes)] for i in range(len(sizes)))


def _conv(node: _Node, name: str) -> list[Layer]:
    x = node.sizes(node.node.input[0], "input")
    w = node.sizes(node.node.input[1], "weights")
    out = node.sizes(node.node.output[0], "output")
    spatial = len(x) - 2
    if spatial not in (1, 2):
        raise UnsupportedError(f"a {spatial}-D convolution; mapsearch layers are 1-D or 2-D")
    if len(w) != len(x) or len(out) != len(x):
        raise node.error(f"input {x}, weights {w} and output {out} differ in rank")
    kernel = node.attr_ints("kernel_shape", w[2:])
    strides = node.attr_ints("strides", (1,) * spatial)
    dilations = node.attr_ints("dilations", (1,) * spatial)
    if len(kernel) != spatial or len(strides) != spatial:
        raise node.error(f"kernel_shape {kernel} and strides {strides} need {spatial} values")
    if any(d != 1 for d in dilations):
        raise UnsupportedError(f"dilations {dilations}; mapsearch layers have no dilation")
    padded = tuple(
        n + p for n, p in zip(x[2:], _total_pads(node, x[2:], kernel, strides), strict=True)
    )
    out_rows_cols = out[2:]
    if spatial == 1:  # one row of a 2-D convolution
        kernel, strides, padded, out_rows_cols = (
            (1, *kernel),
            (1, *strides),
            (1, *padded),
            (1, *out_rows_cols),
        )
    batch, channels, filters = x[0], x[1], w[0]
    group = node.attr_int("group", 1)
    if group < 1 or channels != w[1] * group or filters % group:
        raise node.error(
            f"its input has {channels} channels but its weights {w} with group {group} "
            f"take {w[1] * group}"
        )
    window = {"N": batch, "R": kernel[0], "S": kernel[1], "Y": padded[0], "X": padded[1]}
    stride_yx = (strides[0], strides[1])
    if group == 1:
        layers = [node.layer(name, Op.CONV, {**window, "K": filters, "C": channels}, stride_yx)]
    elif group == channels == filters:
        layers = [node.layer(name, Op.DSCONV, {**window, "C": channels}, stride_yx)]
    else:
        per_group = {**window, "K": filters // group, "C": channels // group}
        layers = [
            node.layer(node.graph.unique(f"{name}_g{i}"), Op.CONV, per_group, stride_yx)
            for i in range(group)
        ]
    got = (batch, filters, layers[0].out_y, layers[0].out_x)
    want = (out[0], out[1], *out_rows_cols)
    if got != want:  # a guard on the conversion itself
        raise node.error(f"imported with output {got}, but the graph says {want}")
    return layers


def _gemm(node: _Node, name: str) -> list[Layer]:
    a = node.sizes(node.node.input[0], "input A")
    b = node.sizes(node.node.input[1], "input B")
    if len(a) != 2 or len(b) != 2:
        raise node.error(f"Gemm takes 2-D inputs, got {a} and {b}")
    m, k = a[::-1] if node.attr_int("transA", 0) else a
    k_b, n = b[::-1] if node.attr_int("transB", 0) else b
    if k != k_b:
        raise node.error(f"A {a} and B {b} do not share an inner size")
    return [node.layer(name, Op.GEMM, {"M": m, "N": n, "K": k})]


def _matmul(node: _Node, name: str) -> list[Layer]:
    a = node.sizes(node.node.input[0], "input A")
    b = node.sizes(node.node.input[1], "input B")
    out = node.sizes(node.node.output[0], "output")
    if not a or not b:
        raise node.error(f"MatMul takes inputs of rank >= 1, got {a} and {b}")
    a2 = (1, *a) if len(a) == 1 else a  # a vector on the left is one row
    b2 = (*b, 1) if len(b) == 1 else b  # on the right, one column
    (m, k), (k_b, n) = a2[-2:], b2[-2:]
    if k != k_b:
        raise node.error(f"A {a} and B {b} do not share an inner size")
    width = max(len(a2), len(b2)) - 2
    batch_a = (1,) * (width + 2 - len(a2)) + a2[:-2]
    batch_b = (1,) * (width + 2 - len(b2)) + b2[:-2]
    repeats = 1
    for da, db in zip(batch_a, batch_b, strict=True):
        if db == 1:  # the same B for every index: more rows
            m *= da
        elif da == 1:  # the same A for every index: more columns
            n *= db
        elif da == db:  # a different A and B for every index: one GEMM each
            repeats *= da
        else:
            raise node.error(f"A {a} and B {b} do not broadcast")
    if repeats * m * n != math.prod(out):  # a guard on the conversion itself
        raise node.error(f"imported as {repeats} x {m}x{n} outputs, but the graph says {out}")
    sizes = {"M": m, "N": n, "K": k}
    if repeats == 1:
        return [node.layer(name, Op.GEMM, sizes)]
    return [node.layer(node.graph.unique(f"{name}_{i}"), Op.GEMM, sizes) for i in range(repeats)]


_CONVERTERS: dict[str, Callable[[_Node, str], list[Layer]]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
}
