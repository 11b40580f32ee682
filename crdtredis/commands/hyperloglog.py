"""HyperLogLog commands (Redis hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a string in Redis's exact encoding (crdt/hll.py). Writes ship register updates,
never the blob (crdt/string_bits.py): PFADD the (index, count) pair of every element,
PFMERGE the merged registers, so concurrent adds merge register-wise (max). PFCOUNT stores
the cardinality it computed in the header, as Redis does, with an effect that recomputes
it at its turn wherever it applies. The sparse size limit (`hll-sparse-max-bytes`) in
force at the origin travels with the effect, so every replica promotes to dense at the
same point.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..crdt import hll
from ..crdt.hll_batch import add_many
from ..crdt.string_bits import PFADD, PFCACHE, PFDENSE, PFMERGE, pack_pairs
from ..keyspace import Db
from ..notify import STRING, notify_event
from ..reply import CommandError, Reply, Status
from .bits import view
from .helpers import db_of, is_string, lookup_read, lookup_write
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"
PFDEBUG_NO_KEY = "ERR The specified key does not exist"
PFDEBUG_NOT_SPARSE = "ERR HLL encoding is not sparse"


def _max_bytes(node: Node) -> int:
    try:
        return int(node.runtime.get("hll-sparse-max-bytes", "3000"))
    except ValueError:
        return 3000


def _hll_of(e: object) -> bytes | bytearray:
    """isHLLObjectOrReply: the value of an existing key, or the error Redis gives."""
    if not is_string(e):
        raise CommandError(errors.WRONGTYPE)
    v = view(e)
    if not hll.is_valid(v):
        raise CommandError(NOT_HLL)
    return v


def _can_write(node: Node) -> bool:
    return node.persistence_error is None and node.sync_error is None


# PFADD key [element [element ...]]
@command("pfadd", -2, "write denyoom fast", 1, 1, 1, group="hyperloglog",
         summary="Adds the specified elements to the specified HyperLogLog.", since="2.8.9", acl="hyperloglog fast")
def pfadd_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    key = argv[1]
    e = lookup_write(node, db, key)
    pairs = [hll.pat_len(x) for x in argv[2:]]
    if e is None:
        updated = 1
    else:
        v = _hll_of(e)
        if v[4] == hll.DENSE:
            updated = int(any(hll.dense_get(v, idx) < cnt for idx, cnt in pairs))
        else:
            # A corrupt sparse value makes Redis answer an error: find out before writing.
            updated = add_many(bytearray(v), pairs, _max_bytes(node))
            if updated < 0:
                raise CommandError(INVALID_HLL)
    # Every pair is shipped, changed here or not: a concurrent whole-value write may have
    # removed the register another element had set (no add is lost).
    node.emit((PFADD, db.index, key, pack_pairs(pairs), _max_bytes(node)))
    if updated:
        notify_event(node, STRING, b"pfadd", key, db.index)
    return updated


def _registers_of(node: Node, db: Db, keys: list[bytes], acc: bytearray) -> bool:
    """Merge the registers of `keys` into `acc`; True if any input is dense."""
    dense = False
    for k in keys:
        e = lookup_read(node, db, k)
        if e is None:
            continue
        v = _hll_of(e)
        if v[4] == hll.DENSE:
            dense = True
        if not hll.merge_max(acc, v):
            raise CommandError(INVALID_HLL)
    return dense


# PFCOUNT key [key ...]
@command("pfcount", -2, "readonly may_replicate", 1, -1, 1, group="hyperloglog",
         summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
         since="2.8.9", acl="hyperloglog slow")
def pfcount_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    if len(argv) > 2:
        acc = bytearray(hll.REGISTERS)
        _registers_of(node, db, argv[1:], acc)
        return hll.count_histo(hll.histogram(bytes(acc)))
    key = argv[1]
    e = lookup_read(node, db, key)
    if e is None:
        return 0
    v = _hll_of(e)
    if hll.cache_valid(v):
        return hll.cached_card(v)
    card = hll.count(v)
    if card is None:
        raise CommandError(INVALID_HLL)
    if _can_write(node):
        # Redis caches the result in the value (and propagates it): so do we, by an
        # effect that recomputes it in its place in the stamp order.
        node.emit((PFCACHE, db.index, key))
    return card


# PFMERGE destkey sourcekey [sourcekey ...]
@command("pfmerge", -2, "write denyoom", 1, -1, 1, group="hyperloglog",
         summary="Merge N different HyperLogLogs into a single one.", since="2.8.9", acl="hyperloglog slow")
def pfmerge_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    acc = bytearray(hll.REGISTERS)
    dense = _registers_of(node, db, argv[1:], acc)
    dst = argv[1]
    e = lookup_write(node, db, dst)
    if e is not None and dense and view(e)[4] == hll.SPARSE and hll.sparse_registers(view(e)) is None:
        raise CommandError(INVALID_HLL)
    node.emit((PFMERGE, db.index, dst, bytes(acc), dense, _max_bytes(node)))
    notify_event(node, STRING, b"pfadd", dst, db.index)  # Redis's pfmergeCommand says pfadd
    return Status(b"OK")


# PFDEBUG subcommand key
@command("pfdebug", 3, "write denyoom admin", 2, 2, 1, group="hyperloglog",
         summary="Internal commands for debugging HyperLogLog values", since="2.8.9", acl="hyperloglog slow")
def pfdebug_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    db = db_of(node, client)
    key = argv[2]
    e = lookup_write(node, db, key)
    if e is None:
        raise CommandError(PFDEBUG_NO_KEY)
    v = _hll_of(e)
    sub = argv[1].lower()
    if sub == b"getreg":
        if v[4] == hll.SPARSE:
            if hll.sparse_registers(v) is None:
                raise CommandError(INVALID_HLL)
            node.emit((PFDENSE, db.index, key))
            v = view(db.data[key])
        return list(hll.dense_registers(v))
    if sub == b"decode":
        if v[4] != hll.SPARSE:
            raise CommandError(PFDEBUG_NOT_SPARSE)
        return hll.decode(v)
    if sub == b"encoding":
        return Status(b"dense" if v[4] == hll.DENSE else b"sparse")
    if sub == b"todense":
        if v[4] != hll.SPARSE:
            return 0
        if hll.sparse_registers(v) is None:
            raise CommandError(INVALID_HLL)
        node.emit((PFDENSE, db.index, key))
        return 1
    raise CommandError(f"ERR Unknown PFDEBUG subcommand '{argv[1].decode('utf-8', 'replace')}'")


# PFSELFTEST
@command("pfselftest", 1, "admin", group="hyperloglog", summary="An internal command for testing HyperLogLog values",
         since="2.8.9", acl="hyperloglog slow")
def pfselftest_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    err = hll.selftest(_max_bytes(node))
    if err is not None:
        raise CommandError(err)
    return Status(b"OK")
