"""Differential scripts for the stream commands (XADD ... XAUTOCLAIM) and SORT / SORT_RO.

Scripts use explicit IDs where the reply shows them: `XADD *` and `ms-*` IDs come from
each server's clock, so they are compared by shape. Times (idle, seen-time, delivery
time) are wall-clock readings of each server and are dropped from the comparison, except
where a script sets them (XCLAIM TIME). XINFO's radix-tree-nodes describes Redis's radix
tree, which crdt-redis does not have (docs/semantics.md): it is left out too.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.differential.harness import (
    IGNORE_VALUE,
    KEEP_GOING,
    TYPE,
    UNORDERED,
    Differ,
    Script,
    ScriptCase,
    custom,
    scripts,
)
from tests.support.resp_client import RespMap

STREAM_COMMANDS = (
    "xadd xrange xrevrange xlen xread xreadgroup xdel xtrim xsetid xack xpending xclaim xautoclaim "
    "xinfo xgroup sort sort_ro"
).split()

_TIMES = {b"radix-tree-nodes", b"seen-time", b"idle"}


def _plain(v: Any) -> Any:
    """A decoded reply with maps (RESP3) and flat key/value arrays (RESP2) of XINFO as
    dicts, minus the fields that are clock readings or Redis-internal."""
    if isinstance(v, RespMap):
        items = list(v)
    elif isinstance(v, list) and len(v) % 2 == 0 and v and all(isinstance(k, bytes) and bytes(k) in _KEYS
                                                                for k in v[::2]):
        items = list(zip(v[::2], v[1::2], strict=True))
    elif isinstance(v, list):
        return [_plain(x) for x in v]
    else:
        return bytes(v) if isinstance(v, bytes) else v
    return {bytes(k): _plain(x) for k, x in items if bytes(k) not in _TIMES}


_KEYS = {
    b"length", b"radix-tree-keys", b"radix-tree-nodes", b"last-generated-id", b"max-deleted-entry-id",
    b"entries-added", b"recorded-first-entry-id", b"groups", b"first-entry", b"last-entry", b"entries",
    b"name", b"consumers", b"pending", b"last-delivered-id", b"entries-read", b"lag", b"pel-count",
    b"seen-time", b"idle",
}


def _no_delivery_times(v: Any) -> Any:
    """XINFO STREAM FULL: NACK delivery times are clock readings ([id, consumer, time, n]
    and [id, time, n]); the rest is compared."""
    p = _plain(v)
    for g in p.get(b"groups", []):
        g[b"pending"] = [[x[0], x[1], x[3]] for x in g[b"pending"]]
        for c in g[b"consumers"]:
            c[b"pending"] = [[x[0], x[2]] for x in c[b"pending"]]
    return p


XINFO = custom(_plain, "XINFO without clock readings / radix-tree-nodes")
XINFO_FULL = custom(_no_delivery_times, "XINFO FULL without delivery times")
# XPENDING's extended form: [id, consumer, idle ms, deliveries]; idle is a clock reading.
XPENDING = custom(lambda v: [[x[0], x[1], x[3]] for x in v] if isinstance(v, list) else v, "XPENDING without idle")
# An entry whose ID the server's clock chose: compare everything but the ID.
NO_IDS = custom(lambda v: [(x[1] if isinstance(x, list) else None) for x in v] if isinstance(v, list) else v,
                "entries without IDs")


def _command_info(value: Any) -> list[Any]:
    out = []
    for entry in value:
        name, arity, flags, first, last, step, cats = entry[:7]
        out.append((bytes(name), arity, sorted(bytes(f) for f in flags), first, last, step,
                    sorted(bytes(c) for c in cats)))
    return out


COMMAND_INFO = custom(_command_info, "COMMAND INFO name/arity/flags/keys/categories")

ENTRIES = [f"XADD s {i}-{j} f{i % 3} v{i}{j}" for i in range(1, 8) for j in range(2)]

STREAMS: dict[str, Script] = {
    "xadd_ids": [
        "XADD s 1-1 a 1", "XADD s 1-1 a 1", "XADD s 1-0 a 1", "XADD s 1 a 1", "XADD s 2 a 1 b 2", "XADD s 2-* c 3",
        "XADD s 3-* c 3", "XADD s 0-* c 3", "XADD s 0-0 a 1", "XADD t 0-0 a 1", "EXISTS t", "XADD t 0-* a 1",
        "XADD t 0-* a 2", "XRANGE t - +", "XADD s 18446744073709551615-18446744073709551614 a 1",
        "XADD s 18446744073709551615-* a 1", "XADD s 18446744073709551615-* a 1", ("XADD s * a 1", TYPE),
        # (XADD u 5-* here answers with a stale errno in Redis: not compared.)
        "XADD u 5-18446744073709551615 a 1", "XADD u 6-* a 1", "XLEN s", "XRANGE s - +",
        "XADD v 007-+1 a 1", "XADD v ' 8' a 1", "XADD v 9-' 1' a 1", "XRANGE v - +",
    ],
    "xadd_errors": [
        KEEP_GOING,
        "XADD s", "XADD s *", "XADD s * a", "XADD s * a 1 b", "XADD s x a 1", "XADD s 1-x a 1", "XADD s - a 1",
        "XADD s + a 1", "XADD s -1 a 1", "XADD s 1- a 1", "XADD s 1-2-3 a 1", "XADD s MAXLEN", "XADD s MAXLEN x * a 1",
        "XADD s MAXLEN -1 * a 1", "XADD s MAXLEN 1 MINID 1 * a 1", "XADD s LIMIT 1 * a 1",
        "XADD s MAXLEN 5 LIMIT 1 * a 1", "XADD s MAXLEN ~ 5 LIMIT -1 * a 1", "XADD s MINID x * a 1",
        "XADD s NOMKSTREAM", "XADD s NOMKSTREAM * a 1", "EXISTS s", "SET str v", "XADD str * a 1",
        "XADD str NOMKSTREAM * a 1", "XADD s MAXLEN ~", "XADD s MAXLEN = 5", "XADD s 99999999999999999999 a 1",
        "XADD s 1-99999999999999999999 a 1",
    ],
    "xadd_trim": [
        *[f"XADD s {i} f v" for i in range(1, 21)], "XADD s MAXLEN 10 21 f v", "XLEN s", "XRANGE s - + COUNT 1",
        "XADD s MAXLEN = 8 22 f v", "XLEN s", "XADD s MINID 20 23 f v", "XRANGE s - +",
        "XADD s MAXLEN 0 24 f v", "XLEN s", "XRANGE s - +", "XINFO STREAM s",
    ],
    "xadd_trim_approx_nodes": [
        "CONFIG SET stream-node-max-entries 10", *[f"XADD s {i} f v" for i in range(1, 36)],
        "XADD s MAXLEN ~ 20 36 f v", "XLEN s", "XADD s MAXLEN ~ 5 LIMIT 10 37 f v", "XLEN s",
        "XTRIM s MAXLEN ~ 0", "XLEN s", "XTRIM s MINID ~ 30", "XLEN s", ("XINFO STREAM s", XINFO),
        "XTRIM s MAXLEN ~ 2 LIMIT 0", "XLEN s", "CONFIG SET stream-node-max-entries 100",
    ],
    "xtrim": [
        *ENTRIES, "XTRIM s MAXLEN 10", "XLEN s", "XTRIM s MAXLEN 10", "XTRIM s MINID 5", "XRANGE s - + COUNT 2",
        "XTRIM s MINID 5-1", "XTRIM s MINID 6-0", "XTRIM s = MAXLEN 1", "XTRIM s MAXLEN = 3", "XLEN s",
        "XTRIM nokey MAXLEN 0", "XTRIM s MAXLEN 0", "EXISTS s", "XLEN s", "XINFO STREAM s",
    ],
    "xtrim_errors": [
        KEEP_GOING,
        "XTRIM s", "XTRIM s MAXLEN", "XTRIM s FOO 1", "XTRIM s MAXLEN 1 MINID 1", "XTRIM s LIMIT 1",
        "XTRIM s MAXLEN 1 LIMIT 1", "XTRIM s MAXLEN -1", "XTRIM s MAXLEN x", "XTRIM s MINID -",
        "XTRIM s MAXLEN ~ 1 LIMIT x", "XTRIM s MAXLEN 1 *", "SET str v", "XTRIM str MAXLEN 1",
        "XTRIM nokey MAXLEN x",
    ],
    "xrange_xrevrange": [
        *ENTRIES, "XRANGE s - +", "XRANGE s 3 5", "XRANGE s 3-1 5-0", "XRANGE s (3-0 (5-1", "XRANGE s (3 (5",
        "XREVRANGE s + -", "XREVRANGE s 5 3", "XREVRANGE s (5-1 (3-0", "XRANGE s - + COUNT 3",
        "XREVRANGE s + - COUNT 3", "XRANGE s - + COUNT 0", "XRANGE s - + COUNT -1", "XRANGE s 9 +",
        "XRANGE s 5 3", "XRANGE nokey - +", "XRANGE nokey - + COUNT 0", "XRANGE s - + count 1 COUNT 2",
        "XRANGE s (- +", "XRANGE s - (+", "XRANGE s (18446744073709551615-18446744073709551615 +",
        "XRANGE s - (0-0", "XRANGE s - + FOO", "XRANGE s - + COUNT", "XRANGE s - + COUNT x", "XRANGE s x +",
        "XRANGE s", "XREVRANGE s +", "SET str v", "XRANGE str - +", "XREVRANGE str + -", "XRANGE str x +",
    ],
    "xlen_xdel": [
        *ENTRIES, "XLEN s", "XDEL s 1-0 2-1 9-9", "XLEN s", "XDEL s 1-0", "XDEL s 1-1 1-1", "XRANGE s - + COUNT 2",
        "XDEL s x", "XDEL s 3-0 x", "XLEN s", "XDEL nokey x", "XDEL nokey 1-1", "XLEN nokey", "XDEL s",
        "XDEL s - +", "XDEL s 3-0", "XINFO STREAM s", *[f"XDEL s {i}-0 {i}-1" for i in range(1, 8)], "XLEN s",
        "EXISTS s", "XINFO STREAM s", ("XADD s * f v", TYPE), "SET str v", "XLEN str", "XDEL str 1-1",
    ],
    "xsetid": [
        "XADD s 5-5 f v", "XSETID s 10-0", "XINFO STREAM s", "XADD s 9-0 f v", "XSETID s 4-0", "XSETID s 5-5",
        "XSETID s 6 ENTRIESADDED 0", "XSETID s 6 ENTRIESADDED 10 MAXDELETEDID 7", "XSETID s 6 MAXDELETEDID 3",
        "XINFO STREAM s", "XSETID s 6 ENTRIESADDED -1", "XSETID s 6 ENTRIESADDED", "XSETID s 6 FOO 1",
        "XSETID s x", "XSETID s -", "XSETID nokey 1", "XSETID s", "SET str v", "XSETID str 1",
        "XDEL s 5-5", "XSETID s 1-0", "XINFO STREAM s", "XADD s 2-0 f v", "XSETID s 1 ENTRIESADDED x",
        "XSETID s 3 MAXDELETEDID x",
    ],
    "xinfo": [
        "XINFO STREAM nokey", *ENTRIES, ("XINFO STREAM s", XINFO), ("XINFO STREAM s FULL", XINFO_FULL),
        ("XINFO STREAM s FULL COUNT 2", XINFO_FULL), ("XINFO STREAM s full count 0", XINFO_FULL),
        ("XINFO STREAM s FULL COUNT -5", XINFO_FULL), "XINFO STREAM s FULL COUNT x", "XINFO STREAM s FOO",
        "XINFO STREAM s FULL FOO 1", "XINFO STREAM s FULL COUNT", "XINFO GROUPS s", "XINFO GROUPS nokey",
        "XINFO CONSUMERS s g", "XINFO CONSUMERS nokey g", "XINFO HELP", "XINFO", "XINFO FOO", "XINFO STREAM",
        "XINFO GROUPS", "XINFO GROUPS a b", "XINFO CONSUMERS s", "XINFO HELP x", "SET str v", "XINFO STREAM str",
        "XINFO GROUPS str", "XINFO CONSUMERS str g", "XADD e 1-1 f v", "XDEL e 1-1", ("XINFO STREAM e", XINFO),
    ],
    "xgroup": [
        "XGROUP CREATE s g $", "XGROUP CREATE s g $ MKSTREAM", "XGROUP CREATE s g $ MKSTREAM", "TYPE s",
        "XINFO GROUPS s", "XGROUP CREATE s g2 0 ENTRIESREAD 5", "XGROUP CREATE s g3 0 ENTRIESREAD -1",
        "XGROUP CREATE s g4 0 ENTRIESREAD -2", "XGROUP CREATE s g4 0 ENTRIESREAD x", "XGROUP CREATE s g4 x",
        "XGROUP CREATE s g4 - ", "XGROUP CREATE s g4 0 FOO", "XGROUP CREATE s g4 0 MKSTREAM ENTRIESREAD 3 x",
        "XGROUP SETID s g 0", "XGROUP SETID s g 5-5 ENTRIESREAD 3", "XGROUP SETID s g - ", "XGROUP SETID s g +",
        "XGROUP SETID s nog 0", "XGROUP SETID nokey g 0", "XGROUP SETID s g 0 MKSTREAM", "XGROUP SETID s g $",
        "XINFO GROUPS s", "XGROUP CREATECONSUMER s g c1", "XGROUP CREATECONSUMER s g c1",
        "XGROUP CREATECONSUMER s nog c1", "XGROUP CREATECONSUMER nokey g c1", "XGROUP DELCONSUMER s g c1",
        "XGROUP DELCONSUMER s g c1", "XGROUP DELCONSUMER s nog c1", "XGROUP DESTROY s g", "XGROUP DESTROY s g",
        "XGROUP DESTROY nokey g", "XINFO GROUPS s", "XGROUP HELP", "XGROUP", "XGROUP FOO", "XGROUP CREATE s",
        "XGROUP DESTROY s", "XGROUP DESTROY s g x", "XGROUP HELP x", "SET str v", "XGROUP CREATE str g $",
        "XGROUP DESTROY s g2", "XGROUP DESTROY s g3", "EXISTS s", "XLEN s",
    ],
    "xreadgroup_basic": [
        *ENTRIES[:6], "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g bob COUNT 2 STREAMS s >", "XREADGROUP GROUP g alice STREAMS s 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s 1-0", "XREADGROUP GROUP g bob STREAMS s 0",
        "XREADGROUP GROUP g carol STREAMS s 0", ("XPENDING s g - + 10", XPENDING), "XPENDING s g",
        "XREADGROUP GROUP g alice NOACK STREAMS s >", "XPENDING s g", "XREADGROUP GROUP g alice STREAMS s >",
        ("XINFO GROUPS s", XINFO), ("XINFO CONSUMERS s g", XINFO), "XACK s g 1-0 1-1 9-9", "XACK s g 1-0",
        "XPENDING s g", "XDEL s 2-0", "XREADGROUP GROUP g bob STREAMS s 0", ("XINFO STREAM s FULL", XINFO_FULL),
    ],
    "xreadgroup_errors": [
        KEEP_GOING,
        "XADD s 1-1 f v", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c STREAMS s", "XREADGROUP GROUP g c s >",
        "XREADGROUP STREAMS s >", "XREADGROUP GROUP g STREAMS s >", "XREADGROUP GROUP g c STREAMS s $",
        "XREADGROUP GROUP nog c STREAMS s >", "XREADGROUP GROUP g c STREAMS nokey >",
        "XREADGROUP GROUP g c STREAMS s x", "XREADGROUP GROUP g c COUNT x STREAMS s >",
        "XREADGROUP GROUP g c BLOCK x STREAMS s >", "XREADGROUP GROUP g c BLOCK -1 STREAMS s >",
        "XREADGROUP GROUP g c FOO STREAMS s >", "XREADGROUP GROUP g c STREAMS s s > >",
        "XREADGROUP GROUP g c STREAMS s t >", "SET str v", "XREADGROUP GROUP g c STREAMS str >",
        "XREADGROUP GROUP g c STREAMS s str > >", "XREADGROUP GROUP g c COUNT -5 STREAMS s 0",
        "XREADGROUP GROUP g c STREAMS s -", "XREADGROUP GROUP g c BLOCK 0 NOACK STREAMS s 0",
    ],
    "xread": [
        *ENTRIES[:6], "XADD t 5-0 f v", "XREAD STREAMS s 0", "XREAD COUNT 2 STREAMS s t 2-0 0", "XREAD STREAMS s $",
        "XREAD STREAMS s 3-1", "XREAD STREAMS s nokey 0 0", "XREAD STREAMS nokey 0", "XREAD COUNT 0 STREAMS s 0",
        "XREAD BLOCK 10 STREAMS s 0", "XREAD BLOCK 10 COUNT 1 STREAMS t s 0 1", "XREAD STREAMS s s 1-0 2-0",
        "XREAD count 1 streams s 0", "MULTI", "XREAD BLOCK 0 STREAMS s $", "XREAD BLOCK 0 STREAMS s 0", "EXEC",
    ],
    "xread_errors": [
        KEEP_GOING,
        "XADD s 1-1 f v", "XREAD STREAMS s", "XREAD STREAMS s t 0", "XREAD COUNT 1", "XREAD s 0",
        "XREAD GROUP g c STREAMS s 0", "XREAD NOACK STREAMS s 0", "XREAD STREAMS s >", "XREAD STREAMS s x",
        "XREAD STREAMS s -", "XREAD STREAMS s +", "XREAD COUNT x STREAMS s 0", "XREAD BLOCK x STREAMS s 0",
        "XREAD BLOCK -1 STREAMS s 0", "XREAD BLOCK 1.5 STREAMS s 0", "XREAD FOO STREAMS s 0", "SET str v",
        "XREAD STREAMS str 0", "XREAD STREAMS s str 0 0", "XREAD STREAMS nokey str 0 x", "XREAD STREAMS s s",
    ],
    "xack_xpending": [
        *ENTRIES[:8], "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice COUNT 3 STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >", "XPENDING s g", ("XPENDING s g - + 100", XPENDING),
        ("XPENDING s g - + 2", XPENDING), ("XPENDING s g (1-0 (4-1 100", XPENDING),
        ("XPENDING s g - + 100 bob", XPENDING), ("XPENDING s g - + 100 nobody", XPENDING),
        ("XPENDING s g IDLE 0 - + 100", XPENDING), ("XPENDING s g IDLE 100000 - + 100", XPENDING),
        ("XPENDING s g - + 0", XPENDING), ("XPENDING s g - + -3", XPENDING), "XPENDING s g - +",
        ("XPENDING s g - + 1 bob x", XPENDING), "XPENDING s g IDLE 1 - + ", "XPENDING s g IDLE x - + 1", "XPENDING s g x + 1",
        "XPENDING s g - + x", "XPENDING s g (- + 1", "XPENDING s g - (0-0 1", "XPENDING s nog", "XPENDING nokey g",
        "XACK s g 1-0 1-1 2-0 2-0 9-9", "XACK s g", "XACK s g x", "XACK s g 3-0 x", "XACK s nog 3-0",
        "XACK nokey g 3-0", "XACK nokey g x", "XPENDING s g", "SET str v", "XACK str g 1-1", "XPENDING str g",
    ],
    "xclaim": [
        *ENTRIES[:6], "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice STREAMS s >",
        "XCLAIM s g bob 0 1-0 1-1", "XCLAIM s g bob 0 2-0 JUSTID", "XCLAIM s g bob 100000 2-1",
        "XCLAIM s g bob 0 2-1 TIME 1000 RETRYCOUNT 7", ("XINFO STREAM s FULL", XINFO_FULL),
        "XCLAIM s g carol 0 2-1 JUSTID TIME 2000", "XCLAIM s g carol 0 9-9 FORCE", "XCLAIM s g carol 0 3-0 FORCE JUSTID",
        "XDEL s 1-0", "XCLAIM s g carol 0 1-0 3-1", ("XPENDING s g - + 100", XPENDING),
        "XCLAIM s g carol 0 3-1 LASTID 5-0 JUSTID", ("XINFO GROUPS s", XINFO), "XCLAIM s g carol 0 3-1 3-1",
        "XCLAIM s g carol x 3-1", "XCLAIM s g carol 0 3-1 IDLE x", "XCLAIM s g carol 0 3-1 TIME x",
        "XCLAIM s g carol 0 3-1 RETRYCOUNT x", "XCLAIM s g carol 0 3-1 LASTID x", "XCLAIM s g carol 0 3-1 FOO",
        "XCLAIM s g carol 0 x", "XCLAIM s nog carol 0 3-1", "XCLAIM nokey g carol 0 3-1", "XCLAIM s g carol 0",
        "XCLAIM s g carol 0 3-1 IDLE", "SET str v", "XCLAIM str g c 0 1-1",
    ],
    "xautoclaim": [
        *ENTRIES[:8], "XGROUP CREATE s g 0", "XREADGROUP GROUP g alice STREAMS s >",
        "XAUTOCLAIM s g bob 0 0-0 COUNT 2", "XAUTOCLAIM s g bob 0 2-0 COUNT 2 JUSTID", "XDEL s 3-0 3-1",
        "XAUTOCLAIM s g bob 0 (2-1", "XAUTOCLAIM s g carol 100000 - COUNT 3", "XAUTOCLAIM s g carol 0 - COUNT 1",
        ("XPENDING s g - + 100", XPENDING), "XAUTOCLAIM s g carol 0 - COUNT 0", "XAUTOCLAIM s g carol 0 - COUNT x",
        "XAUTOCLAIM s g carol 0 - COUNT 8070450532247928833", "XAUTOCLAIM s g carol x -",
        "XAUTOCLAIM s g carol 0 x", "XAUTOCLAIM s g carol 0 - FOO", "XAUTOCLAIM s nog carol 0 -",
        "XAUTOCLAIM nokey g carol 0 -", "XAUTOCLAIM s g carol 0 (18446744073709551615-18446744073709551615",
        "SET str v", "XAUTOCLAIM str g c 0 -", "XAUTOCLAIM str g c 0 x",
    ],
    "lag_and_entries_read": [
        "XADD s 1-0 f v", "XADD s 2-0 f v", "XADD s 3-0 f v", "XGROUP CREATE s g 0", ("XINFO GROUPS s", XINFO),
        "XREADGROUP GROUP g c COUNT 1 STREAMS s >", ("XINFO GROUPS s", XINFO), "XDEL s 2-0",
        ("XINFO GROUPS s", XINFO), "XREADGROUP GROUP g c STREAMS s >", ("XINFO GROUPS s", XINFO),
        "XGROUP SETID s g 0 ENTRIESREAD 0", ("XINFO GROUPS s", XINFO), "XADD s 4-0 f v", ("XINFO GROUPS s", XINFO),
        "XGROUP CREATE s h $", ("XINFO GROUPS s", XINFO), "XTRIM s MAXLEN 1", ("XINFO STREAM s FULL", XINFO_FULL),
    ],
    "generic": [
        "XADD s 1-1 f v", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c STREAMS s >", "TYPE s",
        "OBJECT ENCODING s", "SCAN 0 TYPE stream", "EXPIRE s 100", ("TTL s", IGNORE_VALUE), "COPY s t",
        ("XINFO STREAM t FULL", XINFO_FULL), "RENAME t u", ("XINFO STREAM u FULL", XINFO_FULL), "EXISTS t",
        "DEL u", "EXISTS u", "XADD s 2-1 f v", "COPY s s2 DB 1", "SELECT 1", "XRANGE s2 - +", "SELECT 0",
        ("KEYS *", UNORDERED), "SET k v", "XADD k * f v", "LPUSH s x", "RENAME s k", "TYPE k", "XLEN k",
    ],
    "multi_exec": [
        "MULTI", "XADD s 1-1 f v", "XADD s 2-1 f v", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c STREAMS s >",
        "XACK s g 1-1", "XLEN s", "EXEC", "MULTI", "XADD s 0-1 f v", "XLEN s", "EXEC", "MULTI", "XADD s", "EXEC",
    ],
    "resp3": [
        ("HELLO 3", TYPE), *ENTRIES[:4], "XRANGE s - +", "XRANGE s - + COUNT 0", "XREAD STREAMS s 0",
        "XREAD STREAMS nokey 0", "XINFO GROUPS s", "XGROUP CREATE s g 0", ("XINFO STREAM s", XINFO),
        ("XINFO STREAM s FULL", XINFO_FULL), "XREADGROUP GROUP g c STREAMS s >", "XPENDING s g",
        ("XPENDING s g - + 10", XPENDING), "XAUTOCLAIM s g d 0 -", ("XINFO CONSUMERS s g", XINFO),
        "XDEL s 1-0", "XREADGROUP GROUP g c STREAMS s 0", "XREADGROUP GROUP g c STREAMS s >",
    ],
    "auto_ids_shape": [
        ("XADD s * f v", TYPE), ("XADD s * f v", TYPE), "XLEN s", ("XRANGE s - +", NO_IDS),
        ("XREAD STREAMS s 0", TYPE), ("XADD s MAXLEN 1 * f w", TYPE), ("XRANGE s - +", NO_IDS),
    ],
    "memory_usage": [
        # The figure is this server's own estimate (docs/semantics.md): only its type and
        # the argument handling are Redis's.
        "XADD s 1-1 f v", ("MEMORY USAGE s", TYPE), ("MEMORY USAGE s SAMPLES 0", TYPE),
        ("MEMORY USAGE s samples 3", TYPE), "MEMORY USAGE nokey", "MEMORY USAGE s SAMPLES -1",
        "MEMORY USAGE s SAMPLES x", "MEMORY USAGE s FOO", "MEMORY USAGE s SAMPLES", "MEMORY USAGE",
        "RPUSH l a", ("MEMORY USAGE l", TYPE), "SET str v", ("MEMORY USAGE str", TYPE), "MEMORY FOO",
    ],
    "command_info": [
        (["COMMAND", "INFO", *STREAM_COMMANDS], COMMAND_INFO),
        ("COMMAND GETKEYS XREAD COUNT 2 STREAMS a b 0 0", UNORDERED),
        ("COMMAND GETKEYS XREADGROUP GROUP g c STREAMS a b > >", UNORDERED),
        ("COMMAND GETKEYS SORT abc STORE def", UNORDERED), ("COMMAND GETKEYS SORT_RO abc", UNORDERED),
        ("COMMAND GETKEYS SORT abc STORE def STORE def2", UNORDERED),
        ("COMMAND GETKEYS SORT abc BY x GET y LIMIT 1 2 STORE z", UNORDERED),
    ],
}

SORTS: dict[str, Script] = {
    "sort_basic": [
        "RPUSH l 3 1 2 10 -5 1.5", "SORT l", "SORT l DESC", "SORT l LIMIT 1 2", "SORT l LIMIT -1 2",
        "SORT l LIMIT 2 -1", "SORT l LIMIT 5 10", "SORT l LIMIT 10 1", "SORT l ALPHA", "SORT l ALPHA DESC",
        "SORT nokey", "SORT nokey STORE d", "EXISTS d", "RPUSH bad 1 x 2", "SORT bad", "SORT bad ALPHA",
        "RPUSH eq 1.0 1 01 +1 ' 1'", "SORT eq", "SORT eq DESC", "RPUSH w b a c B", "SORT w ALPHA",
        "RPUSH e '' 0 -0", "SORT e", "RPUSH f 1e400", "SORT f", "RPUSH g 0x10 nan inf -inf", "SORT g",
        "RPUSH h 0x10 inf -inf 1e-400", "SORT h",
    ],
    "sort_types": [
        "SADD s 5 3 9", "SORT s", "SORT s DESC", "SADD t b a c", "SORT t ALPHA", "ZADD z 3 a 1 b 2 c", "SORT z ALPHA",
        "SORT z BY nosort", "SORT z BY nosort DESC", "SORT z BY nosort LIMIT 1 1", "SORT z BY nosort DESC LIMIT 0 2",
        "RPUSH l c a b", "SORT l BY nosort", "SORT l BY nosort DESC", "SORT l BY nosort LIMIT 1 5",
        "SORT l BY nosort DESC LIMIT 1 1", "SORT s BY nosort STORE d", "LRANGE d 0 -1", "SORT t BY nosort STORE d",
        "LRANGE d 0 -1", "SET str 1", "SORT str", "HSET h a 1", "SORT h", "XADD x 1-1 f v", "SORT x",
    ],
    "sort_by_get": [
        "RPUSH l 1 2 3 4", "MSET w_1 40 w_2 30 w_3 10", "SORT l BY w_*", "SORT l BY w_* DESC",
        "SORT l BY w_* LIMIT 1 2", "SORT l BY w_* GET #", "SORT l BY w_* GET # GET w_*", "SORT l GET w_* GET nope",
        "SORT l GET nostar", "HSET h_1 f 3 g x", "HSET h_2 f 1", "HSET h_3 f 2", "SORT l BY h_*->f",
        "SORT l BY h_*->f GET h_*->g GET # GET h_*->f", "SORT l GET h_*->", "SET 'h_1->' yes", "SORT l GET h_*->",
        "SORT l BY w_* ALPHA", "SORT l BY h_*->g ALPHA", "SORT l BY h_*->g", "SET w_4 x", "SORT l BY w_*",
        "SORT l BY w_* GET w_* STORE out", "LRANGE out 0 -1", "SORT l BY x_* STORE out2", "LRANGE out2 0 -1",
        "SORT l BY nosort GET w_* STORE out3", "LRANGE out3 0 -1", "LPUSH hl h_1 h_2", "SORT l GET *",
        "SORT l BY w_*->", "MSET a_1 b_2 b_2 5", "SORT l GET a_*",
    ],
    "sort_store": [
        "RPUSH l 3 1 2", "SET d old EX 100", "SORT l STORE d", "TYPE d", "TTL d", "LRANGE d 0 -1",
        "SORT l STORE d LIMIT 0 0", "EXISTS d", "SORT nokey STORE d", "SORT l DESC STORE d2 STORE d3",
        "EXISTS d2", "LRANGE d3 0 -1", "SORT_RO l STORE d", "SORT_RO l", "SORT_RO l BY nosort", "SORT l STORE l",
        "LRANGE l 0 -1", "SADD s b a", "SORT s ALPHA STORE d", "LRANGE d 0 -1", "RPUSH x 1 x", "SORT x STORE d",
        "LRANGE d 0 -1",
    ],
    "sort_errors": [
        KEEP_GOING,
        "SORT", "SORT l FOO", "SORT l LIMIT 1", "SORT l LIMIT x 1", "SORT l LIMIT 1 x",
        "SORT l LIMIT 1 9223372036854775808", "SORT l BY", "SORT l GET", "SORT l STORE", "SORT_RO l STORE d",
        "SORT_RO", "SORT l asc desc ASC", "SORT l alpha ALPHA",
    ],
    "sort_alpha_bytes": [
        ["RPUSH", "b", b"a\x00z", b"a\x00b", b"a", b"\xff", b"\x01"], "SORT b ALPHA", "SORT b ALPHA STORE d",
        "LRANGE d 0 -1",
    ],
    "sort_big": [
        ["RPUSH", "big", *[str((i * 7919) % 1000) for i in range(1000)]], "SORT big LIMIT 0 10",
        "SORT big DESC LIMIT 0 10", "SORT big ALPHA LIMIT 0 10",
    ],
}


@pytest.mark.parametrize("case", scripts(STREAMS))
def test_streams(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(SORTS))
def test_sort(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


FROM_SCRIPTS: Script = [
    "XADD s 1-1 f v", "SADD set c a b 10 2",
    ["EVAL", "return redis.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$')", "0"],
    ["EVAL", "return redis.call('xreadgroup', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', 's', '>')", "0"],
    ["EVAL", "return redis.call('XREAD', 'COUNT', '1', 'STREAMS', 's', '0')", "0"],
    ["EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'nosort')", "1", "set"],
    ["EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'nosort', 'DESC', 'LIMIT', '1', '2')", "1", "set"],
]


def test_streams_and_sort_from_scripts(diff: Differ) -> None:
    from tests.support.resp_client import RespConnection, decode

    with RespConnection(port=diff.sub.port) as c:
        if decode(c.call("COMMAND", "INFO", "EVAL"))[0] is None:
            pytest.skip("this checkout has no scripting (EVAL)")
    diff.run(FROM_SCRIPTS, "from_scripts")
