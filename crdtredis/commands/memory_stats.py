"""MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE (Redis object.c), over crdt-redis's
measure of used memory (crdtredis/memory.py): RSS-based, so "allocator" figures are the
process's, and the fragmentation ratios compare RSS with used memory.

MALLOC-STATS answers what Redis answers when it is not built with jemalloc; PURGE runs a
full garbage collection and glibc's malloc_trim, which hands free heap pages back to the
kernel (what jemalloc's purge does for Redis).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from typing import TYPE_CHECKING, Any

from ..reply import OK, ErrorReply, Map, Reply, Verbatim
from .maxmemory import evictor_of
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

_LIBC: Any = None


def _overhead(node: Node) -> dict[str, Any]:
    """getMemoryOverheadData, crdt-redis's way."""
    m = evictor_of(node).meter
    used = m.used()
    rss = m.rss
    repl = node.replication
    backlog = getattr(getattr(repl, "backlog", None), "bytes", 0) if repl is not None else 0
    clients = 0
    for c in node.clients.values():
        conn = c.conn
        if conn is not None:
            clients += conn.output_size() + c.qbuf
    aof = 0
    if node.persistence is not None:
        aof = int(node.persistence.info().get("pending_bytes", 0) or 0)
    scripting = node.scripting
    lua = getattr(scripting, "scripts_body_bytes", 0) if scripting is not None else 0
    dbs = []
    keys = 0
    for db in node.keyspace.dbs:
        if db.data:
            dbs.append((db.index, sys.getsizeof(db.data), sys.getsizeof(db.expires) if db.expires else 0))
            keys += len(db.data)
    overhead = m.startup + backlog + clients + aof + lua + sum(a + b for _i, a, b in dbs)
    dataset = max(used - overhead, 0)
    net = max(used - m.startup, 0)
    return {
        "peak": m.peak, "used": used, "startup": m.startup, "backlog": backlog, "clients": clients,
        "aof": aof, "lua": lua, "dbs": dbs, "overhead": overhead, "keys": keys,
        "bytes_per_key": net // keys if keys else 0, "dataset": dataset,
        "dataset_perc": dataset * 100.0 / net if net else 0.0,
        "peak_perc": used * 100.0 / m.peak if m.peak else 0.0, "rss": rss,
        "frag": rss / used if used else 1.0, "frag_bytes": rss - used,
    }


# MEMORY STATS
@command("stats", 2, "", group="server", summary="Show memory usage details", since="4.0.0", acl="slow",
         parent="memory")
def memory_stats_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    o = _overhead(node)
    items: list[tuple[Any, Any]] = [
        (b"peak.allocated", o["peak"]),
        (b"total.allocated", o["used"]),
        (b"startup.allocated", o["startup"]),
        (b"replication.backlog", o["backlog"]),
        (b"clients.slaves", 0),
        (b"clients.normal", o["clients"]),
        (b"cluster.links", 0),
        (b"aof.buffer", o["aof"]),
        (b"lua.caches", o["lua"]),
        (b"functions.caches", 0),
    ]
    for dbi, main, expires in o["dbs"]:
        items.append((b"db.%d" % dbi, Map([
            (b"overhead.hashtable.main", main),
            (b"overhead.hashtable.expires", expires),
            (b"overhead.hashtable.slot-to-keys", 0),
        ])))
    items += [
        (b"overhead.total", o["overhead"]),
        (b"keys.count", o["keys"]),
        (b"keys.bytes-per-key", o["bytes_per_key"]),
        (b"dataset.bytes", o["dataset"]),
        (b"dataset.percentage", o["dataset_perc"]),
        (b"peak.percentage", o["peak_perc"]),
        # The process is the allocator here: what it holds is the used memory, what it
        # keeps resident is its RSS.
        (b"allocator.allocated", o["used"]),
        (b"allocator.active", o["used"]),
        (b"allocator.resident", o["rss"]),
        (b"allocator-fragmentation.ratio", 1.0),
        (b"allocator-fragmentation.bytes", 0),
        (b"allocator-rss.ratio", o["frag"]),
        (b"allocator-rss.bytes", o["frag_bytes"]),
        (b"rss-overhead.ratio", 1.0),
        (b"rss-overhead.bytes", 0),
        (b"fragmentation", o["frag"]),
        (b"fragmentation.bytes", o["frag_bytes"]),
    ]
    return Map(items)


