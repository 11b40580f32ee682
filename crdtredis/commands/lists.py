"""List commands (Redis 7.0 t_list.c): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE
LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP BLPOP BRPOP BLMOVE BRPOPLPUSH
BLMPOP.

Writes reduce to the effects of crdt/list_rga.py: LINSERT (a chain of values after an
element id, or at the head), LREMOVE (concrete element ids), LSETVAL and LTRIMR, plus DEL:
a command that empties the list at its origin ships DEL, so the key goes with its TTL as in
Redis. Which elements a pop, LREM or LTRIM takes is decided at the origin (DESIGN §1); the
effect names them, with each one's index at the origin as a locating hint.
"""
from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt.codes import DEL
from ..crdt.list_rga import (
    LINSERT,
    LREMOVE,
    ElemId,
    ListEntry,
    insert_effect,
    remove_effect,
    set_effect,
    trim_effect,
)
from ..crdt.numbers import parse_int
from ..keyspace import Db
from ..notify import GENERIC, LIST, notify_event
from ..reply import NULL_ARRAY, OK, CommandError, Reply
from .blocking import Serve, parse_timeout, serve_or_block
from .helpers import LLONG_MAX, LLONG_MIN, arg_int, check_type, lookup_read, lookup_write
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

LONG_MAX = LLONG_MAX


# ---- arguments ---------------------------------------------------------------------------
def _range_long(b: bytes, lo: int, hi: int, msg: str) -> int:
    """getRangeLongFromObjectOrReply with one message for both failures."""
    v = parse_int(b)
    if v is None or v < lo or v > hi:
        raise CommandError(msg)
    return v


def _where(b: bytes) -> bool:
    """LEFT|RIGHT -> True for LEFT (getListPositionFromObjectOrReply)."""
    w = b.lower()
    if w == b"left":
        return True
    if w == b"right":
        return False
    raise CommandError(errors.SYNTAX)


def _numkeys_positions(argv: list[bytes], numkeys_idx: int) -> list[int]:
    """Key positions of LMPOP/BLMPOP (COMMAND GETKEYS, ACL key checks)."""
    n = parse_int(argv[numkeys_idx]) if numkeys_idx < len(argv) else None
    if n is None or n < 1:
        return []
    n = min(n, len(argv) - numkeys_idx - 1)
    return list(range(numkeys_idx + 1, numkeys_idx + 1 + n))


