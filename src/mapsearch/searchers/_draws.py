"""Scalar draws of a PCG64 ``np.random.Generator`` at Python speed, value for value the ones
the generator itself would make.

A GA child takes a few dozen scalar decisions (``rng.random()``, ``rng.integers(0, n)``);
each numpy call costs about a microsecond of call overhead, as much as a whole generation's
selection. :class:`Draws` takes a block of the generator's raw 64-bit outputs at once and
makes the same values from them in plain Python, as numpy's C code does (53-bit doubles;
Lemire's bounded integers on buffered 32-bit halves), then leaves the generator exactly
where those calls would have left it (:meth:`Draws.close`): same seed, same children.
"""

from __future__ import annotations

import numpy as np

#: Raw outputs taken at a time (more are taken when a block runs out).
BLOCK = 4096
_DOUBLE_SCALE = 1.0 / 9007199254740992.0  # 2**-53
_MASK32 = 0xFFFFFFFF


class Draws:
    """``random()`` and ``integers(n)`` (``rng.integers(0, n)``, ``0 < n <= 2**32``) of
    ``rng``, a PCG64 generator that nothing else may draw from until :meth:`close`."""

    def __init__(self, rng: np.random.Generator) -> None:
        bits = rng.bit_generator
        if not isinstance(bits, np.random.PCG64):
            raise ValueError(f"Draws needs a PCG64 generator, got {type(bits).__name__}")
        self._bits = bits
        self._start = bits.state
        self._raw: list[int] = []
        self._doubles: list[float] = []  # each raw output as ``random()`` makes it
        self._used = 0
        # numpy's 32-bit draws use the upper half of a 64-bit output left by the previous one
        self._has_half = int(self._start["has_uint32"])
        self._half = int(self._start["uinteger"])

    def _more(self) -> None:
        raw = self._bits.random_raw(BLOCK)
        self._raw += raw.tolist()
        self._doubles += ((raw >> np.uint64(11)) * _DOUBLE_SCALE).tolist()

    def _next64(self) -> int:
        if self._used == len(self._raw):
            self._more()
        value = self._raw[self._used]
        self._used += 1
        return value

    def _next32(self) -> int:
        if self._has_half:
            self._has_half = 0
            return self._half
        value = self._next64()
        self._has_half, self._half = 1, value >> 32
        return value & _MASK32

    def random(self) -> float:
        """``rng.random()``: a double in [0, 1) from the top 53 bits of an output."""
        used = self._used
        if used == len(self._doubles):
            self._more()
        self._used = used + 1
        return self._doubles[used]

    def integers(self, n: int) -> int:
        """``rng.integers(0, n)``: Lemire's multiply-and-reject on 32-bit draws."""
        if n == 1:
            return 0
        if n - 1 == _MASK32:
            return self._next32()
        m = self._next32() * n
        leftover = m & _MASK32
        if leftover < n:
            threshold = (_MASK32 - (n - 1)) % n
            while leftover < threshold:
                m = self._next32() * n
                leftover = m & _MASK32
        return m >> 32

    def close(self) -> None:
        """Leave the generator as if it had made every draw taken (not the block's rest)."""
        self._bits.state = self._start
        self._bits.advance(self._used)
        self._bits.state = {
            **self._bits.state,
            "has_uint32": self._has_half,
            "uinteger": self._half,
        }
