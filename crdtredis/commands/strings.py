"""String commands: the GET/SET family, ranges, LCS and the counters (Redis t_string.c).

Every write reduces to three string effects (DESIGN §1): SET ships the whole new value
(SETRANGE included, so concurrent ones resolve LWW), INCR ships a delta, so concurrent
increments add up, and APPEND ships the appended bytes, so concurrent appends all land
(crdt/string_bits.py). Conditions (NX/XX, SETNX, MSETNX) are checked at the origin
only (docs/semantics.md).
"""
from __future__ import annotations

import weakref
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import errors, keyspace_batch
from ..crdt import codes
from ..crdt.numbers import incr_value, parse_decimal, parse_int
from ..crdt.string_bits import BitStr
from ..crdt.string_counter import CounterStr, string_value
from ..keyspace import Db, entry_stamp
from ..notify import GENERIC, STRING, notify_event
from ..reply import OK, CommandError, Map, Reply
from . import helpers
from .helpers import LLONG_MAX, db_of, is_string, lookup_read, lookup_write, read_string
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

SET, INCR, DEL, EXPIRE, APPEND = codes.SET, codes.INCR, codes.DEL, codes.EXPIRE, codes.APPEND
TTL_CLEAR, TTL_KEEP, TTL_SET = codes.TTL_CLEAR, codes.TTL_KEEP, codes.TTL_SET

# Error texts of t_string.c that only these commands use.
DECR_OVERFLOW = "ERR decrement would overflow"
LCS_NOT_STRINGS = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_BIG = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"


def _string_or_none(e: Any) -> bytes | None:
    if e is None:
        return None
    if not is_string(e):
        raise CommandError(errors.WRONGTYPE)
    return string_value(e)


def _check_length(node: Node, size: int) -> None:
    if size > node.proto_max_bulk_len:
        raise CommandError(errors.STRING_TOO_LONG)


# ---- OBJECT ENCODING hints -------------------------------------------------------------
# Redis derives a string's encoding from how it was written, not only from its bytes:
# APPEND and SETRANGE leave a "raw" string (dbUnshareStringValue) and INCRBYFLOAT an
# "embstr" one even when the text is an integer. The effects carry only the value, so the
# origin remembers such writes here, keyed to the entry's stamp and value (its length and
# hash, so a stale hint holds no old value alive): any later write changes one of them and
# the hint lapses. Local and cosmetic, like the encoding itself; bounded by _HINTS_MAX.
_Hint = tuple[tuple[int, str], int, int, bytes]  # (stamp, len, hash, encoding)
_HINTS: weakref.WeakKeyDictionary[Node, dict[tuple[int, bytes], _Hint]] = weakref.WeakKeyDictionary()
_HINTS_MAX = 10_000


def set_encoding_hint(node: Node, db: Db, key: bytes, enc: bytes) -> None:
    e = db.data.get(key)
    if e is None or not is_string(e):
        return
    hints = _HINTS.get(node)
    if hints is None:
        hints = _HINTS[node] = {}
    v = string_value(e)
    hints[(db.index, key)] = (entry_stamp(e), len(v), hash(v), enc)
    if len(hints) > _HINTS_MAX:
        for k in list(hints):
            d = node.keyspace.dbs[k[0]]
            if _live_hint(hints[k], d.data.get(k[1])) is None:
                del hints[k]
        if len(hints) > _HINTS_MAX:
            hints.clear()


def _live_hint(h: _Hint, e: Any) -> bytes | None:
    if e is None or not is_string(e) or entry_stamp(e) != h[0]:
        return None
    v = string_value(e)
    return h[3] if len(v) == h[1] and hash(v) == h[2] else None


def encoding_hint(node: Node, db: Db, key: bytes) -> bytes | None:
    hints = _HINTS.get(node)
    if not hints:
        return None
    h = hints.get((db.index, key))
    return None if h is None else _live_hint(h, db.data.get(key))