def _parse_mpop(argv: list[bytes], numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """numkeys key [key ...] LEFT|RIGHT [COUNT count] -> (keys, left, count)."""
    numkeys = _range_long(argv[numkeys_idx], 1, LONG_MAX, errors.ZSET_NUMKEYS)
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise CommandError(errors.SYNTAX)
    left = _where(argv[where_idx])
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            count = _range_long(argv[j + 1], 1, LONG_MAX, errors.ZSET_COUNT)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[numkeys_idx + 1:where_idx], left, 1 if count == -1 else count


# ---- lookups and the write helpers shared by every command -------------------------------
def _db(node: Node, client: Client) -> Db:
    return node.keyspace.dbs[client.db]


def _read(node: Node, db: Db, key: bytes) -> ListEntry | None:
    return check_type(lookup_read(node, db, key), ListEntry)  # type: ignore[no-any-return]


def _write(node: Node, db: Db, key: bytes) -> ListEntry | None:
    return check_type(lookup_write(node, db, key), ListEntry)  # type: ignore[no-any-return]


def _push(node: Node, db: Db, key: bytes, e: ListEntry | None, vals: list[bytes], left: bool) -> int:
    """LPUSH: the values, reversed, as a chain at the head. RPUSH: a chain after the last
    live element. Returns the new length."""
    if left:
        node.emit(insert_effect(db.index, key, None, -1, vals[::-1], node.origin))
    elif e is None or not e.size:
        node.emit(insert_effect(db.index, key, None, -1, vals, node.origin))
    else:
        k = e.size - 1
        node.emit(insert_effect(db.index, key, e.at(k)[1], k, vals, node.origin, e.size))
    if node.notify is not None:
        notify_event(node, LIST, b"lpush" if left else b"rpush", key, db.index)
    return len(db.data[key])


def _take(e: ListEntry, n: int, left: bool) -> tuple[list[bytes], list[ElemId], list[int]]:
    """The n elements at one end, in pop order: values, ids and their index hints (an
    index as it will be when the element's turn to be removed comes)."""
    if n == 1:  # the common case: one O(log n) lookup, no iterator
        k = 0 if left else e.size - 1
        v, eid = e.at(k)
        return [v], [eid], [k]
    items = list(islice(e.iter_items(reverse=not left), n))
    vals = [v for v, _ in items]
    ids = [i for _, i in items]
    hints = [0] * len(ids) if left else list(range(e.size - 1, e.size - 1 - len(ids), -1))
    return vals, ids, hints


def _remove(node: Node, db: Db, key: bytes, e: ListEntry, ids: list[ElemId], hints: list[int],
            refill: bool = False) -> bool:
    """Ship the removal of these elements; DEL when they are all the list has, so the key
    disappears with its TTL as in Redis (DEL removes exactly what this origin observed),
    unless the command refills the same list at once (LMOVE l l: Redis keeps the key).
    True when the key was deleted."""
    if len(ids) >= e.size and not refill:
        node.emit((DEL, db.index, key))
        return True
    if ids:
        node.emit(remove_effect(db.index, key, ids, hints, node.origin, e.size))
    return False


def _events(node: Node, db: Db, key: bytes, event: bytes, deleted: bool) -> None:
    """The event of a list write, then "del" if it emptied the list (t_list.c)."""
    notify_event(node, LIST, event, key, db.index)
    if deleted:
        notify_event(node, GENERIC, b"del", key, db.index)


def _pop(node: Node, db: Db, key: bytes, e: ListEntry, n: int, left: bool, refill: bool = False,
         notify: bool = True) -> list[bytes]:
    vals, ids, hints = _take(e, n, left)
    deleted = _remove(node, db, key, e, ids, hints, refill)
    if notify:
        _events(node, db, key, b"lpop" if left else b"rpop", deleted)
    return vals


def _index(e: ListEntry, i: int) -> int:
    """A Redis list index (negative from the tail) -> 0-based, or -1 out of range."""
    if i < 0:
        i += e.size
    return i if 0 <= i < e.size else -1


# ---- push ----------------------------------------------------------------------------------
def _push_cmd(node: Node, client: Client, argv: list[bytes], left: bool, exists: bool) -> Reply:
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if exists and e is None:
        return 0
    return _push(node, db, key, e, argv[2:], left)


def _push1(node: Node, client: Client, argv: list[bytes], left: bool) -> int:
    """LPUSH / RPUSH of one value to a visible list of a key without a TTL or a hidden type
    (the queue's and the stack's shape): what `_push` emits and returns,
    without its generic steps (Node.emit's CREATE check is false here: the key exists and
    cannot expire). -1 when that case does not hold."""
    db = node.keyspace.dbs[client.db]
    key = argv[1]
    e = db.data.get(key)
    if type(e) is not ListEntry or db.expires and key in db.expires or db.shadow and key in db.shadow:
        return -1
    if left:
        node._emit((LINSERT, db.index, key, 0, "", 0, -1, argv[2]))
    else:
        size = e.size
        h, o, i = e.end(False)[1]
        node._emit((LINSERT, db.index, key, h, "" if o == node.origin else o, i,
                    size - 1 if size <= 2 else -2, argv[2]))  # _hint(size - 1, size)
    if node.notify is not None:
        notify_event(node, LIST, b"lpush" if left else b"rpush", key, db.index)
    return e.size


# LPUSH key element [element ...]
@command("lpush", -3, "write denyoom fast", 1, 1, 1, group="list",
         summary="Prepend one or multiple elements to a list", since="1.0.0", acl="list fast")
def lpush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 3:
        n = _push1(node, client, argv, True)
        if n >= 0:
            return n
    return _push_cmd(node, client, argv, True, False)


# RPUSH key element [element ...]
@command("rpush", -3, "write denyoom fast", 1, 1, 1, group="list",
         summary="Append one or multiple elements to a list", since="1.0.0", acl="list fast")
def rpush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 3:
        n = _push1(node, client, argv, False)
        if n >= 0:
            return n
    return _push_cmd(node, client, argv, False, False)


# LPUSHX key element [element ...]
@command("lpushx", -3, "write denyoom fast", 1, 1, 1, group="list",
         summary="Prepend an element to a list, only if the list exists", since="2.2.0", acl="list fast")
def lpushx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _push_cmd(node, client, argv, True, True)


# RPUSHX key element [element ...]
@command("rpushx", -3, "write denyoom fast", 1, 1, 1, group="list",
         summary="Append an element to a list, only if the list exists", since="2.2.0", acl="list fast")
def rpushx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _push_cmd(node, client, argv, False, True)


# ---- pop -----------------------------------------------------------------------------------
def _pop_cmd(node: Node, client: Client, argv: list[bytes], left: bool) -> Reply:
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity(argv[0].decode("utf-8", "replace").lower()))
    count = -1
    if len(argv) == 3:
        count = _range_long(argv[2], 0, LONG_MAX, errors.COUNT_NEGATIVE)
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if e is None:
        # Redis: a null bulk without COUNT, a null array with it (RESP3: null either way).
        return None if count == -1 else NULL_ARRAY
    if count == -1:
        return _pop(node, db, key, e, 1, left)[0]
    return _pop(node, db, key, e, count, left)


