"""Bit and HyperLogLog strings as CRDTs (crdt/string_bits.py): named concurrent scenarios
in every delivery order, and a property test on 3 simulated replicas (random causal
delivery with duplicates) against a spec computed from the emitted effects alone; states
survive the snapshot encoding, the op log's codec and a replay from the log."""
from __future__ import annotations

import io
import itertools
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import codes, hll
from crdtredis.crdt.hll_batch import add_many
from crdtredis.crdt.string_bits import BitStr, apply_partial
from crdtredis.keyspace import CREATE, Keyspace, entry_from_state, entry_state
from crdtredis.op import Op
from crdtredis.storage.snapshot import load_base_bytes, write_base
from crdtredis.wire.codec import decode_op, decode_value, encode_op, encode_value
from tests.support.sim import Cluster

KEY = b"k"
PARTIAL = {80, 81, 82, 83, 84, 85, codes.APPEND, codes.INCR}


def _observed(stamp: tuple[int, str], origin: str, hlc: int, deps: dict[str, int]) -> bool:
    h, o = stamp
    if o == origin:
        return h < hlc
    return deps.get(o, 0) >= h


def spec_value(ops: list[Op]) -> bytes | None:
    """GET k from the effects alone (module docstring of crdt/string_bits.py): the live
    SET with the highest stamp, then every live partial write in stamp order, where a
    write is live unless a SET, a DEL or a write that recreated the key observed it."""
    effs: list[tuple[tuple[int, str], tuple[Any, ...], dict[str, int]]] = []
    for op in ops:
        for i, e in enumerate(op.effects):
            if e[1] == 0 and e[2] == KEY:
                effs.append(((op.hlc + i, op.origin), e, op.deps))
    removers = [(s, d) for s, e, d in effs if e[0] & ~CREATE in (codes.SET, codes.DEL) or e[0] & CREATE]

    def live(s: tuple[int, str]) -> bool:
        return not any(_observed(s, r[1], r[0], d) for r, d in removers)

    sets = [(s, e[3]) for s, e, _d in effs if e[0] & ~CREATE == codes.SET and live(s)]
    parts = sorted((s, e) for s, e, _d in effs if e[0] & ~CREATE in PARTIAL and live(s))
    if not sets and not parts:
        return None
    v: bytearray | None = bytearray(max(sets)[1]) if sets else None
    for _s, e in parts:
        v = apply_partial(v, e)
    return b"" if v is None else bytes(v)


def replay_fresh(ops: list[Op], seed: int) -> Cluster:
    """A new replica that applies every op (decoded from the log encoding) in a random
    causal order: what a restart that replays the op log does."""
    c = Cluster(1, seed)
    r = c[0]
    pending = [decode_op(encode_op(op)) for op in ops]
    rng = random.Random(seed)
    while pending:
        ready = [op for op in pending if r.ready(op)]
        op = rng.choice(ready)
        r.node.apply_remote(op)
        pending.remove(op)
    return c


def snapshot_round_trip(ks: Keyspace) -> Keyspace:
    buf = io.BytesIO()
    write_base(ks, 0, buf)
    fresh = Keyspace(ks.origin)
    load_base_bytes(buf.getvalue(), "mem", fresh)
    return fresh


def get(r: Any) -> Any:
    return r.run("GET", "k")


# ---- named scenarios, every delivery order -----------------------------------------------
def every_order(prepare: Any, concurrent: list[tuple[int, list[Any]]]) -> set[Any]:
    """Run `prepare` (delivered everywhere), then the concurrent commands (replica, argv)
    without delivery; deliver them to replica 2 in every order, then everywhere; returns
    the set of final GET values over all orders (one value = converged the same way)."""
    results = set()
    n = 0
    k = 0
    while k == 0 or k < n:
        c = Cluster(3, 0)
        prepare(c)
        c.deliver_all()
        ops = []
        for i, argv in concurrent:
            before = len(c[i].emitted)
            c.run(i, *argv)
            ops += [op for op in c[i].emitted[before:] if i != 2]
        perms = list(itertools.permutations(range(len(ops))))
        n = len(perms)
        r2 = c[2]
        pending = [ops[j] for j in perms[k]]
        while pending:  # in this order, as far as causality lets
            op = next(o for o in pending if r2.ready(o))
            r2.node.apply_remote(op)
            pending.remove(op)
        k += 1
        c.deliver_all()
        vals = {get(r) for r in c.replicas}
        assert len(vals) == 1, vals
        results |= vals
    return results


def nothing(c: Cluster) -> None:
    pass