def string_encoding(node: Node, db: Db, key: bytes, value: bytes) -> bytes:
    """OBJECT ENCODING of a string: Redis's tryObjectEncoding applied to its bytes."""
    hint = encoding_hint(node, db, key)
    if hint is not None:
        return hint if hint == b"raw" or len(value) <= 44 else b"raw"
    if len(value) <= 20 and parse_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


# ---- expiry arguments ----------------------------------------------------------------
_EX, _PX, _EXAT, _PXAT, _KEEPTTL, _PERSIST = "ex", "px", "exat", "pxat", "keepttl", "persist"
_NX, _XX, _GET = "nx", "xx", "get"
_TTL_OPTS = (_EX, _PX, _EXAT, _PXAT)


def _parse_string_opts(argv: list[bytes], start: int, for_set: bool) -> tuple[set[str], bytes | None, str]:
    """Redis parseExtendedStringArgumentsOrReply: (flags, expire argument, its option).

    The conflict rules are Redis's exactly, including what it lets through (a repeated
    NX, EX 10 EX 20: the last wins; NX with GET since 7.0)."""
    flags: set[str] = set()
    expire: bytes | None = None
    unit = ""
    j = start
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        has_next = j + 1 < n
        if opt == b"nx" and for_set and _XX not in flags:
            flags.add(_NX)
        elif opt == b"xx" and for_set and _NX not in flags:
            flags.add(_XX)
        elif opt == b"get" and for_set:
            flags.add(_GET)
        elif opt == b"keepttl" and for_set and not flags.intersection(_TTL_OPTS):
            flags.add(_KEEPTTL)
        elif opt == b"persist" and not for_set and not flags.intersection(_TTL_OPTS):
            flags.add(_PERSIST)
        elif opt in (b"ex", b"px", b"exat", b"pxat") and has_next and not flags & {_KEEPTTL, _PERSIST} \
                and not flags.intersection(o for o in _TTL_OPTS if o != opt.decode()):
            unit = opt.decode()
            flags.add(unit)
            expire = argv[j + 1]
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return flags, expire, unit