def _pop1(node: Node, client: Client, key: bytes, left: bool) -> bytes | None:
    """LPOP / RPOP without COUNT of a visible list of more than one element, of a key
    without a TTL or a hidden type: what `_pop` emits and returns, without its generic
    steps. None when that case does not hold."""
    db = node.keyspace.dbs[client.db]
    e = db.data.get(key)
    if type(e) is not ListEntry or db.expires and key in db.expires or db.shadow and key in db.shadow \
            or e.size < 2:
        return None
    size = e.size
    k = 0 if left else size - 1
    v, (h, o, i) = e.end(left)
    node._emit((LREMOVE, db.index, key, h, "" if o == node.origin else o, i,
                k if k <= size >> 1 else -2))  # _hint(k, size)
    if node.notify is not None:
        notify_event(node, LIST, b"lpop" if left else b"rpop", key, db.index)
    return v


# LPOP key [count]
@command("lpop", -2, "write fast", 1, 1, 1, group="list",
         summary="Remove and get the first elements in a list", since="1.0.0", acl="list fast")
def lpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        v = _pop1(node, client, argv[1], True)
        if v is not None:
            return v
    return _pop_cmd(node, client, argv, True)


# RPOP key [count]
@command("rpop", -2, "write fast", 1, 1, 1, group="list",
         summary="Remove and get the last elements in a list", since="1.0.0", acl="list fast")
def rpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        v = _pop1(node, client, argv[1], False)
        if v is not None:
            return v
    return _pop_cmd(node, client, argv, False)


# ---- reads ---------------------------------------------------------------------------------
# LLEN key
@command("llen", 2, "readonly fast", 1, 1, 1, group="list",
         summary="Get the length of a list", since="1.0.0", acl="list fast")
def llen_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    e = _read(node, _db(node, client), argv[1])
    return 0 if e is None else e.size


# LRANGE key start stop
@command("lrange", 4, "readonly", 1, 1, 1, group="list",
         summary="Get a range of elements from a list", since="1.0.0", acl="list slow")
def lrange_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    start = arg_int(argv[2])
    end = arg_int(argv[3])
    e = _read(node, _db(node, client), argv[1])
    if e is None:
        return []
    n = e.size
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return []
    if end >= n:
        end = n - 1
    return e.range_values(start, end)


# LINDEX key index
@command("lindex", 3, "readonly", 1, 1, 1, group="list",
         summary="Get an element from a list by its index", since="1.0.0", acl="list slow")
def lindex_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    index = arg_int(argv[2])
    e = _read(node, _db(node, client), argv[1])
    if e is None:
        return None
    i = _index(e, index)
    return None if i < 0 else e.at(i)[0]


# LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
@command("lpos", -3, "readonly", 1, 1, 1, group="list",
         summary="Return the index of matching elements on a list", since="6.0.6", acl="list slow")
def lpos_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    rank, count, maxlen = 1, -1, 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = j + 1 < len(argv)
        if opt == b"rank" and more:
            rank = arg_int(argv[j + 1])
            if rank == 0:
                raise CommandError(errors.LPOS_RANK_ZERO)
        elif opt == b"count" and more:
            count = _range_long(argv[j + 1], 0, LONG_MAX, errors.LPOS_COUNT_NEGATIVE)
        elif opt == b"maxlen" and more:
            maxlen = _range_long(argv[j + 1], 0, LONG_MAX, errors.LPOS_MAXLEN_NEGATIVE)
        else:
            raise CommandError(errors.SYNTAX)
        j += 2
    e = _read(node, _db(node, client), argv[1])
    if e is None:
        return [] if count != -1 else None
    reverse = rank < 0
    if reverse:
        # -LLONG_MIN overflows back to LLONG_MIN in C: every match then qualifies.
        rank = rank if rank == LLONG_MIN else -rank
    n = e.size
    out: list[int] = []
    matches = 0
    for k, _eid in e.matches(argv[2], reverse):
        if maxlen and (n - 1 - k if reverse else k) >= maxlen:
            break
        matches += 1
        if matches >= rank:
            out.append(k)
            if count == -1:
                break
            # matches - rank + 1 in C long arithmetic (wraps for rank LLONG_MIN).
            if count and _wrap64(matches - rank + 1) >= count:
                break
    if count != -1:
        return out
    return out[0] if out else None