def test_setbit_of_different_bits_at_two_replicas_both_survive() -> None:
    assert every_order(nothing, [(0, ["SETBIT", "k", 1, 1]), (1, ["SETBIT", "k", 14, 1])]) == {b"\x40\x02"}


def test_setbit_of_the_same_bit_goes_to_the_latest_stamp() -> None:
    # r1 sets then clears bit 0 while r0 sets it: r1's clear has the highest stamp.
    got = every_order(lambda c: c.run(0, "SET", "k", "\x00"),
                      [(0, ["SETBIT", "k", 0, 1]), (1, ["SETBIT", "k", 0, 1]), (1, ["SETBIT", "k", 0, 0])])
    assert got == {b"\x00"}


def test_bitfield_incrby_of_one_field_adds_up() -> None:
    got = every_order(lambda c: c.run(0, "BITFIELD", "k", "SET", "u8", 0, 10),
                      [(0, ["BITFIELD", "k", "INCRBY", "u8", 0, 5]), (1, ["BITFIELD", "k", "INCRBY", "u8", 0, 7])])
    assert got == {bytes([22])}


def test_bitfield_incrby_overflow_applies_at_its_turn() -> None:
    # 250 + 5 fits, then + 7 overflows: SAT stops at 255 whichever order they merge in.
    got = every_order(lambda c: c.run(0, "BITFIELD", "k", "SET", "u8", 0, 250),
                      [(0, ["BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", 0, 5]),
                       (1, ["BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", 0, 7])])
    assert got == {bytes([255])}


def test_set_concurrent_with_setbit_keeps_the_bit_on_top() -> None:
    got = every_order(lambda c: c.run(0, "SET", "k", "\x00\x00"),
                      [(0, ["SET", "k", "\x00\x00\x00"]), (1, ["SETBIT", "k", 7, 1])])
    assert got == {b"\x01\x00\x00"}


def test_append_concurrent_with_setbit_keeps_both() -> None:
    got = every_order(lambda c: c.run(0, "SET", "k", "\x00"),
                      [(0, ["APPEND", "k", "\x00"]), (1, ["SETBIT", "k", 7, 1])])
    assert got == {b"\x01\x00"}


def test_incr_after_setbit_it_saw_applies_after_it() -> None:
    # An increment joins the overlay in stamp order: with it in the register instead, a
    # replica with peers stored "2" after replying 4 (SET "1", SETBIT 6 -> "3", INCR).
    c = Cluster(3, 0)
    c.run(0, "SET", "k", "1")
    c.run(0, "SETBIT", "k", 6, 1)
    assert c.run(0, "INCR", "k") == 4
    c.deliver_all()
    assert get(c[0]) == get(c[1]) == get(c[2]) == b"4"


def test_set_after_setbit_it_saw_replaces_it() -> None:
    c = Cluster(2, 0)
    c.run(0, "SETBIT", "k", 3, 1)
    c.deliver_all()
    c.run(1, "SET", "k", "x")
    c.deliver_all()
    assert [get(r) for r in c.replicas] == [b"x", b"x"]


def test_del_concurrent_with_setbit_keeps_the_bit() -> None:
    got = every_order(lambda c: c.run(0, "SETBIT", "k", 0, 1),
                      [(0, ["DEL", "k"]), (1, ["SETBIT", "k", 9, 1])])
    assert got == {b"\x00\x40"}  # the DEL took bit 0 it saw; bit 9 stays


def test_concurrent_pfadds_merge_registerwise_to_identical_bytes() -> None:
    a = [f"a{i}" for i in range(200)]
    b = [f"b{i}" for i in range(200)]
    got = every_order(lambda c: c.run(0, "PFADD", "k", "x"),
                      [(0, ["PFADD", "k", *a]), (1, ["PFADD", "k", *b]), (2, ["PFCOUNT", "k"])])
    assert len(got) == 1
    v = got.pop()
    # The registers are those of one HLL that saw every element.
    ref = hll.new_sparse()
    add_many(ref, [hll.pat_len(x.encode()) for x in ["x", *a, *b]], 1 << 30)
    assert hll.registers(v) == hll.registers(ref)


def test_pfadd_concurrent_with_a_set_of_other_bytes_is_dropped() -> None:
    got = every_order(lambda c: c.run(0, "PFADD", "k", "x"),
                      [(0, ["SET", "k", "plain"]), (1, ["PFADD", "k", "y", "z"])])
    assert got == {b"plain"}