def _deadline(node: Node, cmd: str, arg: bytes, unit: str, now: int) -> int:
    """Redis getExpireMillisecondsOrReply: absolute deadline in unix ms. `now` is the
    command's one reading of the clock: whether the deadline has already passed is judged
    against the same reading, so EX/PX (at least 1 ms ahead) never count as passed because
    the clock ticked during the command (Redis 7.2's command time snapshot)."""
    v = helpers.arg_int(arg)
    seconds = unit in (_EX, _EXAT)
    if v <= 0 or (seconds and v > LLONG_MAX // 1000):
        raise CommandError(errors.invalid_expire(cmd))
    if seconds:
        v *= 1000
    if unit in (_EX, _PX):
        v += now
    if v > LLONG_MAX:  # Redis sees the signed overflow as a value <= 0
        raise CommandError(errors.invalid_expire(cmd))
    return v


def _emit_set(node: Node, db: Db, key: bytes, value: bytes, keepttl: bool, deadline: int | None,
              now: int) -> None:
    if deadline is not None:
        if deadline <= now:  # `now`: the reading the deadline was made with (_deadline)
            # Already expired: Redis's key is gone at the next access; ours at once.
            node.emit((DEL, db.index, key))
        else:
            node.emit((SET, db.index, key, value, TTL_SET, deadline))
        notify_event(node, STRING, b"set", key, db.index)
        notify_event(node, GENERIC, b"expire", key, db.index)
    else:
        node.emit((SET, db.index, key, value, TTL_KEEP if keepttl else TTL_CLEAR, None))
        notify_event(node, STRING, b"set", key, db.index)


# ---- GET / SET family ------------------------------------------------------------------
# GET key
@command("get", 2, "readonly fast", 1, 1, 1, group="string", summary="Get the value of a key",
         since="1.0.0", acl="string fast")
def get_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = node.keyspace.dbs[client.db]
    e = db.data.get(argv[1])
    if e.__class__ is tuple and not (db.expires and argv[1] in db.expires):  # a plain string, no TTL: most GETs
        return e[0]  # type: ignore[no-any-return]
    return read_string(node, db, argv[1])


# SET key value [NX|XX] [GET] [EX s|PX ms|EXAT unix-s|PXAT unix-ms|KEEPTTL]
@command("set", -3, "write denyoom", 1, 1, 1, group="string", summary="Set the string value of a key",
         since="1.0.0", acl="string slow")
def set_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 3:  # the hot path: no options to parse
        # Node.emit's only step for a SET without KEEPTTL is this call.
        node._emit((SET, client.db, argv[1], argv[2], TTL_CLEAR, None))
        if node.notify is not None:  # inlined test: this is the hottest write
            notify_event(node, STRING, b"set", argv[1], client.db)
        return OK
    flags, expire, unit = _parse_string_opts(argv, 3, True)
    db = db_of(node, client)
    key = argv[1]
    now = node.now_ms()
    deadline = _deadline(node, "set", expire, unit, now) if expire is not None else None
    old: bytes | None = None
    if _GET in flags:
        old = read_string(node, db, key)
    if _NX in flags or _XX in flags:
        found = lookup_write(node, db, key) is not None
        if (_NX in flags and found) or (_XX in flags and not found):
            return old if _GET in flags else None
    _emit_set(node, db, key, argv[2], _KEEPTTL in flags, deadline, now)
    return old if _GET in flags else OK


# SETNX key value
@command("setnx", 3, "write denyoom fast", 1, 1, 1, group="string",
         summary="Set the value of a key, only if the key does not exist", since="1.0.0", acl="string fast")
def setnx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    if lookup_write(node, db, argv[1]) is not None:
        return 0
    node.emit((SET, db.index, argv[1], argv[2], TTL_CLEAR, None))
    notify_event(node, STRING, b"set", argv[1], db.index)
    return 1


def _setex(node: Node, client: Client, argv: list[bytes], cmd: str, unit: str) -> Reply:
    now = node.now_ms()
    deadline = _deadline(node, cmd, argv[2], unit, now)
    _emit_set(node, db_of(node, client), argv[1], argv[3], False, deadline, now)
    return OK


# SETEX key seconds value
@command("setex", 4, "write denyoom", 1, 1, 1, group="string", summary="Set the value and expiration of a key",
         since="2.0.0", acl="string slow")
def setex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setex(node, client, argv, "setex", _EX)


# PSETEX key milliseconds value
@command("psetex", 4, "write denyoom", 1, 1, 1, group="string",
         summary="Set the value and expiration in milliseconds of a key", since="2.6.0", acl="string slow")
def psetex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _setex(node, client, argv, "psetex", _PX)


# GETSET key value
@command("getset", 3, "write denyoom fast", 1, 1, 1, group="string",
         summary="Set the string value of a key and return its old value", since="1.0.0", acl="string fast")
def getset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    old = read_string(node, db, argv[1])
    node.emit((SET, db.index, argv[1], argv[2], TTL_CLEAR, None))
    notify_event(node, STRING, b"set", argv[1], db.index)
    return old


# GETDEL key
@command("getdel", 2, "write fast", 1, 1, 1, group="string", summary="Get the value of a key and delete the key",
         since="6.2.0", acl="string fast")
def getdel_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    old = read_string(node, db, argv[1])
    if old is not None:
        node.emit((DEL, db.index, argv[1]))
        notify_event(node, GENERIC, b"del", argv[1], db.index)
    return old


# GETEX key [EX s|PX ms|EXAT unix-s|PXAT unix-ms|PERSIST]
@command("getex", -2, "write fast", 1, 1, 1, group="string",
         summary="Get the value of a key and optionally set its expiration", since="6.2.0", acl="string fast")
def getex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    flags, expire, unit = _parse_string_opts(argv, 2, False)
    db = db_of(node, client)
    key = argv[1]
    value = read_string(node, db, key)
    if value is None:
        return None
    if expire is not None:
        now = node.now_ms()
        deadline = _deadline(node, "getex", expire, unit, now)
        if deadline <= now:
            node.emit((DEL, db.index, key))
            notify_event(node, GENERIC, b"del", key, db.index)
        else:
            node.emit((EXPIRE, db.index, key, deadline))
            notify_event(node, GENERIC, b"expire", key, db.index)
    elif _PERSIST in flags and helpers.ttl_ms(db, key) is not None:
        node.emit((EXPIRE, db.index, key, None))
        notify_event(node, GENERIC, b"persist", key, db.index)
    return value


# MGET key [key ...]
@command("mget", -2, "readonly fast", 1, -1, 1, group="string", summary="Get the values of all the given keys",
         since="1.0.0", acl="string fast")
def mget_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    out: list[bytes | None] = []
    for key in argv[1:]:
        e = lookup_read(node, db, key)
        out.append(string_value(e) if e is not None and is_string(e) else None)
    return out


# MSET key value [key value ...]
@command("mset", -3, "write denyoom", 1, -1, 2, group="string", summary="Set multiple keys to multiple values",
         since="1.0.1", acl="string slow")
def mset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity("mset"))
    dbi = db_of(node, client).index
    # Node.emit's only step for a SET without KEEPTTL is Node._emit: here for all the keys at
    # once, unless keyspace events are on (each key's "set" follows its own write, as in Redis).
    effs = keyspace_batch.set_effects(dbi, argv)
    if node.notify is None:
        node._emit_all(effs)
        return OK
    for eff in effs:
        node._emit(eff)
        notify_event(node, STRING, b"set", eff[2], dbi)
    return OK


