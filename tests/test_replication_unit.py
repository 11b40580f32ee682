"""Replication pieces without sockets: the backlog's indexing and eviction, batch
validation (deliverability), and causal stability."""
from __future__ import annotations

from typing import Any

import pytest

from crdtredis.op import Op
from crdtredis.replication.backlog import Backlog, TooOld
from crdtredis.replication.inbox import BadBatch, validate
from tests.support.sim import Replica


def op(origin: str, seq: int, n: int = 1, deps: dict[str, int] | None = None) -> Op:
    return Op(origin, seq, 1000 * seq, deps or {}, [(10, 0, b"k%d" % i, b"v", 0, None) for i in range(n)])


def test_backlog_first_needed_and_collect() -> None:
    b = Backlog(1 << 30)
    seq = [op("a", 1), op("b", 1), op("a", 2, n=3), op("b", 2), op("a", 5)]
    for o in seq:
        b.add_record([o], _record([o]))  # one chunk per op
    ours = {"a": 5, "b": 2}
    assert b.first_needed({}, ours) == 0
    assert b.first_needed({"a": 1}, ours) == 1
    assert b.first_needed({"a": 4, "b": 1}, ours) == 3
    assert b.first_needed({"a": 5, "b": 2}, ours) is None
    parts, n, nxt, more = b.collect(0, {"a": 1}, 100, 1 << 20)
    assert [(o.origin, o.seq) for o in _decode(parts)] == [("b", 1), ("a", 2), ("b", 2), ("a", 5)]
    assert n == 4 and nxt == 5 and not more
    parts, n, nxt, more = b.collect(0, {}, 2, 1 << 20)
    assert n == 2 and more and nxt == 2


def _decode(parts: list[Any]) -> list[Op]:
    from crdtredis.wire.codec import OpDecoder
    from crdtredis.wire.ops_pb2 import OpBatch

    m = OpBatch()
    m.ParseFromString(b"\x08\x02" + b"".join(bytes(p) for p in parts))
    dec = OpDecoder()
    return [dec.from_message(x) for x in m.ops]


def _record(ops: list[Op]) -> bytes:
    """What the op log writes for one record (deps elided within it), minus its head."""
    from crdtredis.wire.codec import OpEncoder

    out: list[bytes] = []
    OpEncoder().encode_ops(ops, out)
    return b"".join(out)


def test_backlog_ships_the_op_logs_bytes_and_slices_partial_chunks() -> None:
    da, db2 = {"z": 7}, {"z": 9}
    # a's ops share deps (elided after the first); b's change them.
    rec1 = [op("a", 1, deps=da), op("b", 1, deps=db2), op("a", 2, deps=da), op("a", 3, deps=da),
            op("b", 2, deps={"z": 10})]
    rec2 = [op("a", 4, deps=da), op("b", 3, deps={"z": 10})]
    b = Backlog(1 << 30)
    blob1 = _record(rec1)
    b.add_record(rec1, memoryview(blob1))
    b.add_record(rec2, _record(rec2))
    # A peer that lacks everything gets the records' bytes unchanged.
    parts, n, nxt, more = b.collect(0, {}, 100, 1 << 20)
    assert n == 7 and nxt == 2 and not more
    assert bytes(parts[0]) == blob1
    assert _decode(parts) == rec1 + rec2
    # A peer holding a up to 2: a:3 was elided against a:2, so it is encoded again with
    # its deps; b's ops are slices.
    parts, n, _nxt, _more = b.collect(0, {"a": 2}, 100, 1 << 20)
    got = _decode(parts)
    assert got == [rec1[1], rec1[3], rec1[4], *rec2]
    assert got[1].deps == da
    # Chunks it holds entirely are skipped; position from first_needed.
    assert b.first_needed({"a": 3, "b": 2}, {"a": 4, "b": 3}) == 1
    parts, n, _nxt, _more = b.collect(0, {"a": 3, "b": 2}, 100, 1 << 20)
    assert _decode(parts) == rec2


