"""A GC visit's fold of one-stamp records (crdt/members.py fold_py) and its compiled twin
(crdt/memberfold.pyx), for a set's `(hlc, origin)` stamps and a hash's or sorted set's
`(value, hlc, origin)`: the same dict, the same counts, the same members left, the same
records handed to the type's code, in the same order."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.crdt import members
from crdtredis.wire import fastdec

Fold = Callable[..., tuple[int, list[bytes]]]
FOLDS: dict[str, Fold] = {"python": members.fold_py}
if members._NATIVE is not None:
    FOLDS["compiled"] = members._NATIVE.fold


def _pairs(fold: Fold) -> Fold:
    """A set's visit."""
    return lambda d, keys, stable, other: fold(d, keys, stable, int, 0, other)


def _triples(fold: Fold) -> Fold:
    """A hash's (plain: bytes) or a sorted set's (plain: float) visit."""
    return lambda d, keys, stable, plain, other: fold(d, keys, stable, plain, 1, other)


PAIRS = {k: _pairs(f) for k, f in FOLDS.items()}
TRIPLES = {k: _triples(f) for k, f in FOLDS.items()}

ORIGINS = ("a", "b")
# Stamps' HLCs; 0 is a stamp GC already made stable.
HLCS = st.integers(0, 6)


class Multi:
    """A record of several stamps: the type's code (`other`) takes it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return type(other) is Multi and other.n == self.n

    def __repr__(self) -> str:
        return f"Multi({self.n})"


def _stable(cut: int) -> Callable[[int, str], bool]:
    # Origin "b" is stable one HLC later than "a": the origin is read.
    return lambda h, o: h <= (cut if o == "a" else cut - 1)


def _other(calls: list[tuple[bytes, Any]], d: dict[bytes, Any]) -> members.Other:
    def other(x: bytes, rec: Any, stable: Callable[[int, str], bool]) -> tuple[int, bool]:
        calls.append((x, rec))
        if stable(rec.n, "a"):
            d[x] = 0 if rec.n % 2 else b"folded"
            return rec.n, False
        return 0, True
    return other


def _keys(d: dict[bytes, Any], pick: list[int] | None) -> dict[bytes, None] | None:
    """None (a walk), or the members of a `fresh` list: some present, some not, equal
    bytes objects that are not the dict's own keys, repeats folded."""
    if pick is None:
        return None
    names = [b"m%d" % i for i in pick]
    return dict.fromkeys(bytes(bytearray(x)) for x in names)


pair_records = st.one_of(st.just(0), st.tuples(HLCS, st.sampled_from(ORIGINS)), st.builds(Multi, HLCS))
triple_records = st.one_of(st.builds(lambda i: b"v%d" % i, st.integers(0, 3)),
                           st.tuples(st.builds(lambda i: b"v%d" % i, st.integers(0, 3)), HLCS,
                                     st.sampled_from(ORIGINS)),
                           st.builds(Multi, HLCS))
picks = st.one_of(st.none(), st.lists(st.integers(0, 40), max_size=30))


def _run(fold: Callable[..., tuple[int, list[bytes]]], d: dict[bytes, Any], pick: list[int] | None, cut: int,
         *plain: type) -> tuple[int, list[bytes], dict[bytes, Any], list[tuple[bytes, Any]]]:
    calls: list[tuple[bytes, Any]] = []
    dropped, left = fold(d, _keys(d, pick), _stable(cut), *plain, _other(calls, d))
    return dropped, left, d, calls


@settings(max_examples=300, deadline=None)
@given(recs=st.lists(pair_records, max_size=40), pick=picks, cut=st.integers(-1, 7))
def test_a_set_s_fold_is_the_same_in_both(recs: list[Any], pick: list[int] | None, cut: int) -> None:
    src = {b"m%d" % i: r for i, r in enumerate(recs)}
    want = _run(PAIRS["python"], dict(src), pick, cut)
    stable = _stable(cut)
    # The rule itself: a one-stamp member folds to 0 once stable, else it stays stamped.
    looked = src if pick is None else {x: src[x] for x in _keys(src, pick) or () if x in src}
    for x, r in looked.items():
        if type(r) is tuple:
            assert want[2][x] == (0 if stable(*r) else r)
            assert (x in want[1]) is not stable(*r)
    for x, r in src.items():
        if x not in looked:
            assert want[2][x] is r
    for impl, fold in PAIRS.items():
        assert _run(fold, dict(src), pick, cut) == want, impl


