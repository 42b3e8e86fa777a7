"""Tokens of MAESTRO's ``.m`` files and a cursor over them.

MAESTRO's tokeniser splits on ``space , - > ( ) : TAB ;`` and drops those characters, so
``K 64``, ``K: 64`` and ``K:64`` read the same, and ``TemporalMap(3,1) Y`` is the four
tokens ``TemporalMap 3 1 Y``. ``//`` starts a comment that runs to the end of the line.
Unlike MAESTRO, ``{`` and ``}`` are tokens of their own even when written against a word
(``Stride {X: 1`` reads as in MAESTRO's own spaced style) and any whitespace separates.
Tokens remember their columns so that names can be read back as written (``Conv2d-1``),
and whether a ``-`` comes right before them (spaces aside): MAESTRO would read ``K: -3`` as
3; mapsearch reads it as -3 and refuses it where a number must be positive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mapsearch.errors import ParseError

_TOKEN = re.compile(r"[{}]|[^\s,\->():;{}]+")
_INT = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a file: its text, (1-based) line and [col, end) columns in that line;
    ``minus``: a ``-`` precedes it on its line, with only spaces or tabs between."""

    text: str
    line: int
    col: int = 0
    end: int = 0
    minus: bool = False


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, dropping separators and ``//`` comments."""
    tokens: list[Token] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        code = raw.split("//", 1)[0]
        end = 0
        for m in _TOKEN.finditer(code):
            minus = code[end : m.start()].rstrip(" \t").endswith("-")
            tokens.append(Token(m.group(), lineno, m.start(), m.end(), minus))
            end = m.end()
    return tokens


def is_int(text: str) -> bool:
    """True for a plain decimal integer literal (no sign, no exponent)."""
    return _INT.fullmatch(text) is not None


def int_value(token: Token, most: int) -> int | None:
    """The value of an integer literal token, its sign included; None for any other token.

    A literal with more digits than ``most`` has reads as ``most + 1`` (or its negative):
    out of range, without converting it (Python refuses very long digit strings).
    """
    if not is_int(token.text):
        return None
    if len(token.text.lstrip("0")) > len(str(most)):
        return most + 1 if not token.minus else -(most + 1)
    value = int(token.text)
    return -value if token.minus else value


def describe(token: Token | None) -> str:
    """How an error message names a token (or the end of the file)."""
    return "end of file" if token is None else repr(token.text)


def one_of(names: Iterable[str]) -> str:
    """``"A, B or C"`` for error messages."""
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


class TokenStream:
    """A read cursor over the tokens of one file; every error names the file and line."""

    def __init__(self, text: str, path: str) -> None:
        self.tokens = tokenize(text)
        self.lines = text.splitlines()
        self.path = path
        self.pos = 0
        self.last_line = max(1, len(self.lines))

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        """The next token; at the end of the file, a ParseError saying ``expected``."""
        tok = self.peek()
        if tok is None:
            raise self.error(f"expected {expected}, got end of file")
        self.pos += 1
        return tok

    def rest_of_line_until(self, stop: str, line: int) -> str:
        """The source text of the tokens on ``line`` before ``stop`` (not consumed), as written.

        MAESTRO's own tokeniser would keep only the last word of ``Conv2d-1``; names are read
        whole here so that distinct layers keep distinct names.
        """
        first = self.pos
        while (tok := self.peek()) is not None and tok.line == line and tok.text != stop:
            self.pos += 1
        if self.pos == first:
            return ""
        return self.lines[line - 1][self.tokens[first].col : self.tokens[self.pos - 1].end]

    def expect(self, text: str, *, after: str) -> Token:
        """The next token, which must be ``text`` (written right after ``after``)."""
        tok = self.peek()
        if tok is None or tok.text != text:
            raise self.error(f"expected '{text}' after '{after}', got {describe(tok)}", tok)
        self.pos += 1
        return tok

    def error(self, message: str, at: Token | int | None = None) -> ParseError:
        """A ParseError at a token, a line number, or (None) the end of the file."""
        if isinstance(at, Token):
            line = at.line
        elif isinstance(at, int):
            line = at
        else:
            line = self.last_line
        return ParseError(message, path=self.path, line=line)
