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
# (A check is registered with its apply function: keyspace.register_effect(..., check=...).)

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
# Every HLC an apply function stores must fit a signed 64-bit array slot (list element ids).
HLC_MAX = INT64_MAX


class Kind:
    """One argument kind: a predicate (value, max_bulk) -> bool, the words for errors, and
    a few valid values, edge cases included (tests generate effects from them). `expr`,
    when set, is the same predicate as Python source over `{v}` that does not read
    max_bulk: Shape compiles a shape's kinds' exprs into its `fast` acceptance."""

    __slots__ = ("name", "ok", "examples", "expr")

    def __init__(self, name: str, ok: Callable[[Any, int], bool], examples: Sequence[Any] = (),
                 expr: str | None = None) -> None:
        self.name = name
        self.ok = ok
        self.examples = tuple(examples)
        self.expr = expr


def _int_in(lo: int, hi: int) -> Callable[[Any, int], bool]:
    return lambda v, _m: type(v) is int and lo <= v <= hi


def ints(lo: int, hi: int, name: str = "") -> Kind:
    return Kind(name or f"an integer in {lo}..{hi}", _int_in(lo, hi),
                sorted({lo, hi, min(max(0, lo), hi), min(max(1, lo), hi), (lo + hi) // 2}),
                expr=f"(type({{v}}) is int and {int(lo)} <= {{v}} <= {int(hi)})")


BYTES = Kind("bytes", lambda v, _m: type(v) is bytes, (b"", b"a", b"0", b"-1", b"1.5", b"\xff" * 40),
             expr="type({v}) is bytes")
STR = Kind("a string", lambda v, _m: type(v) is str, ("", "p.1", "q.ab12", "x" * 70), expr="type({v}) is str")
INT64 = ints(INT64_MIN, INT64_MAX, "a 64-bit integer")
UINT32 = ints(0, (1 << 32) - 1, "an integer in 0..2^32-1")
HLC = ints(0, HLC_MAX, "an HLC timestamp (0..2^63-1)")
NONNEG = ints(0, INT64_MAX, "a non-negative 64-bit integer")
SCORE = Kind("a float that is not NaN", lambda v, _m: type(v) is float and not math.isnan(v),
             (0.0, -0.0, 1.5, -1e308, math.inf, -math.inf, 5e-324),
             expr="(type({v}) is float and {v} == {v})")  # (NaN is the one float unequal to itself)
# Kinds that are a type test and nothing else (Shape's group fast path).
_PLAIN: dict[int, type] = {id(BYTES): bytes, id(STR): str}

FLAG = Kind("a boolean (or 0/1)", lambda v, _m: type(v) is bool or (type(v) is int and v in (0, 1)),
            (True, False, 0, 1))


# An increment: an integer (INCRBY), or the decimal text of INCRBYFLOAT, which Redis caps
# at 5k characters (MAX_LONG_DOUBLE_CHARS); parsing it never fails (numbers.incr_value).
DELTA = Kind("a 64-bit integer or a decimal text under 5k bytes",
             lambda v, _m: (type(v) is int and INT64_MIN <= v <= INT64_MAX) or (type(v) is bytes and len(v) < 5120),
             (0, 1, -1, INT64_MAX, INT64_MIN, b"1.5", b"-inf", b"nan", b"1e5000", b"junk", b"9" * 5000))


def one_of(*values: int) -> Kind:
    return Kind("one of " + "/".join(map(str, values)), lambda v, _m: type(v) is int and v in values, values,
                expr=f"(type({{v}}) is int and {{v}} in {tuple(int(x) for x in values)!r})")


def optional(k: Kind) -> Kind:
    return Kind(f"{k.name} or None", lambda v, m: v is None or k.ok(v, m), (None, *k.examples),
                expr=None if k.expr is None else f"({{v}} is None or {k.expr})")


def either(a: Kind, b: Kind) -> Kind:
    return Kind(f"{a.name} or {b.name}", lambda v, m: a.ok(v, m) or b.ok(v, m), (*a.examples, *b.examples))


def _bad_arg(eff: Effect, i: int, kind: Kind) -> str:
    got = type(eff[i]).__name__
    return f"effect {eff[0]}: argument {i - 3} must be {kind.name}, got {got}"


class Shape:
    """A check made of argument kinds: `head`, then `group` repeated (at least `min_groups`
    times; no group: exactly the head), then `extra(effect, max_bulk)` for constraints
    between values. Kept as data so tests can generate valid effects from it.

    It runs for every effect a peer sends, so the usual shapes take C-speed paths: a group
    whose kinds are plain types (members, fields, values: bytes) is checked with one
    `set(map(type, ...))` per position, and `fast(effect)` may accept the hot shape outright.
    Unless the module gives its own, `fast` is compiled from the kinds' `expr`s for the
    shape of one group (or the head alone, without groups): a peer's SADD of one member,
    HSET of one field, ZADD or list push of one element. The general path cost a peer
    0.5-1.2 µs per such effect (a fifth of what it spent on an HSET it applied); the
    compiled one is a single expression, ~0.1 µs. With `extra` there is no compiled `fast`:
    its constraints between values have no `expr`."""

    __slots__ = ("head", "group", "min_groups", "extra", "fast", "_h", "_g", "_head_ok", "_group_tp")
    _group_tp: tuple[set[type], ...] | None

    def __init__(self, head: Sequence[Kind], group: Sequence[Kind] = (), min_groups: int = 0,
                 extra: Callable[[Effect, int], str | None] | None = None,
                 fast: Callable[[Effect], bool] | None = None) -> None:
        self.head = tuple(head)
        self.group = tuple(group)
        self.min_groups = min_groups
        self.extra = extra
        self.fast = fast if fast is not None or extra is not None else _compile_fast(self.head, self.group, min_groups)
        self._h = 3 + len(self.head)
        self._g = len(self.group)
        self._head_ok = tuple(k.ok for k in self.head)
        # The exact type of each group position when its kind is only a type test.
        tps = [_PLAIN[id(k)] for k in self.group if id(k) in _PLAIN]
        self._group_tp = tuple({t} for t in tps) if self.group and len(tps) == len(self.group) else None

    def __call__(self, eff: Effect, max_bulk: int) -> str | None:
        fast = self.fast
        if fast is not None and fast(eff):
            return None
        return self.general(eff, max_bulk)

    def general(self, eff: Effect, max_bulk: int) -> str | None:
        """The check without `fast`: what `fast` must agree with where it answers True."""
        n = len(eff)
        h = self._h
        g = self._g
        if not g:
            if n != h:
                return f"effect {eff[0]}: {n - 3} arguments, expected {len(self.head)}"
        elif n < h + g * self.min_groups or (n - h) % g:
            return (f"effect {eff[0]}: {n - 3} arguments, expected {len(self.head)} + a multiple of {g}"
                    f" (at least {self.min_groups} times)")
        i = 3
        for ok in self._head_ok:
            if not ok(eff[i], max_bulk):
                return _bad_arg(eff, i, self.head[i - 3])
            i += 1
        if g and n > h:
            tps = self._group_tp
            if tps is not None and (set(map(type, eff[h:])) == tps[0] if g == 1 else
                                    all(set(map(type, eff[h + j::g])) == tp for j, tp in enumerate(tps))):
                pass  # every group argument has its plain type
            else:
                group = self.group
                for i in range(h, n):
                    k = group[(i - h) % g]
                    if not k.ok(eff[i], max_bulk):
                        return _bad_arg(eff, i, k)
        return self.extra(eff, max_bulk) if self.extra is not None else None


# The names a compiled `fast` reads, as its globals (no builtins lookup behind them).
_FAST_NAMES: dict[str, Any] = {"len": len, "type": type, "bytes": bytes, "str": str, "int": int, "float": float}


def _compile_fast(head: Sequence[Kind], group: Sequence[Kind], min_groups: int) -> Callable[[Effect], bool] | None:
    """`fast` for the shape of the head and one group (the head alone when there is no
    group): True exactly when the effect has that length and every argument its kind's
    `expr` (Shape's full check then answers None). None when a kind has no `expr`. The
    source is made from the exprs of this module's kinds, whose only inserted values are
    ints (ranges, one_of's values): nothing from a peer reaches it."""
    if group and min_groups > 1:
        return None
    kinds = (*head, *group)
    exprs = [k.expr for k in kinds]
    if any(x is None for x in exprs):
        return None
    conds = [f"len(e) == {3 + len(kinds)}"] + [str(x).format(v=f"e[{3 + i}]") for i, x in enumerate(exprs)]
    ns = dict(_FAST_NAMES)
    exec("def compiled_fast(e):\n    return " + " and ".join(conds) + "\n", ns)  # noqa: S102 - module-made source
    fast: Callable[[Effect], bool] = ns["compiled_fast"]
    return fast


def fixed(*kinds: Kind, extra: Callable[[Effect, int], str | None] | None = None,
          fast: Callable[[Effect], bool] | None = None) -> Shape:
    """Exactly these arguments after the key."""
    return Shape(kinds, extra=extra, fast=fast)


def repeated(head: Sequence[Kind] = (), group: Sequence[Kind] = (BYTES,), min_groups: int = 0,
             extra: Callable[[Effect, int], str | None] | None = None) -> Shape:
    """`head` arguments, then any number (>= min_groups) of `group` runs."""
    return Shape(head, group or (BYTES,), min_groups, extra)


# ---- the registry (keyspace.register_effect fills it) -------------------------------------
_CHECKS: dict[int, Check] = {}
_CREATE = 0x80  # keyspace.CREATE


def register_check(code: int, check: Check) -> None:
    _CHECKS[code] = check


def has_check(code: int) -> bool:
    return code in _CHECKS


def check_effect(eff: Effect, max_bulk: int) -> str | None:
    """Why `eff` (from a peer) must be refused, or None. Its code, db and key are checked
    by the caller; this checks the arguments against the code's schema."""
    code = eff[0] & ~_CREATE
    chk = _CHECKS.get(code)
    if chk is None:
        return f"effect code {code} has no shape check: refused from peers"
    return chk(eff, max_bulk)


def check_for(code: int) -> Check:
    """What check_effect runs for effects of `code` (an int), for callers that look it up
    once per code (replication/inbox.py validates a whole batch)."""
    chk = _CHECKS.get(code & ~_CREATE)
    if chk is None:
        why = f"effect code {code & ~_CREATE} has no shape check: refused from peers"
        return lambda _eff, _max_bulk: why
    return chk


def effect_checks() -> dict[int, Check]:
    return dict(_CHECKS)


__all__ = [
    "BYTES", "Check", "DELTA", "FLAG", "HLC", "INT64", "Kind", "NONNEG", "SCORE", "STR", "Shape", "UINT32",
    "check_effect", "check_for", "effect_checks", "either", "fixed", "has_check", "ints", "one_of", "optional",
    "register_check", "repeated",
]
