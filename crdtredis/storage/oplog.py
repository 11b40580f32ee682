"""The op log writer: group commit, fsync policy, rotation, compaction, retention.

Every op (local or replicated) is queued as it is applied; the queue is encoded in one
pass and written as ONE framed record (an `OpBatch` of the ops, one crc) with one write()
per read batch or loop turn (group commit), before any reply of that batch leaves. A record torn by
a crash therefore only ever holds ops nobody was told about. fsync follows appendfsync
like Redis's AOF: `always` holds the replies of a read batch until the fsync covering its
ops is done, `everysec` fsyncs from a worker thread once a second, `no` leaves it to the OS.

Compaction forks (as Redis's BGSAVE does): the child writes a base snapshot of the
copy-on-write keyspace while the parent keeps serving; the parent then switches the
manifest to the new base and retires the segments the base covers, except those a peer has
not acked yet (`retention`), so peers can still pull from the log.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..op import Op
from ..wire.codec import OpEncoder
from .commit import GroupCommit
from .framing import SEG_MAGIC, frame
from .manifest import Manifest, SegmentInfo, save_manifest
from .snapshot import write_base_file

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.storage")

# OpBatch.version = 1: every record payload starts with its format version.
_RECORD_HEAD = b"\x08\x01"
# In a cluster under `everysec`, the least time from one fsync's start to the next's while
# writes keep coming (OpLog._sync_behind): durable acks lag the writes by about this much.
# 50 ms, not 10: 20 fsyncs a second instead of 100 took ~15% off an origin's CPU per HSET
# with 2 peers (bench/RESULTS.md, 2026-12-07); only GC and expiry drops wait on these acks.
CLUSTER_FSYNC_GAP = 0.05


def _all_acked(end_vv: dict[str, int] | None) -> bool:
    return True


def _merge(into: dict[str, int], src: dict[str, int]) -> None:
    for k, v in src.items():
        if into.get(k, 0) < v:
            into[k] = v


class OpLog:
    def __init__(self, node: Node, data_dir: str, manifest: Manifest) -> None:
        cfg = node.config
        self.node = node
        self.dir = data_dir
        self.manifest = manifest
        self.appendfsync: str = cfg.appendfsync
        self.max_segment_size: int = cfg.max_segment_size
        self.compaction_threshold: int = cfg.compaction_threshold
        self.encoder = OpEncoder()
        # Ops applied but not yet written. Encoded at flush, all in one call: per op, the
        # encoder's loop costs a fraction of a call chain per op (DESIGN §7).
        self._pending: list[Op] = []
        # Runs of `_pending` that arrived encoded (append_encoded): (start, end, bytes).
        self._raw: list[tuple[int, int, bytes]] = []
        # Resolved by the next flush: the replies of the batches whose ops it writes.
        self._commit: GroupCommit | None = None
        self._unwritten = b""  # framed bytes a failed write() left behind
        self._flush_scheduled = False
        # Writing read batches in this event-loop turn, and whether the last turn had at
        # most one (batch_hook: a lone writer's batch is written at once).
        self._turn_batches = 0
        self._lone_turn = True
        self._fd = -1
        self.seg_name = ""
        self.seg_size = 0
        self.written = 0  # bytes written to the current segment file
        self.synced = 0  # bytes of the current segment known to be on disk
        self._sync_waiters: list[asyncio.Future[None]] = []
        self._fsync_running = False
        self._fsync_started = 0.0  # monotonic time the last fsync started
        self._fsync_timer: asyncio.TimerHandle | None = None  # a paced fsync (_sync_behind)
        self._tasks: list[asyncio.Task[Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        # Replication installs the real rule: may a segment whose last ops are `end_vv` be
        # deleted, i.e. has every (not forgotten) peer acked it?
        self.retention: Callable[[dict[str, int] | None], bool] = _all_acked
        self.compacting = False
        # BGREWRITEAOF (or BGSAVE SCHEDULE) during a compaction: one more once it ends, as
        # Redis runs a scheduled rewrite after the child it waited for (the running one
        # covers the log only up to where it began).
        self.compact_scheduled = False
        self.last_compaction: dict[str, Any] = {}
        self._stopped = False  # stop() ran: nothing new starts
        # Why the log cannot take writes now (a failed write() or fsync): write commands
        # are refused with MISCONF meanwhile (Node.persistence_error), and one retry timer
        # tries again until it works. A failed rotation is not one: the log keeps using the
        # segment it has, which the MANIFEST lists, and tries again later.
        self.write_error: str | None = None
        self.sync_error: str | None = None
        self.rotate_error: str | None = None
        self._retry_scheduled = False
        self._next_rotate = 0.0
        self.ops_logged = 0
        self.last_fsync = 0.0
        # Called with (ops, their encoded records) for every record written: replication
        # ships these bytes to peers as they are (encode once; replication/backlog.py).
        # None instead of bytes when an op could not be encoded (then it is not logged).
        self.record_listeners: list[Callable[[list[Op], memoryview | None], None]] = []
        # What the log holds, as vectors (seq, HLC per origin): of ops written to the file,
        # of ops known to be on disk, and of ops queued in `_unwritten`. Peers count only
        # durable ops as acked (replication/membership.py): a crash never takes back an ack.
        self.written_vv: dict[str, int] = {}
        self.written_vh: dict[str, int] = {}
        self.synced_vv: dict[str, int] = {}
        self.synced_vh: dict[str, int] = {}
        self._pend_vv: dict[str, int] = {}
        self._pend_vh: dict[str, int] = {}

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Everything recovered was read back from the files.
        self.mark_durable(self.node.keyspace.vv, self.node.keyspace.vh)
        self._open_new_segment()
        self.node.op_listeners.append(self.append)
        self.node.remote_op_listeners.append(self.append)
        self.node.batch_hooks.append(self.batch_hook)
        if self.appendfsync == "everysec":
            self._tasks.append(asyncio.create_task(self._everysec()))

    async def stop(self) -> None:
        self._stopped = True
        for t in self._tasks:
            t.cancel()
        if self._fsync_timer is not None:
            self._fsync_timer.cancel()
            self._fsync_timer = None
        self.flush()
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            self.synced_vv, self.synced_vh = dict(self.written_vv), dict(self.written_vh)
        self.manifest.clean = True
        save_manifest(self.dir, self.manifest)
        log.info("op log closed cleanly (%s, %d bytes)", self.seg_name, self.seg_size)

    # ---- appending -------------------------------------------------------------------
    def append(self, op: Op) -> None:
        self._pending.append(op)
        if not self._flush_scheduled and self.loop is not None:
            self._flush_scheduled = True
            self.loop.call_soon(self._end_turn)

    def append_encoded(self, ops: list[Op], raw: bytes) -> None:
        """Ops received from a peer with their bytes (`ops` fields of an OpBatch, deps
        elided only among themselves: replication/fastin.py): written as they are instead
        of encoded again. The ops still count, and still reach record_listeners."""
        start = len(self._pending)
        self._pending += ops
        self._raw.append((start, len(self._pending), raw))
        if not self._flush_scheduled and self.loop is not None:
            self._flush_scheduled = True
            self.loop.call_soon(self._end_turn)

    def _end_turn(self) -> None:
        """Scheduled by the turn's first append: runs once the turn's read batches have
        all run (call_soon callbacks run after the I/O callbacks of the turn)."""
        self._flush_scheduled = False
        self._lone_turn = self._turn_batches <= 1
        self._turn_batches = 0
        self.flush()

    def flush(self) -> None:
        """Write the queued ops as one record, rotate when full, then release the replies
        that waited for this write (see batch_hook)."""
        commit, self._commit = self._commit, None
        try:
            self._write_pending()
        except BaseException as e:
            if commit is not None:
                commit.resolve(e)  # not durable: those replies must not go out
            raise
        if commit is not None:
            # Also after a failed write(), like Redis: the bytes are kept and retried, and
            # write commands are refused until they are written (persistence_error).
            commit.resolve()

    def _write_pending(self) -> None:
        pending = self._pending
        if pending:
            self._pending = []
            raw, self._raw = self._raw, []
            self.ops_logged += len(pending)
            if self.node._group is None:
                # Every applied op is in this write (or an earlier one): the keyspace's
                # vectors describe it, at one copy per write instead of work per op.
                ks = self.node.keyspace
                self._pend_vv, self._pend_vh = dict(ks.vv), dict(ks.vh)
            else:  # an op still open (a running script): only what is queued
                pv, ph = self._pend_vv, self._pend_vh
                for op in pending:
                    n = len(op.effects) - 1
                    pv[op.origin] = op.seq + n
                    ph[op.origin] = op.hlc + n
            buf = [_RECORD_HEAD]
            # Deps are elided only within a record, so each record's ops decode on their
            # own: the same bytes are what peers receive (record_listeners).
            self.encoder.reset_deps()
            whole = True
            try:
                if raw:
                    self._encode_around(pending, raw, buf)
                else:
                    self.encoder.encode_ops(pending, buf)  # as field 2 (repeated Op) of an OpBatch
            except Exception:
                buf = self._encode_one_by_one(pending)
                whole = False
            payload = b"".join(buf)
            self._unwritten += frame(payload)
            for listener in self.record_listeners:
                listener(pending, memoryview(payload)[len(_RECORD_HEAD):] if whole else None)
        data = self._unwritten
        if not data:
            return
        n = 0
        try:
            while n < len(data):
                n += os.write(self._fd, data[n:] if n else data)
        except OSError as e:
            # Keep the unwritten bytes and retry; write commands are refused meanwhile.
            if self.write_error is None:
                log.error("cannot write the op log %s: %s", self.seg_name, e)
            self.write_error = str(e.strerror or e)
            self._unwritten = data[n:]
            self.written += n
            self.seg_size += n
            self._set_error()
            return
        if self.write_error is not None:
            log.warning("the op log is writable again")
            self.write_error = None
            self._set_error()
        self._unwritten = b""
        self.written += len(data)
        self.seg_size += len(data)
        if self._pend_vv:
            _merge(self.written_vv, self._pend_vv)
            _merge(self.written_vh, self._pend_vh)
            self._pend_vv, self._pend_vh = {}, {}
        if self.appendfsync == "always":
            self._start_fsync()
        if self.seg_size >= self.max_segment_size and time.monotonic() >= self._next_rotate:
            self.rotate()

    def _set_error(self) -> None:
        """Publish the current write/fsync error (MISCONF) and keep one retry pending."""
        err = self.write_error or self.sync_error
        self.node.persistence_error = err
        if err is not None and not self._retry_scheduled and self.loop is not None:
            self._retry_scheduled = True
            self.loop.call_later(0.1, self._retry)

    def _retry(self) -> None:
        self._retry_scheduled = False
        if self._fd < 0:
            return
        self.flush()
        if self.write_error is None and self.sync_error is not None:
            self._start_fsync()
        self._set_error()

    def _encode_around(self, pending: list[Op], raw: list[tuple[int, int, bytes]], buf: list[bytes]) -> None:
        """Encode the ops between the runs that arrived encoded, and take those as they are.
        A run's first op of each origin carries its deps, and its later ones elide them
        against ops inside the run only: the encoder's context must not reach across it."""
        enc = self.encoder
        pos = 0
        for start, end, blob in raw:
            if pos < start:
                enc.encode_ops(pending[pos:start], buf)
            buf.append(blob)
            enc.reset_deps()
            pos = end
        if pos < len(pending):
            enc.encode_ops(pending[pos:], buf)

    def _encode_one_by_one(self, ops: list[Op]) -> list[bytes]:
        """An op the encoder rejects is a bug in the command that made it; it must not
        keep the others out of the log. Encoding happened inside the command before the
        log encoded at flush time, so this keeps that failure confined to its op."""
        # A failed op may have advanced the deps context: start it afresh (full deps).
        self.encoder.reset_deps()
        buf = [_RECORD_HEAD]
        for op in ops:
            try:
                self.encoder.encode_ops((op,), buf)
            except Exception:
                log.exception("cannot encode %r: not logged", op)
                self.encoder.reset_deps()
        return buf

    def batch_hook(self) -> GroupCommit | asyncio.Future[None] | None:
        """Called once per read batch, before its replies are written. Like Redis's AOF,
        the log is written before any reply leaves, so a crash of the process alone never
        loses an acknowledged write; with `always` the replies also wait for the fsync.

        Otherwise the write is shared, as Redis writes its AOF once per event-loop turn:
        every batch that queued ops gets the same future, which the one flush of this turn
        (scheduled by `append`) resolves. A write() per connection batch cost ~1 µs of CPU
        per SET at `-c 50 -P 16` (bench/RESULTS.md, "Hot path").

        A writer alone in its turn gains nothing from waiting for the turn's end: when the
        last turn had one writing batch at most (a single client, or clients taking turns),
        the first writing batch of this one is written at once and its replies go out now,
        a loop iteration and a future sooner (unpipelined write latency). A second writing
        batch in the turn waits for the shared write, and so do the next turn's."""
        loop = self.loop
        if self.appendfsync != "always" and loop is not None:
            if not self._pending:
                return None  # nothing of this batch is waiting to be written
            n = self._turn_batches = self._turn_batches + 1
            if n == 1 and self._lone_turn and self._commit is None:
                self.flush()
                return None
            if self._commit is None:
                self._commit = GroupCommit(loop)
            return self._commit
        if self._pending or self._unwritten:
            self.flush()
        if self.appendfsync == "always" and (self._unwritten or self.write_error is not None):
            # Not on disk: these replies must not say OK (the client's connection is
            # closed instead, like a server that died before answering).
            if loop is not None:
                fail: asyncio.Future[None] = loop.create_future()
                fail.set_exception(OSError(f"op log write failed: {self.write_error}"))
                return fail
        if self.appendfsync != "always" or self.synced >= self.written:
            return None
        assert loop is not None
        fut: asyncio.Future[None] = loop.create_future()
        self._sync_waiters.append(fut)
        self._start_fsync()
        return fut

    def _start_fsync(self) -> None:
        timer, self._fsync_timer = self._fsync_timer, None
        if timer is not None:
            timer.cancel()  # started before the paced one came due (a no-op if this is it)
        # fd < 0: stopped (stop() fsyncs itself); an fsync finishing after it must not restart.
        if self._fsync_running or self.loop is None or self._fd < 0:
            return
        self._fsync_running = True
        self._fsync_started = time.monotonic()
        target = self.written
        tvv, tvh = dict(self.written_vv), dict(self.written_vh)
        fd = self._fd
        seg = self.seg_name  # `target` is an offset in this segment only
        waiters, self._sync_waiters = self._sync_waiters, []

        def done(f: asyncio.Future[Any]) -> None:
            self._fsync_running = False
            exc = f.exception()
            if exc is not None:
                if self.sync_error is None:
                    log.error("fsync of the op log failed: %s", exc)
                self.sync_error = f"fsync: {getattr(exc, 'strerror', None) or exc}"
                # Not durable: waiting replies must not say OK; writes are refused until an
                # fsync works again (the retry timer asks for one).
                for w in waiters + self._sync_waiters:
                    if not w.done():
                        w.set_exception(OSError(self.sync_error))
                self._sync_waiters = []
                self._set_error()
                return
            if seg == self.seg_name:
                self.synced = max(self.synced, target)
            # Else the segment was rotated while this ran: rotation fsynced it whole and
            # counted all of it synced. Its offset, taken into the new segment, read as
            # "synced" past what the new one had written: no fsync started again until the
            # new segment outgrew it, the durable vectors acks carry stood still, and
            # with them causal stability (GC, expiry) for as long (seconds, under a
            # benchmark's load), and `always` answered OK before its fsync.
            self.last_fsync = time.time()
            _merge(self.synced_vv, tvv)
            _merge(self.synced_vh, tvh)
            if self.sync_error is not None:
                log.warning("fsync of the op log works again")
                self.sync_error = None
                self._set_error()
            for w in waiters:
                if not w.done():
                    w.set_result(None)
            if self._sync_waiters or (self.synced < self.written and self.appendfsync == "always"):
                self._start_fsync()
            elif self.synced < self.written and self._sync_behind() and self._fsync_timer is None:
                # Paced: at most one fsync per CLUSTER_FSYNC_GAP (_sync_behind).
                wait = self._fsync_started + CLUSTER_FSYNC_GAP - time.monotonic()
                if wait <= 0:
                    self._start_fsync()
                elif self.loop is not None:
                    self._fsync_timer = self.loop.call_later(wait, self._start_fsync)

        self.loop.run_in_executor(None, _fsync_fd, fd).add_done_callback(done)

    def _sync_behind(self) -> bool:
        """Whether an fsync that finished with bytes written meanwhile starts another soon
        (`always` starts it at once: a batch may be waiting for it). In a cluster, the
        durable vectors that acks carry (causal stability: GC, expiry) follow the writes,
        paced to one fsync per CLUSTER_FSYNC_GAP: back to back, a pipelined write load took
        an fsync every few hundred writes, each a worker-thread wake-up, GIL hand-overs and
        the syscall, ~0.5-0.9 µs of CPU per write (issue 12). A replica alone in its
        cluster (`Keyspace.solo`, durable state: a peer joining ends it) under `everysec`
        fsyncs once a second, as Redis does."""
        return self.appendfsync == "always" or not self.node.keyspace.solo

    async def _everysec(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.synced < self.written and not self._fsync_running:
                self._start_fsync()

    # ---- segments ----------------------------------------------------------------------
    def _open_new_segment(self) -> None:
        name = self.manifest.alloc("seg")
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        os.write(fd, SEG_MAGIC)
        os.fsync(fd)
        self._fd = fd
        self.seg_name = name
        self.seg_size = len(SEG_MAGIC)
        self.written = self.synced = self.seg_size
        # Each segment is decodable on its own: deps are never elided across segments.
        self.encoder.reset_deps()
        self.manifest.segments.append(SegmentInfo(name))
        self.manifest.clean = False
        save_manifest(self.dir, self.manifest)

    def rotate(self) -> bool:
        """Switch to a new segment, but only once it exists on disk and the MANIFEST lists
        it: until then the current segment (which the MANIFEST lists) keeps taking writes,
        so a failed rotation (disk full, read-only dir, no file descriptor left) loses
        nothing and never leaves a stale descriptor behind. True when it switched."""
        self.flush()
        if self._fd < 0 or self._unwritten or self.write_error is not None:
            return False  # the current segment must hold everything written so far first
        try:
            os.fsync(self._fd)  # the segment being closed is complete on disk
        except OSError as e:
            self.sync_error = f"fsync: {e.strerror or e}"
            self._set_error()
            return False
        name = self.manifest.alloc("seg")
        path = os.path.join(self.dir, name)
        fd = -1
        old = next((x for x in self.manifest.segments if x.name == self.seg_name), None)
        old_end = old.end_vv if old is not None else None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            os.write(fd, SEG_MAGIC)
            os.fsync(fd)
            if old is not None:
                old.end_vv = dict(self.written_vv)
            self.manifest.segments.append(SegmentInfo(name))
            self.manifest.clean = False
            try:
                save_manifest(self.dir, self.manifest)
            except OSError:
                self.manifest.segments.pop()
                if old is not None:
                    old.end_vv = old_end
                raise
        except OSError as e:
            if fd >= 0:
                os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            if self.rotate_error is None:
                log.error("cannot start a new op log segment (%s); %s keeps taking writes", e, self.seg_name)
            self.rotate_error = str(e.strerror or e)
            self._next_rotate = time.monotonic() + 1.0
            return False
        os.close(self._fd)
        _merge(self.synced_vv, self.written_vv)
        _merge(self.synced_vh, self.written_vh)
        self._fd = fd
        self.seg_name = name
        self.seg_size = len(SEG_MAGIC)
        self.written = self.synced = self.seg_size
        # Each segment is decodable on its own: deps are never elided across segments.
        self.encoder.reset_deps()
        if self.rotate_error is not None:
            log.warning("op log rotation works again (%s)", name)
            self.rotate_error = None
        if (
            not self.compacting
            and self.compaction_threshold
            and len(self.manifest.segments) > self.compaction_threshold
            and self.loop is not None
        ):
            self.start_compaction(self.loop)
        return True

    def start_compaction(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Compact in the background (BGSAVE, BGREWRITEAOF, the segment threshold); False
        when one runs already: `compact_scheduled` then asks for another after it. The
        task is kept (the loop holds tasks only weakly)."""
        if self.compacting:
            return False
        self.compacting = True  # from now: a BGREWRITEAOF before the task runs is scheduled
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(loop.create_task(self._compact()))
        return True

    # ---- compaction --------------------------------------------------------------------
    async def compact(self) -> bool:
        """BGSAVE / BGREWRITEAOF / threshold: snapshot in a forked child, then switch."""
        if self.compacting:
            return False
        self.compacting = True
        return await self._compact()

    async def _compact(self) -> bool:
        """compact() once `compacting` is set (by it or by start_compaction)."""
        try:
            t0 = time.time()
            covered, base_name, path = self._begin_snapshot()
            ok = await self._fork_write(self.node.keyspace, self.node.hlc.last, path)
            return self._finish_snapshot(ok, covered, base_name, path, t0)
        finally:
            self.compacting = False
            if self.compact_scheduled and self.loop is not None and not self._stopped:
                self.compact_scheduled = False
                self.start_compaction(self.loop)

    def save_sync(self) -> bool:
        """SAVE: the same snapshot, written by this process while it blocks (like Redis)."""
        if self.compacting:
            return False
        self.compacting = True
        try:
            t0 = time.time()
            covered, base_name, path = self._begin_snapshot()
            try:
                write_base_file(self.node.keyspace, self.node.hlc.last, path)
                ok = True
            except OSError as e:
                log.error("SAVE failed: %s", e)
                ok = False
            return self._finish_snapshot(ok, covered, base_name, path, t0)
        finally:
            self.compacting = False

    def _begin_snapshot(self) -> tuple[list[SegmentInfo], str, str]:
        # Rotate first: the base covers exactly the segments closed so far.
        self.rotate()
        covered = [s for s in self.manifest.segments if s.name != self.seg_name]
        base_name = self.manifest.alloc("base")
        return covered, base_name, os.path.join(self.dir, base_name)

    def _finish_snapshot(
        self, ok: bool, covered: list[SegmentInfo], base_name: str, path: str, t0: float
    ) -> bool:
        if not ok:
            log.error("snapshot %s failed", base_name)
            try:
                os.unlink(path)
            except OSError:
                pass
            return False
        m = self.manifest
        old_base = m.base
        retired = [s for s in covered if self.retention(s.end_vv)]
        retired_names = {s.name for s in retired}
        before = (m.base, m.segments, m.last_save, m.compactions)
        m.base = base_name
        m.segments = [s for s in m.segments if s.name not in retired_names]
        m.last_save = int(time.time())
        m.compactions += 1
        try:
            save_manifest(self.dir, m)
        except OSError as e:
            # The old MANIFEST still describes the files: keep using them.
            m.base, m.segments, m.last_save, m.compactions = before
            log.error("snapshot %s done but the MANIFEST could not be saved (%s); keeping the log", base_name, e)
            try:
                os.unlink(path)
            except OSError:
                pass
            return False
        for name in sorted(retired_names) + ([old_base] if old_base else []):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        self.node.last_save_time = self.manifest.last_save
        kept = len(covered) - len(retired)
        self.last_compaction = {
            "time": int(time.time()), "seconds": round(time.time() - t0, 3),
            "base": base_name, "base_bytes": os.path.getsize(path),
            "retired_segments": len(retired), "kept_for_peers": kept,
        }
        log.info("snapshot done in %.2fs: base %s, %d segments retired, %d kept for peers",
                 time.time() - t0, base_name, len(retired), kept)
        return True

    async def _fork_write(self, ks: Any, hlc: int, path: str) -> bool:
        pid = os.fork()
        if pid == 0:  # child: write the copy-on-write snapshot, never return to the loop
            code = 1
            try:
                write_base_file(ks, hlc, path)
                code = 0
            except BaseException:  # noqa: BLE001 - report through the exit status
                pass
            os._exit(code)
        loop = asyncio.get_running_loop()
        _pid, status = await loop.run_in_executor(None, os.waitpid, pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    def install_base(self, path: str) -> None:
        """A snapshot from a peer that covers everything we have becomes our base; every
        older segment is covered by it (peers that need those ops get a snapshot too)."""
        import shutil

        self.rotate()
        covered = [s for s in self.manifest.segments if s.name != self.seg_name]
        base_name = self.manifest.alloc("base")
        dest = os.path.join(self.dir, base_name)
        shutil.copyfile(path, dest + ".tmp")
        with open(dest + ".tmp", "rb") as f:
            os.fsync(f.fileno())
        os.replace(dest + ".tmp", dest)
        old_base = self.manifest.base
        self.manifest.base = base_name
        names = {s.name for s in covered}
        self.manifest.segments = [s for s in self.manifest.segments if s.name not in names]
        save_manifest(self.dir, self.manifest)
        for name in sorted(names) + ([old_base] if old_base else []):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass

    def mark_durable(self, vv: dict[str, int], vh: dict[str, int]) -> None:
        """Ops that are on disk by other means (recovery, an installed snapshot base)."""
        for d, src in ((self.written_vv, vv), (self.synced_vv, vv), (self.written_vh, vh), (self.synced_vh, vh)):
            _merge(d, src)

    def durable(self) -> tuple[dict[str, int], dict[str, int]]:
        """(seq vector, HLC vector) of the ops a crash cannot take away: fsynced ones
        under `always`/`everysec`; written ones under `no` (the OS decides when they reach
        the disk, as for Redis's AOF, so a power loss may lose some: documented)."""
        if self.appendfsync == "no":
            return self.written_vv, self.written_vh
        return self.synced_vv, self.synced_vh

    # ---- introspection -----------------------------------------------------------------
    def segment_sizes(self) -> list[tuple[str, int]]:
        out = []
        for s in self.manifest.segments:
            try:
                out.append((s.name, os.path.getsize(os.path.join(self.dir, s.name))))
            except OSError:
                out.append((s.name, -1))
        return out

    def info(self) -> dict[str, Any]:
        sizes = self.segment_sizes()
        base = self.manifest.base
        base_size = os.path.getsize(os.path.join(self.dir, base)) if base else 0
        return {
            "appendfsync": self.appendfsync,
            "segments": len(sizes),
            "segments_bytes": sum(s for _n, s in sizes if s > 0),
            "current_segment": self.seg_name,
            "current_segment_bytes": self.seg_size,
            # Framed bytes a failed write() left behind (queued ops are not encoded yet).
            "pending_bytes": len(self._unwritten),
            "unsynced_bytes": max(0, self.written - self.synced),
            "base": base or "",
            "base_bytes": base_size,
            "compacting": int(self.compacting),
            "compact_scheduled": int(self.compact_scheduled),
            "compactions": self.manifest.compactions,
            "last_compaction": self.last_compaction,
            "last_save": self.manifest.last_save,
            "ops_logged": self.ops_logged,
            "write_error": self.write_error or self.sync_error or "",
            "rotate_error": self.rotate_error or "",
        }


def _fsync_fd(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError as e:
        # The segment may have been rotated and closed meanwhile: rotation fsyncs itself.
        if e.errno != 9:  # EBADF
            raise
