"""Logical-state dumps for comparing replicas, restarts and compactions."""
from __future__ import annotations

from typing import Any

import redis

from crdtredis.keyspace import entry_state


def dump_keyspace(node: Any) -> dict[tuple[int, bytes], Any]:
    """Every key's full CRDT state (visible, hidden, expiry values), in-process: stronger than
    what clients see, so 'byte for byte of the logical state'."""
    out: dict[tuple[int, bytes], Any] = {}
    for db in node.keyspace.dbs:
        for key in set(db.data) | set(db.shadow) | set(db.expires):
            e = db.data.get(key)
            hidden = db.shadow.get(key)
            reg = db.expires.get(key)
            out[(db.index, key)] = (
                entry_state(e) if e is not None else None,
                {t: entry_state(h) for t, h in hidden.items()} if hidden else None,
                sorted(reg.vals, key=repr) if reg is not None else None,
            )
    return out


def assert_same_keyspaces(nodes: list[Any], dbs: int = 2) -> None:
    """Every node's keyspace equals the first's: the full CRDT state, the vectors, the dirty
    count and GC's notes (keys noted, whole-db visits) of the first `dbs` dbs."""
    want = dump_keyspace(nodes[0])
    ks0 = nodes[0].keyspace
    notes0 = [(list(db.gc_keys), db.gc_all) for db in ks0.dbs[:dbs]]
    for n in nodes[1:]:
        ks = n.keyspace
        assert dump_keyspace(n) == want
        assert (ks.vv, ks.vh, ks.dirty) == (ks0.vv, ks0.vh, ks0.dirty)
        assert [(list(db.gc_keys), db.gc_all) for db in ks.dbs[:dbs]] == notes0


def dump_client(r: redis.Redis, databases: int = 16) -> dict[tuple[int, bytes], Any]:
    """What a client sees: every db, key, type, value and whether it has a TTL."""
    out: dict[tuple[int, bytes], Any] = {}
    for dbi in range(databases):
        r.execute_command("SELECT", dbi)
        for key in r.scan_iter(count=1000):
            t = r.type(key)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "string":
                v: Any = r.get(key)
            elif t == "list":
                v = r.lrange(key, 0, -1)
            elif t == "set":
                v = sorted(r.smembers(key))
            elif t == "hash":
                v = sorted(r.hgetall(key).items())
            elif t == "zset":
                v = r.zrange(key, 0, -1, withscores=True)
            elif t == "stream":
                groups = []
                for g in r.xinfo_groups(key):
                    pel = [(p["message_id"], p["consumer"], p["times_delivered"])
                           for p in r.xpending_range(key, g["name"], "-", "+", 1_000_000)]
                    groups.append((g["name"], g["last-delivered-id"], g["entries-read"], g["lag"], pel))
                info = r.xinfo_stream(key)
                v = (r.xrange(key), info["last-generated-id"], info["entries-added"],
                     info["max-deleted-entry-id"], groups)
            elif t == "none":
                continue
            else:
                v = None
            ttl = r.pttl(key)
            out[(dbi, key)] = (t, v, ttl is not None and ttl >= 0)
    r.execute_command("SELECT", 0)
    return out


def visible_state(node: Any, now_ms: int) -> dict[tuple[int, bytes], Any]:
    """What a client of `node` sees at time `now_ms`, in-process: every live key of every db
    with its type, value and absolute deadline (None: no TTL)."""
    from crdtredis.crdt.string_counter import string_value
    from crdtredis.keyspace import entry_type

    out: dict[tuple[int, bytes], Any] = {}
    for db in node.keyspace.dbs:
        for key, e in db.data.items():
            reg = db.expires.get(key)
            deadline = None if reg is None else reg.deadline
            if deadline is not None and deadline <= now_ms:
                continue
            t = entry_type(e)
            if t == b"string":
                v: Any = string_value(e)
            elif t == b"list":
                v = e.values()
            elif t == b"set":
                v = sorted(e.m)
            elif t == b"hash":
                v = sorted(e.items())
            elif t == b"zset":
                v = list(e.index)
            else:
                v = entry_state(e)
            out[(db.index, key)] = (t, v, deadline)
    return out


def load_data_dir(path: Any, replica_id: str, peers: tuple[str, ...] = ()) -> Any:
    """A node recovered from a data dir (base + segments), without starting a server."""
    import dataclasses

    from crdtredis.commands import new_node
    from crdtredis.config import default_config
    from crdtredis.storage.component import Persistence
    from crdtredis.storage.recovery import recover

    cfg = dataclasses.replace(default_config(), replica_id=replica_id, peers=peers, data_dir=str(path))
    p = Persistence(str(path), replica_id, has_peers=bool(peers))
    node = new_node(cfg, incarnation=p.incarnation)
    p.attach(node)
    recover(node, str(path), p.opened)
    return node


def assert_one_entry_per_type(node: Any) -> None:
    """A key holds at most one entry per type, visible or hidden: a second one of the
    visible type, hidden, would outrank it later at this replica alone (Keyspace.settle)."""
    from crdtredis.keyspace import entry_type

    for db in node.keyspace.dbs:
        for key, hidden in db.shadow.items():
            e = db.data.get(key)
            assert e is None or entry_type(e) not in hidden, (db.index, key, entry_type(e), list(hidden))
