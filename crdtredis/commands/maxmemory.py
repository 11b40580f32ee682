"""maxmemory and its policies (Redis evict.c): eviction before commands, OOM refusals,
and the access times and frequencies LRU and LFU choose by.

While maxmemory is set every request takes the node's checked path, where `before`
runs before the command: it records which keys the command touches (under an LRU or LFU
policy), then, if used memory (crdtredis/memory.py) is over the limit, evicts keys by the
policy until it is not, within a time budget (maxmemory-eviction-tenacity); a command
flagged denyoom (or any command queued in MULTI) is refused with Redis's OOM error when
nothing more can be evicted (noeviction, or no candidate left).

An eviction is a replicated delete: the keys a round evicts leave as one op of DEL
effects, like a client's DEL, so every replica drops the same keys (observed-remove: a
write to the key concurrent with the eviction survives it). Each replica evicts by its own
measure of its own memory; replicas over their limit at the same time may each evict, and
all of those deletes apply everywhere (docs/semantics.md, "maxmemory"). Evictions count in
INFO stats `evicted_keys`, fire the `evicted` keyspace event, and invalidate tracked keys.

Candidates are sampled like Redis does (maxmemory-samples keys per database into a pool of
16), from a snapshot of each database's keys (a dict has no random access) renewed as it
goes stale. Idle time is the time since the key's last access: a read recorded here under
an LRU policy (or TOUCH), else its last write (its HLC stamp). LFU keeps Redis's 8-bit
logarithmic counter and decay per key read; a key never read counts from its last write.
"""
from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from typing import TYPE_CHECKING, Any

from ..clock import hlc_ms
from ..crdt import codes
from ..info import register_info_provider, register_info_section
from ..keyspace import entry_stamp
from ..memory import PER_ARG, Meter
from ..notify import EVICTED, notify_event
from .config_cmd import register_config_hook
from .memory_cmd import deep_size
from .pause import command_flags

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..keyspace import Db
    from ..node import Node
    from ..op import Op

log = logging.getLogger("crdtredis.maxmemory")

OOM = "OOM command not allowed when used memory > 'maxmemory'."
OK, RUNNING, FAIL = 0, 1, 2
POOL_SIZE = 16
BACKLOG_SHARE = 32  # the replication backlog's share of maxmemory (Evictor._cap_backlog)
BACKLOG_MIN = 8 << 20
# A refusal (OOM) re-measures memory first when the last sample is older than this: at
# most one ~1 ms sample per 20 ms while every write is refused.
RESAMPLE_BEFORE_OOM_S = 0.02
# While maxmemory is set, a sample this close to the estimate keeps the estimate: what the
# allocators hold moves this much with no change to the data (memory.py, "The band").
BAND = 256 << 10
LFU_INIT_VAL = 5
# Requests that MULTI still takes when out of memory (Redis processCommand).
_MULTI_OOM_OK = frozenset({"exec", "discard", "quit", "reset"})
# Commands that look keys up without touching them (Redis LOOKUP_NOTOUCH).
_NO_TOUCH = frozenset({"exists", "type", "ttl", "pttl", "expiretime", "pexpiretime", "object|encoding",
                       "object|freq", "object|idletime", "object|refcount", "memory|usage"})


