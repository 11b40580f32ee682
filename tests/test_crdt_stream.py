"""Streams: the storage layer, ID generation, state round trips, and the named concurrent
scenarios of docs/semantics.md ("Streams") on three simulated replicas in every delivery
order. The property test against a spec is tests/test_crdt_stream_prop.py."""
from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

import pytest

import crdtredis.crdt.keys  # noqa: F401 - registers DEL / FLUSHDB
from crdtredis.commands import stream_util
from crdtredis.commands.stream_util import next_id, parse_id, seq_for_ms, string2ull
from crdtredis.crdt import stream_store
from crdtredis.crdt.stream_log import StreamEntry, existing
from crdtredis.crdt.stream_store import M64, MAX_SID, EntryLog, decode_record, encode_record
from crdtredis.keyspace import Keyspace, entry_from_state, entry_state
from crdtredis.op import Op
from crdtredis.reply import NULL_ARRAY, CommandError, Map
from crdtredis.storage.snapshot import load_base_bytes, write_base
from crdtredis.wire import codec
from tests.support.sim import Cluster

# ---- storage -----------------------------------------------------------------------------


def norm(x: Any) -> Any:
    """A reply with its Maps as lists of pairs (Map compares by identity)."""
    if isinstance(x, Map):
        return [(norm(k), norm(v)) for k, v in x.items]
    if isinstance(x, list):
        return [norm(v) for v in x]
    return x


def sid(ms: int, seq: int = 0) -> int:
    return ms << 64 | seq


def test_record_encoding_master_fields_and_long_values() -> None:
    master = (b"f", b"g")
    for items in ([b"f", b"1", b"g", b"2"], [b"f", b"x" * 300], [b"h", b"", b"g", b"v" * 20000], [b"f", b"1"]):
        rec = encode_record(items, master)
        assert decode_record(rec, 0, len(rec), master) == items
    assert encode_record([b"f", b"1", b"g", b"2"], master)[0] == 0  # values only, like SAMEFIELDS
    assert encode_record([b"g", b"1", b"f", b"2"], master)[0] == 4


def test_chunks_follow_node_max_entries_and_deleted_entries_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_store, "NODE_MAX_ENTRIES", 3)
    log = EntryLog()
    for i in range(1, 8):
        log.add(sid(i), [b"f", b"%d" % i])
    assert [len(c) for c in log.chunks] == [3, 3, 1]
    assert log.delete(sid(2)) and not log.delete(sid(2))
    assert [len(c) for c in log.chunks] == [3, 3, 1] and len(log) == 6
    log.delete(sid(1))
    log.delete(sid(3))  # the chunk's last live entry: the chunk goes
    assert [len(c) for c in log.chunks] == [3, 1] and log.first_sid() == sid(4)
    assert [s >> 64 for s in log.sids()] == [4, 5, 6, 7]


def test_insert_inside_the_range_and_before_the_first_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_store, "NODE_MAX_ENTRIES", 2)
    log = EntryLog()
    for i in (10, 20, 30, 40):
        log.add(sid(i), [b"f", b"%d" % i])
    log.add(sid(25), [b"other", b"x"])
    log.add(sid(5), [b"f", b"5"])
    assert [s >> 64 for s in log.sids()] == [5, 10, 20, 25, 30, 40]
    assert log.get(sid(25)) == [b"other", b"x"]
    assert log.firsts == [c.first() for c in log.chunks]


def test_walk_ranges_forward_and_reverse() -> None:
    log = EntryLog()
    for i in range(1, 300):
        log.add(sid(i, i % 3), [b"f", b"v"])
    log.delete(sid(150, 0))
    fwd = [s >> 64 for s, _c, _j in log.walk(sid(100), sid(200))]
    rev = [s >> 64 for s, _c, _j in log.walk(sid(100), sid(200), rev=True)]
    assert fwd == [i for i in range(100, 200) if i != 150]
    assert rev == fwd[::-1]
    assert [s >> 64 for s in [x for x, _c, _j in log.walk(0, MAX_SID, rev=True)]][:2] == [299, 298]
    assert list(log.walk(sid(400), MAX_SID)) == [] and list(log.walk(0, sid(0, 5), rev=True)) == []
    assert log.range(sid(10), MAX_SID, 2, rev=True)[0][0] == sid(299, 299 % 3)


