"""The INFO text: one function per section, plus lines other parts register.

Sections render like Redis 7.0 (`genRedisInfoString`): "# Title" then "field:value" lines,
CRLF line ends, one blank line between sections, always in the fixed order below whatever
order they were asked in. Unknown section names are ignored (an empty reply, like Redis).

Other parts add lines without touching this file:

    register_info_provider("replication", lambda node: [("peers", 2), ...])

A provider returns `(field, value)` pairs; a field already in the section keeps its place
and takes the provider's value (so replication can correct `connected_slaves`), new fields
are appended. Registering for a section name that does not exist creates it, after the
built-in ones, included in the default set.
"""
from __future__ import annotations

import os
import platform
import resource
import selectors
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import crdtredis

from .cmdtable import Command
from .commands.registry import COMMANDS

if TYPE_CHECKING:
    from .node import Node

Items = list[tuple[str, Any]]
Provider = Callable[["Node"], Iterable[tuple[str, Any]]]


# ---- helpers -----------------------------------------------------------------------------
def bytes_to_human(n: int) -> str:
    """Redis bytesToHuman: 1023B, 1.00K, 1.23M, ..."""
    if n < 1024:
        return f"{n}B"
    for unit, div in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if n < div * 1024:
            return f"{n / div:.2f}{unit}"
    return f"{n / (1 << 50):.2f}P"


def all_commands() -> list[Command]:
    """Every command and subcommand, parents first, in registration order."""
    out: list[Command] = []
    for c in COMMANDS.values():
        out.append(c)
        out.extend(c.subcommands.values())
    return out


def total_commands_processed(node: Node) -> int:
    return sum(c.calls for c in all_commands())


def total_error_replies(node: Node) -> int:
    return sum(node.error_counts.values())


def _runtime_int(node: Node, name: str, default: int) -> int:
    try:
        return int(node.runtime.get(name, default))
    except ValueError:
        return default


def _memory_limit(node: Node) -> int:
    return _runtime_int(node, "maxmemory", 0)


def _peak_rss() -> int:
    # ru_maxrss is KiB on Linux (bytes on macOS, where this only overstates the peak).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _multiplexing_api() -> str:
    # uvloop (libuv) and asyncio's default selector both use the OS poller this names.
    name = selectors.DefaultSelector.__name__.lower()
    return name.replace("selector", "") or "select"


def _executable() -> str:
    argv0 = sys.argv[0] if sys.argv else ""
    return os.path.abspath(argv0) if argv0 and os.path.isfile(argv0) else sys.executable


_UNAME = platform.uname()
_OS = f"{_UNAME.system} {_UNAME.release} {_UNAME.machine}"


# ---- instantaneous rates -----------------------------------------------------------------
class _Samples:
    """Redis trackInstantaneousMetric: the last 16 samples of a few counters, taken by the
    server's cron (`track_instantaneous`), averaged as per-second rates."""

    __slots__ = ("ring",)
    SIZE = 16

    def __init__(self) -> None:
        self.ring: list[tuple[float, int, int, int]] = []

    def add(self, sample: tuple[float, int, int, int]) -> None:
        self.ring.append(sample)
        if len(self.ring) > self.SIZE:
            del self.ring[0]

    def rate(self, idx: int) -> float:
        if len(self.ring) < 2:
            return 0.0
        first, last = self.ring[0], self.ring[-1]
        dt = last[0] - first[0]
        if dt <= 0:
            return 0.0
        return max(0.0, (last[idx] - first[idx]) / dt)


_SAMPLES: weakref.WeakKeyDictionary[Node, _Samples] = weakref.WeakKeyDictionary()


def track_instantaneous(node: Node) -> None:
    """Record one sample of ops and network counters; the server cron calls this ~10x/s."""
    s = _SAMPLES.get(node)
    if s is None:
        s = _SAMPLES[node] = _Samples()
    s.add((time.monotonic(), total_commands_processed(node), node.net_input_bytes, node.net_output_bytes))


def _rate(node: Node, idx: int) -> float:
    s = _SAMPLES.get(node)
    return s.rate(idx) if s is not None else 0.0


# ---- sections ----------------------------------------------------------------------------
def server_section(node: Node) -> Items:
    now = time.time()
    uptime = int(now - node.started_at)
    hz = _runtime_int(node, "hz", 10)
    return [
        ("redis_version", crdtredis.REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", node.run_id[:15]),
        ("redis_mode", "standalone"),
        ("os", _OS),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", _multiplexing_api()),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", node.run_id),
        ("tcp_port", getattr(node.config, "server_port", 6379)),
        ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", hz),
        ("configured_hz", hz),
        ("lru_clock", int(now) & ((1 << 24) - 1)),
        ("executable", _executable()),
        ("config_file", node.config_file),
        ("io_threads_active", 0),
        ("crdt_redis_version", crdtredis.__version__),
        ("python_version", platform.python_version()),
    ]