def test_pfadd_concurrent_with_a_set_of_an_hll_merges() -> None:
    src = Cluster(1, 0)
    src.run(0, "PFADD", "h", "p", "q")
    blob = src[0].run("GET", "h")
    got = every_order(lambda c: c.run(0, "PFADD", "k", "x"),
                      [(0, ["SET", "k", blob]), (1, ["PFADD", "k", "y"])])
    (v,) = got
    ref = hll.new_sparse()
    add_many(ref, [hll.pat_len(x) for x in (b"p", b"q", b"y")], 1 << 30)
    assert hll.registers(v) == hll.registers(ref)


def test_geoadd_same_member_concurrently_resolves_to_one_position() -> None:
    results = set()
    for first in (0, 1):
        c = Cluster(3, 0)
        c.run(0, "GEOADD", "g", "13.361389", "38.115556", "m")
        c.run(1, "GEOADD", "g", "15.087269", "37.502669", "m")
        ops = [c[0].emitted[-1], c[1].emitted[-1]]
        c[2].node.apply_remote(ops[first])
        c[2].node.apply_remote(ops[1 - first])
        c.deliver_all()
        pos = {tuple(map(repr, r.run("GEOPOS", "g", "m"))) for r in c.replicas}
        assert len(pos) == 1
        results |= pos
    assert len(results) == 1


def test_geoadd_wins_over_a_concurrent_zrem() -> None:
    c = Cluster(2, 0)
    c.run(0, "GEOADD", "g", "13.361389", "38.115556", "m")
    c.deliver_all()
    c.run(0, "ZREM", "g", "m")
    c.run(1, "GEOADD", "g", "15.087269", "37.502669", "m")
    c.deliver_all()
    assert [r.run("GEOHASH", "g", "m") for r in c.replicas] == [[b"sqdtr74hyu0"]] * 2


def test_hll_bytes_match_a_single_replica_history() -> None:
    # Causally ordered ops give exactly the bytes one Redis gives for the same commands
    # (the differential tests compare with redis-server; here: with the pure functions).
    c = Cluster(2, 0)
    c.run(0, "PFADD", "k", "a", "b")
    c.deliver_all()
    c.run(1, "PFADD", "k", "c")
    c.deliver_all()
    v = hll.new_sparse()
    hll.invalidate(v)
    for x in (b"a", b"b", b"c"):
        add_many(v, [hll.pat_len(x)], 3000)
    assert get(c[0]) == get(c[1]) == bytes(v)


# ---- property test ----------------------------------------------------------------------------
commands = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from(["", "\x00", "ab", "\xff\x0f", "12"])),
    st.tuples(st.just("APPEND"), st.sampled_from(["\x01", "z", "7"])),
    st.tuples(st.just("INCRBY"), st.integers(-3, 3).map(str)),
    st.tuples(st.just("SETRANGE"), st.integers(0, 3), st.sampled_from(["\x80", "q"])),
    st.tuples(st.just("DEL")),
    st.tuples(st.just("SETBIT"), st.integers(0, 40), st.integers(0, 1)),
    st.tuples(st.just("BITFIELD"), st.just("SET"), st.sampled_from(["u4", "i8", "u12"]), st.integers(0, 20),
              st.integers(-300, 300)),
    st.tuples(st.just("BITFIELD"), st.sampled_from(["WRAP", "SAT", "FAIL"]).map(lambda o: o),
              st.sampled_from(["u4", "i8"]), st.integers(0, 12), st.integers(-20, 20)),
    st.tuples(st.just("PFADD"), st.lists(st.sampled_from([f"e{i}" for i in range(40)]), max_size=5)),
    st.tuples(st.just("PFCOUNT")),
    st.tuples(st.just("PFMERGE")),
)
steps = st.lists(
    st.one_of(st.tuples(st.just("cmd"), st.integers(0, 2), commands),
              st.tuples(st.just("deliver"), st.integers(1, 6))),
    min_size=1, max_size=25,
)


def run_cmd(c: Cluster, i: int, cmd: tuple[Any, ...]) -> None:
    name = cmd[0]
    if name == "PFADD":
        c.run(i, "PFADD", "k", *cmd[1])
    elif name == "PFMERGE":
        c.run(i, "PFADD", "src", "m1", "m2")
        c.run(i, "PFMERGE", "k", "src")
    elif name == "BITFIELD" and cmd[1] != "SET":
        c.run(i, "BITFIELD", "k", "OVERFLOW", cmd[1], "INCRBY", cmd[2], cmd[3], cmd[4])
    else:
        c.run(i, name, "k", *cmd[1:])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.integers(0, 10_000))
