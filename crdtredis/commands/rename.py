"""RENAME, RENAMENX, COPY and MOVE (Redis db.c): the value rebuilt at the destination.

Each writes the destination as a fresh value of the source's type, from the type's ordinary
effects (crdt/keys.rebuild_effects), with the source's TTL, so the copy merges with
concurrent writes to the destination like any other write; RENAME and MOVE then delete the
source (observed content only: a concurrent write to it survives there). docs/semantics.md,
"Keys".
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..crdt import codes
from ..crdt.keys import rebuild_effects
from ..keyspace import Db
from ..notify import GENERIC, notify_event
from ..reply import OK, CommandError, Reply
from . import helpers
from .helpers import db_of, is_string, lookup_read, lookup_write
from .keys import int32_arg
from .registry import command
from .strings import encoding_hint, set_encoding_hint

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

DEL, EXPIRE = codes.DEL, codes.EXPIRE


def _write_copy(node: Node, src: Db, key: bytes, dst: Db, newkey: bytes, e: Any) -> None:
    """Make (dst, newkey) an equal value with the same TTL: DEL, rebuild, EXPIRE."""
    effects = rebuild_effects(dst.index, newkey, e)
    deadline = helpers.ttl_ms(src, key)
    hint = encoding_hint(node, src, key) if is_string(e) else None
    node.emit((DEL, dst.index, newkey))
    for eff in effects:
        node.emit(eff)
    if deadline is not None:
        node.emit((EXPIRE, dst.index, newkey, deadline))
    if hint is not None:
        set_encoding_hint(node, dst, newkey, hint)


def _rename(node: Node, client: Client, argv: list[bytes], nx: bool) -> Reply:
    db = db_of(node, client)
    key, newkey = argv[1], argv[2]
    e = lookup_write(node, db, key)
    if e is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if key == newkey:
        return 0 if nx else OK
    if lookup_write(node, db, newkey) is not None and nx:
        return 0
    _write_copy(node, db, key, db, newkey, e)
    node.emit((DEL, db.index, key))
    notify_event(node, GENERIC, b"rename_from", key, db.index)
    notify_event(node, GENERIC, b"rename_to", newkey, db.index)
    return 1 if nx else OK


# RENAME key newkey
@command("rename", 3, "write", 1, 2, 1, summary="Rename a key", since="1.0.0", acl="keyspace slow")
def rename_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _rename(node, client, argv, False)


# RENAMENX key newkey
@command("renamenx", 3, "write fast", 1, 2, 1, summary="Rename a key, only if the new key does not exist",
         since="1.0.0", acl="keyspace fast")
def renamenx_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return _rename(node, client, argv, True)


# COPY source destination [DB destination-db] [REPLACE]
@command("copy", -3, "write denyoom", 1, 2, 1, summary="Copy a key", since="6.2.0", acl="keyspace slow")
def copy_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    src = db_of(node, client)
    dbid = src.index
    replace = False
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < len(argv):
            dbid = int32_arg(argv[j + 1])
            if not 0 <= dbid < len(node.keyspace.dbs):
                raise CommandError(errors.DB_INDEX)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    dst = node.keyspace.dbs[dbid]
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        raise CommandError(errors.SAME_OBJECT)
    e = lookup_read(node, src, key)
    if e is None:
        return 0
    if lookup_write(node, dst, newkey) is not None and not replace:
        return 0
    _write_copy(node, src, key, dst, newkey, e)
    notify_event(node, GENERIC, b"copy_to", newkey, dst.index)
    return 1


# MOVE key db
@command("move", 3, "write fast", 1, 1, 1, summary="Move a key to another database", since="1.0.0",
         acl="keyspace fast")
def move_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    """Redis's moveCommand: 0 when the key is missing here or present in the target db;
    else the value and its TTL written there and the key deleted here, in one op."""
    src = db_of(node, client)
    dbid = int32_arg(argv[2])
    if not 0 <= dbid < len(node.keyspace.dbs):
        raise CommandError(errors.DB_INDEX)
    dst = node.keyspace.dbs[dbid]
    if dst is src:
        raise CommandError(errors.SAME_OBJECT)
    key = argv[1]
    e = lookup_write(node, src, key)
    if e is None or lookup_write(node, dst, key) is not None:
        return 0
    _write_copy(node, src, key, dst, key, e)
    node.emit((DEL, src.index, key))
    notify_event(node, GENERIC, b"move_from", key, src.index)
    notify_event(node, GENERIC, b"move_to", key, dst.index)
    return 1
