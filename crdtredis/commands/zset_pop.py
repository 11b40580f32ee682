"""Sorted-set pops (Redis 7.0 t_zset.c): ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP and
ZRANDMEMBER. Which members a pop takes is decided at the origin; the effect is a ZREM of them."""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .. import errors
from ..crdt.zset_aw import ZsetEntry
from ..keyspace import Db
from ..reply import NULL_ARRAY, CommandError, Reply
from .blocking import parse_timeout, serve_or_block
from .helpers import arg_int, check_type, lookup_write, repeated_reply_fits
from .registry import command
from .zset_args import LONG_MAX, Items, _numkeys_positions, _range_long
from .zsets import _db, _emit_remove, _nested, _pairs_reply, _read, _slice, _write

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node



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

