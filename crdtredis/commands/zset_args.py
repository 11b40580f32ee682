"""Sorted-set argument parsing and score text, shared by the sorted-set commands, GEO and SORT:
scores parsed as C strtod parses them, score and lex ranges, and scores as ZSCAN shows them."""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.numbers import parse_int
from ..reply import CommandError
from .helpers import LLONG_MAX

if TYPE_CHECKING:
    pass


LONG_MAX = LLONG_MAX
INF = math.inf

Items = list[tuple[float, bytes]]  # (score, member), the index's own tuples


# ---- numbers: C strtod, as Redis parses scores -------------------------------------------
_SPACE = frozenset(b" \t\n\v\f\r")
_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP][+-]?[0-9]+)?")
_WORD = re.compile(rb"([+-]?)(?:(inf(?:inity)?)|nan(?:\([0-9A-Za-z_]*\))?)", re.I)
_NONZERO = re.compile(rb"[1-9a-fA-F]")


def strtod(s: bytes) -> tuple[float, int, bool]:
    """glibc strtod on `s`: (value, bytes consumed, ERANGE). Leading space is skipped; no
    conversion consumes nothing. Python's float() differs (underscores, surrounding space,
    no hex), hence the explicit grammar."""
    i = 0
    n = len(s)
    while i < n and s[i] in _SPACE:
        i += 1
    m = _HEX.match(s, i)
    if m:
        try:
            v = float.fromhex(m.group().decode())
        except OverflowError:
            return (-INF if m.group(1) == b"-" else INF), m.end(), True
        return v, m.end(), v == 0.0 and _NONZERO.search(m.group(2)) is not None
    m = _DEC.match(s, i)
    if m:
        txt = m.group()
        v = float(txt)
        if v in (INF, -INF):
            return v, m.end(), True
        if v == 0.0:
            return v, m.end(), _NONZERO.search(txt.split(b"e")[0].split(b"E")[0]) is not None
        return v, m.end(), False
    m = _WORD.match(s, i)
    if m:
        neg = m.group(1) == b"-"
        if m.group(2):
            return (-INF if neg else INF), m.end(), False
        return math.nan, m.end(), False
    return 0.0, 0, False


def parse_score(b: bytes, msg: str = errors.NOT_FLOAT) -> float:
    """Redis getDoubleFromObject: the whole string, no leading space, no overflow or
    underflow to zero, not NaN (inf is fine)."""
    if not b or b[0] in _SPACE:
        raise CommandError(msg)
    try:
        v = float(b)
    except ValueError:
        pass
    else:
        # The usual case: a finite, non-zero decimal that float() and strtod() agree on
        # (float() also takes underscores and trailing space, which strtod does not).
        if v and v - v == 0.0 and b[-1] not in _SPACE and b"_" not in b:
            return v
        # Zero written as zero ("0", "-0", "0.00"; redis-benchmark's ZADD score): no
        # exponent, so no underflow to check (zero from "1e-400" still goes to strtod).
        if not v and not b.strip(b"+-0."):
            return v
    v, used, erange = strtod(b)
    if used != len(b) or v != v or (erange and (v == 0.0 or v in (INF, -INF))):
        raise CommandError(msg)
    return v


def _range_item(b: bytes) -> tuple[float, bool]:
    """One end of a score range (zslParseRange): '(' means exclusive; plain strtod up to
    the first NUL (so '' is 0, leading space is fine, overflow gives inf)."""
    ex = b[:1] == b"("
    s = b[1:] if ex else b
    z = s.find(b"\0")
    if z >= 0:
        s = s[:z]
    v, used, _ = strtod(s)
    if used != len(s) or v != v:
        raise CommandError(errors.ZSET_MIN_MAX_NOT_FLOAT)
    return v, ex


ScoreRange = tuple[float, bool, float, bool]  # min, min exclusive, max, max exclusive


def parse_score_range(mn: bytes, mx: bytes) -> ScoreRange:
    a, aex = _range_item(mn)
    b, bex = _range_item(mx)
    return a, aex, b, bex


# A lex range end: (kind, string, exclusive); kind -1 is '-', +1 is '+', 0 a string.
LexItem = tuple[int, bytes, bool]
LexRange = tuple[LexItem, LexItem]


def _lex_item(b: bytes) -> LexItem:
    c = b[:1]
    if c == b"+" or c == b"-":
        if b[1:2] not in (b"", b"\0"):  # C compares c[1] with '\0'
            raise CommandError(errors.ZSET_LEX_RANGE)
        return (1 if c == b"+" else -1, b"", True)
    if c == b"(":
        return (0, b[1:], True)
    if c == b"[":
        return (0, b[1:], False)
    raise CommandError(errors.ZSET_LEX_RANGE)


def parse_lex_range(mn: bytes, mx: bytes) -> LexRange:
    return _lex_item(mn), _lex_item(mx)


def _gte_min(v: bytes, mn: LexItem) -> bool:
    kind, s, ex = mn
    if kind:
        return kind < 0
    return v > s if ex else v >= s


def _lte_max(v: bytes, mx: LexItem) -> bool:
    kind, s, ex = mx
    if kind:
        return kind > 0
    return v < s if ex else v <= s


def _range_long(b: bytes, lo: int, hi: int, msg: str) -> int:
    """getRangeLongFromObjectOrReply with a custom message for both failures."""
    v = parse_int(b)
    if v is None or v < lo or v > hi:
        raise CommandError(msg)
    return v


def _fullname(argv: list[bytes]) -> str:
    return argv[0].decode("utf-8", "replace").lower()


_LL_HALF = float(LLONG_MAX // 2)


def format_score(s: float, listpack: bool) -> bytes:
    """A score as ZSCAN shows it. A listpack stores d2string's text (integral values up to
    LLONG_MAX/2 printed as integers: 1e17 is "100000000000000000"); a skiplist's score
    goes through "%.17g" ("1e+17")."""
    if listpack and -_LL_HALF <= s <= _LL_HALF and s == int(s):
        return b"%d" % int(s) if s else (b"-0" if math.copysign(1.0, s) < 0 else b"0")
    return b"%.17g" % s

def _numkeys_positions(argv: list[bytes], numkeys_idx: int, dst: bool = False) -> list[int]:
    """Key positions of numkeys-style commands (COMMAND GETKEYS, ACL key checks)."""
    try:
        n = int(argv[numkeys_idx])
    except (ValueError, IndexError):
        return []
    n = max(0, min(n, len(argv) - numkeys_idx - 1))
    keys = list(range(numkeys_idx + 1, numkeys_idx + 1 + n))
    return ([1] + keys) if dst else keys
