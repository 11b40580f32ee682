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