# MSETNX key value [key value ...]
@command("msetnx", -3, "write denyoom", 1, -1, 2, group="string",
         summary="Set multiple keys to multiple values, only if none of the keys exist", since="1.0.1",
         acl="string slow")
def msetnx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_arity("msetnx"))
    db = db_of(node, client)
    for j in range(1, len(argv), 2):
        if lookup_write(node, db, argv[j]) is not None:
            return 0
    for j in range(1, len(argv), 2):
        node.emit((SET, db.index, argv[j], argv[j + 1], TTL_CLEAR, None))
        notify_event(node, STRING, b"set", argv[j], db.index)
    return 1


# ---- APPEND / STRLEN / ranges ----------------------------------------------------------
# APPEND key value
@command("append", 3, "write denyoom fast", 1, 1, 1, group="string", summary="Append a value to a key",
         since="2.0.0", acl="string fast")
def append_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    key = argv[1]
    e = lookup_write(node, db, key)
    if e is None:
        node.emit((SET, db.index, key, argv[2], TTL_CLEAR, None))
        notify_event(node, STRING, b"append", key, db.index)
        return len(argv[2])
    if not is_string(e):
        raise CommandError(errors.WRONGTYPE)
    # The length without copying the value: APPEND of one byte to 400 MB costs O(1 byte),
    # and so does its effect, which ships only the chunk (crdt/string_bits.py).
    n = len(e[0]) if type(e) is tuple else len(e.view()) if type(e) is BitStr else len(e.value)
    _check_length(node, n + len(argv[2]))
    node.emit((APPEND, db.index, key, argv[2]))
    notify_event(node, STRING, b"append", key, db.index)
    if type(db.data.get(key)) is tuple:  # a small value on a solo replica (string_bits.py)
        set_encoding_hint(node, db, key, b"raw")
    return n + len(argv[2])


# STRLEN key
@command("strlen", 2, "readonly fast", 1, 1, 1, group="string",
         summary="Get the length of the value stored in a key", since="2.2.0", acl="string fast")
def strlen_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    v = read_string(node, db_of(node, client), argv[1])
    return 0 if v is None else len(v)


