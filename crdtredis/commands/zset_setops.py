"""Sorted-set algebra (Redis 7.0 zunionInterDiffGenericCommand): ZUNION ZINTER ZDIFF
ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD, and ZSCAN."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.zset_aw import ZsetEntry
from ..reply import CommandError, Reply
from .helpers import arg_int, lookup_read, lookup_write
from .registry import command
from .scan_util import PositionSnapshots, match_pairs, parse_cursor, parse_scan_options
from .zset_args import LONG_MAX, _fullname, _numkeys_positions, _range_long, format_score, parse_score
from .zsets import _db, _emit_store, _pairs_reply, _read

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node


# ---- ZUNION / ZINTER / ZDIFF (zunionInterDiffGenericCommand) --------------------------------
UNION, INTER, DIFF = 0, 1, 2
SUM, MIN, MAX = 0, 1, 2


class _Src:
    """One input of a set operation: a zset, a plain set (every score 1) or nothing."""

    __slots__ = ("e", "weight")

    def __init__(self, e: Any) -> None:
        self.e = e
        self.weight = 1.0

    def __len__(self) -> int:
        e = self.e
        if e is None:
            return 0
        return len(e) if type(e) is ZsetEntry else len(e.m)

    def items(self) -> Iterable[tuple[float, bytes]]:
        e = self.e
        if e is None:
            return ()
        if type(e) is ZsetEntry:
            return e.index
        return ((1.0, m) for m in e.m)

    def find(self, m: bytes) -> float | None:
        e = self.e
        if e is None:
            return None
        if type(e) is ZsetEntry:
            return e.score(m)
        return 1.0 if m in e.m else None


def _aggregate(target: float, value: float, how: int) -> float:
    if how == SUM:
        r = target + value
        # inf + -inf: Redis keeps the convention of 0.
        return 0.0 if r != r else r
    if how == MIN:
        return value if value < target else target
    return value if value > target else target


def _setop(node: Node, client: Client, argv: list[bytes], op: int, numkeys_idx: int,
           store: bool, card_only: bool) -> Reply:
    setnum = arg_int(argv[numkeys_idx])
    if setnum < 1:
        raise CommandError(errors.zset_no_input_keys(_fullname(argv)))
    if setnum > len(argv) - (numkeys_idx + 1):
        raise CommandError(errors.SYNTAX)
    db = _db(node, client)
    lookup = lookup_write if store else lookup_read
    srcs: list[_Src] = []
    j = numkeys_idx + 1
    for _ in range(setnum):
        e = lookup(node, db, argv[j])
        if e is not None and type(e) is not ZsetEntry and getattr(e, "TYPE", None) != b"set":
            raise CommandError(errors.WRONGTYPE)
        srcs.append(_Src(e))
        j += 1
    how = SUM
    withscores = False
    limit = 0
    n = len(argv)
    while j < n:
        remaining = n - j
        opt = argv[j].lower()
        if op != DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for src in srcs:
                src.weight = parse_score(argv[j], errors.ZSET_WEIGHT_NOT_FLOAT)
                j += 1
        elif op != DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            a = argv[j + 1].lower()
            if a == b"sum":
                how = SUM
            elif a == b"min":
                how = MIN
            elif a == b"max":
                how = MAX
            else:
                raise CommandError(errors.SYNTAX)
            j += 2
        elif not store and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = _range_long(argv[j + 1], 0, LONG_MAX, errors.ZSET_LIMIT_NEGATIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    if op != DIFF:
        # Smallest input first, like Redis (stable, as glibc's merge-sort qsort): this is
        # also the order in which scores are added up, which decides float rounding.
        srcs.sort(key=len)
    result: dict[bytes, float] = {}
    if op == INTER:
        if len(srcs[0]):
            first = srcs[0]
            card = 0
            for s0, m in first.items():
                score = first.weight * s0
                if score != score:
                    score = 0.0
                for other in srcs[1:]:
                    if other.e is first.e:
                        value: float | None = s0
                    else:
                        value = other.find(m)
                    if value is None:
                        break
                    score = _aggregate(score, value * other.weight, how)
                else:
                    if card_only:
                        card += 1
                        if limit and card >= limit:
                            break
                    else:
                        result[m] = score
            if card_only:
                return card
    elif op == UNION:
        for src in srcs:
            w = src.weight
            for s0, m in src.items():
                score = w * s0
                if score != score:
                    score = 0.0
                cur = result.get(m)
                result[m] = score if cur is None else _aggregate(cur, score, how)
    else:
        first, rest = srcs[0], srcs[1:]
        for s0, m in first.items():
            if not any(r.find(m) is not None for r in rest):
                result[m] = s0
    if card_only:
        return 0
    items = sorted((s, m) for m, s in result.items())
    if store:
        return _emit_store(node, db, argv[1], items, None, (b"zunionstore", b"zinterstore", b"zdiffstore")[op])
    return _pairs_reply(client, items, withscores)



# ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
@command("zunion", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set",
         summary="Add multiple sorted sets", since="6.2.0", acl="sortedset slow",
         getkeys=lambda argv: _numkeys_positions(argv, 1))
def zunion_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, UNION, 1, False, False)


# ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
@command("zinter", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set",
         summary="Intersect multiple sorted sets", since="6.2.0", acl="sortedset slow",
         getkeys=lambda argv: _numkeys_positions(argv, 1))
def zinter_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, INTER, 1, False, False)


# ZDIFF numkeys key [key ...] [WITHSCORES]
@command("zdiff", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set",
         summary="Subtract multiple sorted sets", since="6.2.0", acl="sortedset slow",
         getkeys=lambda argv: _numkeys_positions(argv, 1))
def zdiff_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, DIFF, 1, False, False)


# ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
@command("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set",
         summary="Add multiple sorted sets and store the resulting sorted set in a new key", since="2.0.0",
         acl="sortedset slow", getkeys=lambda argv: _numkeys_positions(argv, 2, True))
def zunionstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, UNION, 2, True, False)


# ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
@command("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set",
         summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
         since="2.0.0", acl="sortedset slow", getkeys=lambda argv: _numkeys_positions(argv, 2, True))
def zinterstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, INTER, 2, True, False)


# ZDIFFSTORE destination numkeys key [key ...]
@command("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set",
         summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
         since="6.2.0", acl="sortedset slow", getkeys=lambda argv: _numkeys_positions(argv, 2, True))
def zdiffstore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, DIFF, 2, True, False)


# ZINTERCARD numkeys key [key ...] [LIMIT limit]
@command("zintercard", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set",
         summary="Intersect multiple sorted sets and return the cardinality of the result", since="7.0.0",
         acl="sortedset slow", getkeys=lambda argv: _numkeys_positions(argv, 1))
def zintercard_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setop(node, client, argv, INTER, 1, False, True)


# ---- ZSCAN -------------------------------------------------------------------------------------
_SNAPSHOTS = PositionSnapshots()


def _scan_big(e: ZsetEntry, cursor: int, count: int) -> tuple[int, list[bytes]]:
    score = e.score

    def value(m: bytes) -> bytes | None:
        s = score(m)
        return None if s is None else format_score(s, False)

    return _SNAPSHOTS.scan(e, e.recs, cursor, count, value)


# ZSCAN key cursor [MATCH pattern] [COUNT count]
@command("zscan", -3, "readonly", 1, 1, 1, group="sorted-set",
         summary="Incrementally iterate sorted sets elements and associated scores", since="2.8.0",
         acl="sortedset slow")
def zscan_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    e = _read(node, client, argv[1])
    if e is None:
        return [b"0", []]
    count, pat, _ = parse_scan_options(argv, 3)
    if e.encoding() == b"listpack":
        # Like Redis: a small zset is returned whole, in order, whatever the cursor.
        nxt = 0
        out: list[bytes] = []
        for s, m in e.index:
            out.append(m)
            out.append(format_score(s, True))
    else:
        nxt, out = _scan_big(e, cursor, count)
    return [str(nxt).encode(), match_pairs(out, pat)]
