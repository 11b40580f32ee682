"""Shape checks for effects received from peers: argument count and types, per effect code.

An effect from a peer is data from outside: before any effect of a batch is applied, each
one is checked against the schema its CRDT module registered next to its apply function
(`keyspace.register_effect(..., check=...)`), so that

* no apply function ever sees an argument of a type it does not handle (an int stored as
  a string value, a tuple as a member, a NaN score), and so never raises halfway through
  an op;
* nothing a peer sends is bigger in memory than in the request that carried it (a bit
  offset of 2^40 costs eight bytes on the wire and 128 GiB applied): sizes are bounded by
  the receiver's `proto-max-bulk-len`, what its own clients may write.

A check is `check(effect, max_bulk) -> reason | None`. The builders below make the usual
ones from argument kinds: `fixed(A, B)` for exactly those arguments after the key,
`repeated(head=(A,), group=(B, C))` for a head followed by any number of groups.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..op import Effect

Check = Callable[[Effect, int], "str | None"]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
# Every HLC an apply function stores must fit a signed 64-bit array slot (list element ids).
HLC_MAX = INT64_MAX


class Kind:
    """One argument kind: a predicate (value, max_bulk) -> bool, the words for errors, and
    a few valid values, edge cases included (tests generate effects from them)."""

    __slots__ = ("name", "ok", "examples")

    def __init__(self, name: str, ok: Callable[[Any, int], bool], examples: Sequence[Any] = ()) -> None:
        self.name = name
        self.ok = ok
        self.examples = tuple(examples)


def _int_in(lo: int, hi: int) -> Callable[[Any, int], bool]:
    return lambda v, _m: type(v) is int and lo <= v <= hi


def ints(lo: int, hi: int, name: str = "") -> Kind:
    return Kind(name or f"an integer in {lo}..{hi}", _int_in(lo, hi),
                sorted({lo, hi, min(max(0, lo), hi), min(max(1, lo), hi), (lo + hi) // 2}))


BYTES = Kind("bytes", lambda v, _m: type(v) is bytes, (b"", b"a", b"0", b"-1", b"1.5", b"\xff" * 40))
STR = Kind("a string", lambda v, _m: type(v) is str, ("", "p.1", "q.ab12", "x" * 70))
INT64 = ints(INT64_MIN, INT64_MAX, "a 64-bit integer")
UINT32 = ints(0, (1 << 32) - 1, "an integer in 0..2^32-1")
HLC = ints(0, HLC_MAX, "an HLC timestamp (0..2^63-1)")
NONNEG = ints(0, INT64_MAX, "a non-negative 64-bit integer")
SCORE = Kind("a float that is not NaN", lambda v, _m: type(v) is float and not math.isnan(v),
             (0.0, -0.0, 1.5, -1e308, math.inf, -math.inf, 5e-324))
FLAG = Kind("a boolean (or 0/1)", lambda v, _m: type(v) is bool or (type(v) is int and v in (0, 1)),
            (True, False, 0, 1))


# An increment: an integer (INCRBY), or the decimal text of INCRBYFLOAT, which Redis caps
# at 5k characters (MAX_LONG_DOUBLE_CHARS); parsing it never fails (numbers.incr_value).
DELTA = Kind("a 64-bit integer or a decimal text under 5k bytes",
             lambda v, _m: (type(v) is int and INT64_MIN <= v <= INT64_MAX) or (type(v) is bytes and len(v) < 5120),
             (0, 1, -1, INT64_MAX, INT64_MIN, b"1.5", b"-inf", b"nan", b"1e5000", b"junk", b"9" * 5000))


def one_of(*values: int) -> Kind:
    return Kind("one of " + "/".join(map(str, values)), lambda v, _m: type(v) is int and v in values, values)


def optional(k: Kind) -> Kind:
    return Kind(f"{k.name} or None", lambda v, m: v is None or k.ok(v, m), (None, *k.examples))


def either(a: Kind, b: Kind) -> Kind:
    return Kind(f"{a.name} or {b.name}", lambda v, m: a.ok(v, m) or b.ok(v, m), (*a.examples, *b.examples))


def _bad_arg(eff: Effect, i: int, kind: Kind) -> str:
    got = type(eff[i]).__name__
    return f"effect {eff[0]}: argument {i - 3} must be {kind.name}, got {got}"


class Shape:
    """A check made of argument kinds: `head`, then `group` repeated (at least `min_groups`
    times; no group: exactly the head), then `extra(effect, max_bulk)` for constraints
    between values. Kept as data so tests can generate valid effects from it."""

    __slots__ = ("head", "group", "min_groups", "extra")

    def __init__(self, head: Sequence[Kind], group: Sequence[Kind] = (), min_groups: int = 0,
                 extra: Callable[[Effect, int], str | None] | None = None) -> None:
        self.head = tuple(head)
        self.group = tuple(group)
        self.min_groups = min_groups
        self.extra = extra

    def __call__(self, eff: Effect, max_bulk: int) -> str | None:
        n = len(eff)
        h = 3 + len(self.head)
        g = len(self.group)
        if not g:
            if n != h:
                return f"effect {eff[0]}: {n - 3} arguments, expected {len(self.head)}"
        elif n < h + g * self.min_groups or (n - h) % g:
            return (f"effect {eff[0]}: {n - 3} arguments, expected {len(self.head)} + a multiple of {g}"
                    f" (at least {self.min_groups} times)")
        for i, k in enumerate(self.head, 3):
            if not k.ok(eff[i], max_bulk):
                return _bad_arg(eff, i, k)
        if g == 1:
            k = self.group[0]
            ok = k.ok
            for i in range(h, n):
                if not ok(eff[i], max_bulk):
                    return _bad_arg(eff, i, k)
        elif g:
            group = self.group
            for i in range(h, n):
                k = group[(i - h) % g]
                if not k.ok(eff[i], max_bulk):
                    return _bad_arg(eff, i, k)
        return self.extra(eff, max_bulk) if self.extra is not None else None


def fixed(*kinds: Kind, extra: Callable[[Effect, int], str | None] | None = None) -> Shape:
    """Exactly these arguments after the key."""
    return Shape(kinds, extra=extra)


def repeated(head: Sequence[Kind] = (), group: Sequence[Kind] = (BYTES,), min_groups: int = 0,
             extra: Callable[[Effect, int], str | None] | None = None) -> Shape:
    """`head` arguments, then any number (>= min_groups) of `group` runs."""
    return Shape(head, group or (BYTES,), min_groups, extra)


__all__ = [
    "BYTES", "Check", "DELTA", "FLAG", "HLC", "INT64", "Kind", "NONNEG", "SCORE", "STR", "Shape", "UINT32",
    "either", "fixed", "ints", "one_of", "optional", "repeated",
]