def test_backlog_splits_huge_records_into_decodable_chunks() -> None:
    from crdtredis.replication import backlog as bl

    big = b"x" * (bl.SPLIT_BYTES // 3)
    d = {"z": 1}
    ops = [Op("a", i, 1000 * i, d, [(10, 0, b"k", big, 0, None)]) for i in range(1, 8)]
    b = Backlog(1 << 30)
    b.add_record(ops, _record(ops))
    assert b.end - b.start > 1
    parts, n, _nxt, _more = b.collect(0, {}, 100, 1 << 30)
    assert n == 7 and _decode(parts) == ops
    # Each chunk alone decodes (deps repeated where a chunk starts).
    got = []
    for pos in range(b.start, b.end):
        got += _decode([b.chunk(pos).encoded()])
    assert got == ops


def test_backlog_eviction_makes_old_requesters_too_old() -> None:
    b = Backlog(2000)
    for i in range(1, 50):
        o = op("a", i)
        b.add_record([o], _record([o]))
    assert b.start > 0 and b.bytes <= 2000
    with pytest.raises(TooOld):
        b.first_needed({}, {"a": 49})
    assert b.first_needed({"a": 48}, {"a": 49}) is not None
    assert b.first_needed({"a": 49}, {"a": 49}) is None


def test_backlog_lazy_chunks_group_ops_added_one_by_one() -> None:
    b = Backlog(1 << 30)
    ops = [op("a", i, deps={"q": 1}) for i in range(1, 11)]
    for o in ops:
        b.add(o)
    assert b.end - b.start == 1
    parts, n, _nxt, _more = b.collect(0, {"a": 4}, 100, 1 << 20)
    assert _decode(parts) == ops[4:]
    b.add(op("a", 11))  # the first chunk was encoded (sealed): a new one starts
    assert b.end - b.start == 2


def test_validate_accepts_causal_batches_and_rejects_gaps() -> None:
    r = Replica("me")
    validate(r.node, [op("x.1", 1), op("x.1", 2), op("y.1", 1, deps={"x.1": 2000})])
    with pytest.raises(BadBatch, match="not deliverable"):
        validate(r.node, [op("x.1", 2)])
    with pytest.raises(BadBatch, match="depends on"):
        validate(r.node, [op("y.1", 1, deps={"x.1": 5})])
    with pytest.raises(BadBatch, match="unknown effect"):
        validate(r.node, [Op("x.1", 1, 1, {}, [(250, 0, b"k")])])
    with pytest.raises(BadBatch, match="database"):
        validate(r.node, [Op("x.1", 1, 1, {}, [(10, 16, b"k", b"v", 0, None)])])
    with pytest.raises(BadBatch, match="ours"):
        validate(r.node, [Op(r.node.origin, 1, 1, {}, [(10, 0, b"k", b"v", 0, None)])])


def test_validate_skips_duplicates() -> None:
    r = Replica("me")
    r.node.apply_remote(op("x.1", 1))
    validate(r.node, [op("x.1", 1), op("x.1", 2)])


class _Ack:
    """The fields of an OpBatch that note_ack reads (durable vectors = applied ones)."""

    def __init__(self, rid: str, origin: str, vv: dict[str, int], vh: dict[str, int],
                 inc_ms: int = 0, members: list[Any] | None = None) -> None:
        self.replica_id, self.sender, self.vv, self.vh = rid, origin, vv, vh
        self.dvv, self.dvh = vv, vh
        self.status, self.cluster_id, self.proposal = "member", "c1", ""
        self.incarnation_ms = inc_ms
        self.members = members or []


def _repl(peers: list[str]):  # type: ignore[no-untyped-def]
    import dataclasses

    from crdtredis.commands import new_node
    from crdtredis.config import default_config
    from crdtredis.replication.service import Replication

    cfg = dataclasses.replace(default_config(), replica_id="me", peers=tuple(peers))
    node = new_node(cfg)
    return node, Replication(node, cfg)


def test_stability_needs_every_peer_and_forgetpeer_unblocks_gc() -> None:
    node, repl = _repl(["http://127.0.0.1:1", "http://127.0.0.1:2"])
    c = node.new_client("t", "t", lambda: None)
    node.execute(c, [b"RPUSH", b"l", b"a", b"b", b"c"])
    node.execute(c, [b"LPOP", b"l"])  # a tombstone while peers may still refer to it
    assert repl.stable_checker() is None  # no peer has reported yet
    p1, p2 = list(repl.peers.values())
    vv, vh = dict(node.keyspace.vv), dict(node.keyspace.vh)
    repl.note_ack(p1, _Ack("a", "a.1", vv, vh))
    assert repl.stable_checker() is None  # the second peer is still unknown
    assert not repl.segment_retention(vv)
    # The second peer never answered, so only its URL names it.
    repl.forget("http://127.0.0.1:2")
    stable = repl.stable_checker()
    assert stable is not None
    h = node.keyspace.vh[node.origin]
    assert stable(h, node.origin)
    assert repl.segment_retention(vv)
    dropped = repl.run_gc()
    assert dropped >= 1
    assert node.execute(c, [b"LRANGE", b"l", b"0", b"-1"]) == [b"b", b"c"]


def test_stability_waits_for_ops_a_peer_issued_before_its_ack() -> None:
    node, repl = _repl(["http://127.0.0.1:1"])
    (p1,) = list(repl.peers.values())
    vv, vh = dict(node.keyspace.vv), dict(node.keyspace.vh)
    # The peer says it has issued 5 ops of its own; we have none of them yet.
    repl.note_ack(p1, _Ack("a", "a.1", {**vv, "a.1": 5}, {**vh, "a.1": 500}))
    assert repl.stable_checker() is None


def test_a_new_incarnations_ack_counts_only_once_its_old_incarnations_ops_are_here() -> None:
    # Issue 8, hole 1: a replica restarted after a crash acks with a vector that holds ops
    # of its old incarnation we never received; those may be concurrent with ours.
    node, repl = _repl(["http://127.0.0.1:1"])
    (p1,) = list(repl.peers.values())
    c = node.new_client("t", "t", lambda: None)
    node.execute(c, [b"SADD", b"s", b"m"])
    vv, vh = dict(node.keyspace.vv), dict(node.keyspace.vh)
    repl.note_ack(p1, _Ack("a", "a.old", vv, vh, inc_ms=1))
    assert repl.stable_checker() is not None
    # a restarts as a.new; its log holds 3 ops of a.old we never got.
    repl.note_ack(p1, _Ack("a", "a.new", {**vv, "a.old": 3}, {**vh, "a.old": 300}, inc_ms=2))
    assert repl.stable_checker() is None
    # A stale report of the old incarnation (gossip relayed late) changes nothing.
    old = _Ack("a", "a.old", vv, vh, inc_ms=1)
    repl.note_ack(p1, _Ack("b", "b.1", vv, vh, members=[_Member("a", "a.old", 1, vv, vh)]))
    assert repl.membership.members["a"].origin == "a.new"
    assert old.sender == "a.old"
    for i in (1, 2, 3):
        node.apply_remote(op("a.old", i))
    repl.note_ack(p1, _Ack("a", "a.new", dict(node.keyspace.vv), dict(node.keyspace.vh), inc_ms=2))
    repl.note_ack(p1, _Ack("b", "b.1", dict(node.keyspace.vv), dict(node.keyspace.vh)))
    assert repl.stable_checker() is not None


class _Member:
    def __init__(self, rid: str, origin: str, inc_ms: int, vv: dict[str, int], vh: dict[str, int]) -> None:
        self.replica_id, self.origin, self.incarnation_ms, self.vv, self.vh = rid, origin, inc_ms, vv, vh


def test_a_forgotten_replica_is_refused_unless_it_comes_back_empty() -> None:
    node, repl = _repl(["http://127.0.0.1:1"])
    repl.forget("gone")
    back = _Ack("gone", "gone.2", {"gone.1": 4}, {"gone.1": 400})
    why = repl._refusal(back, push=True)
    assert why is not None and "forgotten" in why
    back.status = "joining"
    assert repl._refusal(back, push=False) is None
    assert "gone" not in repl.forgotten and "gone" not in repl.cluster.state.forgotten


async def test_gc_pass_is_skipped_on_an_idle_node() -> None:
    # Issue 13: GC froze an idle node 0.6-1.2 s every ~13 s. Solo nodes skip it; a node
    # with peers skips a pass when nothing was applied and nothing became stable since
    # the last one (nothing new can be collected then).
    node, repl = _repl(["http://127.0.0.1:1"])
    (p1,) = list(repl.peers.values())
    c = node.new_client("t", "t", lambda: None)
    node.execute(c, [b"RPUSH", b"l", b"a", b"b"])
    node.execute(c, [b"LPOP", b"l"])
    repl.note_ack(p1, _Ack("a", "a.1", dict(node.keyspace.vv), dict(node.keyspace.vh)))
    assert await repl.gc_once() is True
    assert await repl.gc_once() is False  # idle: nothing applied, watermark unchanged
    assert await repl.gc_once() is False
    node.execute(c, [b"RPUSH", b"l", b"c"])
    assert await repl.gc_once() is True  # an op was applied
    assert await repl.gc_once() is False
    repl.note_ack(p1, _Ack("a", "a.1", dict(node.keyspace.vv), dict(node.keyspace.vh)))
    assert await repl.gc_once() is True  # the watermark moved: more may be stable
    assert repl.gc_runs == 3


# ---- start-up logs (issue 13: devcluster) ----------------------------------------------------------
def test_a_peer_that_never_answered_fails_quietly_until_it_has_been_down_long(caplog: pytest.LogCaptureFixture,
                                                                              ) -> None:
    import logging

    from crdtredis.replication.peer import UNREACHABLE_WARN_S, PeerLink

    node, repl = _repl(["http://127.0.0.1:1"])
    (p,) = list(repl.peers.values())
    link = PeerLink(repl, p)
    caplog.set_level(logging.DEBUG, logger="crdtredis.replication")
    link._failed("pull", "connection refused")
    link._failed("push", "connection refused")
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "not reachable yet" in caplog.records[0].getMessage()
    p.first_failure -= UNREACHABLE_WARN_S + 1
    link._failed("pull", "connection refused")
    link._failed("pull", "connection refused")
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]
    caplog.clear()
    link._up()
    link._failed("pull", "connection reset")  # it had been up: this one matters
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING]