_EMPTY = (
    "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
    "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and "
    "I will be back to our programming as soon as I finished rebooting.\n"
)
_FINE = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"


def doctor_report(node: Node) -> str:
    """getMemoryDoctorReport's checks that apply here: the dataset (used memory above
    what the process held at start) is what must exceed 5 MB, as Redis's whole heap must."""
    o = _overhead(node)
    if o["used"] - o["startup"] < 5 << 20:
        return _EMPTY
    found: list[str] = []
    if o["peak"] / o["used"] > 1.5:
        found.append(
            " * Peak memory: In the past this instance used more than 150% the memory that is currently "
            "using. The allocator is normally not able to release memory after a peak, so you can expect to see "
            "a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, "
            "and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory "
            "will be used as soon as you fill the Redis instance with more data. If the memory peak was only "
            "occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise "
            "the only other option is to shutdown and restart the instance.\n\n")
    if o["frag"] > 1.4 and o["frag_bytes"] > 10 << 20:
        found.append(
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 "
            "(this means that the Resident Set Size of the Redis process is much larger than the sum of the "
            "logical allocations Redis performed). This problem is usually due either to a large peak memory "
            "(check if there is a peak memory entry above in the report) or may result from a workload that "
            "causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there "
            "is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc "
            "malloc. Note: The currently used allocator is \"pymalloc\".\n\n")
    nclients = len(node.clients)
    if nclients and o["clients"] // nclients > 1024 * 200:
        found.append(
            " * Big client buffers: The clients output buffers in this instance are greater than 200K per "
            "client (on average). This may result from different causes, like Pub/Sub clients subscribed to "
            "channels bot not receiving data fast enough, so that data piles on the Redis instance output "
            "buffer, or clients sending commands with large replies or very large sequences of commands in the "
            "same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes "
            "problems in your instance, or to understand better why certain clients are using a big amount of "
            "memory.\n\n")
    scripting = node.scripting
    if scripting is not None and len(getattr(scripting, "scripts", ())) > 1000:
        found.append(
            " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may "
            "be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and "
            "ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the "
            "scripts' caches may end up consuming most of your memory.\n\n")
    if not found:
        return _FINE
    return ("Sam, I detected a few issues in this Redis instance memory implants:\n\n" + "".join(found)
            + "I'm here to keep you safe, Sam. I want to help you.\n")


# MEMORY DOCTOR
@command("doctor", 2, "", group="server", summary="Outputs memory problems report", since="4.0.0",
         acl="slow", parent="memory")
def memory_doctor_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return Verbatim(doctor_report(node).encode())


# MEMORY MALLOC-STATS
@command("malloc-stats", 2, "", group="server", summary="Show allocator internal stats", since="4.0.0",
         acl="slow", parent="memory")
def memory_malloc_stats_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return b"Stats not supported for the current allocator"


# MEMORY PURGE
@command("purge", 2, "", group="server", summary="Ask the allocator to release memory", since="4.0.0",
         acl="slow", parent="memory")
def memory_purge_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    global _LIBC
    gc.collect()
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        _LIBC = ctypes.CDLL(name) if name else False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        try:
            _LIBC.malloc_trim(0)
        except OSError:
            return ErrorReply("ERR Error purging dirty pages")
    m = evictor_of(node).meter
    m.credit = 0  # what was freed went back to the kernel, or stays as free heap: start over
    m.sample(exact=True)
    return OK