class Evictor:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.maxmemory = 0
        self._meter: Meter | None = None  # made on first use (`meter`)
        self.info_dirty = -1  # keyspace.dirty when INFO memory last sampled
        self.policy = "noeviction"
        self.samples = 5
        self.tenacity = 10
        self.evicted_keys = 0
        self.evictions_running = False
        # pre_command_oom_state: what scripts see (scripting/runner.py over_maxmemory).
        self.oom = False
        # db index -> key -> last access (s) or, under LFU, (minutes << 8) | counter.
        self.access: dict[int, dict[bytes, int]] = {}
        self._snap: dict[tuple[int, bool], list[bytes]] = {}
        self._snap_picks: dict[tuple[int, bool], int] = {}
        self._pool: list[tuple[float, int, bytes]] = []
        self._next_db = 0
        self._remote_listener = self._on_remote
        self._backlog_max: int | None = None  # the replication backlog's own bound
        # The keys of the write being run and their sizes before it (`_note_write`).
        self._pending: tuple[int, list[tuple[bytes, int]]] | None = None
        # (db, key) -> the key's write stamp when RESTORE IDLETIME dated its access.
        self.restored_idle: dict[tuple[int, bytes], int] = {}

    @property
    def meter(self) -> Meter:
        """The memory measure, made on first use: a served node makes it before loading
        its data (`start_meter`: used_memory_startup), a node in a test or simulation
        that never asks costs no measurement."""
        m = self._meter
        if m is None:
            node = self.node
            # Under maxmemory the (then bounded) backlog counts: see _cap_backlog.
            m = self._meter = Meter(lambda: 0 if self.maxmemory else _not_counted(node))
            m.band = BAND if self.maxmemory else 0
        return m

    def start_meter(self) -> None:
        self.meter.sample()

    # ---- configuration -------------------------------------------------------------------
    def configure(self) -> None:
        rt = self.node.runtime
        self.maxmemory = _int(rt.get("maxmemory", "0"))
        self.policy = rt.get("maxmemory-policy", "noeviction")
        self.samples = max(_int(rt.get("maxmemory-samples", "5")), 1)
        self.tenacity = _int(rt.get("maxmemory-eviction-tenacity", "10"))
        node = self.node
        on = self.maxmemory > 0
        node.before_command = self.before if on else None
        node.set_checked("maxmemory", on)
        if on and self._remote_listener not in node.remote_op_listeners:
            node.remote_op_listeners.append(self._remote_listener)
        elif not on and self._remote_listener in node.remote_op_listeners:
            node.remote_op_listeners.remove(self._remote_listener)
        if self._meter is not None:  # (made lazily, with the band: `meter`)
            self._meter.band = BAND if on else 0
        if not on:
            self.oom = False
        elif time.monotonic() - self.meter.at > 0.1:
            self.meter.sample()  # a limit is judged against a fresh measure (as INFO's)
        self._pool = []
        self._cap_backlog()

    def _cap_backlog(self) -> None:
        """Under maxmemory the replication backlog holds at most 1/32 of it (at least
        8 MB), and counts in used_memory. Redis leaves its backlog out (evicting does not
        shrink it, and the DELs of evictions would grow it); here it is bounded, so the
        DELs only push older ops out, and counting it keeps RSS near the limit. A peer that
        falls further behind than the bound gets a snapshot instead; below 8 MB that
        happened under ordinary floods, and snapshot transfers cost more memory than they
        saved."""
        bl = getattr(self.node.replication, "backlog", None)
        if bl is None:
            return
        if self._backlog_max is None:
            self._backlog_max = int(bl.max_bytes)
        own = self._backlog_max
        bl.max_bytes = min(own, max(BACKLOG_MIN, self.maxmemory // BACKLOG_SHARE)) if self.maxmemory else own

    @property
    def lru(self) -> bool:
        return self.policy.endswith("-lru")

    @property
    def lfu(self) -> bool:
        return self.policy.endswith("-lfu")

    # ---- before every command (maxmemory set) --------------------------------------------
    def before(self, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
        node = self.node
        if self._pending is not None:
            self._settle()
        pos: list[int] | None = None
        if (self.lru or self.lfu) and cmd.fullname not in _NO_TOUCH:
            pos = _key_positions(cmd, argv)
            self.touch_keys(client.db, pos, argv)
        if cmd.write:
            self._note_write(client.db, cmd, argv, pos)
        if node.busy_error is not None:
            return None  # a busy script's group is open: nothing is evicted meanwhile
        r = self.perform()
        self.oom = r == FAIL
        if r == FAIL:
            # A script's own flags decide for EVAL/FCALL (Redis getCommandFlags); EXEC is
            # refused when it queued a denyoom command.
            if cmd.name == "exec":
                denyoom = any("denyoom" in command_flags(node, c, a) for c, a in _queued(node, client))
            else:
                denyoom = "denyoom" in command_flags(node, cmd, argv)
            if denyoom or (client.in_multi and cmd.name not in _MULTI_OOM_OK):
                return OOM
        return None

    def _note_write(self, dbi: int, cmd: Command, argv: list[bytes], pos: list[int] | None) -> None:
        """What a write is about to add. A command with keys: the size of each of its
        keys now, settled against their size after it ran (`_settle`, at the next
        command or cron tick), so a SETBIT at a far offset or a SUNIONSTORE counts what
        it made, and a DEL what it freed, before the next sample. Others (EXEC, scripts,
        keyless writes): their arguments."""
        if pos is None:
            pos = _key_positions(cmd, argv)
        if not pos or cmd.name in ("exec", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"):
            self.meter.note_write(sum(map(len, argv)) + PER_ARG * len(argv))
            return
        db = self.node.keyspace.dbs[dbi]
        keys = {argv[p] for p in pos if 0 < p < len(argv)}
        self._pending = (dbi, [(k, _size(db, k)) for k in keys])

    def _settle(self) -> None:
        pending = self._pending
        self._pending = None
        if pending is None:
            return
        dbi, before = pending
        db = self.node.keyspace.dbs[dbi]
        delta = 0
        for key, size in before:
            delta += _size(db, key) - size
        if delta > 0:
            self.meter.note_write(delta)
        elif delta < 0:
            self.meter.note_freed(-delta)

    def touch_keys(self, dbi: int, pos: list[int], argv: list[bytes]) -> None:
        data = self.node.keyspace.dbs[dbi].data
        for p in pos:
            if 0 < p < len(argv) and argv[p] in data:
                self.touch(dbi, argv[p])

    def touch(self, dbi: int, key: bytes) -> None:
        """A key was accessed: its LRU time, or an LFU counter bump (Redis updateLFU)."""
        acc = self.access.setdefault(dbi, {})
        if self.lfu:
            counter = self.lfu_counter(dbi, key)
            if counter < 255:
                base = max(counter - LFU_INIT_VAL, 0)
                factor = _int(self.node.runtime.get("lfu-log-factor", "10"))
                if random.random() < 1.0 / (base * factor + 1):
                    counter += 1
            acc[key] = (_minutes() << 8) | counter
        else:
            acc[key] = int(time.time())

    # ---- what LRU/LFU/TTL see --------------------------------------------------------------
    def idle_ms(self, dbi: int, key: bytes, e: Any) -> int:
        now = int(time.time() * 1000)
        stamp = entry_stamp(e)[0]
        last = hlc_ms(stamp)
        a = self.access.get(dbi, {}).get(key)
        if a is not None and not self.lfu:
            # RESTORE ... IDLETIME dated the access before the write that made the key.
            last = a * 1000 if self.restored_idle.get((dbi, key)) == stamp else max(last, a * 1000)
        return max(now - last, 0)

    def restored(self, dbi: int, key: bytes, idle_s: int, freq: int) -> None:
        """RESTORE's IDLETIME / FREQ (objectSetLRUOrLFU): under an LFU policy the counter,
        else the last access `idle_s` seconds ago. This node's record only, like every
        access record here."""
        acc = self.access.setdefault(dbi, {})
        if self.lfu:
            if freq >= 0:
                acc[key] = (_minutes() << 8) | freq
        elif idle_s >= 0:
            e = self.node.keyspace.dbs[dbi].data.get(key)
            if e is not None:
                acc[key] = int(time.time()) - idle_s
                if len(self.restored_idle) > 10000:
                    self.restored_idle.clear()  # only a hint: never let it grow unbounded
                self.restored_idle[(dbi, key)] = entry_stamp(e)[0]

    def lfu_counter(self, dbi: int, key: bytes) -> int:
        """LFUDecrAndReturn: the counter decayed by one per lfu-decay-time minutes."""
        a = self.access.get(dbi, {}).get(key)
        if a is None or a >> 8 == 0:
            e = self.node.keyspace.dbs[dbi].data.get(key)
            since = hlc_ms(entry_stamp(e)[0]) // 60000 if e is not None else _minutes()
            ldt, counter = since & 0xFFFF, LFU_INIT_VAL
        else:
            ldt, counter = (a >> 8) & 0xFFFF, a & 0xFF
        decay = _int(self.node.runtime.get("lfu-decay-time", "1"))
        if decay:
            now = _minutes() & 0xFFFF
            elapsed = now - ldt if now >= ldt else 65535 - ldt + now
            counter = max(counter - elapsed // decay, 0)
        return counter

    # ---- eviction --------------------------------------------------------------------------
    def perform(self) -> int:
        """performEvictions: OK (under the limit), RUNNING (evicted within the time
        budget, more next turn), FAIL (over the limit and nothing left to evict)."""
        if not self.maxmemory:
            return OK
        used = self.meter.used()
        if used <= self.maxmemory:
            return OK
        node = self.node
        if self.policy == "noeviction" or node.pause_writes:
            return FAIL if self.policy == "noeviction" else OK
        if node.persistence_error is not None or node.sync_error is not None:
            return FAIL  # an eviction is a write: it cannot be logged or is not allowed yet
        tofree = used - self.maxmemory
        t0 = time.perf_counter()
        budget = self._budget_s()
        freed = 0
        victims: list[tuple[int, bytes]] = []
        result = OK
        while freed < tofree:
            v = self._pick()
            if v is None:
                result = FAIL  # nothing left to evict (Redis: cant_free)
                break
            dbi, key = v
            e = node.keyspace.dbs[dbi].data.get(key)
            if e is None:
                continue
            freed += estimate(key, e)
            # Deleted at once (the op closes after the round), so it is never picked twice.
            node.emit((codes.DEL, dbi, key))
            victims.append(v)
            if len(victims) % 16 == 0 and time.perf_counter() - t0 > budget:
                result = RUNNING  # the time budget is spent: go on next loop turn
                self._continue_soon()
                break
        if victims:
            self._evicted(victims, freed, t0)
        if result == FAIL and time.monotonic() - self.meter.at > RESAMPLE_BEFORE_OOM_S:
            # Between samples used memory is an estimate (memory.py): it adds what was
            # written, but not what other replicas' deletes (their evictions) freed here.
            # Before a write is refused for want of memory, measure again, band or not.
            if self.meter.sample(exact=True) <= self.maxmemory:
                return OK
        return result

    def _budget_s(self) -> float:
        """evictionTimeLimitUs: 50 µs per tenacity step up to 10 (500 µs at the default),
        then growing 15% per step; unlimited at 100. Four times Redis's, for Python."""
        t = self.tenacity
        if t >= 100:
            return 1e9
        us = 50.0 * t if t <= 10 else 500.0 * 1.15 ** (t - 10)
        return 4 * us / 1e6

    def _continue_soon(self) -> None:
        """Redis's evictionTimeProc: keep evicting on the next loop turns, while over."""
        if self.evictions_running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.evictions_running = True

        def again() -> None:
            self.evictions_running = False
            if self.node.busy_error is None and self.perform() == RUNNING:
                self._continue_soon()

        loop.call_soon(again)

    def _evicted(self, victims: list[tuple[int, bytes]], freed: int, t0: float) -> None:
        node = self.node
        node.close_group()  # one replicated op: the keys this round evicted
        self.meter.note_freed(freed)
        self.evicted_keys += len(victims)
        tracking = node.tracking
        for dbi, key in victims:
            acc = self.access.get(dbi)
            if acc is not None:
                acc.pop(key, None)
            notify_event(node, EVICTED, b"evicted", key, dbi)
            if tracking is not None:
                tracking.on_expired(key)
        from .latency import add_sample_if_needed

        add_sample_if_needed(node, "eviction-cycle", int((time.perf_counter() - t0) * 1000))

    def _pick(self) -> tuple[int, bytes] | None:
        policy = self.policy
        dbs = self.node.keyspace.dbs
        volatile = policy.startswith("volatile-")
        if policy.endswith("-random"):
            for i in range(len(dbs)):
                dbi = (self._next_db + i) % len(dbs)
                key = self._random_key(dbs[dbi], volatile)
                if key is not None:
                    self._next_db = dbi + 1
                    return dbi, key
            return None
        # LRU / LFU / TTL: fill the pool from every database, take the best candidate.
        for fresh in (False, True):
            for db in dbs:
                if db.data and (not volatile or db.expires):
                    self._populate(db, volatile, fresh)
            while self._pool:
                _score, dbi, key = self._pool.pop()
                db = dbs[dbi]
                if key in db.data and (not volatile or _has_ttl(db, key)):
                    return dbi, key
        return None

    def _random_key(self, db: Db, volatile: bool) -> bytes | None:
        if not (db.expires if volatile else db.data):
            return None
        for attempt in range(64):
            key = self._sample_one(db, volatile, fresh=attempt == 32)
            if key is None:
                return None
            if key in db.data and (not volatile or _has_ttl(db, key)):
                return key
        return None

    def _sample_one(self, db: Db, volatile: bool, fresh: bool = False) -> bytes | None:
        """A random key from a snapshot of the database's keys, renewed once it is stale:
        after as many picks as a quarter of its size, when its size and the database's
        differ by half, or when asked (`fresh`: the last picks found only gone keys)."""
        sk = (db.index, volatile)
        snap = self._snap.get(sk)
        source = db.expires if volatile else db.data
        picks = self._snap_picks.get(sk, 0)
        n = len(source)
        if fresh or snap is None or not snap or picks > len(snap) // 4 + 16 \
                or len(snap) > 2 * n + 16 or n > 2 * len(snap) + 16:
            snap = self._snap[sk] = list(source)
            picks = 0
        self._snap_picks[sk] = picks + 1
        return random.choice(snap) if snap else None

    def _populate(self, db: Db, volatile: bool, fresh: bool = False) -> None:
        """evictionPoolPopulate: `samples` keys scored (higher is evicted first)."""
        pool = self._pool
        dbi = db.index
        for i in range(self.samples):
            key = self._sample_one(db, volatile, fresh and i == 0)
            if key is None:
                return
            e = db.data.get(key)
            if e is None or (volatile and not _has_ttl(db, key)):
                continue
            if self.lru:
                score = float(self.idle_ms(dbi, key, e))
            elif self.lfu:
                score = float(255 - self.lfu_counter(dbi, key))
            else:  # volatile-ttl: the sooner it expires, the better
                reg = db.expires.get(key)
                score = -float(reg.deadline) if reg is not None and reg.deadline is not None else -1e30
            if any(p[1] == dbi and p[2] == key for p in pool):
                continue
            pool.append((score, dbi, key))
        pool.sort()
        del pool[:-POOL_SIZE]

    # ---- background ------------------------------------------------------------------------
    def cron(self) -> None:
        """Sample the allocators (while maxmemory is set: INFO samples on demand
        otherwise); evict if replicated writes took us over the limit; forget access
        records of keys that are gone."""
        if self.maxmemory:
            if self._pending is not None and self.node._group is None:
                self._settle()
            self.meter.sample()
            if self._backlog_max is None:
                self._cap_backlog()  # replication attaches after the node (and its config) exists
            if self.node.busy_error is None and self.node._group is None:
                self.oom = self.perform() == FAIL
        dbs = self.node.keyspace.dbs
        for dbi, acc in list(self.access.items()):
            data = dbs[dbi].data
            if len(acc) > len(data) + 1024:
                self.access[dbi] = {k: v for k, v in acc.items() if k in data}

    def _on_remote(self, op: Op) -> None:
        n = 0
        for eff in op.effects:
            n += PER_ARG
            for a in eff[2:]:
                if a.__class__ is bytes:
                    n += len(a) + PER_ARG
        self.meter.note_write(n)


def estimate(key: bytes, e: Any) -> int:
    """Bytes a key is likely to free: its value's objects (sampled, as MEMORY USAGE),
    the key, and its dict slot."""
    if type(e) is tuple:  # as SET key value counted it when it was written
        return len(e[0]) + len(key) + 3 + 3 * PER_ARG
    return deep_size(e, 5) + sys.getsizeof(key) + PER_ARG


def _key_positions(cmd: Command, argv: list[bytes]) -> list[int]:
    try:
        return list(cmd.key_positions(argv))
    except Exception:  # noqa: BLE001 - a malformed request finds no keys; it fails later
        return []


def _size(db: Db, key: bytes) -> int:
    e = db.data.get(key)
    return 0 if e is None else estimate(key, e)


def _not_counted(node: Node) -> int:
    """freeMemoryGetNotCountedMemory: what the replication backlog holds."""
    repl = node.replication
    if repl is None:
        return 0
    return int(getattr(getattr(repl, "backlog", None), "bytes", 0))


def _queued(node: Node, client: Client) -> list[tuple[Command, list[bytes]]]:
    out = []
    for argv in client.multi_queue:
        cmd = node.commands.get(argv[0].lower())
        if cmd is not None and cmd.subcommands and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].lower())
        if cmd is not None:
            out.append((cmd, argv))
    return out


def _has_ttl(db: Db, key: bytes) -> bool:
    reg = db.expires.get(key)
    return reg is not None and reg.deadline is not None


def _minutes() -> int:
    return int(time.time()) // 60


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def evictor_of(node: Node) -> Evictor:
    ev: Any = getattr(node, "maxmem", None)
    if ev is None:
        ev = Evictor(node)
        node.maxmem = ev  # type: ignore[attr-defined]
        node.cron_hooks.append(ev.cron)
        ev.configure()
    return ev  # type: ignore[no-any-return]


def attach(node: Node) -> None:
    evictor_of(node)


def _reconfigure(node: Node, value: str) -> None:
    evictor_of(node).configure()


for _name in ("maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity"):
    register_config_hook(_name, _reconfigure)


def _stats(node: Node) -> list[tuple[str, Any]]:
    return [("evicted_keys", evictor_of(node).evicted_keys)]


def _memory(node: Node) -> list[tuple[str, Any]]:
    """INFO memory in Redis 7.0's order, from this node's measure (crdtredis/memory.py);
    jemalloc's allocator_* and the Lua VM fields are left out (nothing to measure them by)."""
    from ..info import bytes_to_human, memory_section

    ev = evictor_of(node)
    m = ev.meter
    # Nearly as exact as Redis's INFO: a sample costs ~0.6 ms, so a figure up to 0.1 s old
    # is reused while the data has not changed since INFO last sampled, and up to 10 ms old
    # when it has (without maxmemory nothing estimates what writes add or free between
    # samples: a FLUSHALL would not show). INFO polled in a loop then samples at most 100
    # times a second, ~6% of a core.
    dirty = node.keyspace.dirty
    age = time.monotonic() - m.at
    if age > 0.1 or (dirty != ev.info_dirty and age > 0.01):
        m.sample()
        ev.info_dirty = dirty
    used = m.used()
    rss = m.rss
    backlog = _not_counted(node)
    nc = 0 if ev.maxmemory else backlog
    overhead = m.startup + backlog
    dataset = max(used - overhead, 0)
    base = dict(memory_section(node))
    return [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", m.peak),
        ("used_memory_peak_human", bytes_to_human(m.peak)),
        ("used_memory_peak_perc", f"{100.0 * used / m.peak if m.peak else 100.0:.2f}%"),
        ("used_memory_overhead", overhead),
        ("used_memory_startup", m.startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{100.0 * dataset / max(used - m.startup, 1):.2f}%"),
        ("total_system_memory", base["total_system_memory"]),
        ("total_system_memory_human", base["total_system_memory_human"]),
        ("maxmemory", ev.maxmemory),
        ("maxmemory_human", bytes_to_human(ev.maxmemory)),
        ("maxmemory_policy", node.runtime.get("maxmemory-policy", "noeviction")),
        ("mem_fragmentation_ratio", f"{rss / used if used else 1.0:.2f}"),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", nc),
        ("mem_replication_backlog", backlog),
        ("mem_allocator", base["mem_allocator"]),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


register_info_provider("stats", _stats)
register_info_section("memory", "Memory", _memory, after="clients")