def _getrange(node: Node, client: Client, argv: list[bytes]) -> Reply:
    start = helpers.arg_int(argv[2])
    end = helpers.arg_int(argv[3])
    v = read_string(node, db_of(node, client), argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(n + start, 0)
    if end < 0:
        end = max(n + end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return v[start:end + 1]


# GETRANGE key start end
@command("getrange", 4, "readonly", 1, 1, 1, group="string",
         summary="Get a substring of the string stored at a key", since="2.4.0", acl="string slow")
def getrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _getrange(node, client, argv)


# SUBSTR key start end
@command("substr", 4, "readonly", 1, 1, 1, group="string",
         summary="Get a substring of the string stored at a key", since="1.0.0", acl="string slow")
def substr_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _getrange(node, client, argv)


# SETRANGE key offset value
@command("setrange", 4, "write denyoom", 1, 1, 1, group="string",
         summary="Overwrite part of a string at key starting at the specified offset", since="2.2.0",
         acl="string slow")
def setrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    offset = helpers.arg_int(argv[2])
    if offset < 0:
        raise CommandError(errors.OFFSET_OUT_OF_RANGE)
    db = db_of(node, client)
    key, part = argv[1], argv[3]
    old = _string_or_none(lookup_write(node, db, key))
    if not part:
        # Setting nothing changes nothing, not even the encoding (Redis returns early).
        return 0 if old is None else len(old)
    _check_length(node, offset + len(part))
    if old is None:
        new = b"\0" * offset + part
        node.emit((SET, db.index, key, new, TTL_CLEAR, None))
    else:
        if offset <= len(old):
            new = old[:offset] + part + old[offset + len(part):]
        else:
            new = old + b"\0" * (offset - len(old)) + part
        node.emit((SET, db.index, key, new, TTL_KEEP, None))
    notify_event(node, STRING, b"setrange", key, db.index)
    set_encoding_hint(node, db, key, b"raw")
    return len(new)


# ---- LCS -------------------------------------------------------------------------------
# LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
@command("lcs", -3, "readonly", 1, 2, 1, group="string", summary="Find longest common substring",
         since="7.0.0", acl="string slow")
def lcs_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    ea = lookup_read(node, db, argv[1])
    eb = lookup_read(node, db, argv[2])
    if (ea is not None and not is_string(ea)) or (eb is not None and not is_string(eb)):
        raise CommandError(LCS_NOT_STRINGS)
    a = b"" if ea is None else string_value(ea)
    b = b"" if eb is None else string_value(eb)
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and j + 1 < len(argv):
            minmatchlen = max(helpers.arg_int(argv[j + 1]), 0)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    if getlen and getidx:
        raise CommandError(LCS_LEN_AND_IDX)
    cells = (len(a) + 1) * (len(b) + 1)
    if cells * 4 > node.proto_max_bulk_len:
        # Redis's guard on its table of 4-byte cells; ours is 1 bit per cell (see _lcs).
        raise CommandError(LCS_TOO_BIG)
    return _lcs(a, b, getlen, getidx, withmatchlen, minmatchlen)


def _lcs(a: bytes, b: bytes, getlen: bool, getidx: bool, withmatchlen: bool, minmatchlen: int) -> Reply:
    """Redis's LCS table and walk-back, with the table computed bit-parallel (Hyyro 2004):
    row i is an int whose zero bits below j count LCS(a[:i], b[:j]), so a row costs a few
    big-int operations instead of len(b) Python steps."""
    alen, blen = len(a), len(b)
    full = (1 << blen) - 1
    # match[c]: bit j set where b[j] == c (built from a '0'/'1' string: linear time).
    rb = b[::-1]
    match = {c: int(rb.translate(_ONE_OF[c]), 2) for c in set(b)}
    v = full
    rows = [v]
    for c in a:
        u = v & match.get(c, 0)
        v = ((v + u) | (v - u)) & full
        if not getlen:
            rows.append(v)
    total = blen - v.bit_count()
    if getlen:
        return total

    def lcs_len(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    # Walk back exactly like Redis, so IDX ranges come out in its order.
    result = bytearray(total)
    idx = total
    matches: list[Any] = []
    a_start = alen  # alen means "no range open"
    a_end = b_start = b_end = 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if lcs_len(i - 1, j) > lcs_len(i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                m: list[Any] = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    m.append(match_len)
                matches.append(m)
            a_start = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(result)


# _ONE_OF[c]: a bytes.translate table mapping c to "1" and every other byte to "0".
_ONE_OF = [bytes(0x31 if x == c else 0x30 for x in range(256)) for c in range(256)]


# ---- counters --------------------------------------------------------------------------
def _incr(node: Node, client: Client, key: bytes, delta: int) -> Reply:
    db = node.keyspace.dbs[client.db]
    e = db.data.get(key)
    old: bytes | None
    ttl = bool(db.expires) and key in db.expires
    if not ttl and (e is None or e.__class__ is tuple):  # no TTL or type to check
        old = None if e is None else e[0]
    elif not ttl and e.__class__ is CounterStr:  # a counter with peers, before GC folds it
        old = e.value
    else:
        old = _string_or_none(lookup_write(node, db, key))
    if old is None:
        value = 0
    else:
        v = parse_int(old)
        if v is None:
            raise CommandError(errors.NOT_INTEGER)
        value = v
    new = value + delta
    if not helpers.LLONG_MIN <= new <= LLONG_MAX:
        raise CommandError(errors.OVERFLOW)
    if e is not None and not ttl:
        # Node.emit's CREATE check, already answered: the key exists and cannot have expired.
        node._emit((INCR, db.index, key, delta))
    else:
        node.emit((INCR, db.index, key, delta))
    if node.notify is not None:
        notify_event(node, STRING, b"incrby", key, db.index)
    return new


# INCR key
@command("incr", 2, "write denyoom fast", 1, 1, 1, group="string",
         summary="Increment the integer value of a key by one", since="1.0.0", acl="string fast")
def incr_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _incr(node, client, argv[1], 1)


# DECR key
@command("decr", 2, "write denyoom fast", 1, 1, 1, group="string",
         summary="Decrement the integer value of a key by one", since="1.0.0", acl="string fast")
def decr_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _incr(node, client, argv[1], -1)


# INCRBY key increment
@command("incrby", 3, "write denyoom fast", 1, 1, 1, group="string",
         summary="Increment the integer value of a key by the given amount", since="1.0.0", acl="string fast")
def incrby_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _incr(node, client, argv[1], helpers.arg_int(argv[2]))


# DECRBY key decrement
@command("decrby", 3, "write denyoom fast", 1, 1, 1, group="string",
         summary="Decrement the integer value of a key by the given number", since="1.0.0", acl="string fast")
def decrby_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    incr = helpers.arg_int(argv[2])
    if incr == helpers.LLONG_MIN:
        raise CommandError(DECR_OVERFLOW)
    return _incr(node, client, argv[1], -incr)


# INCRBYFLOAT key increment
@command("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, group="string",
         summary="Increment the float value of a key by the given amount", since="2.6.0", acl="string fast")
def incrbyfloat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    key = argv[1]
    old = _string_or_none(lookup_write(node, db, key))
    old_dec = Decimal(0) if old is None else parse_decimal(old)
    if old_dec is None:
        raise CommandError(errors.NOT_FLOAT)
    incr_dec = parse_decimal(argv[2])
    if incr_dec is None:
        raise CommandError(errors.NOT_FLOAT)
    if not (old_dec.is_finite() and incr_dec.is_finite()):
        raise CommandError(errors.INCR_NAN_INF)
    # Redis adds in 80-bit long double and prints "%.17Lf" (crdt/numbers.py). The effect
    # ships the increment itself: every replica folds it with the same function, in stamp
    # order (crdt/counter_reg.py), so this reply is the value the fold gives here.
    text = incr_value(old, argv[2])
    if text is None:
        raise CommandError(errors.INCR_NAN_INF)
    node.emit((INCR, db.index, key, argv[2]))
    notify_event(node, STRING, b"incrbyfloat", key, db.index)
    set_encoding_hint(node, db, key, b"embstr")
    return text