def test_trim_plan_matches_redis_node_logic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_store, "NODE_MAX_ENTRIES", 10)
    log = EntryLog()
    for i in range(1, 36):
        log.add(sid(i), [b"f", b"v"])
    assert log.trim_plan(20, None, True, 0) == (10, sid(10))  # only whole nodes
    assert log.trim_plan(20, None, False, 0) == (15, sid(15))
    assert log.trim_plan(0, None, True, 15) == (10, sid(10))  # LIMIT stops at a node
    assert log.trim_plan(None, sid(25), True, 0) == (20, sid(20))
    assert log.trim_plan(None, sid(25), False, 0) == (24, sid(24))
    assert log.trim_plan(40, None, False, 0) == (0, 0)


def test_remove_upto_keeps_what_it_must() -> None:
    log = EntryLog()
    for i in range(1, 11):
        log.add(sid(i), [b"f", b"v"])
    removed = log.remove_upto(sid(6), {sid(3)})
    assert [s >> 64 for s in removed] == [1, 2, 4, 5, 6]
    assert [s >> 64 for s in log.sids()] == [3, 7, 8, 9, 10]


# ---- IDs -----------------------------------------------------------------------------------


def test_string2ull_is_redis_string2ull() -> None:
    assert string2ull(b"0") == 0 and string2ull(b"18446744073709551615") == M64
    assert string2ull(b"18446744073709551616") is None and string2ull(b"-1") is None
    assert string2ull(b"+7") == 7 and string2ull(b"007") == 7 and string2ull(b" 5") == 5
    assert string2ull(b"5 ") is None and string2ull(b"") is None and string2ull(b"0x1") is None
    assert string2ull(b" -1") == M64  # strtoull wraps a negative number


def test_parse_id_forms() -> None:
    assert parse_id(b"5") == (sid(5), True)
    assert parse_id(b"5", M64) == (sid(5, M64), True)
    assert parse_id(b"5-3") == (sid(5, 3), True)
    assert parse_id(b"5-*", seq_star=True) == (sid(5), False)
    assert parse_id(b"-") == (0, True) and parse_id(b"+") == (MAX_SID, True)
    for bad in (b"5-*", b"-5", b"5-", b"a", b"x" * 128):
        with pytest.raises(CommandError):
            parse_id(bad)
    with pytest.raises(CommandError):
        parse_id(b"+", strict=True)


def test_next_id_alone_is_redis() -> None:
    assert next_id(sid(5, 3), 9, None) == sid(9)
    assert next_id(sid(5, 3), 5, None) == sid(5, 4)
    assert next_id(sid(5, M64), 4, None) == sid(6)
    assert next_id(MAX_SID, 4, None) is None
    assert seq_for_ms(sid(5, 3), 5, None) == sid(5, 4) and seq_for_ms(sid(5, 3), 7, None) == sid(7)
    assert seq_for_ms(sid(5, M64), 5, None) is None


def test_next_id_with_peers_is_tagged_and_monotonic() -> None:
    tag = 0x1234
    a = next_id(sid(5, 3), 9, tag)
    assert a == sid(9, tag)
    b = next_id(a, 9, tag)  # type: ignore[arg-type]
    assert b == sid(9, 1 << 16 | tag) and b > a  # type: ignore[operator]
    # After a remote ID with a larger counter, ours moves past it.
    assert next_id(sid(9, 7 << 16 | 0x9999), 9, tag) == sid(9, 8 << 16 | tag)
    # The counter never overflows into the tag: the ms moves on.
    assert next_id(sid(9, M64), 9, tag) == sid(10, tag)
    assert seq_for_ms(sid(9, 2 << 16 | 5), 9, tag) == sid(9, 3 << 16 | tag)


def test_assign_tags_moves_clashing_tags_in_name_order() -> None:
    # r1402.x and r2000.x share crc32 & 0xFFFF (60751); r26058.x's own tag is 60752.
    tags = stream_util.assign_tags({"r1402.x", "r2000.x", "r26058.x"})
    assert tags["r1402.x"] == 60751 and tags["r2000.x"] == 60752 and tags["r26058.x"] == 60753
    assert stream_util.assign_tags({"r2000.x", "r26058.x"}) == {"r2000.x": 60751, "r26058.x": 60752}


