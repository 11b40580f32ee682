"""Sorted set commands (Redis 7.0 t_zset.c): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZCOUNT
ZLEXCOUNT ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
ZREVRANGE ZRANK ZREVRANK ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX; the lookups and
range helpers the other sorted-set modules share. Pops and ZRANDMEMBER are in zset_pop.py,
ZUNION/ZINTER/ZDIFF/ZINTERCARD/ZSCAN in zset_setops.py, argument parsing in zset_args.py.

Writes reduce to three effects of crdt/zset_aw.py: ZADD (absolute scores), ZINCR (one
delta) and ZREM (observed-remove of members). ZADD's NX/XX/GT/LT conditions, the NaN check
of increments, and which members a ZPOP*/ZREMRANGE* takes are decided at the origin only
(DESIGN §3); the effect carries the outcome.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.zset_aw import LISTPACK_MAX_ENTRIES, LISTPACK_MAX_VALUE, ZADD, ZINCR, ZREM, ZsetEntry, rec_score
from ..keyspace import Db
from ..notify import GENERIC, ZSET, notify_event
from ..reply import CommandError, Reply
from .helpers import arg_int, check_type, lookup_read, lookup_write
from .registry import command
from .zset_args import (
    INF,
    Items,
    LexRange,
    ScoreRange,
    _gte_min,
    _lte_max,
    parse_lex_range,
    parse_score,
    parse_score_range,
)

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node



# ---- lookups -------------------------------------------------------------------------------
def _db(node: Node, client: Client) -> Db:
    return node.keyspace.dbs[client.db]


def _read(node: Node, client: Client, key: bytes) -> ZsetEntry | None:
    return check_type(lookup_read(node, _db(node, client), key), ZsetEntry)  # type: ignore[no-any-return]


def _write(node: Node, client: Client, key: bytes) -> tuple[Db, ZsetEntry | None]:
    db = _db(node, client)
    return db, check_type(lookup_write(node, db, key), ZsetEntry)


# ---- positions in the (score, member) index -------------------------------------------------
def _rank_span(n: int, start: int, end: int) -> tuple[int, int] | None:
    """Redis's rank sanitising: inclusive [start, end] within [0, n), or None if empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    if end >= n:
        end = n - 1
    return start, end


def _score_span(e: ZsetEntry, r: ScoreRange) -> tuple[int, int]:
    """Index positions [lo, hi) of the members whose score is in the range."""
    mn, mnex, mx, mxex = r
    idx = e.index
    n = len(idx)
    if mnex:
        lo = n if mn == INF else idx.bisect_left((math.nextafter(mn, INF),))
    else:
        lo = idx.bisect_left((mn,))
    if mxex:
        hi = idx.bisect_left((mx,))
    else:
        hi = n if mx == INF else idx.bisect_left((math.nextafter(mx, INF),))
    return lo, max(lo, hi)


def _lex_span(e: ZsetEntry, r: LexRange, reverse: bool) -> tuple[int, int]:
    """Index positions [lo, hi) of a lex range. Lex ranges assume one score for all
    members (then this is a binary search); with mixed scores Redis's listpack walk is
    followed: from the head (tail when reversed) to the first member inside the range, then
    on while members stay inside."""
    idx = e.index
    n = len(idx)
    if n == 0:
        return 0, 0
    mn, mx = r
    first, last = idx[0], idx[-1]
    if first[0] == last[0]:
        s = first[0]
        lo = 0 if mn[0] < 0 else n if mn[0] > 0 else (
            idx.bisect_right((s, mn[1])) if mn[2] else idx.bisect_left((s, mn[1])))
        hi = n if mx[0] > 0 else 0 if mx[0] < 0 else (
            idx.bisect_left((s, mx[1])) if mx[2] else idx.bisect_right((s, mx[1])))
        return lo, max(lo, hi)
    if not _gte_min(last[1], mn) or not _lte_max(first[1], mx):
        return 0, 0
    if not reverse:
        i = 0
        while i < n and not _gte_min(idx[i][1], mn):
            i += 1
        j = i
        while j < n and _lte_max(idx[j][1], mx):
            j += 1
        return i, j
    i = n - 1
    while i >= 0 and not _lte_max(idx[i][1], mx):
        i -= 1
    j = i
    while j >= 0 and _gte_min(idx[j][1], mn):
        j -= 1
    return j + 1, i + 1


