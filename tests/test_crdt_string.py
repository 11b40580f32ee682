"""Strings and counters as CRDTs: 3 simulated replicas, random commands, random causal
delivery orders with duplicates; every replica converges to the value a spec computes from
the emitted effects and their causal contexts alone."""
from __future__ import annotations

from itertools import permutations, product
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdtredis.crdt import codes
from crdtredis.crdt.numbers import incr_value
from crdtredis.keyspace import CREATE, entry_from_state, entry_state
from crdtredis.op import Op
from tests.support.sim import Cluster

KEY = b"k"


def _observed(a: tuple[int, str], b_origin: str, b_hlc: int, b_deps: dict[str, int]) -> bool:
    h, o = a
    if o == b_origin:
        return h < b_hlc
    return b_deps.get(o, 0) >= h


def spec_value(ops: list[Op]) -> bytes | None:
    """GET k from the effects alone: a register write, increment or APPEND survives unless
    some SET/DEL of k, or a write that recreated k (CREATE: delete first), observed it; the
    value is the surviving write with the highest stamp, then the surviving increments and
    APPENDs in stamp order, each applied as Redis would or skipped where Redis would refuse
    it."""
    effects: list[tuple[tuple[int, str], tuple[Any, ...], dict[str, int]]] = []
    for op in ops:
        for i, e in enumerate(op.effects):
            if e[2] == KEY and e[1] == 0:
                effects.append(((op.hlc + i, op.origin), e, op.deps))
    removers = [(st_, d) for st_, e, d in effects if e[0] in (codes.SET, codes.DEL) or e[0] & CREATE]

    def survives(stamp: tuple[int, str]) -> bool:
        return not any(_observed(stamp, r[1], r[0], d) for r, d in removers)

    writes = [(st_, e[3]) for st_, e, _d in effects if e[0] & ~CREATE == codes.SET and survives(st_)]
    # Increments and APPENDs: applied in one stamp order on top of the winning SET.
    incs = sorted((st_, e[0] & ~CREATE, e[3]) for st_, e, _d in effects
                  if e[0] & ~CREATE in (codes.INCR, codes.APPEND) and survives(st_))
    if not writes and not incs:
        return None
    v = max(writes)[1] if writes else None
    for _st, code, d in incs:
        nv = (v or b"") + d if code == codes.APPEND else incr_value(v, d)
        if nv is not None:
            v = nv
    return v if v is not None else b""


commands = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from(["1", "10", "abc", "2.5"])),
    st.tuples(st.just("INCRBY"), st.integers(-5, 5).map(str)),
    st.tuples(st.just("INCRBYFLOAT"), st.sampled_from(["0.5", "1.25", "-0.1"])),
    st.tuples(st.just("DEL")),
    st.tuples(st.just("APPEND"), st.sampled_from(["x", "7"])),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("cmd"), st.integers(0, 2), commands),
        st.tuples(st.just("deliver"), st.integers(1, 6)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(0, 10_000))
def test_strings_converge_to_the_spec_under_any_causal_delivery(plan: list[Any], seed: int) -> None:
    c = Cluster(3, seed)
    for step in plan:
        if step[0] == "cmd":
            _k, i, cmd = step
            c.run(i, cmd[0], "k", *cmd[1:])
        else:
            c.deliver_some(step[1], dup_prob=0.2)
    c.deliver_all(dup_prob=0.2)
    got = [r.run("GET", "k") for r in c.replicas]
    assert got[0] == got[1] == got[2], got
    # Commands that failed at their origin (INCR on "abc") emitted nothing: the spec sees
    # exactly the effects that exist.
    assert got[0] == spec_value(c.all_ops())
    for r in c.replicas:
        e = r.node.keyspace.dbs[0].data.get(KEY)
        if e is not None:
            tag, s = entry_state(e)
            assert entry_state(entry_from_state(tag, s)) == (tag, s)