def _wrap64(v: int) -> int:
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


# ---- updates -------------------------------------------------------------------------------
# LSET key index element
@command("lset", 4, "write denyoom", 1, 1, 1, group="list",
         summary="Set the value of an element in a list by its index", since="1.0.0", acl="list slow")
def lset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if e is None:
        raise CommandError(errors.NO_SUCH_KEY)
    i = _index(e, arg_int(argv[2]))
    if i < 0:
        raise CommandError(errors.INDEX_OUT_OF_RANGE)
    node.emit(set_effect(db.index, key, e.at(i)[1], i, argv[3], node.origin, e.size))
    notify_event(node, LIST, b"lset", key, db.index)
    return OK


# LINSERT key BEFORE|AFTER pivot element
@command("linsert", 5, "write denyoom", 1, 1, 1, group="list",
         summary="Insert an element before or after another element in a list", since="2.2.0",
         acl="list slow")
def linsert_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        raise CommandError(errors.SYNTAX)
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if e is None:
        return 0
    for index, eid in e.matches(argv[3]):
        # BEFORE the pivot = right after the live element before it (or the head):
        # origins only ever reference live elements (see crdt/list_rga.py).
        ref: ElemId | None
        if where == b"after":
            ref, hint = eid, index
        else:
            ref, hint = (e.at(index - 1)[1] if index else None), index - 1
        node.emit(insert_effect(db.index, key, ref, hint, [argv[4]], node.origin, e.size))
        notify_event(node, LIST, b"linsert", key, db.index)
        return e.size
    return -1


# LREM key count element
@command("lrem", 4, "write", 1, 1, 1, group="list",
         summary="Remove elements from a list", since="1.0.0", acl="list slow")
def lrem_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    count = arg_int(argv[2])
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if e is None:
        return 0
    reverse = count < 0
    limit = -count if reverse else count
    ids: list[ElemId] = []
    hints: list[int] = []
    for index, eid in e.matches(argv[3], reverse):
        ids.append(eid)
        # From the head each earlier removal shifts the next index down by one.
        hints.append(index if reverse else index - len(hints))
        if limit and len(ids) == limit:
            break
    deleted = _remove(node, db, key, e, ids, hints)
    if ids:
        _events(node, db, key, b"lrem", deleted)
    return len(ids)


# LTRIM key start stop
@command("ltrim", 4, "write", 1, 1, 1, group="list",
         summary="Trim a list to the specified range", since="1.0.0", acl="list slow")
def ltrim_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    start = arg_int(argv[2])
    end = arg_int(argv[3])
    db = _db(node, client)
    key = argv[1]
    e = _write(node, db, key)
    if e is None:
        return OK
    n = e.size
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        node.emit((DEL, db.index, key))  # Redis deletes the emptied key, TTL included
        _events(node, db, key, b"ltrim", True)
        return OK
    if end >= n:
        end = n - 1
    if start == 0 and end == n - 1:
        db.touch(key)  # nothing to remove; Redis still signals the key as modified (WATCH)
        _events(node, db, key, b"ltrim", False)
        return OK
    # The effect names the kept boundaries: peers remove what this origin saw outside them.
    node.emit(trim_effect(db.index, key, e.at(start)[1], start, e.at(end)[1], end, node.origin, n))
    _events(node, db, key, b"ltrim", False)
    return OK


# ---- moves ---------------------------------------------------------------------------------
def _move(node: Node, db: Db, src: bytes, dst: bytes, left_from: bool, left_to: bool) -> Reply:
    """LMOVE once the arguments are valid: None when src is empty, WRONGTYPE like Redis."""
    e = _write(node, db, src)
    if e is None:
        return None
    d = e if dst == src else _write(node, db, dst)
    value = _pop(node, db, src, e, 1, left_from, refill=d is e, notify=False)[0]
    if d is e:
        d = check_type(db.data.get(dst), ListEntry)
    _push(node, db, dst, d, [value], left_to)
    # Redis notifies the push, then the pop, then the source's deletion.
    _events(node, db, src, b"lpop" if left_from else b"rpop", src not in db.data)
    return value