def _window(lo: int, hi: int, reverse: bool, offset: int, limit: int) -> tuple[int, int]:
    """LIMIT offset count applied to positions [lo, hi) walked forward or backward:
    a negative offset gives nothing, a negative count means all (Redis's `limit--` loop)."""
    if offset < 0:
        return lo, lo
    if reverse:
        end = hi - offset
        start = lo if limit < 0 else max(lo, end - limit)
        return min(start, max(end, lo)), max(end, lo)
    start = lo + offset
    end = hi if limit < 0 else min(hi, start + limit)
    return min(start, hi), max(min(start, hi), end)


def _slice(e: ZsetEntry, lo: int, hi: int, reverse: bool) -> Items:
    if hi <= lo:
        return []
    idx = e.index
    # Ranges inside the first or last sublist of the SortedList (small zsets, ZRANGE 0 9,
    # ZPOPMIN/ZPOPMAX) skip the positional index walk of islice.
    lists = idx._lists
    first = len(lists[0])
    if hi <= first:
        out = lists[0][lo:hi]
    else:
        n = len(idx)
        last = len(lists[-1])
        if lo >= n - last:
            out = lists[-1][lo - (n - last):hi - (n - last)]
        else:
            return list(idx.islice(lo, hi, reverse=reverse))
    if reverse:
        out.reverse()
    return out