def test_bit_strings_converge_to_the_spec(plan: list[Any], seed: int) -> None:
    c = Cluster(3, seed)
    for step in plan:
        if step[0] == "cmd":
            run_cmd(c, step[1], step[2])
        else:
            c.deliver_some(step[1], dup_prob=0.2)
    c.deliver_all(dup_prob=0.2)
    got = [get(r) for r in c.replicas]
    assert got[0] == got[1] == got[2], got
    ops = c.all_ops()
    assert got[0] == spec_value(ops)
    for r in c.replicas:
        ks = r.node.keyspace
        e = ks.dbs[0].data.get(KEY)
        if e is not None:
            tag, s = entry_state(e)
            back = entry_from_state(tag, decode_value(encode_value(s)))
            assert entry_state(back) == (tag, s)
            assert ks.dbs[0].data[KEY] is e
        fresh = snapshot_round_trip(ks)
        fe = fresh.dbs[0].data.get(KEY)
        assert (None if fe is None else (fe[0] if type(fe) is tuple else fe.value)) == got[0]
    # Restart: a replay of the log in another causal order gives the same bytes.
    assert get(replay_fresh(ops, seed)[0]) == got[0]
    # GC once everything is stable: the value does not change; it folds when it can.
    for r in c.replicas:
        ks = r.node.keyspace
        for n in ks.gc_chunks(lambda h, o: True):
            assert n >= 0
        assert get(r) == got[0]
        e = ks.dbs[0].data.get(KEY)
        assert type(e) is not BitStr or not e.ops


def test_solo_replica_folds_partial_writes_at_once() -> None:
    c = Cluster(1, 0)
    r = c[0]
    r.node.set_solo(True)
    r.run("SET", "k", "\x00")
    r.run("SETBIT", "k", 0, 1)
    r.run("BITFIELD", "k", "INCRBY", "u8", 8, 3)
    e = r.node.keyspace.dbs[0].data[KEY]
    assert type(e) is BitStr and e.reg is None and not e.ops
    assert get(r) == b"\x80\x03"
    r.run("SET", "k", "x")
    assert type(r.node.keyspace.dbs[0].data[KEY]) is tuple


def test_gc_of_a_stable_prefix_changes_nothing_later_ops_can_see() -> None:
    # r0 and r1 write partials; r2 has seen them all and collects what is stable (what r0
    # and r1 had both applied), while a write concurrent with the rest is still in flight.
    c = Cluster(3, 0)
    c.run(0, "SET", "k", "\x00\x00")
    c.run(0, "SETBIT", "k", 3, 1)
    c.run(1, "PFADD", "other", "x")
    c.deliver_all()
    c.run(0, "SETBIT", "k", 9, 1)
    c.run(1, "BITFIELD", "k", "INCRBY", "u4", 12, 5)
    late = c[1].emitted[-1]
    # Deliver everything to r2 except r1's increment, which r0 never saw either.
    for op in c.all_ops():
        if op is not late and not c[2].applied(op):
            c[2].node.apply_remote(op)
    ks = c[2].node.keyspace
    e = ks.dbs[0].data[KEY]
    assert type(e) is BitStr
    cut = late.hlc  # stable: everything below the in-flight op's stamp that r1 had seen
    stable = lambda h, o: h < cut and (o != c[1].node.origin or h < late.hlc)  # noqa: E731
    before = get(c[2])
    n_ops = len(e.ops)
    assert e.gc(stable) > 0 and len(e.ops) < n_ops  # a prefix folded into the base
    assert get(c[2]) == before
    c[2].node.apply_remote(late)
    c.deliver_all()
    assert get(c[2]) == get(c[0]) == get(c[1]) == spec_value(c.all_ops())


def test_an_emptied_overlay_string_stays_empty_when_gc_folds_it() -> None:
    # The emptied entry a removal keeps hidden for its stamp (Keyspace.drop_empty) is
    # collected into a stable base of no value: it must stay empty, or it counts as content
    # that outranks a concurrent SET (tests/test_convergence_holes.py has the scenario).
    from crdtredis.op import Ctx

    b = BitStr.from_string((b"7", 1, "a"))
    b.partial((codes.APPEND, 0, b"k", b"x"), Ctx("a", 2, 2, {}), False)
    assert b.value == b"7x" and not b.is_empty()
    b.remove_observed(Ctx("a", 3, 3, {}))
    assert b.is_empty()
    b.gc(lambda h, o: True)
    assert b.is_empty() and b.value == b""
    assert b.fold_if_stable(lambda h, o: True) is None