def clients_section(node: Node) -> Items:
    clients = node.clients.values()
    return [
        ("connected_clients", len(node.clients)),
        ("cluster_connections", 0),
        ("maxclients", _runtime_int(node, "maxclients", 10000)),
        ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", sum(1 for c in clients if c.blocked)),
        ("tracking_clients", 0),
        ("clients_in_timeout_table", 0),
    ]


def memory_section(node: Node) -> Items:
    # Python cannot cheaply count the bytes its objects use, so used_memory is the RSS.
    rss = node.used_memory_rss()
    peak = max(_peak_rss(), rss)
    maxmem = _memory_limit(node)
    total = _total_system_memory()
    return [
        ("used_memory", rss),
        ("used_memory_human", bytes_to_human(rss)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", f"{100.0 * rss / peak if peak else 100.0:.2f}%"),
        ("total_system_memory", total),
        ("total_system_memory_human", bytes_to_human(total)),
        ("maxmemory", maxmem),
        ("maxmemory_human", bytes_to_human(maxmem)),
        ("maxmemory_policy", node.runtime.get("maxmemory-policy", "noeviction")),
        ("mem_fragmentation_ratio", "1.00"),
        ("mem_allocator", "pymalloc"),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def persistence_section(node: Node) -> Items:
    return [
        ("loading", int(bool(node.loading))),
        ("async_loading", 0),
        ("rdb_changes_since_last_save", node.keyspace.dirty),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", node.last_save_time),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("aof_enabled", int(node.persistence is not None)),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_last_write_status", "err" if node.persistence_error else "ok"),
    ]


def stats_section(node: Node) -> Items:
    return [
        ("total_connections_received", node.connections_received),
        ("total_commands_processed", total_commands_processed(node)),
        ("instantaneous_ops_per_sec", int(_rate(node, 1))),
        ("total_net_input_bytes", node.net_input_bytes),
        ("total_net_output_bytes", node.net_output_bytes),
        ("instantaneous_input_kbps", f"{_rate(node, 2) / 1024:.2f}"),
        ("instantaneous_output_kbps", f"{_rate(node, 3) / 1024:.2f}"),
        ("rejected_connections", node.rejected_connections),
        ("sync_full", 0),
        ("sync_partial_ok", 0),
        ("sync_partial_err", 0),
        ("expired_keys", node.expired_keys),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("evicted_keys", 0),
        ("evicted_clients", 0),
        ("keyspace_hits", node.keyspace_hits),
        ("keyspace_misses", node.keyspace_misses),
        ("pubsub_channels", 0),
        ("pubsub_patterns", 0),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", len(getattr(node, "migrate_sockets", ()))),
        ("unexpected_error_replies", 0),
        ("total_error_replies", total_error_replies(node)),
    ]


def replication_section(node: Node) -> Items:
    # Replicas are peers, not Redis slaves: every node is a master (active-active).
    return [
        ("role", "master"),
        ("connected_slaves", 0),
        ("master_failover_state", "no-failover"),
        ("master_replid", node.run_id),
        ("master_replid2", "0" * 40),
        ("master_repl_offset", 0),
        ("second_repl_offset", -1),
        ("repl_backlog_active", 0),
        ("repl_backlog_size", 1048576),
        ("repl_backlog_first_byte_offset", 0),
        ("repl_backlog_histlen", 0),
    ]


def cpu_section(node: Node) -> Items:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        ("used_cpu_sys", f"{me.ru_stime:.6f}"),
        ("used_cpu_user", f"{me.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{ch.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{ch.ru_utime:.6f}"),
        ("used_cpu_sys_main_thread", f"{me.ru_stime:.6f}"),
        ("used_cpu_user_main_thread", f"{me.ru_utime:.6f}"),
    ]


def modules_section(node: Node) -> Items:
    return []


def commandstats_section(node: Node) -> Items:
    out: Items = []
    rejected = node.rejected_calls
    for c in all_commands():
        name = c.fullname
        rej = rejected.get(name, 0)
        if not (c.calls or c.errors or rej):
            continue
        per = c.usec / c.calls if c.calls else 0.0
        out.append((
            f"cmdstat_{name}",
            f"calls={c.calls},usec={c.usec},usec_per_call={per:.2f},"
            f"rejected_calls={rej},failed_calls={c.errors}",
        ))
    return out


def errorstats_section(node: Node) -> Items:
    return [(f"errorstat_{k}", f"count={v}") for k, v in sorted(node.error_counts.items())]


def cluster_section(node: Node) -> Items:
    return [("cluster_enabled", 0)]


def keyspace_section(node: Node) -> Items:
    now = int(time.time() * 1000)
    out: Items = []
    for db in node.keyspace.dbs:
        if not db.data:
            continue
        n_exp = 0
        ttl_sum = 0
        for key, reg in db.expires.items():
            if reg.deadline is not None and key in db.data:
                n_exp += 1
                ttl_sum += max(0, reg.deadline - now)
        avg = ttl_sum // n_exp if n_exp else 0
        out.append((f"db{db.index}", f"keys={len(db.data)},expires={n_exp},avg_ttl={avg}"))
    return out