# ---- replies --------------------------------------------------------------------------------
def _pairs_reply(client: Client, items: Items, withscores: bool) -> Reply:
    """Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [m for _s, m in items]
    if client.resp == 2:
        out: list[Any] = []
        for s, m in items:
            out.append(m)
            out.append(s)
        return out
    return _nested(items)


def _nested(items: Items) -> list[Any]:
    # Tuples, not lists: the garbage collector untracks a tuple of bytes and a float at
    # its first pass, while a million 2-item lists stay tracked and get scanned again by
    # every collection until the reply is gone (ZRANGE WITHSCORES of 1M members: 2.5 s of
    # collections, 0.2 s with tuples).
    return [(m, s) for s, m in items]



# ---- writing results --------------------------------------------------------------------------
def _lp_zero(s: float, big: bool) -> float:
    """A listpack stores scores as text, and "-0" comes back as 0."""
    return 0.0 if (not big and s == 0.0) else s


def _emit_store(node: Node, db: Db, dst: bytes, items: Items, start_big: bool | None, event: bytes) -> int:
    """Replace `dst` with the zset `items` (*STORE). `start_big` None: Redis built a skiplist
    and converted it at the end if small (ZUNIONSTORE & co.); else the encoding it began with
    before inserting `items` in order (ZRANGESTORE). Empty results delete `dst`."""
    exists = lookup_write(node, db, dst) is not None
    if exists:
        node.emit((codes.DEL, db.index, dst))
    if not items:
        if exists:
            notify_event(node, GENERIC, b"del", dst, db.index)
        return 0
    args: list[Any] = []
    if start_big is None:
        big = len(items) > LISTPACK_MAX_ENTRIES or any(len(m) > LISTPACK_MAX_VALUE for _s, m in items)
        for s, m in items:
            args.append(m)
            args.append(_lp_zero(s, big))
    else:
        big = start_big
        n = 0
        for s, m in items:
            if not big and (n + 1 > LISTPACK_MAX_ENTRIES or len(m) > LISTPACK_MAX_VALUE):
                big = True
            n += 1
            args.append(m)
            args.append(_lp_zero(s, big))
    node.emit((ZADD, db.index, dst, *args))
    notify_event(node, ZSET, event, dst, db.index)
    return len(items)


def _emit_remove(node: Node, db: Db, key: bytes, items: Iterable[tuple[float, bytes]], event: bytes) -> int:
    """Remove the members; notify `event`, then "del" when the zset is gone (t_zset.c)."""
    members = [m for _s, m in items]
    if members:
        node.emit((ZREM, db.index, key, *members))
        notify_event(node, ZSET, event, key, db.index)
        if key not in db.data:
            notify_event(node, GENERIC, b"del", key, db.index)
    return len(members)


# ---- ZADD / ZINCRBY / ZREM -------------------------------------------------------------------
_MISSING = object()


_ZADD_FLAGS = {b"nx": 1, b"xx": 2, b"gt": 4, b"lt": 8, b"ch": 16, b"incr": 32}


def _zadd(node: Node, client: Client, argv: list[bytes], zincrby: bool) -> Reply:
    i = 2
    n = len(argv)
    flags = 32 if zincrby else 0
    if not zincrby:
        get_flag = _ZADD_FLAGS.get
        while i < n:
            f = get_flag(argv[i].lower())
            if f is None:
                break
            flags |= f
            i += 1
    nx, xx, gt, lt, ch, incr = flags & 1, flags & 2, flags & 4, flags & 8, flags & 16, flags & 32
    rest = argv[i:]
    if not rest or len(rest) % 2:
        raise CommandError(errors.SYNTAX)
    if nx and xx:
        raise CommandError(errors.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(errors.ZADD_GT_LT_NX)
    if incr and len(rest) > 2:
        raise CommandError(errors.ZADD_INCR_PAIR)
    # Every score is parsed before the key is looked at, so the command runs fully or not.
    scores = [parse_score(rest[j]) for j in range(0, len(rest), 2)]
    key = argv[1]
    db, e = _write(node, client, key)
    if e is None and xx:
        return None if incr else 0
    if e is None:
        big, count = False, 0
    else:
        count = len(e.recs)
        big = e.big or count > LISTPACK_MAX_ENTRIES
    # Members are handled one after the other like Redis (ZADD k 1 a 2 a counts a twice
    # with CH); the effect carries each changed member once, with its final score. A pair
    # that changes nothing is no write at all, as in Redis (no WATCH touch, nothing sent).
    seen: dict[bytes, float] = {}
    changed: dict[bytes, float] = {}
    added = updated = 0
    processed = False
    reply_score = 0.0
    delta = 0.0
    recs_get = None if e is None else e.recs.get
    for j, s in enumerate(scores):
        m = rest[2 * j + 1]
        cur = seen.get(m, _MISSING)
        if cur is _MISSING:
            rec = None if recs_get is None else recs_get(m)
            cur = None if rec is None else rec if type(rec) is float else rec_score(rec)
        if cur is None:
            if xx:
                continue
            new = s
            if not big and (count + 1 > LISTPACK_MAX_ENTRIES or len(m) > LISTPACK_MAX_VALUE):
                big = True
            count += 1
            added += 1
            delta = 0.0 if (s == 0.0 and not big) else s
        else:
            if nx:
                continue
            if incr:
                new = cur + s  # type: ignore[operator]
                if new != new:
                    raise CommandError(errors.ZSET_NAN)
                delta = s
            else:
                new = s
            if (lt and new >= cur) or (gt and new <= cur):  # type: ignore[operator]
                continue
            if new == cur:
                processed = True
                reply_score = cur  # type: ignore[assignment]  # Redis keeps the stored value (0 vs -0)
                continue
            updated += 1
        processed = True
        reply_score = new
        seen[m] = changed[m] = 0.0 if (new == 0.0 and not big) else new
    if incr:
        if not processed:
            return None
        if changed:
            node.emit((ZINCR, db.index, key, rest[1], delta))
            notify_event(node, ZSET, b"zincr", key, db.index)
        return reply_score
    if len(changed) == 1:
        for m, s in changed.items():
            node.emit((ZADD, db.index, key, m, s))
    elif changed:
        args: list[Any] = []
        for m, s in changed.items():
            args.append(m)
            args.append(s)
        node.emit((ZADD, db.index, key, *args))
    if changed:
        notify_event(node, ZSET, b"zadd", key, db.index)
    return added + updated if ch else added


# ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
@command("zadd", -4, "write denyoom fast", 1, 1, 1, group="sorted-set",
         summary="Add one or more members to a sorted set, or update its score if it already exists",
         since="1.2.0", acl="sortedset fast")
def zadd_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 4 and argv[2].lower() not in _ZADD_FLAGS:
        return _zadd_one(node, client, argv)
    return _zadd(node, client, argv, False)


def _zadd_one(node: Node, client: Client, argv: list[bytes]) -> int:
    """ZADD key score member, no flags (the common form): what `_zadd` does for it, without
    its generic steps (~0.7 us instead of ~1.9 for a pair that changes nothing)."""
    s = parse_score(argv[2])
    key = argv[1]
    m = argv[3]
    db = node.keyspace.dbs[client.db]
    e = db.data.get(key)
    # `_write` inlined, and Node.emit's CREATE check with it, for a sorted set without a
    # TTL (nothing to expire, no type to refuse).
    direct = e.__class__ is ZsetEntry and not (db.expires and key in db.expires)
    if not direct:
        e = check_type(lookup_write(node, db, key), ZsetEntry)
    if e is None:
        big = len(m) > LISTPACK_MAX_VALUE
        added = 1
    else:
        recs = e.recs
        rec = recs.get(m)
        count = len(recs)
        big = e.big or count > LISTPACK_MAX_ENTRIES
        if rec is None:
            added = 1
            if not big and (count + 1 > LISTPACK_MAX_ENTRIES or len(m) > LISTPACK_MAX_VALUE):
                big = True
        elif s == (rec if type(rec) is float else rec_score(rec)):
            return 0  # no change is no write (see `_zadd`)
        else:
            added = 0
    eff = (ZADD, db.index, key, m, 0.0 if (s == 0.0 and not big) else s)
    if direct:
        node._emit(eff)
    else:
        node.emit(eff)
    if node.notify is not None:
        notify_event(node, ZSET, b"zadd", key, db.index)
    return added


# ZINCRBY key increment member
@command("zincrby", 4, "write denyoom fast", 1, 1, 1, group="sorted-set",
         summary="Increment the score of a member in a sorted set", since="1.2.0", acl="sortedset fast")
def zincrby_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zadd(node, client, argv, True)


# ZREM key member [member ...]
@command("zrem", -3, "write fast", 1, 1, 1, group="sorted-set",
         summary="Remove one or more members from a sorted set", since="1.2.0", acl="sortedset fast")
def zrem_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db, e = _write(node, client, argv[1])
    if e is None:
        return 0
    recs = e.recs
    members = [m for m in dict.fromkeys(argv[2:]) if m in recs]
    if members:
        node.emit((ZREM, db.index, argv[1], *members))
        notify_event(node, ZSET, b"zrem", argv[1], db.index)
        if argv[1] not in db.data:
            notify_event(node, GENERIC, b"del", argv[1], db.index)
    return len(members)


# ---- simple reads ----------------------------------------------------------------------------
# ZCARD key
@command("zcard", 2, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Get the number of members in a sorted set", since="1.2.0", acl="sortedset fast")
def zcard_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return 0 if e is None else len(e)


# ZSCORE key member
@command("zscore", 3, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Get the score associated with the given member in a sorted set", since="1.2.0",
         acl="sortedset fast")
def zscore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    return None if e is None else e.score(argv[2])


# ZMSCORE key member [member ...]
@command("zmscore", -3, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Get the score associated with the given members in a sorted set", since="6.2.0",
         acl="sortedset fast")
def zmscore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, client, argv[1])
    if e is None:
        return [None] * (len(argv) - 2)
    score = e.score
    return [score(m) for m in argv[2:]]


# ZCOUNT key min max
@command("zcount", 4, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Count the members in a sorted set with scores within the given values", since="2.0.0",
         acl="sortedset fast")
def zcount_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    r = parse_score_range(argv[2], argv[3])
    e = _read(node, client, argv[1])
    if e is None:
        return 0
    lo, hi = _score_span(e, r)
    return hi - lo


# ZLEXCOUNT key min max
@command("zlexcount", 4, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Count the number of members in a sorted set between a given lexicographical range",
         since="2.8.9", acl="sortedset fast")
def zlexcount_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    r = parse_lex_range(argv[2], argv[3])
    e = _read(node, client, argv[1])
    if e is None:
        return 0
    lo, hi = _lex_span(e, r, False)
    return hi - lo


def _zrank(node: Node, client: Client, argv: list[bytes], reverse: bool) -> Reply:
    e = _read(node, client, argv[1])
    if e is None:
        return None
    r = e.rank(argv[2])
    if r is None:
        return None
    return len(e) - 1 - r if reverse else r


# ZRANK key member
@command("zrank", 3, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Determine the index of a member in a sorted set", since="2.0.0", acl="sortedset fast")
def zrank_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrank(node, client, argv, False)


# ZREVRANK key member
@command("zrevrank", 3, "readonly fast", 1, 1, 1, group="sorted-set",
         summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
         since="2.0.0", acl="sortedset fast")
def zrevrank_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrank(node, client, argv, True)


# ---- the ZRANGE family (zrangeGenericCommand) -------------------------------------------------
RANK, SCORE, LEX = 0, 1, 2


def _zrange(node: Node, client: Client, argv: list[bytes], src_idx: int, store: bool,
            rangetype: int | None, reverse: bool | None) -> Reply:
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = src_idx + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = arg_int(argv[j + 1])
            limit = arg_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif rangetype is None and opt == b"bylex":
            rangetype = LEX
        elif rangetype is None and opt == b"byscore":
            rangetype = SCORE
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    reverse = bool(reverse)
    if rangetype is None:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise CommandError(errors.ZRANGE_LIMIT)
    if withscores and rangetype == LEX:
        raise CommandError(errors.ZRANGE_BYLEX_WITHSCORES)
    a, b = argv[src_idx + 1], argv[src_idx + 2]
    if reverse and rangetype != RANK:
        a, b = b, a  # given as max, min
    start = end = 0
    srange: ScoreRange | None = None
    lrange: LexRange | None = None
    if rangetype == RANK:
        start, end = arg_int(a), arg_int(b)
    elif rangetype == SCORE:
        srange = parse_score_range(a, b)
    else:
        lrange = parse_lex_range(a, b)
    src = argv[src_idx]
    db = _db(node, client)
    if store:
        e = check_type(lookup_write(node, db, src), ZsetEntry)
    else:
        e = check_type(lookup_read(node, db, src), ZsetEntry)
    items: Items = []
    if e is not None:
        if rangetype == RANK:
            span = _rank_span(len(e), start, end)
            if span is not None:
                lo, hi = span[0], span[1] + 1
                if reverse:
                    lo, hi = len(e) - hi, len(e) - lo
                items = _slice(e, lo, hi, reverse)
        else:
            if srange is not None:
                lo, hi = _score_span(e, srange)
            else:
                assert lrange is not None
                lo, hi = _lex_span(e, lrange, reverse)
            if offset > 0 and offset >= len(e):
                lo = hi
            lo, hi = _window(lo, hi, reverse, offset, limit)
            items = _slice(e, lo, hi, reverse)
    if store:
        # Redis starts a listpack unless a rank range is known to be long.
        start_big = rangetype == RANK and len(items) > LISTPACK_MAX_ENTRIES
        return _emit_store(node, db, argv[1], items, start_big, b"zrangestore")
    return _pairs_reply(client, items, withscores)


# ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
@command("zrange", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set", since="1.2.0", acl="sortedset slow")
def zrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, None, None)


# ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
@command("zrangestore", -5, "write denyoom", 1, 2, 1, group="sorted-set",
         summary="Store a range of members from sorted set into another key", since="6.2.0",
         acl="sortedset slow")
def zrangestore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 2, True, None, None)


# ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
@command("zrangebyscore", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set, by score", since="1.0.5", acl="sortedset slow")
def zrangebyscore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, SCORE, False)


# ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
@command("zrevrangebyscore", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
         since="2.2.0", acl="sortedset slow")
def zrevrangebyscore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, SCORE, True)


# ZRANGEBYLEX key min max [LIMIT offset count]
@command("zrangebylex", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set, by lexicographical range", since="2.8.9",
         acl="sortedset slow")
def zrangebylex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, LEX, False)


# ZREVRANGEBYLEX key max min [LIMIT offset count]
@command("zrevrangebylex", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set, by lexicographical range, ordered from "
                 "higher to lower strings.",
         since="2.8.9", acl="sortedset slow")
def zrevrangebylex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, LEX, True)


# ZREVRANGE key start stop [WITHSCORES]
@command("zrevrange", -4, "readonly", 1, 1, 1, group="sorted-set",
         summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
         since="1.2.0", acl="sortedset slow")
def zrevrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zrange(node, client, argv, 1, False, RANK, True)


# ---- ZREMRANGEBY* ---------------------------------------------------------------------------
def _zremrange(node: Node, client: Client, argv: list[bytes], rangetype: int) -> Reply:
    start = end = 0
    srange: ScoreRange | None = None
    lrange: LexRange | None = None
    if rangetype == RANK:
        start, end = arg_int(argv[2]), arg_int(argv[3])
    elif rangetype == SCORE:
        srange = parse_score_range(argv[2], argv[3])
    else:
        lrange = parse_lex_range(argv[2], argv[3])
    db, e = _write(node, client, argv[1])
    if e is None:
        return 0
    if rangetype == RANK:
        span = _rank_span(len(e), start, end)
        if span is None:
            return 0
        lo, hi = span[0], span[1] + 1
    elif srange is not None:
        lo, hi = _score_span(e, srange)
    else:
        assert lrange is not None
        lo, hi = _lex_span(e, lrange, False)
    event = (b"zremrangebyrank", b"zremrangebyscore", b"zremrangebylex")[(RANK, SCORE, LEX).index(rangetype)]
    return _emit_remove(node, db, argv[1], _slice(e, lo, hi, False), event)


# ZREMRANGEBYRANK key start stop
@command("zremrangebyrank", 4, "write", 1, 1, 1, group="sorted-set",
         summary="Remove all members in a sorted set within the given indexes", since="2.0.0",
         acl="sortedset slow")
def zremrangebyrank_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zremrange(node, client, argv, RANK)


# ZREMRANGEBYSCORE key min max
@command("zremrangebyscore", 4, "write", 1, 1, 1, group="sorted-set",
         summary="Remove all members in a sorted set within the given scores", since="1.2.0",
         acl="sortedset slow")
def zremrangebyscore_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zremrange(node, client, argv, SCORE)


# ZREMRANGEBYLEX key min max
@command("zremrangebylex", 4, "write", 1, 1, 1, group="sorted-set",
         summary="Remove all members in a sorted set between the given lexicographical range",
         since="2.8.9", acl="sortedset slow")
def zremrangebylex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zremrange(node, client, argv, LEX)