def test_inbound_callers_are_matched_to_url_peers_before_being_reported(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    node, repl = _repl(["http://127.0.0.1:1"])
    (url_peer,) = list(repl.peers.values())
    caplog.set_level(logging.INFO, logger="crdtredis.replication")
    vv, vh = dict(node.keyspace.vv), dict(node.keyspace.vh)
    repl.peer_for("b", "b.1")  # b calls before we have reached our URL peer: it is probably b
    repl.peer_for("c", "c.1")
    assert not [r for r in caplog.records if "peer list" in r.getMessage()]
    repl.note_ack(url_peer, _Ack("b", "b.1", vv, vh))  # the URL peer is b: only c is a stranger
    said = [r.getMessage() for r in caplog.records if "peer list" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("replica c ")
    assert "id:b" not in repl.peers
    repl.peer_for("d", "d.1")  # every URL peer is known now: said at once
    assert sum("replica d " in r.getMessage() for r in caplog.records) == 1


# ---- the clock (issue 13) ----------------------------------------------------------------------------
def test_validate_refuses_ops_stamped_past_the_allowed_skew() -> None:
    r = Replica("me")
    now = r.node.clock()
    r.node.clock = lambda: now  # (a moving clock would blur the edge case below)
    skew = r.node.config.max_clock_skew_ms
    ok = Op("x.1", 1, (now + skew - 1000) << 16, {}, [(10, 0, b"k", b"v", 0, None)])
    validate(r.node, [ok])
    for hlc in ((now + skew + 1000) << 16, (1 << 64) - 1):
        with pytest.raises(BadBatch, match="ahead of this node's clock"):
            validate(r.node, [Op("x.1", 1, hlc, {}, [(10, 0, b"k", b"v", 0, None)])])
    # The last effect of a multi-effect op counts.
    edge = (now + skew) << 16 | 0xFFFF
    with pytest.raises(BadBatch, match="ahead"):
        validate(r.node, [Op("x.1", 1, edge, {}, [(10, 0, b"a", b"v", 0, None), (10, 0, b"b", b"v", 0, None)])])


def test_a_clock_at_the_end_of_its_range_refuses_writes_rather_than_losing_them() -> None:
    # An op stamped near 2^64 applied before such ops were refused (or in an old log): the
    # HLC follows it, and a new op could not be encoded. Before: +OK, never logged.
    from crdtredis import errors
    from crdtredis.clock import HLC_MAX

    r = Replica("me")
    r.node.apply_remote(Op("x.1", 1, HLC_MAX - 5, {}, [(10, 0, b"k", b"v", 0, None)]))
    n = len(r.emitted)
    reply = r.run("SET", "other", "v")
    assert getattr(reply, "message", "") == errors.CLOCK_EXHAUSTED
    assert len(r.emitted) == n and r.run("GET", "other") is None
    assert r.run("GET", "k") == b"v"  # reads are served


def test_backlog_notes_a_one_origin_record_as_op_by_op() -> None:
    """A record whose ops share one origin is noted by its ends (Backlog._note): the
    chunks' spans and the per-origin index are what noting each op gives."""
    from crdtredis.replication.backlog import Chunk

    recs = [[op("a", 1), op("a", 2, n=2), op("a", 4), op("a", 5)], [op("b", 1)],
            [op("a", 6), op("b", 2), op("a", 7)], [op("a", 8), op("a", 9, n=3), op("a", 12)]]
    fast, slow = Backlog(1 << 30), Backlog(1 << 30)
    for pos, rec in enumerate(recs):
        cf, cs = Chunk(None, b""), Chunk(None, b"")
        fast._note(cf, pos, rec, 10)
        for o in rec:
            slow._note(cs, pos, (o,), 0)
        assert (cf.span, cf.n) == (cs.span, cs.n)
    assert fast.index.keys() == slow.index.keys()
    for o, idx in fast.index.items():
        other = slow.index[o]
        assert (idx.firsts, idx.lasts, idx.poss) == (other.firsts, other.lasts, other.poss)


def test_a_call_from_a_down_peer_ends_our_backoff_at_most_once_per_retry_interval() -> None:
    from crdtredis.replication.peer import PeerLink

    node, repl = _repl(["http://127.0.0.1:1"])
    (p,) = list(repl.peers.values())
    link = PeerLink(repl, p)
    repl.links.append(link)

    def woken() -> bool:
        hit = link.pull_event.is_set() and link.up_event.is_set()
        link.pull_event.clear()
        link.up_event.clear()
        return hit

    p.state = "up"
    repl._called_by(p)
    assert not woken()  # a link that is up has no backoff to end
    p.state = "down"
    repl._called_by(p)
    assert woken()
    repl._called_by(p)  # a peer we cannot reach calls with every batch (a one-way cut)
    assert not woken()
    link._woken -= repl.config.retry_interval
    repl._called_by(p)
    assert woken()


def test_when_a_member_changes_incarnation_the_others_earlier_acks_stop_counting() -> None:
    # a is wiped and rejoins from our state; its old incarnation issued an op that only b
    # holds, which b received after the ack we have from it: that ack must not count.
    from crdtredis.replication.membership import Membership

    m = Membership("me")
    vv, vh = {"me.1": 1}, {"me.1": 100}
    m.note("a", "a.old", 1, vv, vh, direct=True, now=0.0)
    m.note("b", "b.1", 1, vv, vh, direct=True, now=0.0)
    assert m.stable_checker(vv, vh) is not None
    m.note("a", "a.new", 2, vv, vh, direct=True, now=1.0)
    assert m.stable_checker(vv, vh) is None  # b's ack is from before we heard of a.new
    m.note("b", "b.1", 1, vv, vh, direct=True, now=2.0)
    assert m.stable_checker(vv, vh) is not None


def test_ops_of_a_replaced_incarnation_that_a_member_holds_block_stability_until_here() -> None:
    from crdtredis.replication.membership import Membership

    m = Membership("me")
    vv, vh = {"me.1": 1}, {"me.1": 100}
    m.note("a", "a.old", 1, vv, vh, direct=True, now=0.0)
    m.note("b", "b.1", 1, vv, vh, direct=True, now=0.0)
    m.note("a", "a.new", 2, vv, vh, direct=True, now=1.0)
    m.note("b", "b.1", 1, vv, vh, direct=True, now=2.0)
    assert m.stable_checker(vv, vh) is not None  # b's usable ack is from after the change
    # b now holds an op of a.old that we lack: nobody acks for a.old any more.
    m.note("b", "b.1", 1, {**vv, "a.old": 1}, {**vh, "a.old": 150}, direct=True, now=3.0)
    assert m.stable_checker(vv, vh) is None
    vv2, vh2 = {**vv, "a.old": 1}, {**vh, "a.old": 150}
    m.note("a", "a.new", 2, vv2, vh2, direct=True, now=4.0)
    assert m.stable_checker(vv2, vh2) is not None


def test_an_expired_key_may_be_dropped_only_once_everything_it_holds_is_stable() -> None:
    # b's write stamped 1800 ms is here but a has not acked it: an op a issues now may miss
    # it, so a key whose latest write is that late must wait; one written by 1500 ms need
    # not (docs/semantics.md, "Expiry").
    from crdtredis.clock import LOGICAL_BITS
    from crdtredis.entries import EXPIRE_KIND, ExpiryReg
    from crdtredis.replication.membership import Membership

    def h(ms: int) -> int:
        return ms << LOGICAL_BITS

    m = Membership("me")
    vv, vh = {"me.1": 3, "b.1": 2}, {"me.1": h(1000), "b.1": h(1800)}
    m.note("a", "a.1", 1, {"me.1": 3, "b.1": 1}, {"me.1": h(1000), "b.1": h(1500)}, direct=True, now=0.0)
    m.note("b", "b.1", 1, vv, vh, direct=True, now=0.0)
    reg = ExpiryReg([(900, h(800), "me.1", EXPIRE_KIND)])
    reg.resolve(None)
    safe = m.expiry_checker(vv, vh, 5000, max_age=0)
    assert safe(reg, h(1500))
    assert not safe(reg, h(1800))
    # An origin all of whose ops here are stable bounds nothing, however late its stamps.
    assert safe(reg, h(1000))
    # The deadline must be before the horizon (every member's clock is past 1500 ms).
    late = ExpiryReg([(1600, h(800), "me.1", EXPIRE_KIND)])
    late.resolve(None)
    assert not safe(late, h(900))


def test_a_snapshot_that_does_not_cover_our_ops_is_refused_before_it_is_loaded(
        tmp_path: Any, monkeypatch: Any) -> None:
    """The header's vector decides: a snapshot taken before our last write reached its
    maker is refused without loading its keys (a second keyspace in memory, which under
    maxmemory took the replica past its limit at every retry)."""
    from crdtredis.keyspace import Keyspace
    from crdtredis.storage import snapshot
    from crdtredis.storage.snapshot import write_base_file

    node, repl = _repl(["http://127.0.0.1:1"])
    c = node.new_client("t", "t", lambda: None)
    node.execute(c, [b"SET", b"a", b"1"])
    # The peer's snapshot holds our first write only.
    peer = Keyspace("peer.1", len(node.keyspace.dbs))
    peer.dbs[0].data[b"a"] = node.keyspace.dbs[0].data[b"a"]
    peer.vv.update(node.keyspace.vv)
    peer.vh.update(node.keyspace.vh)
    path = str(tmp_path / "snap.base")
    write_base_file(peer, max(peer.vh.values()), path)
    node.execute(c, [b"SET", b"b", b"2"])  # then we write again

    loads = []
    real = snapshot.load_base
    monkeypatch.setattr(snapshot, "load_base", lambda *a, **k: loads.append(a) or real(*a, **k))
    assert repl._install_snapshot(path) is False
    assert loads == []  # refused from its header
    assert node.keyspace.dbs[0].data.keys() == {b"a", b"b"}
