"""Replication as a server component: peers, HTTP routes, acks, causal stability, GC.

Push: every op applied here (ours or relayed) goes into the backlog; each peer's push loop
sends what the peer's last ack does not cover. Pull: every `sync_interval`, and at once on
reconnect, we ask each peer for everything our vector lacks, from any origin, so a partial
mesh converges through relays. A peer whose needs predate the backlog gets a snapshot.

Every batch, both ways, carries the sender's vectors (what it applied: delivery, WAIT), its
durable vectors and its view of the other members (causal stability: membership.py), and
its cluster status (joining and founding: cluster.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ..clock import vv_covers
from ..http_guard import (
    PEER_CONTENT_TYPE,
    REASON_HEADER,
    TOKEN_HEADER,
    header_text,
    peer_preflight,
    read_peer_body,
    refuse,
)
from ..keyspace import ExpiryReg
from ..op import Op
from ..tls import peer_client_context
from ..wire import ops_pb2 as pb
from ..wire.codec import DecodeError
from . import info_section as _info_section  # noqa: F401 - registers INFO replication
from . import snapshot_install, stream
from .admission import refusal as admission_refusal
from .backlog import Backlog, TooOld
from .cluster import ClusterGlue
from .fastin import parse_push
from .inbox import BadBatch, apply_batch, decode_new
from .membership import Membership, MemberView
from .peer import Peer, PeerLink
from .pubsub_link import PubsubLink
from .snapshot_share import SharedSnapshot

if TYPE_CHECKING:
    from ..config import Config
    from ..node import Node

log = logging.getLogger("crdtredis.replication")
# Keys the background GC pass handles per event-loop turn.
GC_CHUNK_KEYS = 256

CONTENT_TYPE = PEER_CONTENT_TYPE


class Replication:
    def __init__(self, node: Node, config: Config) -> None:
        self.node = node
        self.config = config
        self.backlog = Backlog(max(config.max_segment_size, 1 << 20))
        self.max_batch_ops = 5000
        self.max_batch_bytes = 4 << 20
        self.peers: dict[str, Peer] = {}  # key: url, or "id:<replica_id>" for inbound-only
        self.links: list[PeerLink] = []
        for url in config.peers:
            self.peers[url.rstrip("/")] = Peer(url)
        self.cluster = ClusterGlue(node, config)
        self.forgotten: set[str] = set(config.forget_peers) | set(self.cluster.state.forgotten)
        self.membership = Membership(node.replica_id, on_new_member=self._member_added,
                                     limit=config.max_members)
        self.membership.forgotten = set(self.forgotten)
        for rid, origin in self.cluster.state.members.items():
            self.membership.members.setdefault(rid, _view(rid, origin))
        self.session: aiohttp.ClientSession | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.last_reason = ""
        self._unannounced: set[str] = set()  # inbound callers not logged yet (peer_for)
        self.rejected_batches = 0
        self.ops_in = 0
        self.snapshot_installs = 0
        self.gc_runs = 0
        self.gc_dropped = 0
        self.gc_watermark: dict[str, int] = {}
        # (ops applied, watermark) when the last background pass finished (gc_once).
        self._gc_mark: tuple[int, tuple[tuple[str, int], ...]] | None = None
        # WAIT / CRDT.WAITCLOCK waiters: re-checked whenever acks or remote ops arrive.
        self.ack_waiters: list[Callable[[], bool]] = []
        self.apply_waiters: list[Callable[[], bool]] = []
        node.replication = self
        node.keyspace.expiry_safe = self.expiry_safe
        self.pubsub_link = PubsubLink(self)  # pub/sub messages: not ops (pubsub_link.py)
        self.streams_in = 0
        self.streams_in_ended = 0  # push streams from peers that have ended, however
        self.open_streams: set[web.WebSocketResponse] = set()
        self._snapshot_lock = asyncio.Lock()
        # A stream message is a push body: bounded as one (peer_max_body, http_guard.py).
        self.max_message_bytes = config.peer_max_body
        self.snapshots = SharedSnapshot(config.data_dir, self._write_snapshot)
        if bool(config.peers):
            # A node without peers refuses replication traffic: no backlog to feed.
            node.replay_listeners.append(self.backlog.add)

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop_ref = asyncio.get_running_loop()
        persistence = self.node.persistence
        if persistence is not None:
            # Ops only the base snapshot holds are not in the backlog: peers below them need
            # a snapshot. Segments stay until every peer acked them.
            self.backlog.evicted.update(persistence.recovery.get("base_vv", {}))
            if persistence.oplog is not None and bool(self.config.peers):
                persistence.oplog.retention = self.segment_retention
                # Encode once: the backlog takes each record the op log writes, bytes and all.
                persistence.oplog.record_listeners.append(self._on_record)
        if bool(self.config.peers) and (persistence is None or persistence.oplog is None):
            self.node.op_listeners.append(self._on_op)
            self.node.remote_op_listeners.append(self._on_op)
        if self.config.peers and not self.config.peer_token:
            log.warning("peers are configured but no peer_token: anyone who reaches the HTTP port can "
                        "replicate writes into this node (docs/security.md); set peer_token on every replica")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.config.sync_timeout,
                                        sock_read=max(self.config.sync_timeout, 30.0))
        # https peers are always verified (tls_ca, else the system CAs); idle connections are
        # dropped before a peer's server drops them (http.start_http keepalive_timeout).
        self.session = aiohttp.ClientSession(
            timeout=timeout,
            connector=aiohttp.TCPConnector(ssl=peer_client_context(self.config), limit=64, keepalive_timeout=30),
        )
        for p in self.peers.values():
            if p.replica_id in self.forgotten:
                p.forgotten = True
            link = PeerLink(self, p)
            self.links.append(link)
            link.start()
        self.tasks.append(asyncio.create_task(self._gc_loop(), name="gc"))
        self.pubsub_link.start()

    async def stop(self) -> None:
        self.snapshots.close()
        await self.pubsub_link.stop()
        for t in self.tasks:
            t.cancel()
        for link in self.links:
            await link.stop()
        if self.session is not None:
            await self.session.close()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(stream.ROUTE, self.handle_stream)
        app.on_shutdown.append(lambda _app: stream.close_all(self))
        app.router.add_post("/repl/push", self.handle_push)
        app.router.add_post("/repl/pull", self.handle_pull)
        app.router.add_get("/repl/snapshot", self.handle_snapshot)
        self.pubsub_link.add_routes(app)

    # ---- op stream -------------------------------------------------------------------------
    def _on_record(self, ops: list[Op], blob: memoryview | None) -> None:
        """A record the op log wrote: its ops, and their bytes (None: encode them here)."""
        if blob is not None:
            self.backlog.add_record(ops, blob)
        else:
            for op in ops:
                self.backlog.add(op)
        self._wake_pushers()

    def _on_op(self, op: Op) -> None:
        """Without an op log: ops one by one, encoded when a peer first needs them."""
        self.backlog.add(op)
        self._wake_pushers()

    def _wake_pushers(self) -> None:
        for p in self.peers.values():
            if p.url is not None:
                p.wake.set()

    def receive(self, peer: Peer, batch: Any, ops: list[Op] | None = None, raw: bytes | None = None) -> int:
        """A pull answer's ops: `ops` (and their bytes) when fastin.py decoded them."""
        n = apply_batch(self.node, decode_new(self.node, batch.ops) if ops is None else ops, raw)
        peer.ops_received += n
        self.ops_in += n
        if n and self.apply_waiters:
            self.apply_waiters = [w for w in self.apply_waiters if not w()]
        return n

    # ---- acks, stability -------------------------------------------------------------------
    def peer_for(self, replica_id: str, origin: str) -> Peer:
        for p in self.peers.values():
            if p.replica_id == replica_id and replica_id:
                return p
        p = Peer(None, replica_id)
        p.origin = origin
        if replica_id in self.forgotten:
            p.forgotten = True
        self.peers[f"id:{replica_id}"] = p
        if self._unidentified():
            # Most likely one of our URL peers, which has not answered us yet (devcluster,
            # a compose file): said once we know all of them and it is none (note_ack).
            self._unannounced.add(replica_id)
            log.debug("replica %s (%s) calls us before our peers answered", replica_id, origin)
        else:
            log.info("replica %s (%s) is calling us without being in our peer list", replica_id, origin)
        return p

    def _called_by(self, peer: Peer) -> None:
        """A peer got a request through to us: our link to it, if it is backing off after
        failures, retries now instead of at its next probe. After a partition heals, both
        directions then resume with the first request that gets through; the busier side
        (applying the other's catch-up) otherwise reached its own probe only ~0.4 s later,
        and the two catch-ups ran one after the other instead of together."""
        if not peer.unreachable:
            return
        for link in self.links:
            if link.peer is peer:
                link.retry_now()

    def _unidentified(self) -> bool:
        return any(p.url is not None and not p.replica_id and not p.forgotten for p in self.peers.values())

    def _announce_inbound(self) -> None:
        for rid in sorted(self._unannounced):
            p = self.peers.get(f"id:{rid}")
            if p is not None:
                log.info("replica %s (%s) is calling us without being in our peer list", rid, p.origin)
        self._unannounced.clear()

    def note_ack(self, peer: Peer, batch: Any) -> None:
        if batch.replica_id and batch.replica_id == self.node.replica_id:
            peer.last_error = "peer URL points at this node itself"
            return
        # A replica_id learned from a URL peer may match an inbound-only entry: merge them.
        if batch.replica_id and peer.url is not None:
            dup = self.peers.pop(f"id:{batch.replica_id}", None)
            if dup is not None and dup.acked_vv is not None:
                peer.ack(dup.acked_vv, dup.acked_vh or {}, dup.origin, dup.replica_id)
        peer.ack(dict(batch.vv), dict(batch.vh), batch.sender, batch.replica_id)
        if self._unannounced and not self._unidentified():
            self._announce_inbound()
        self.cluster.on_answer(peer, batch)
        m = self.membership
        if batch.status:
            dvv, dvh = batch.dvv, batch.dvh
        else:  # a sender that predates durable vectors: what it applied is all we know
            dvv, dvh = batch.vv, batch.vh
        if batch.status != "joining" or batch.sender:
            m.note(batch.replica_id, batch.sender, batch.incarnation_ms, dvv, dvh, direct=True)
        for a in batch.members:
            if a.replica_id != self.node.replica_id:
                m.note(a.replica_id, a.origin, a.incarnation_ms, a.vv, a.vh, direct=False)
        if self.ack_waiters:
            self.ack_waiters = [w for w in self.ack_waiters if not w()]

    def _refusal(self, batch: Any, push: bool) -> str | None:
        rid = batch.replica_id
        if rid in self.forgotten:
            if batch.status != "joining":
                # Forgotten means gone for good: GC no longer waits for it, so its new ops
                # could be concurrent with what was collected. It may come back only empty.
                return (f"replica {rid} was forgotten (CRDT.FORGETPEER): it can rejoin only as a new "
                        "replica, with an empty data dir")
            self._unforget(rid)
        return self.cluster.refuse(batch, push)

    def _unforget(self, rid: str) -> None:
        self.forgotten.discard(rid)
        self.membership.forgotten.discard(rid)
        st = self.cluster.state
        if rid in st.forgotten:
            st.forgotten.remove(rid)
            self.cluster.save()
        for p in self.peers.values():
            if p.replica_id == rid:
                p.forgotten = False
        log.info("forgotten replica %s is joining again as a new replica", rid)

    def _member_added(self, replica_id: str, origin: str) -> None:
        st = self.cluster.state
        if st.members.get(replica_id) != origin:
            st.members[replica_id] = origin
            self.cluster.save()
        log.info("member %s (%s) known: causal stability waits for its acks", replica_id, origin or "?")

    def durable(self) -> tuple[dict[str, int], dict[str, int]]:
        """What our op log holds: the vectors our acks report for causal stability."""
        p = self.node.persistence
        if p is not None and p.oplog is not None:
            return p.oplog.durable()
        ks = self.node.keyspace
        return ks.vv, ks.vh

    def live_peers(self) -> list[Peer]:
        return [p for p in self.peers.values() if not p.forgotten and p.replica_id not in self.forgotten]

    def _sync_membership(self) -> Membership:
        m = self.membership
        m.unknown_peers = sum(1 for p in configured_peers(self.node) if not p.replica_id)
        return m

    def stable_checker(self) -> Callable[[int, str], bool] | None:
        """stable(hlc, origin): every member durably holds that effect, and we hold every op
        each of them held when it said so (membership.py). None while some member has not
        reported a usable ack, or we are still joining (nothing here is final yet)."""
        if self.cluster.joining:
            return None
        ks = self.node.keyspace
        chk = self._sync_membership().stable_checker(ks.vv, ks.vh)
        self.gc_watermark = {} if chk is None else {o: h for o, h in ks.vh.items() if chk(h, o)}
        return chk

    def expiry_safe(self, reg: ExpiryReg, top: int) -> bool:
        """Keyspace.drop_expired: may this expired key be dropped here without an op?"""
        if self.cluster.joining:
            return False
        if self.node.keyspace.solo:
            return True
        ks = self.node.keyspace
        return self._sync_membership().expiry_checker(ks.vv, ks.vh, self.node.now_ms())(reg, top)

    def segment_retention(self, end_vv: dict[str, int] | None) -> bool:
        """May a segment whose last ops are `end_vv` be deleted? Only once every live peer
        has acked all of it (so peers can still pull from the log meanwhile)."""
        if end_vv is None:
            return False
        for p in self.live_peers():
            if p.acked_vv is None or not vv_covers(p.acked_vv, end_vv):
                return False
        return True

    async def _gc_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.gc_interval)
            try:
                await self.gc_once()
            except Exception:  # noqa: BLE001 - GC must never take the node down
                log.exception("GC pass failed")

    async def gc_once(self) -> bool:
        """One background GC pass, a chunk of keys per loop turn (clients never wait for a
        whole pass, nor for more than ~1 ms of it: 2,000 keys a turn showed as lag
        outliers); True when it ran. Skipped while solo (every op was stored in its
        stable form when it applied) and on an idle node: when no op was applied and the
        stable watermark did not move since the last whole pass, nothing new can be
        collected (a pass visits the keys written since about two passes ago: Keyspace.gc_chunks)."""
        if self.node.keyspace.solo:
            return False
        stable = self.stable_checker()
        ks = self.node.keyspace
        if stable is None:
            ks.gc_bound()  # no pass while stability is blocked: keep its work list small
            return False
        mark = (ks.ops_applied, tuple(sorted(self.gc_watermark.items())))
        if mark == self._gc_mark:
            return False
        n = 0
        for dropped in ks.gc_chunks(stable, GC_CHUNK_KEYS):
            n += dropped
            await asyncio.sleep(0)
        self._gc_mark = mark
        self.gc_runs += 1
        self.gc_dropped += n
        return True

    def run_gc(self) -> int:
        """One whole GC pass at once (tests, CRDT.GC); the background loop uses gc_chunks."""
        stable = self.stable_checker()
        if stable is None:
            return 0
        n = sum(self.node.keyspace.gc_chunks(stable))
        self.gc_runs += 1
        self.gc_dropped += n
        return n

    def forget(self, replica_id: str) -> bool:
        found = False
        self.forgotten.add(replica_id)
        rids = {replica_id}
        for p in self.peers.values():
            if p.replica_id == replica_id or (p.url and p.url == replica_id):
                p.forgotten = True
                found = True
                if p.replica_id:
                    rids.add(p.replica_id)
        if replica_id in self.membership.members:
            found = True
        st = self.cluster.state
        for rid in rids:
            self.membership.forget(rid)
            st.members.pop(rid, None)
            if rid not in st.forgotten:
                st.forgotten.append(rid)
        self.cluster.save()
        if self.cluster.joining:
            self.cluster._maybe_found()
        if self.ack_waiters:
            self.ack_waiters = [w for w in self.ack_waiters if not w()]
        return found

    # ---- wire helpers ------------------------------------------------------------------------
    def state_batch(self, version: int = 1) -> Any:
        ks = self.node.keyspace
        node = self.node
        st = self.cluster.state
        b = pb.OpBatch(version=version, sender=node.origin, replica_id=node.replica_id, status=st.state,
                       cluster_id=st.cluster_id, proposal=st.proposal,
                       incarnation_ms=node.persistence.incarnation_ms if node.persistence else 0)
        b.vv.update(ks.vv)
        b.vh.update(ks.vh)
        dvv, dvh = self.durable()
        b.dvv.update(dvv)
        b.dvh.update(dvh)
        for rid, origin, inc_ms, vv, vh in self.membership.gossip():
            a = b.members.add(replica_id=rid, origin=origin, incarnation_ms=inc_ms)
            a.vv.update(vv)
            a.vh.update(vh)
        return b

    def batch_bytes(self, parts: list[Any], more: bool = False, version: int = 1) -> bytes:
        """An OpBatch with our vectors and the given encoded ops: backlog parts, each
        already framed as field 2 (`ops`), sent as they are."""
        head = self.state_batch(version)
        head.more = more
        return b"".join((head.SerializeToString(), *parts))

    def auth_headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self.config.peer_token} if self.config.peer_token else {}

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": CONTENT_TYPE, **self.auth_headers()}

    async def http_post(self, peer: Peer, path: str, body: bytes) -> tuple[int, bytes]:
        assert self.session is not None and peer.url is not None
        peer.bytes_out += len(body)
        async with self.session.post(peer.url + path, data=body, headers=self._headers()) as r:
            data = await r.read()
            peer.bytes_in += len(data)
            self.last_reason = r.headers.get(REASON_HEADER, "")
            return r.status, data

    async def read_peer_body(self, request: web.Request) -> tuple[bytes, web.Response | None]:
        return await read_peer_body(request, self.config, self.node.loading)

    async def _read_batch(self, request: web.Request) -> tuple[Any | None, web.Response | None]:
        body, bad = await self.read_peer_body(request)
        if bad is not None:
            return None, bad
        batch = pb.OpBatch()
        try:
            batch.ParseFromString(body)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError
            return None, _refuse(400, "body is not a protobuf OpBatch")
        if batch.version != 1:
            return None, _refuse(400, f"unsupported batch version {batch.version}")
        why = self._check_sender(batch)
        if why is not None:
            return None, _refuse(*why)
        return batch, None

    def _check_sender(self, batch: Any) -> tuple[int, str] | None:
        if not batch.replica_id or not batch.sender:
            return 400, "batch without sender / replica_id"
        if batch.replica_id == self.node.replica_id and batch.sender != self.node.origin:
            return 409, f"replica_id {batch.replica_id} is ours: two nodes share one id"
        return None

    def _admit(self, batch: Any, ops: list[Op], push: bool) -> str | None:
        """Why a parsed push or pull must be refused (409): identity, cluster size
        (admission.py), forgotten replicas and the cluster state (cluster.py)."""
        return admission_refusal(self, batch, ops) or self._refusal(batch, push=push)

    # ---- routes ------------------------------------------------------------------------------
    async def handle_push(self, request: web.Request) -> web.Response:
        batch, bad = await self._read_batch(request)
        if bad is not None or batch is None:
            return bad or _refuse(400, "no batch")
        status, reason, ack = self.accept_push(batch)
        if ack is None:
            return _refuse(status, reason)
        headers = {REASON_HEADER: header_text(reason)} if reason else None
        return web.Response(status=status, body=ack, content_type=CONTENT_TYPE, headers=headers)

    async def handle_stream(self, request: web.Request) -> web.StreamResponse:
        return await stream.serve(self, request)

    def take_push(self, body: bytes, version: int) -> tuple[int, str, bytes | None]:
        """One stream message: (status, reason, our ack or None); 200 when applied."""
        if self.node.loading:
            return 503, "loading", None
        fast = parse_push(body)  # the ops straight from their bytes (fastin.py)
        if fast is not None:
            batch, ops, raw = fast
        else:
            batch, ops, raw = pb.OpBatch(), None, None
            try:
                batch.ParseFromString(body)
            except Exception:  # noqa: BLE001 - protobuf's DecodeError
                return 400, "body is not a protobuf OpBatch", None
        if batch.version != version:
            return 400, f"unsupported batch version {batch.version}", None
        why = self._check_sender(batch)
        if why is not None:
            return why[0], why[1], None
        return self.accept_push(batch, version, ops, raw)

    def accept_push(self, batch: Any, version: int = 1, ops: list[Op] | None = None,
                    raw: bytes | None = None) -> tuple[int, str, bytes | None]:
        """Apply a pushed batch whole or not at all: (status, reason, ack or None). `ops`:
        already decoded (fastin.py), with `raw` their bytes; else from `batch`."""
        if not bool(self.config.peers):
            return 409, "this node runs without peers; restart it with --peer to replicate", None
        if ops is None:
            try:
                ops = decode_new(self.node, batch.ops)
            except DecodeError as e:
                self.rejected_batches += 1
                return 400, f"bad op: {e}", None
        why = self._admit(batch, ops, push=True)
        if why is not None:
            return 409, why, None
        try:
            n = apply_batch(self.node, ops, raw)
        except BadBatch as e:
            self.rejected_batches += 1
            return 422, str(e), self.state_batch(version).SerializeToString()
        # Only now: a refused batch leaves no trace of its sender.
        peer = self.peer_for(batch.replica_id, batch.sender)
        peer.ops_received += n
        self.ops_in += n
        if n and self.apply_waiters:
            self.apply_waiters = [w for w in self.apply_waiters if not w()]
        self.note_ack(peer, batch)
        self._called_by(peer)
        return 200, "", self.state_batch(version).SerializeToString()

    async def handle_pull(self, request: web.Request) -> web.Response:
        batch, bad = await self._read_batch(request)
        if bad is not None or batch is None:
            return bad or _refuse(400, "no batch")
        why = self._admit(batch, [], push=False)
        if why is not None:
            return _refuse(409, why)
        peer = self.peer_for(batch.replica_id, batch.sender)
        self.note_ack(peer, batch)
        self._called_by(peer)
        if self.cluster.joining:
            # We hold nothing final yet: answer with our state only.
            return web.Response(body=self.batch_bytes([]), content_type=CONTENT_TYPE)
        have = dict(batch.vv)
        try:
            pos = self.backlog.first_needed(have, self.node.keyspace.vv)
        except TooOld:
            head = self.state_batch()
            head.snapshot_needed = True
            return web.Response(body=head.SerializeToString(), content_type=CONTENT_TYPE)
        if pos is None or (peer.streaming and batch.status != "joining"):
            # Nothing it lacks, or our push stream to it brings it (a pull would fetch the
            # same ops a second time). A joining replica takes no pushes: its pull must
            # bring everything (pull_done makes it a member).
            return web.Response(body=self.batch_bytes([]), content_type=CONTENT_TYPE)
        parts, _n, _nxt, more = self.backlog.collect(pos, have, self.max_batch_ops, self.max_batch_bytes)
        return web.Response(body=self.batch_bytes(parts, more), content_type=CONTENT_TYPE)

    async def handle_snapshot(self, request: web.Request) -> web.StreamResponse:
        bad = peer_preflight(request, self.config, body=False)
        if bad is not None:
            return bad
        if not self.config.peers:
            return _refuse(409, "this node runs without peers; restart it with --peer to replicate")
        if self.node.loading:
            return _refuse(503, "loading")
        return await self.snapshots.serve(request)  # one fork, shared (snapshot_share.py)

    async def _write_snapshot(self, path: str) -> bool:
        from ..storage.snapshot import write_base_file

        return await _fork_call(write_base_file, self.node.keyspace, self.node.hlc.last, path)

    # ---- snapshots ---------------------------------------------------------------------------
    async def fetch_snapshot(self, peer: Peer) -> bool:
        """Bootstrap from a peer's snapshot, if it covers everything we have."""
        assert self.session is not None and peer.url is not None
        async with self._snapshot_lock:  # one download at a time: two used to share one file
            return await self._fetch_snapshot(peer)

    async def _fetch_snapshot(self, peer: Peer) -> bool:
        assert self.session is not None and peer.url is not None
        peer.state = "snapshot"
        fd, path = tempfile.mkstemp(prefix="incoming-", suffix=".base.tmp", dir=self.node.config.data_dir)
        os.close(fd)
        try:
            async with self.session.get(peer.url + "/repl/snapshot", headers=self._headers()) as r:
                if r.status != 200:
                    raise RuntimeError(f"snapshot HTTP {r.status}")
                with open(path, "wb") as f:
                    async for chunk in r.content.iter_chunked(1 << 20):
                        f.write(chunk)
                        peer.bytes_in += len(chunk)
            # The snapshot loads beside our keyspace, which it then replaces: what it takes
            # meanwhile is not counted against maxmemory (memory.py: Meter.hold).
            ev = getattr(self.node, "maxmem", None)
            with ev.meter.hold() if ev is not None else contextlib.nullcontext():
                ok = await asyncio.to_thread(self._install_snapshot, path)
            peer.snapshots += 1 if ok else 0
            return ok
        finally:
            peer.state = "up"
            try:
                os.unlink(path)
            except OSError:
                pass

    def _install_snapshot(self, path: str) -> bool:
        """In a worker thread: load the snapshot at `path`, then swap it in on the loop."""
        return snapshot_install.install(self, path)

    # ---- introspection -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        ks = self.node.keyspace
        st = self.cluster.state
        return {
            "sync_state": st.state,
            "cluster_id": st.cluster_id,
            "members": sorted(self.membership.members),
            "peers": [p.info(ks.vv, ks.vh) for p in self.peers.values()],
            "version_vector": dict(ks.vv),
            "backlog_ops": self.backlog.n_ops,
            "backlog_bytes": self.backlog.bytes,
            "causal_buffer": 0,
            "streams_in": self.streams_in,
            "streams_in_ended": self.streams_in_ended,
            "rejected_batches": self.rejected_batches,
            "ops_in": self.ops_in,
            "snapshot_installs": self.snapshot_installs,
            "snapshot_forks": self.snapshots.forks,
            "gc_runs": self.gc_runs,
            "gc_dropped": self.gc_dropped,
            "gc_keys_visited": ks.gc_visited,
            "gc_watermark": dict(self.gc_watermark),
            "forgotten": sorted(self.forgotten),
        }


def configured_peers(node: Node) -> list[Peer]:
    """The peers configured by URL that are not forgotten (founding asks all of them)."""
    repl = node.replication
    return [p for p in repl.peers.values()
            if p.url is not None and not p.forgotten and p.replica_id not in repl.forgotten]


def _view(replica_id: str, origin: str) -> MemberView:
    return MemberView(replica_id, origin)


def _refuse(status: int, reason: str) -> web.Response:
    return refuse(status, reason)


async def _fork_call(fn: Callable[..., Any], *args: Any) -> bool:
    """Run fn(*args) in a forked child (copy-on-write snapshot of memory); True on success."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)
            code = 0
        except BaseException:  # noqa: BLE001 - reported through the exit status
            pass
        os._exit(code)
    _pid, status = await asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


__all__ = ["Replication", "TOKEN_HEADER"]