def crdt_section(node: Node) -> Items:
    ks = node.keyspace
    vv = ",".join(f"{o}={s}" for o, s in sorted(ks.vv.items()))
    return [
        ("replica_id", node.replica_id),
        ("incarnation", node.incarnation),
        ("origin", node.origin),
        ("peers", len(getattr(node.config, "peers", ()))),
        ("ops_applied", ks.ops_applied),
        ("ops_local", ks.ops_local),
        ("ops_remote", ks.ops_remote),
        ("type_conflicts", ks.type_conflicts),
        ("hlc", node.hlc.last),
        ("version_vector", vv),
    ]


class Section:
    __slots__ = ("name", "title", "fn", "default")

    def __init__(self, name: str, title: str, fn: Callable[[Node], Items] | None, default: bool) -> None:
        self.name = name
        self.title = title
        self.fn = fn
        self.default = default


# Output order, as Redis genRedisInfoString; crdt takes the place module sections have.
SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section("server", "Server", server_section, True),
        Section("clients", "Clients", clients_section, True),
        Section("memory", "Memory", memory_section, True),
        Section("persistence", "Persistence", persistence_section, True),
        Section("stats", "Stats", stats_section, True),
        Section("replication", "Replication", replication_section, True),
        Section("cpu", "CPU", cpu_section, True),
        Section("modules", "Modules", modules_section, True),
        Section("commandstats", "Commandstats", commandstats_section, False),
        Section("errorstats", "Errorstats", errorstats_section, True),
        Section("cluster", "Cluster", cluster_section, True),
        Section("keyspace", "Keyspace", keyspace_section, True),
        Section("crdt", "CRDT", crdt_section, True),
    )
}

_PROVIDERS: dict[str, list[Provider]] = {}


def register_info_provider(section: str, fn: Provider, title: str | None = None) -> None:
    """Add `fn(node) -> [(field, value), ...]` to a section (created if new)."""
    name = section.lower()
    if name not in SECTIONS:
        SECTIONS[name] = Section(name, title or name.capitalize(), None, True)
    providers = _PROVIDERS.setdefault(name, [])
    if fn not in providers:
        providers.append(fn)


def register_info_section(name: str, title: str, fn: Callable[[Node], Items], after: str,
                          default: bool = True) -> None:
    """Add a built-in section placed right after `after` (Redis's fixed order)."""
    items = [(n, s) for n, s in SECTIONS.items() if n != name]
    at = next(i for i, (n, _s) in enumerate(items) if n == after) + 1
    items.insert(at, (name, Section(name, title, fn, default)))
    SECTIONS.clear()
    SECTIONS.update(items)


ResetHook = Callable[["Node"], None]
_RESET_HOOKS: list[ResetHook] = []


def register_reset_hook(fn: ResetHook) -> None:
    """Run `fn(node)` on CONFIG RESETSTAT (counters other parts own)."""
    if fn not in _RESET_HOOKS:
        _RESET_HOOKS.append(fn)


def section_items(node: Node, name: str) -> Items:
    """The fields of one section: built-in, then providers' (overriding same-named fields)."""
    sec = SECTIONS[name]
    items: Items = sec.fn(node) if sec.fn is not None else []
    providers = _PROVIDERS.get(name)
    if providers:
        index = {k: i for i, (k, _v) in enumerate(items)}
        for p in providers:
            for k, v in p(node):
                i = index.get(k)
                if i is None:
                    index[k] = len(items)
                    items.append((k, v))
                else:
                    items[i] = (k, v)
    return items


def select_sections(args: list[bytes]) -> list[str]:
    """Redis 7.0 genInfoSectionDict: names, "default", "all" (every section), "everything"."""
    if not args:
        return [n for n, s in SECTIONS.items() if s.default]
    wanted: set[str] = set()
    for a in args:
        name = a.decode("utf-8", "replace").lower()
        if name == "default":
            wanted.update(n for n, s in SECTIONS.items() if s.default)
        elif name in ("all", "everything"):
            wanted.update(SECTIONS)
        else:
            wanted.add(name)
    return [n for n in SECTIONS if n in wanted]


def render(node: Node, args: list[bytes]) -> bytes:
    parts: list[str] = []
    for name in select_sections(args):
        lines = [f"# {SECTIONS[name].title}\r\n"]
        for k, v in section_items(node, name):
            lines.append(f"{k}:{v}\r\n")
        parts.append("".join(lines))
    return "\r\n".join(parts).encode()


def reset_stats(node: Node) -> None:
    """CONFIG RESETSTAT: zero the counters INFO stats/commandstats/errorstats report."""
    for c in all_commands():
        c.calls = 0
        c.errors = 0
        c.usec = 0
    node.rejected_calls.clear()
    node.error_counts.clear()
    node.connections_received = 0
    node.rejected_connections = 0
    node.expired_keys = 0
    node.keyspace_hits = 0
    node.keyspace_misses = 0
    node.net_input_bytes = 0
    node.net_output_bytes = 0
    _SAMPLES.pop(node, None)
    for hook in _RESET_HOOKS:
        hook(node)