def test_origin_tags_differ_between_replicas_that_know_each_other() -> None:
    c = Cluster(3)
    c.run(0, "XADD", "s", "*", "f", "v")
    c.deliver_all(0)
    tags = {stream_util.origin_tag(r.node) for r in c.replicas}
    assert len(tags) == 3 and None not in tags


# ---- state round trips -------------------------------------------------------------------


def _busy_cluster() -> Cluster:
    c = Cluster(3, seed=3)
    for r in c.replicas:
        r.node.clock = lambda: 7000
    c.run(0, "XADD", "s", "1-1", "a", "1", "b", "2")
    c.run(0, "XGROUP", "CREATE", "s", "g", "0")
    c.deliver_all(0)
    c.run(1, "XADD", "s", "*", "c", "3")
    c.run(2, "XADD", "s", "*", "big", "x" * 500)
    c.run(0, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    c.run(1, "XDEL", "s", "1-1")
    c.deliver_some(2)
    return c


def test_state_round_trips_through_codec_and_snapshot() -> None:
    c = _busy_cluster()
    for r in c.replicas:
        e = existing(r.node.keyspace.dbs[0], b"s")
        assert e is not None
        tag, s = entry_state(e)
        back = entry_from_state(*codec.decode_value(codec.encode_value((tag, s))))
        assert entry_state(back) == (tag, s)
        buf = io.BytesIO()
        write_base(r.node.keyspace, r.node.hlc.last, buf)
        ks = Keyspace(r.node.origin)
        load_base_bytes(buf.getvalue(), "<t>", ks)
        e2 = existing(ks.dbs[0], b"s")
        assert e2 is not None and entry_state(e2) == (tag, s)
    with pytest.raises(ValueError):
        StreamEntry.from_state((99, *s[1:]))


def test_gc_drops_concurrency_metadata_and_keeps_the_value() -> None:
    c = _busy_cluster()
    c.deliver_all(0)
    r = c[0]
    e = existing(r.node.keyspace.dbs[0], b"s")
    assert e is not None and e.recent
    before = (r.run("XRANGE", "s", "-", "+"), r.run("XPENDING", "s", "g", "-", "+", "9"),
              [m.items for m in r.run("XINFO", "GROUPS", "s")])
    assert e.gc(lambda h, o: True) > 0
    assert not e.recent and not e.vis
    g = e.group(b"g")
    assert g is not None and all(cur.hlc == 0 for cur in g.cursors)
    assert (r.run("XRANGE", "s", "-", "+"), r.run("XPENDING", "s", "g", "-", "+", "9"),
            [m.items for m in r.run("XINFO", "GROUPS", "s")]) == before
    assert e.gc(lambda h, o: True) == 0


def test_rename_and_copy_rebuild_entries_groups_and_pel() -> None:
    c = _busy_cluster()
    c.deliver_all(0)
    info = norm(c.run(1, "XINFO", "STREAM", "s", "FULL"))
    assert c.run(1, "COPY", "s", "t") == 1
    assert norm(c.run(1, "XINFO", "STREAM", "t", "FULL")) == info
    c.run(1, "RENAME", "s", "u")
    assert norm(c.run(1, "XINFO", "STREAM", "u", "FULL")) == info and c.run(1, "EXISTS", "s") == 0
    c.deliver_all(0)
    assert norm(c.run(2, "XINFO", "STREAM", "u", "FULL")) == info



def test_copy_keeps_the_seen_time_of_a_read_that_wrote_nothing() -> None:
    # A NOACK read writes no pending entry, so its seen-time is local (not an op); COPY
    # must still show it on the copy, as Redis's COPY does (TCL "COPY basic usage for
    # stream-cgroups" compares XINFO STREAM FULL of both).
    c = Cluster(2)
    now = [1000]
    c[0].node.clock = lambda: now[0]
    c.run(0, "XADD", "s", "1-0", "f", "v")
    c.run(0, "XADD", "s", "2-0", "f", "v")
    c.run(0, "XGROUP", "CREATE", "s", "g", "0")
    c.run(0, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">")
    now[0] = 2000
    c.run(0, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "NOACK", "STREAMS", "s", ">")
    info = norm(c.run(0, "XINFO", "STREAM", "s", "FULL"))
    assert c.run(0, "COPY", "s", "t") == 1
    copied = norm(c.run(0, "XINFO", "STREAM", "t", "FULL"))
    assert copied == info and b"2000" in repr(copied).encode()


# ---- named scenarios on three replicas, every delivery order ------------------------------

Cmd = tuple[int, tuple[Any, ...]]


def run_orders(setup: list[Cmd], concurrent: list[Cmd], check: Callable[[Cluster, list[Any], list[list[Op]]], None],
               clock: int = 10_000) -> None:
    """`setup` (delivered everywhere), then the `concurrent` commands with no delivery
    between them, then every delivery order; check(cluster, replies, ops) once all agree."""
    for perm in itertools.permutations(range(len(concurrent))):
        at = [concurrent[j][0] for j in perm]
        if any(at[x] == at[y] and perm[x] > perm[y] for x in range(len(at)) for y in range(x + 1, len(at))):
            continue
        c = Cluster(3)
        for r in c.replicas:
            r.node.clock = lambda: clock
        for i, argv in setup:
            c.run(i, *argv)
        c.deliver_all(0)
        ops: list[list[Op]] = []
        replies = []
        for i, argv in concurrent:
            before = len(c[i].emitted)
            replies.append(c.run(i, *argv))
            ops.append(c[i].emitted[before:])
        for r in c.replicas:
            for j in perm:
                for op in ops[j]:
                    if not r.applied(op):
                        r.node.apply_remote(op)
            r.inbox.clear()
        views = [norm((c.run(i, "XRANGE", "s", "-", "+"), _info(c, i), _groups(c, i))) for i in range(3)]
        assert views[0] == views[1] == views[2], (perm, views)
        check(c, replies, ops)


def _info(c: Cluster, i: int) -> Any:
    r = c.run(i, "XINFO", "STREAM", "s")
    if not hasattr(r, "items"):
        return r
    d = dict(r.items)
    return {k: d[k] for k in (b"length", b"last-generated-id", b"max-deleted-entry-id", b"entries-added", b"groups")}


def _groups(c: Cluster, i: int) -> Any:
    out = []
    reply = c.run(i, "XINFO", "GROUPS", "s")
    for m in reply if isinstance(reply, list) else []:
        d = dict(m.items)
        out.append((d, c.run(i, "XPENDING", "s", d[b"name"], "-", "+", "100"),
                    [dict(x.items)[b"name"] for x in c.run(i, "XINFO", "CONSUMERS", "s", d[b"name"])]))
    return out


def ids(c: Cluster, i: int = 0) -> list[bytes]:
    return [x[0] for x in c.run(i, "XRANGE", "s", "-", "+")]


def _stamp(ops: list[Op]) -> tuple[int, str]:
    return (ops[0].hlc, ops[0].origin)


def test_xadd_star_at_two_replicas_never_collides_and_orders_the_same_everywhere() -> None:
    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        def key(b: bytes) -> tuple[int, ...]:
            return tuple(int(x) for x in b.split(b"-"))

        assert len(set(replies)) == 4 and sorted(ids(c), key=key) == ids(c) and len(ids(c)) == 5
        assert key(replies[0]) < key(replies[1])
        # A new XADD * anywhere is above every ID that replica has seen.
        for i in range(3):
            top = max(ids(c, i), key=key)
            assert key(c.run(i, "XADD", "s", "*", "n", "1")) > key(top)

    run_orders([(0, ("XADD", "s", "*", "f", "0"))],
               [(0, ("XADD", "s", "*", "f", "a")), (0, ("XADD", "s", "*", "f", "b")),
                (1, ("XADD", "s", "*", "f", "c")), (2, ("XADD", "s", "*", "f", "d"))], check)


def test_xadd_same_explicit_id_concurrently_higher_stamp_shows_and_xdel_removes_what_it_saw() -> None:
    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies[:2] == [b"5-0", b"5-0"]
        assert c.run(0, "XLEN", "s") == 1
        win = 0 if _stamp(ops[0]) > _stamp(ops[1]) else 1
        assert c.run(0, "XRANGE", "s", "-", "+") == [[b"5-0", [b"f", [b"A", b"B"][win]]]]
        assert _info(c, 0)[b"entries-added"] == 2

    run_orders([], [(0, ("XADD", "s", "5-0", "f", "A")), (1, ("XADD", "s", "5-0", "f", "B"))], check)

    def check_del(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        # A's XDEL saw only A's version: B's survives, whatever the stamps.
        assert c.run(0, "XRANGE", "s", "-", "+") == [[b"5-0", [b"f", b"B"]]]

    run_orders([], [(0, ("XADD", "s", "5-0", "f", "A")), (0, ("XDEL", "s", "5-0")),
                    (1, ("XADD", "s", "5-0", "f", "B"))], check_del)


def test_concurrent_maxlen_trims_remove_what_each_saw() -> None:
    setup = [(0, ("XADD", "s", f"{i}-0", "f", str(i))) for i in range(1, 11)]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        # Both saw 1..10; each trimmed to 5 after its add: the 4 newest old entries and
        # both adds remain, one more than MAXLEN.
        assert [x.split(b"-")[0] for x in ids(c)][:4] == [b"7", b"8", b"9", b"10"]
        assert c.run(0, "XLEN", "s") == 6

    run_orders(setup, [(0, ("XADD", "s", "MAXLEN", "5", "*", "f", "a")),
                       (1, ("XADD", "s", "MAXLEN", "5", "*", "f", "b"))], check)

    def check_minid(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert ids(c)[0] == b"8-0" and c.run(0, "XLEN", "s") == 4

    run_orders(setup, [(0, ("XTRIM", "s", "MINID", "8")), (1, ("XADD", "s", "11-0", "f", "x"))], check_minid)


def test_del_and_xdel_concurrent_with_xadd_keep_the_new_entry() -> None:
    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert [e[1] for e in c.run(0, "XRANGE", "s", "-", "+")] == [[b"f", b"new"]]
        assert _info(c, 0)[b"entries-added"] == 1  # DEL reset the count of what it saw

    run_orders([(0, ("XADD", "s", "*", "f", "old"))], [(0, ("DEL", "s")), (1, ("XADD", "s", "*", "f", "new"))], check)

    def check_xdel(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert c.run(0, "XRANGE", "s", "-", "+") == [[b"2-0", [b"f", b"new"]]]
        assert _info(c, 0)[b"max-deleted-entry-id"] == b"1-1"

    run_orders([(0, ("XADD", "s", "1-1", "f", "old"))],
               [(0, ("XDEL", "s", "1-1")), (1, ("XADD", "s", "2-0", "f", "new"))], check_xdel)


def test_xreadgroup_same_entry_at_two_replicas_is_delivered_twice_owner_is_the_later_stamp() -> None:
    setup = [(0, ("XADD", "s", "1-1", "f", "v")), (0, ("XGROUP", "CREATE", "s", "g", "0"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies[0] == replies[1] == [[b"s", [[b"1-1", [b"f", b"v"]]]]]
        later = b"alice" if _stamp(ops[0]) > _stamp(ops[1]) else b"bob"
        (pid, owner, _idle, count), = c.run(0, "XPENDING", "s", "g", "-", "+", "10")
        assert (pid, owner, count) == (b"1-1", later, 1)
        assert sorted(n for n in (dict(x.items)[b"name"] for x in c.run(0, "XINFO", "CONSUMERS", "s", "g"))) \
            == [b"alice", b"bob"]

    run_orders(setup, [(0, ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")),
                       (1, ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"))], check)


def test_xack_concurrent_with_xclaim_the_claim_survives() -> None:
    setup = [(0, ("XADD", "s", "1-1", "f", "v")), (0, ("XGROUP", "CREATE", "s", "g", "0")),
             (0, ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies[0] == 1 and replies[1] == [b"1-1"]
        assert [x[1] for x in c.run(0, "XPENDING", "s", "g", "-", "+", "10")] == [b"bob"]
        assert c.run(2, "XACK", "s", "g", "1-1") == 1

    run_orders(setup, [(0, ("XACK", "s", "g", "1-1")), (1, ("XCLAIM", "s", "g", "bob", "0", "1-1", "JUSTID"))], check)


def test_entry_added_concurrently_below_the_cursor_is_delivered_by_the_next_read() -> None:
    setup = [(0, ("XADD", "s", "1-1", "f", "a")), (0, ("XGROUP", "CREATE", "s", "g", "0"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        # C's 2-0 is below what A delivered (3-0) and A's read had not seen it: the
        # group's last ID stays 3-0, and the next read, at any replica, delivers 2-0.
        assert [e[0] for e in replies[1][0][1]] == [b"1-1", b"3-0"]
        (g,) = c.run(1, "XINFO", "GROUPS", "s")
        assert dict(g.items)[b"last-delivered-id"] == b"3-0" and dict(g.items)[b"lag"] == 1
        nxt = c.run(1, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
        assert [e[0] for e in nxt[0][1]] == [b"2-0"]
        assert c.run(1, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">") is NULL_ARRAY

    run_orders(setup, [(0, ("XADD", "s", "3-0", "f", "b")),
                       (0, ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")),
                       (2, ("XADD", "s", "2-0", "f", "c"))], check)


def test_group_create_concurrent_create_and_destroy_concurrent_read() -> None:
    setup = [(0, ("XADD", "s", "1-1", "f", "v")), (0, ("XADD", "s", "2-1", "f", "w"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies == [b"OK", b"OK"]
        (g,) = c.run(0, "XINFO", "GROUPS", "s")
        assert dict(g.items)[b"last-delivered-id"] == b"2-1"  # both creates: the higher cursor

    run_orders(setup, [(0, ("XGROUP", "CREATE", "s", "g", "0")), (1, ("XGROUP", "CREATE", "s", "g", "$"))], check)

    setup2 = setup + [(0, ("XGROUP", "CREATE", "s", "g", "0"))]

    def check_destroy(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies[0] == 1
        # The read at B survives the concurrent DESTROY: the group with what B delivered.
        (g,) = c.run(0, "XINFO", "GROUPS", "s")
        assert dict(g.items)[b"last-delivered-id"] == b"1-1" and dict(g.items)[b"pending"] == 1

    run_orders(setup2, [(0, ("XGROUP", "DESTROY", "s", "g")),
                        (1, ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"))], check_destroy)

    def check_gone(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert c.run(0, "XINFO", "GROUPS", "s") == []  # an ack does not keep a group alive

    run_orders(setup2 + [(0, ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"))],
               [(0, ("XGROUP", "DESTROY", "s", "g")), (1, ("XACK", "s", "g", "1-1"))], check_gone)


def test_delconsumer_concurrent_with_a_delivery_to_it() -> None:
    setup = [(0, ("XADD", "s", "1-1", "f", "v")), (0, ("XADD", "s", "2-1", "f", "w")),
             (0, ("XGROUP", "CREATE", "s", "g", "0")),
             (0, ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies[0] == 1
        # 1-1 went with the consumer; 2-1, delivered to it concurrently, keeps it alive.
        assert [(x[0], x[1]) for x in c.run(0, "XPENDING", "s", "g", "-", "+", "10")] == [(b"2-1", b"bob")]

    run_orders(setup, [(0, ("XGROUP", "DELCONSUMER", "s", "g", "bob")),
                       (1, ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"))], check)


def test_xsetid_concurrent_with_xadd_counters_converge() -> None:
    setup = [(0, ("XADD", "s", "5-0", "f", "v"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        info = _info(c, 0)
        assert info[b"last-generated-id"] == b"100-0"  # the higher of the concurrent writes
        assert info[b"entries-added"] == 51  # 50, plus the add the XSETID had not seen
        assert info[b"max-deleted-entry-id"] == b"3-0"

    run_orders(setup, [(0, ("XSETID", "s", "100-0", "ENTRIESADDED", "50", "MAXDELETEDID", "3-0")),
                       (1, ("XADD", "s", "6-0", "f", "w"))], check)


def test_xack_of_own_delivery_concurrent_with_delivery_elsewhere_leaves_it_pending_there() -> None:
    # The timeline of docs/semantics.md ("Consumer groups").
    setup = [(0, ("XADD", "s", "1-1", "f", "v")), (0, ("XGROUP", "CREATE", "s", "g", "0"))]

    def check(c: Cluster, replies: list[Any], ops: list[list[Op]]) -> None:
        assert replies == [[[b"s", [[b"1-1", [b"f", b"v"]]]]], 1, [[b"s", [[b"1-1", [b"f", b"v"]]]]]]
        assert [(x[0], x[1]) for x in c.run(0, "XPENDING", "s", "g", "-", "+", "10")] == [(b"1-1", b"bob")]
        assert c.run(1, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0") == [[b"s", [[b"1-1", [b"f", b"v"]]]]]

    run_orders(setup, [(0, ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")),
                       (0, ("XACK", "s", "g", "1-1")),
                       (1, ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"))], check)