# LMOVE source destination LEFT|RIGHT LEFT|RIGHT
@command("lmove", 5, "write denyoom", 1, 2, 1, group="list",
         summary="Pop an element from a list, push it to another list and return it", since="6.2.0",
         acl="list slow")
def lmove_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    left_from = _where(argv[3])
    left_to = _where(argv[4])
    return _move(node, _db(node, client), argv[1], argv[2], left_from, left_to)


# RPOPLPUSH source destination
@command("rpoplpush", 3, "write denyoom", 1, 2, 1, group="list",
         summary="Remove the last element in a list, prepend it to another list and return it",
         since="1.2.0", acl="list slow")
def rpoplpush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _move(node, _db(node, client), argv[1], argv[2], False, True)


def _first_list(node: Node, db: Db, keys: list[bytes]) -> tuple[bytes, ListEntry] | None:
    """The first key holding a non-empty list; WRONGTYPE for another type met before it."""
    for k in keys:
        e = _write(node, db, k)
        if e is not None and e.size:
            return k, e
    return None


# LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
@command("lmpop", -4, "write movablekeys", 0, 0, 0, group="list",
         summary="Pop elements from a list", since="7.0.0", acl="list slow",
         getkeys=lambda argv: _numkeys_positions(argv, 1))
def lmpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    keys, left, count = _parse_mpop(argv, 1)
    db = _db(node, client)
    found = _first_list(node, db, keys)
    if found is None:
        return NULL_ARRAY
    key, e = found
    return [key, _pop(node, db, key, e, count, left)]


# ---- blocking ------------------------------------------------------------------------------
def _blocking(node: Node, client: Client, keys: list[bytes], timeout_ms: int, serve: Serve,
              in_multi_reply: Reply = NULL_ARRAY) -> Reply:
    return serve_or_block(node, client, _db(node, client), keys, timeout_ms, ListEntry, serve, True,
                          in_multi_reply)


def _bpop(node: Node, left: bool) -> Serve:
    def serve(db: Db, key: bytes, e: ListEntry) -> Any:
        return [key, _pop(node, db, key, e, 1, left)[0]]

    return serve


# BLPOP key [key ...] timeout
@command("blpop", -3, "write noscript blocking", 1, -2, 1, group="list",
         summary="Remove and get the first element in a list, or block until one is available",
         since="2.0.0", acl="list slow blocking")
def blpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    timeout = parse_timeout(argv[-1])
    return _blocking(node, client, argv[1:-1], timeout, _bpop(node, True))


# BRPOP key [key ...] timeout
@command("brpop", -3, "write noscript blocking", 1, -2, 1, group="list",
         summary="Remove and get the last element in a list, or block until one is available",
         since="2.0.0", acl="list slow blocking")
def brpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    timeout = parse_timeout(argv[-1])
    return _blocking(node, client, argv[1:-1], timeout, _bpop(node, False))


def _bmove(node: Node, client: Client, src: bytes, dst: bytes, left_from: bool, left_to: bool,
           timeout: int) -> Reply:
    def serve(db: Db, key: bytes, e: ListEntry) -> Any:
        return _move(node, db, src, dst, left_from, left_to)

    # In MULTI an empty source answers a null bulk (addReplyNull), not a null array.
    return _blocking(node, client, [src], timeout, serve, None)


# BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1, group="list",
         summary="Pop an element from a list, push it to another list and return it; "
                 "or block until one is available",
         since="6.2.0", acl="list slow blocking")
def blmove_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    left_from = _where(argv[3])
    left_to = _where(argv[4])
    timeout = parse_timeout(argv[5])
    return _bmove(node, client, argv[1], argv[2], left_from, left_to, timeout)


# BRPOPLPUSH source destination timeout
@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1, group="list",
         summary="Pop an element from a list, push it to another list and return it; "
                 "or block until one is available",
         since="2.2.0", acl="list slow blocking")
def brpoplpush_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    timeout = parse_timeout(argv[3])
    return _bmove(node, client, argv[1], argv[2], False, True, timeout)


# BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
@command("blmpop", -5, "write blocking movablekeys", 0, 0, 0, group="list",
         summary="Pop elements from a list, or block until one is available", since="7.0.0",
         acl="list slow blocking", getkeys=lambda argv: _numkeys_positions(argv, 2))
def blmpop_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    keys, left, count = _parse_mpop(argv, 2)
    timeout = parse_timeout(argv[1])

    def serve(db: Db, key: bytes, e: ListEntry) -> Any:
        return [key, _pop(node, db, key, e, count, left)]

    return _blocking(node, client, keys, timeout, serve)