def test_set_set_then_del_that_saw_only_one_converges_in_every_order() -> None:
    # SET lo at r0 ‖ SET hi at r1; r1 then deletes having seen only its own SET.
    results = set()
    for order in permutations(range(3)):
        c = Cluster(3, 0)
        c.run(0, "SET", "k", "lo")
        c.run(1, "SET", "k", "hi")
        c.run(1, "DEL", "k")
        ops = [c[0].emitted[0], c[1].emitted[0], c[1].emitted[1]]
        r2 = c[2]
        pending = [ops[i] for i in order]
        while pending:
            for op in list(pending):
                if r2.ready(op):
                    r2.node.apply_remote(op)
                    pending.remove(op)
        results.add(r2.run("GET", "k"))
    assert results == {b"lo"}  # the DEL never saw "lo": it survives everywhere


def test_set_concurrent_with_incr_keeps_the_increment_in_both_orders() -> None:
    for first in (0, 1):
        c = Cluster(2, 0)
        c.run(0, "SET", "k", "10")
        c.deliver_all()
        c.run(0, "SET", "k", "100")
        c.run(1, "INCRBY", "k", "5")
        a, b = c[0].emitted[-1], c[1].emitted[-1]
        (c[1] if first == 0 else c[0]).node.apply_remote(a if first == 0 else b)
        c.deliver_all()
        assert [r.run("GET", "k") for r in c.replicas] == [b"105", b"105"]


def test_many_increments_with_peers_stay_cheap() -> None:
    import time

    c = Cluster(2, 0)
    t0 = time.perf_counter()
    for _ in range(3000):
        c.run(0, "INCR", "k")
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(3000):
        c.run(0, "INCR", "k")
    second = time.perf_counter() - t0
    assert c[0].run("GET", "k") == b"6000"
    # O(1) per increment: the second 3000 must not cost many times the first 3000.
    assert second < first * 5 + 0.5


