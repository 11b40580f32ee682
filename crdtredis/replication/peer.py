"""One peer as seen from here: what it acked, its link state, and the loops that push our
log to it and pull from it (anti-entropy)."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from ..clock import hlc_ms
from ..wire import ops_pb2 as pb
from . import stream
from .backlog import TooOld
from .fastin import parse_push

if TYPE_CHECKING:
    from .service import Replication

log = logging.getLogger("crdtredis.replication")

# Seconds a configured peer may stay unreachable from the start before it is a warning.
UNREACHABLE_WARN_S = 30.0


class Peer:
    def __init__(self, url: str | None, replica_id: str = "") -> None:
        self.url = url.rstrip("/") if url else None  # None: a replica that only calls us
        self.replica_id = replica_id
        self.origin = ""
        self.state = "connecting" if url else "inbound"
        # What the peer has, as it last told us (push answers, pull requests, pushes).
        self.acked_vv: dict[str, int] | None = None
        self.acked_vh: dict[str, int] | None = None
        self.last_contact = 0.0
        self.retries = 0
        self.failures = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.ops_sent = 0
        self.batches_sent = 0  # ops_sent / batches_sent: how well pushes batch
        self.ops_received = 0
        self.last_error = ""
        self.cursor: int | None = None  # backlog position of the next op to consider
        self.wake = asyncio.Event()
        self.forgotten = False
        self.needs_snapshot = False
        self.snapshots = 0
        # Its cluster status as it last told us (cluster.py): "member", "solo", "joining".
        self.status = ""
        self.cluster_id = ""
        self.proposal = ""
        self.refused_until = 0.0  # monotonic time before which pushes are not retried
        # True while our push stream to it is open (stream.py): its pulls then get no ops
        # from us, the stream brings them.
        self.streaming = False
        self.http_push = False  # it has no stream route (an older version): POST pushes
        # Start-up is quiet (docs/operations): a peer that has never answered is probably
        # still starting, so its failures are logged at info until it has been unreachable
        # for UNREACHABLE_WARN_S, and at warning only once it had been up.
        self.ever_up = False
        self.first_failure = 0.0
        self.warned = False

    def ack(self, vv: dict[str, int], vh: dict[str, int], origin: str, replica_id: str) -> None:
        if replica_id:
            self.replica_id = replica_id
        if origin and origin != self.origin:
            if self.origin:
                # Another incarnation (a restart after a crash, a wiped data dir): what we
                # knew of the old one says nothing about this one, even if it is less.
                log.info("peer %s (%s) is now incarnation %s", self.url or "inbound", self.replica_id, origin)
                self.acked_vv = self.acked_vh = None
                self.cursor = None
            self.origin = origin
        if self.acked_vv is None:
            self.acked_vv, self.acked_vh = dict(vv), dict(vh)
        else:
            # Keep the pointwise max: answers to concurrent requests may arrive out of order.
            # A peer that lost data comes back as a new incarnation, so this never hides a loss.
            for k, v in vv.items():
                if self.acked_vv.get(k, 0) < v:
                    self.acked_vv[k] = v
            assert self.acked_vh is not None
            for k, v in vh.items():
                if self.acked_vh.get(k, 0) < v:
                    self.acked_vh[k] = v
        self.last_contact = time.time()

    @property
    def unreachable(self) -> bool:
        """Not reached yet, or down since a failure: our loops to it are backing off."""
        return self.state == "down" or self.state == "connecting"

    def lag(self, vv: dict[str, int], vh: dict[str, int]) -> tuple[int, int]:
        """(ops, ms) this peer is behind us, from its last ack."""
        if self.acked_vv is None or self.acked_vh is None:
            return sum(vv.values()), 0
        ops = sum(max(0, s - self.acked_vv.get(o, 0)) for o, s in vv.items())
        ms = 0
        for o, h in vh.items():
            a = self.acked_vh.get(o, 0)
            if a < h:
                ms = max(ms, hlc_ms(h) - hlc_ms(a) if a else 0)
        return ops, ms

    def info(self, vv: dict[str, int], vh: dict[str, int]) -> dict[str, Any]:
        ops, ms = self.lag(vv, vh)
        return {
            "url": self.url or "", "replica_id": self.replica_id, "origin": self.origin,
            "state": "forgotten" if self.forgotten else self.state,
            "acked_vv": dict(self.acked_vv or {}), "lag_ops": ops, "lag_ms": ms,
            "last_contact": round(self.last_contact, 3), "retries": self.retries,
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "ops_sent": self.ops_sent, "batches_sent": self.batches_sent, "ops_received": self.ops_received,
            "stream": "http" if self.http_push else ("up" if self.streaming else "down"),
            "snapshots": self.snapshots, "last_error": self.last_error,
        }


class PeerLink:
    """The loops for one configured peer URL."""

    def __init__(self, repl: Replication, peer: Peer) -> None:
        self.repl = repl
        self.peer = peer
        self.tasks: list[asyncio.Task[None]] = []
        # Set to pull at once (on reconnect) instead of at the next sync interval.
        self.pull_event = asyncio.Event()
        # Set when the peer answers again: a push loop backing off after a failure retries
        # at once (after a partition heals, the first loop to get through wakes the other).
        self.up_event = asyncio.Event()
        self._woken = 0.0  # when retry_now last woke the loops (monotonic)

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self._push_loop(), name=f"push {self.peer.url}"))
        self.tasks.append(asyncio.create_task(self._pull_loop(), name=f"pull {self.peer.url}"))

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass

    def _backoff(self) -> float:
        cfg = self.repl.config
        # Doubling from retry_interval, but a peer that is down is probed at least about
        # once per sync interval: a healed link is used again within about that long (a
        # 30 s cap made catch-up after a partition wait for the next probe, up to 45 s).
        base = min(cfg.retry_interval * (2 ** min(self.peer.retries, 6)),
                   max(cfg.sync_interval, cfg.retry_interval))
        if cfg.max_retries and self.peer.retries >= cfg.max_retries:
            # Past max_retries: the peer is down; probe it once per sync interval only.
            base = max(base, cfg.sync_interval)
        return min(base, 30.0) * (0.5 + random.random())

    def retry_now(self) -> None:
        """The peer called us (Replication._called_by): end the push loop's backoff and pull.
        At most once per retry_interval: a peer that reaches us while we cannot reach it
        (a one-way cut) calls us with every batch, and each call would be a failed attempt."""
        now = time.monotonic()
        if now - self._woken < self.repl.config.retry_interval:
            return
        self._woken = now
        self._wake_loops()

    def _wake_loops(self) -> None:
        """The pull loop pulls now; a push loop backing off after a failure retries now."""
        self.pull_event.set()
        self.up_event.set()

    def _failed(self, what: str, err: str) -> None:
        p = self.peer
        if p.ever_up:
            if p.state != "down":
                log.warning("peer %s: %s failed: %s", p.url, what, err)
        else:
            now = time.monotonic()
            if not p.first_failure:
                p.first_failure = now
                log.info("peer %s not reachable yet (still starting?): %s failed: %s", p.url, what, err)
            elif not p.warned and now - p.first_failure > UNREACHABLE_WARN_S:
                p.warned = True
                log.warning("peer %s: unreachable since start-up (%.0fs): %s failed: %s", p.url,
                            now - p.first_failure, what, err)
        p.retries += 1
        p.failures += 1
        p.state = "down"
        p.last_error = f"{what}: {err}"

    def peer_stopped(self) -> None:
        """The peer said it is shutting down: down now, without a warning (its pulls and
        pushes fail from here on, as they should, until it is back)."""
        p = self.peer
        if p.state != "down":
            log.info("peer %s (%s) is shutting down", p.url, p.replica_id or "?")
        p.state = "down"
        p.last_error = "the peer shut down"

    def _up(self) -> None:
        p = self.peer
        was_down = p.unreachable
        p.ever_up = True
        p.retries = 0
        if p.state != "snapshot":
            p.state = "up"
        if was_down:
            log.info("peer %s (%s) is up", p.url, p.replica_id or "?")
            self._wake_loops()

    # ---- push ----------------------------------------------------------------------------
    async def _push_loop(self) -> None:
        p = self.peer
        linger = self.repl.config.push_linger_ms / 1000.0
        while True:
            try:
                await asyncio.wait_for(p.wake.wait(), timeout=self.repl.config.sync_interval)
            except TimeoutError:
                pass
            p.wake.clear()
            if p.forgotten or self.repl.cluster.joining or time.monotonic() < p.refused_until:
                continue  # a joining replica only pulls; a peer that refused us is asked later
            try:
                if not p.http_push:
                    try:
                        await stream.push(self)
                        continue
                    except stream.NoStream:
                        log.info("peer %s has no push stream (an older version): pushing with requests", p.url)
                        p.http_push = True
                if linger:
                    await asyncio.sleep(linger)
                await self._push_all()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a bad peer never kills the loop
                self._failed("push", f"{type(e).__name__}: {e}")
                self.up_event.clear()
                try:
                    await asyncio.wait_for(self.up_event.wait(), timeout=self._backoff())
                except TimeoutError:
                    pass
                p.wake.set()

    def refused(self, reason: str) -> None:
        """The peer refused our ops (409): it is joining (it pulls instead), or belongs to
        another cluster (an operator must act; said once, then at sync intervals)."""
        p = self.peer
        if reason.startswith("joining"):
            p.state = "joining"
        elif p.last_error != f"push refused: {reason}":
            log.warning("peer %s refused our ops: %s", p.url, reason)
        p.last_error = f"push refused: {reason}"
        p.refused_until = time.monotonic() + self.repl.config.sync_interval

    async def _push_all(self) -> None:
        p = self.peer
        repl = self.repl
        bl = repl.backlog
        while True:
            if p.acked_vv is None:
                # First contact: an empty push answers with the peer's vectors.
                if not await self._send_push([]):
                    return
                continue
            if p.cursor is None or p.cursor < bl.start:
                try:
                    pos = bl.first_needed(p.acked_vv, repl.node.keyspace.vv)
                except TooOld:
                    # It lacks ops we no longer hold: its pull will ask for a snapshot.
                    p.cursor = None
                    return
                p.cursor = bl.end if pos is None else pos
            parts, n, nxt, more = bl.collect(p.cursor, p.acked_vv, repl.max_batch_ops, repl.max_batch_bytes)
            if not n:
                p.cursor = nxt
                return
            ok = await self._send_push(parts)
            if ok:
                p.cursor = nxt
                p.ops_sent += n
                p.batches_sent += 1
            else:
                p.cursor = None
            if not more:
                return

    async def _send_push(self, parts: list[Any]) -> bool:
        p = self.peer
        repl = self.repl
        body = repl.batch_bytes(parts)
        status, data = await repl.http_post(p, "/repl/push", body)
        if status == 200 or status == 422:
            ack = pb.OpBatch()
            ack.ParseFromString(data)
            repl.note_ack(p, ack)
            self._up()
            if status == 422:
                p.last_error = f"push refused: {repl.last_reason}"
                log.warning("peer %s refused a push: %s", p.url, repl.last_reason)
            return status == 200
        if status == 409:
            self.refused(repl.last_reason or data[:200].decode("utf-8", "replace").strip())
            return False
        raise RuntimeError(f"HTTP {status}: {data[:200]!r}")

    # ---- pull (anti-entropy) ---------------------------------------------------------------
    async def _pull_loop(self) -> None:
        p = self.peer
        while True:
            try:
                await self._pull_all()
                delay = self.repl.config.sync_interval
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                self._failed("pull", f"{type(e).__name__}: {e}")
                delay = self._backoff()
            try:
                await asyncio.wait_for(self.pull_event.wait(), timeout=delay)
            except TimeoutError:
                pass
            self.pull_event.clear()
            if p.forgotten:
                await asyncio.sleep(self.repl.config.sync_interval)

    async def _pull_all(self) -> None:
        p = self.peer
        repl = self.repl
        for _ in range(1000):
            status, data = await repl.http_post(p, "/repl/pull", repl.state_batch().SerializeToString())
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
            fast = parse_push(data)  # the ops straight from their bytes (fastin.py)
            if fast is not None:
                batch, ops, raw = fast
            else:
                batch, ops, raw = pb.OpBatch(), None, None
                batch.ParseFromString(data)
            repl.note_ack(p, batch)
            self._up()
            if batch.snapshot_needed:
                await repl.fetch_snapshot(p)
                return
            if ops or batch.ops:
                repl.receive(p, batch, ops, raw)
            if not batch.more:
                repl.cluster.pull_done(p)
                return
