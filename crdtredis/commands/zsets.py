"""Sorted set commands (Redis 7.0 t_zset.c): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZCOUNT
ZLEXCOUNT ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
ZREVRANGE ZRANK ZREVRANK ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP ZRANDMEMBER
ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE
ZDIFFSTORE ZINTERCARD ZSCAN.

Writes reduce to three effects of crdt/zset_aw.py: ZADD (absolute scores), ZINCR (one
delta) and ZREM (observed-remove of members). ZADD's NX/XX/GT/LT conditions, the NaN check
of increments, and which members a ZPOP*/ZREMRANGE* takes are decided at the origin only
(DESIGN §3); the effect carries the outcome.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.numbers import parse_int
from ..crdt.zset_aw import LISTPACK_MAX_ENTRIES, LISTPACK_MAX_VALUE, ZADD, ZINCR, ZREM, ZsetEntry, rec_score
from ..keyspace import Db
from ..notify import GENERIC, ZSET, notify_event
from ..reply import NULL_ARRAY, CommandError, Reply
from .blocking import parse_timeout, serve_or_block
from .helpers import LLONG_MAX, arg_int, check_type, lookup_read, lookup_write, repeated_reply_fits
from .registry import command
from .scan_util import PositionSnapshots, match_pairs, parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

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


_LL_HALF = float(LLONG_MAX // 2)


def format_score(s: float, listpack: bool) -> bytes:
    """A score as ZSCAN shows it. A listpack stores d2string's text (integral values up to
    LLONG_MAX/2 printed as integers: 1e17 is "100000000000000000"); a skiplist's score
    goes through "%.17g" ("1e+17")."""
    if listpack and -_LL_HALF <= s <= _LL_HALF and s == int(s):
        return b"%d" % int(s) if s else (b"-0" if math.copysign(1.0, s) < 0 else b"0")
    return b"%.17g" % s


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
    return _zadd(node, client, argv, False)


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


# ---- pops -----------------------------------------------------------------------------------
def _take(e: ZsetEntry, count: int, pop_max: bool) -> Items:
    n = min(count, len(e))
    size = len(e)
    return _slice(e, size - n, size, True) if pop_max else _slice(e, 0, n, False)


def _first_zset(node: Node, db: Db, keys: list[bytes]) -> tuple[bytes, ZsetEntry] | None:
    """The first key holding a zset; WRONGTYPE at the first key holding something else."""
    for k in keys:
        e = lookup_write(node, db, k)
        if e is None:
            continue
        check_type(e, ZsetEntry)
        return k, e
    return None


def _zpop(node: Node, client: Client, argv: list[bytes], pop_max: bool) -> Reply:
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = -1
    if len(argv) == 3:
        count = _range_long(argv[2], 0, LONG_MAX, errors.COUNT_NEGATIVE)
    db, e = _write(node, client, argv[1])
    if e is None or count == 0:
        return []
    items = _take(e, 1 if count < 0 else count, pop_max)
    _emit_remove(node, db, argv[1], items, b"zpopmax" if pop_max else b"zpopmin")
    if count < 0:
        return [items[0][1], items[0][0]]  # no count: a flat pair, in RESP3 too
    return _pairs_reply(client, items, True)


# ZPOPMIN key [count]
@command("zpopmin", -2, "write fast", 1, 1, 1, group="sorted-set",
         summary="Remove and return members with the lowest scores in a sorted set", since="5.0.0",
         acl="sortedset fast")
def zpopmin_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zpop(node, client, argv, False)


# ZPOPMAX key [count]
@command("zpopmax", -2, "write fast", 1, 1, 1, group="sorted-set",
         summary="Remove and return members with the highest scores in a sorted set", since="5.0.0",
         acl="sortedset fast")
def zpopmax_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _zpop(node, client, argv, True)


def _parse_mpop(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """numkeys key [key ...] MIN|MAX [COUNT count] -> (keys, pop max, count)."""
    numkeys = _range_long(argv[numkeys_idx], 1, LONG_MAX, errors.ZSET_NUMKEYS)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise CommandError(errors.SYNTAX)
    where = argv[where_idx].lower()
    if where not in (b"min", b"max"):
        raise CommandError(errors.SYNTAX)
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            count = _range_long(argv[j + 1], 1, LONG_MAX, errors.ZSET_COUNT)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[numkeys_idx + 1:where_idx], where == b"max", 1 if count == -1 else count


# ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
@command("zmpop", -4, "write movablekeys", 0, 0, 0, group="sorted-set",
         summary="Remove and return members with scores in a sorted set", since="7.0.0",
         acl="sortedset slow", getkeys=lambda argv: _numkeys_positions(argv, 1))
def zmpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    keys, pop_max, count = _parse_mpop(argv, 1)
    db = _db(node, client)
    found = _first_zset(node, db, keys)
    if found is None:
        return NULL_ARRAY
    key, e = found
    items = _take(e, count, pop_max)
    _emit_remove(node, db, key, items, b"zpopmax" if pop_max else b"zpopmin")
    return [key, _nested(items)]


# ---- blocking pops --------------------------------------------------------------------------
def _blocking_pop(node: Node, client: Client, keys: list[bytes], timeout_ms: int, pop_max: bool,
                  count: int, mpop: bool) -> Reply:
    def serve(db: Db, key: bytes, e: ZsetEntry) -> Reply:
        items = _take(e, count, pop_max)
        _emit_remove(node, db, key, items, b"zpopmax" if pop_max else b"zpopmin")
        s, m = items[0]
        return [key, _nested(items)] if mpop else [key, m, s]

    return serve_or_block(node, client, _db(node, client), keys, timeout_ms, ZsetEntry, serve, False)


# BZPOPMIN key [key ...] timeout
@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, group="sorted-set",
         summary="Remove and return the member with the lowest score from one or more sorted sets, "
                 "or block until one is available",
         since="5.0.0", acl="sortedset fast blocking")
def bzpopmin_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    timeout = parse_timeout(argv[-1])
    return _blocking_pop(node, client, argv[1:-1], timeout, False, 1, False)


# BZPOPMAX key [key ...] timeout
@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, group="sorted-set",
         summary="Remove and return the member with the highest score from one or more sorted sets, "
                 "or block until one is available",
         since="5.0.0", acl="sortedset fast blocking")
def bzpopmax_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    timeout = parse_timeout(argv[-1])
    return _blocking_pop(node, client, argv[1:-1], timeout, True, 1, False)


# BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
@command("bzmpop", -5, "write blocking movablekeys", 0, 0, 0, group="sorted-set",
         summary="Remove and return members with scores in a sorted set or block until one is available",
         since="7.0.0", acl="sortedset slow blocking", getkeys=lambda argv: _numkeys_positions(argv, 2))
def bzmpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    keys, pop_max, count = _parse_mpop(argv, 2)
    timeout = parse_timeout(argv[1])
    return _blocking_pop(node, client, keys, timeout, pop_max, count, True)


# ---- ZRANDMEMBER ----------------------------------------------------------------------------
# ZRANDMEMBER key [count [WITHSCORES]]
@command("zrandmember", -2, "readonly", 1, 1, 1, group="sorted-set",
         summary="Get one or multiple random elements from a sorted set", since="6.2.0",
         acl="sortedset slow")
def zrandmember_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    n = len(argv)
    if n == 2:
        e = _read(node, client, argv[1])
        if e is None:
            return None
        return e.index[random.randrange(len(e))][1]  # type: ignore[no-any-return]
    count = arg_int(argv[2])
    if count < -LONG_MAX:
        raise CommandError(errors.value_out_of_range(-LONG_MAX, LONG_MAX))
    withscores = False
    if n > 4 or (n == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(errors.SYNTAX)
    if n == 4:
        withscores = True
        if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:
            raise CommandError(errors.VALUE_OUT_OF_RANGE)
    e = _read(node, client, argv[1])
    if e is None or count == 0:
        return []
    idx = e.index
    size = len(idx)
    if count < 0:
        sample = [idx[random.randrange(size)][1] for _ in range(8)]
        if not repeated_reply_fits(node, -count, sample, 25 if withscores else 0):
            raise CommandError(errors.ZRANDMEMBER_TOO_MANY)
        # random.choices picks in C: 16M picks are ~2 s, not ~20 s of SortedList lookups.
        items = random.choices(list(idx) if -count > 64 else idx, k=-count)
    elif count >= size:
        items = list(idx)
    elif count * 4 > size:
        items = random.sample(list(idx), count)
    else:
        items = [idx[i] for i in random.sample(range(size), count)]  # O(count log n)
    return _pairs_reply(client, items, withscores)


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


def _numkeys_positions(argv: list[bytes], numkeys_idx: int, dst: bool = False) -> list[int]:
    """Key positions of numkeys-style commands (COMMAND GETKEYS, ACL key checks)."""
    try:
        n = int(argv[numkeys_idx])
    except (ValueError, IndexError):
        return []
    n = max(0, min(n, len(argv) - numkeys_idx - 1))
    keys = list(range(numkeys_idx + 1, numkeys_idx + 1 + n))
    return ([1] + keys) if dst else keys


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