def test_counter_late_increments_fold_like_a_recompute() -> None:
    """A late, lower-stamped increment takes the O(log n) path while the integer sum stays
    in int64, and the full re-fold otherwise: both give what a fresh fold gives."""
    import random as _random

    from crdtredis.crdt.counter_reg import CounterReg
    from crdtredis.crdt.numbers import LLONG_MAX

    rnd = _random.Random(7)
    for big in (False, True):
        for _ in range(50):
            deltas = [rnd.choice([1, -3, 7, LLONG_MAX // 2 if big else 5]) for _ in range(30)]
            contribs = [(h + 1, rnd.choice("ab"), d) for h, d in enumerate(deltas)]
            reg = CounterReg([(b"10", 0, "a")], [])
            for c in rnd.sample(contribs, len(contribs)):
                reg.incr(c)
            fresh = CounterReg([(b"10", 0, "a")], sorted(contribs))
            assert reg.contrib == sorted(contribs)
            assert reg.value == fresh.value


def test_counter_late_increments_in_any_order_match_a_fresh_fold_at_every_step() -> None:
    """Late increments are appended and sorted only when read (CounterReg.contrib): at
    every step the value, the stamp-ordered list and the stamps match a fresh fold, also
    when a float increment (no integer sum) or a write arrives while the list is unsorted."""
    import random as _random

    from crdtredis.crdt.counter_reg import CounterReg
    from crdtredis.op import Ctx

    rnd = _random.Random(11)
    for _ in range(40):
        contribs = [(h + 1, rnd.choice("ab"), rnd.choice([1, -2, 9, b"0.5"])) for h in range(25)]
        reg = CounterReg([(b"3", 0, "a")], [])
        seen: list[Any] = []
        for c in rnd.sample(contribs, len(contribs)):
            reg.incr(c)
            seen.append(c)
            fresh = CounterReg([(b"3", 0, "a")], sorted(seen))
            assert reg.value == fresh.value
            assert sorted(reg.stamps()) == sorted(fresh.stamps())
        assert reg.contrib == sorted(contribs)
    # A write that observed some increments, arriving while the list is unsorted.
    reg = CounterReg([], [])
    for c in [(5, "a", 1), (9, "b", 2), (2, "b", 4), (7, "a", 8)]:
        reg.incr(c)
    reg.write((b"100", 6, "a"), Ctx("a", 1, 6, {"a": 5, "b": 2}))
    assert reg.contrib == [(7, "a", 8), (9, "b", 2)]
    assert reg.value == b"110"


def test_lean_counter_answers_as_the_full_form_after_any_next_op() -> None:
    """CounterStr.of_incr / of_tuple_incr keep one increment, on nothing or on a plain
    string's value, without a register (the lean form). Read
    before and after each kind of next op (an increment before or after it, from either
    origin; a write or remove that did or did not observe it; the GC fold), it must answer
    exactly as the full form built by CounterStr() then incr()."""
    from crdtredis.crdt.numbers import LLONG_MAX
    from crdtredis.crdt.string_counter import CounterStr
    from crdtredis.op import Ctx

    first = Ctx("a", 1, 10, {})
    saw = {"a": 10}
    nexts: list[tuple[str, Any]] = [
        ("none", None),
        ("incr", Ctx("a", 2, 15, {})), ("incr", Ctx("b", 1, 5, {})), ("incr", Ctx("b", 1, 20, saw)),
        ("set", Ctx("b", 1, 12, saw)), ("set", Ctx("b", 1, 8, {})), ("set", Ctx("a", 2, 11, {})),
        ("remove", Ctx("b", 1, 30, saw)), ("remove", Ctx("b", 1, 9, {})),
    ]

    def read(c: CounterStr) -> Any:
        return (c.value, c.is_empty(), c.winner_stamp(), c.state(), c.thlc, c.torigin,
                c.fold_if_stable(lambda h, o: True), c.fold_if_stable(lambda h, o: h < 10),
                c.fold_if_stable(lambda h, o: False))

    deltas: list[Any] = [1, -7, 0, LLONG_MAX, -LLONG_MAX - 1, b"1.5", b"-0.25", b"inf", b"nan", b"junk"]
    # On nothing (of_incr), or on a plain string (of_tuple_incr): older than the increment
    # (the lean form), of every kind of value, or newer (a concurrent late INCR: full form).
    bases: list[Any] = [None, (b"5", 3, "b"), (b"-2", 3, "a"), (b"x", 3, "b"), (b"1.5", 4, "a"),
                        (b"9223372036854775807", 3, "b"), (b"", 3, "b"), (b"5", 12, "b")]
    for d, base, (kind, ctx) in product(deltas, bases, nexts):
        if base is None:
            lean = CounterStr.of_incr(d, first)
            full = CounterStr()
        else:
            lean = CounterStr.of_tuple_incr(base, d, first)
            full = CounterStr.from_tuple(base)
        full.incr(d, first)
        assert (lean._reg is None) == (base is None or base[1] < first.hlc)
        assert read(lean) == read(full), (d, base, kind)
        for c in (lean, full):
            if kind == "incr":
                c.incr(LLONG_MAX if d == LLONG_MAX else 2, ctx)
            elif kind == "set":
                c.set(b"41", ctx)
            elif kind == "remove":
                c.remove_observed(ctx)
        assert read(lean) == read(full), (d, base, kind)
        assert entry_state(entry_from_state(*entry_state(lean))) == entry_state(full)


_LEAN_STEP = st.one_of(
    # An increment: its HLC (mostly later than the ones before it: the lean form grows), its
    # origin and its delta (floats and values that overflow: refused at their turn).
    st.tuples(st.just("incr"), st.integers(1, 40), st.sampled_from("ab"),
              st.sampled_from([1, -3, 7, 2**62, -(2**62), 2**63 - 1, b"0.5", b"junk"])),
    st.tuples(st.just("set"), st.integers(1, 40), st.sampled_from("ab"), st.integers(0, 40)),
    st.tuples(st.just("remove"), st.integers(1, 40), st.sampled_from("ab"), st.integers(0, 40)),
)


@settings(max_examples=400, deadline=None)
# An earlier increment from another origin than the last: a GC cut that has the last but
# not it must not fold.
@example(base=None, first=1, steps=[("incr", 1, "b", 1), ("incr", 1, "a", 1)], climb=True)
@given(base=st.sampled_from([None, (b"5", 1, "b"), (b"x", 1, "a"), (b"9223372036854775800", 1, "b")]),
       first=st.sampled_from([1, -2, 2**63 - 1, b"1.5"]), steps=st.lists(_LEAN_STEP, max_size=14),
       climb=st.booleans())
def test_a_lean_counter_answers_as_the_full_form_after_any_ops(
        base: Any, first: Any, steps: list[tuple[Any, ...]], climb: bool) -> None:
    """The lean form keeps up to LEAN_MAX increments in stamp order (CounterStr). After
    every step of any sequence (increments later or earlier than the last, from either
    origin, of any delta; writes and removals that observed a prefix), it must answer as
    the full form does: value, stamps, state, GC folds at any cut, and a state round trip.
    With `climb`, each increment's HLC is made later than the last (the common case: a
    replica's own INCRs), so the lean form reaches LEAN_MAX and beyond."""
    from crdtredis.crdt.string_counter import LEAN_MAX, CounterStr
    from crdtredis.op import Ctx

    def read(c: CounterStr) -> Any:
        return (c.value, c.is_empty(), c.winner_stamp(), c.state(), c.thlc, c.torigin,
                c.fold_if_stable(lambda h, o: True), c.fold_if_stable(lambda h, o: h < 20),
                c.fold_if_stable(lambda h, o: o == "a"), c.fold_if_stable(lambda h, o: False))

    ctx0 = Ctx("a", 1, 2, {})
    if base is None:
        lean, full = CounterStr.of_incr(first, ctx0), CounterStr()
    else:
        lean, full = CounterStr.of_tuple_incr(base, first, ctx0), CounterStr.from_tuple(base)
    full.incr(first, ctx0)
    assert read(lean) == read(full)
    top = 2
    seq = {"a": 1, "b": 1}
    for i, (kind, h, o, arg) in enumerate(steps):
        # No two ops share an HLC (as no two ops of one origin do): the step's index breaks ties.
        h = top = top + 100 * h + i if climb else 100 * h + i
        seq[o] += 1
        if kind == "incr":
            ctx = Ctx(o, seq[o], h, {})
            for c in (lean, full):
                c.incr(arg, ctx)
        else:
            ctx = Ctx(o, seq[o], h, {"a": 100 * arg, "b": 100 * arg})  # observed every stamp up to it
            for c in (lean, full):
                if kind == "set":
                    c.set(b"%d" % arg, ctx)
                else:
                    c.remove_observed(ctx)
        assert read(lean) == read(full), (kind, h, o, arg)
        assert entry_state(entry_from_state(*entry_state(lean))) == entry_state(full)
    assert len(lean._e) <= 3 * (LEAN_MAX - 1)


def test_counter_all_stable_answers_as_every_stamp_checked() -> None:
    """CounterReg.all_stable (the GC fold's check, latest increments first, no list built)
    gives what checking every stamp but 0 of `stamps()` gives, sorted or not."""
    import random as _random

    from crdtredis.crdt.counter_reg import CounterReg

    rnd = _random.Random(5)
    for _ in range(300):
        vals = [(b"1", rnd.choice([0, 3, 8]), rnd.choice("ab")) for _ in range(rnd.randint(0, 2))]
        reg = CounterReg(vals, [])
        for _ in range(rnd.randint(0, 6)):
            reg.incr((rnd.randint(1, 12), rnd.choice("ab"), 1))
        cut = {"a": rnd.randint(0, 12), "b": rnd.randint(0, 12)}

        def stable(h: int, o: str, cut: dict[str, int] = cut) -> bool:
            return cut[o] >= h

        want = all(stable(h, o) for h, o in reg.stamps() if h)
        assert reg.all_stable(stable) == want


def test_counter_from_one_increment_matches_a_fresh_fold_at_every_step() -> None:
    """CounterReg.of_incr starts with the integer sum (no parse of the value per in-order
    increment after it): at every step, in order or not, with sums that leave int64 and
    float increments, the value equals a fresh fold's."""
    import random as _random

    from crdtredis.crdt.counter_reg import CounterReg
    from crdtredis.crdt.numbers import LLONG_MAX

    rnd = _random.Random(13)
    for _ in range(60):
        pool = [1, -4, LLONG_MAX // 2, -LLONG_MAX, LLONG_MAX, b"0.5", b"junk"]
        contribs = [(h + 1, rnd.choice("ab"), rnd.choice(pool)) for h in range(12)]
        order = contribs if rnd.random() < 0.5 else rnd.sample(contribs, len(contribs))
        reg = CounterReg.of_incr(order[0])
        assert reg.value == CounterReg([], [order[0]]).value
        for i, c in enumerate(order[1:], 2):
            reg.incr(c)
            assert reg.value == CounterReg([], sorted(order[:i])).value, order[:i]