@settings(max_examples=300, deadline=None)
@given(recs=st.lists(triple_records, max_size=40), pick=picks, cut=st.integers(-1, 7))
def test_a_hash_s_fold_is_the_same_in_both(recs: list[Any], pick: list[int] | None, cut: int) -> None:
    src = {b"m%d" % i: r for i, r in enumerate(recs)}
    want = _run(TRIPLES["python"], dict(src), pick, cut, bytes)
    stable = _stable(cut)
    looked = src if pick is None else {x: src[x] for x in _keys(src, pick) or () if x in src}
    for x, r in looked.items():
        if type(r) is tuple:
            folds = r[1] == 0 or stable(r[1], r[2])
            assert want[2][x] == (r[0] if folds else r)
            assert (x in want[1]) is not folds
    for impl, fold in TRIPLES.items():
        assert _run(fold, dict(src), pick, cut, bytes) == want, impl


@pytest.mark.parametrize("impl", sorted(TRIPLES))
def test_a_sorted_set_s_plain_scores_are_skipped(impl: str) -> None:
    d: dict[bytes, Any] = {b"a": 1.5, b"b": (2.5, 3, "a"), b"c": (0.5, 9, "a")}
    calls: list[tuple[bytes, Any]] = []
    assert TRIPLES[impl](d, None, _stable(5), float, _other(calls, d)) == (1, [b"c"])
    assert d == {b"a": 1.5, b"b": 2.5, b"c": (0.5, 9, "a")} and not calls


@pytest.mark.parametrize("impl", sorted(TRIPLES))
def test_a_listed_member_whose_record_is_none_is_skipped(impl: str) -> None:
    """A visit of listed members looks up each with `d.get(x) is not None` (the Python
    twin): the compiled one skips a None record too."""
    d: dict[bytes, Any] = {b"a": None, b"b": (b"v", 3, "a")}
    calls: list[tuple[bytes, Any]] = []
    assert TRIPLES[impl](d, {b"a": None, b"b": None}, _stable(5), bytes, _other(calls, d)) == (1, [])
    assert d == {b"a": None, b"b": b"v"} and not calls
    assert PAIRS[impl](d, {b"a": None}, _stable(5), _other(calls, d)) == (0, [])


@pytest.mark.parametrize("impl", sorted(PAIRS))
def test_a_callback_that_changes_the_size_stops_the_visit(impl: str) -> None:
    for keys in (None, {b"b": None, b"c": None}):
        d: dict[bytes, Any] = {b"a": 0, b"b": Multi(1), b"c": Multi(2)}

        def other(x: bytes, rec: Any, stable: Callable[[int, str], bool], d: dict[bytes, Any] = d) -> tuple[int, bool]:
            del d[b"a"]
            return 0, True
        with pytest.raises(RuntimeError, match="changed the collection's size"):
            PAIRS[impl](d, keys, _stable(5), other)


@pytest.mark.parametrize("impl", sorted(TRIPLES))
def test_references_come_back(impl: str) -> None:
    """The folded value gains the dict's reference, the stamp is freed, keys and the
    records left keep theirs."""
    value, key, kept = b"v" + os.urandom(8), b"k" + os.urandom(8), b"w" + os.urandom(8)
    stamp = (value, 3, "a")
    live = (kept, 9, "a")
    d: dict[bytes, Any] = {key: stamp, b"x": live}
    before = sys.getrefcount(value), sys.getrefcount(key), sys.getrefcount(live)
    del stamp
    assert TRIPLES[impl](d, None, _stable(5), bytes, _other([], d)) == (1, [b"x"])
    assert d[key] is value
    # value: the tuple's reference became the dict's; key: the same; live: untouched.
    assert (sys.getrefcount(value), sys.getrefcount(key), sys.getrefcount(live)) == before


@pytest.mark.parametrize("impl", sorted(FOLDS))
def test_a_stamp_s_hlc_is_at_0_or_1(impl: str) -> None:
    with pytest.raises(ValueError, match="at 0 or 1"):
        FOLDS[impl]({b"a": (b"v", 1, "a")}, None, _stable(5), bytes, 2, _other([], {}))


def test_the_compiled_twin_is_used_when_the_build_is() -> None:
    if os.environ.get("CRDT_REDIS_PURE") or not fastdec.compiled():
        return
    assert members._NATIVE is not None
    assert members.fold is members._NATIVE.fold
