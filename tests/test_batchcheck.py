"""replication/batchcheck.py: the compiled check of a peer's batch answers exactly as the
code as written (the same highest stamp, or the same reason to refuse), on batches made by
commands, on random ops of every code (most malformed) and on batches that break each
rule; `inbox.validate` raises that reason."""
from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdtredis.commands import load_all
from crdtredis.op import Op
from crdtredis.replication import batchcheck
from crdtredis.replication.inbox import BadBatch, validate
from tests.support.sim import Cluster, Replica
from tests.test_wire_codec import ops as any_ops
from tests.test_wire_fastdec import fast_ops

load_all()
IMPLS: dict[str, Any] = {"pure": batchcheck.check_batch_py}
if batchcheck.compiled():
    IMPLS["compiled"] = batchcheck.check_batch
LIMIT = 1 << 62


def _answers(ops: list[Op], vv: dict[str, int], vh: dict[str, int], ours: str = "me.1",
             limit: int = LIMIT) -> list[Any]:
    out = []
    for name in sorted(IMPLS):
        vv0, vh0 = dict(vv), dict(vh)
        out.append(IMPLS[name](ops, vv, vh, ours, 16, 1 << 20, limit, lambda: 1000, 300_000))
        assert (vv, vh) == (vv0, vh0)  # the vectors are read, not changed
    assert all(a == out[0] for a in out)
    return out


def _commands_history(seed: int) -> list[Op]:
    rng = random.Random(seed)
    c = Cluster(2, seed=seed)
    for _ in range(60):
        k = rng.choice([b"a", b"b"])
        c.run(rng.randrange(2), *rng.choice([["SET", k, "v"], ["INCR", "n"], ["LPUSH", k, "x"], ["SADD", "s", k],
                                              ["HSET", "h", k, "1"], ["ZADD", "z", "1.5", k], ["DEL", k]]))
        if rng.random() < 0.3:
            c.deliver_some(2, dup_prob=0.0)
    return c[0].emitted + c[1].emitted


@pytest.mark.parametrize("seed", range(4))
def test_batches_made_by_commands_are_accepted_alike(seed: int) -> None:
    ops = _commands_history(seed)
    # Each origin's ops in order, deps of the other origin already held.
    vh = {o: 1 << 62 for o in {op.origin for op in ops}}
    by_origin = sorted(ops, key=lambda op: (op.origin, op.seq))
    highest, why = _answers(by_origin, {}, vh)[0]
    assert why is None and highest == max(op.hlc + len(op.effects) - 1 for op in ops)


@settings(max_examples=300, deadline=None)
@given(st.lists(fast_ops | any_ops, min_size=1, max_size=5), st.booleans())
def test_random_ops_get_the_same_answer(batch: list[Op], held: bool) -> None:
    vv = {op.origin: op.seq - 1 for op in batch} if held else {}
    _answers(batch, vv, {})


def _set(origin: str, seq: int, hlc: int = 5, **kw: Any) -> Op:
    eff = kw.pop("eff", (10, 0, b"k", b"v", 0, None))
    return Op(origin, seq, hlc, kw.pop("deps", {}), [eff])


@pytest.mark.parametrize(("batch", "words"), [
    ([_set("x.1", 2)], "not deliverable"),
    ([_set("x.1", 1, deps={"y.1": 9})], "depends on"),
    ([_set("me.1", 1)], "ours"),
    ([_set("bad origin", 1)], "is not <replica id>.<incarnation>"),
    ([_set("", 1)], "without origin"),
    ([Op("x.1", 1, 5, {}, [])], "without origin"),
    ([_set("x.1", 1, eff=(250, 0, b"k"))], "unknown effect"),
    ([_set("x.1", 1, eff=(10, 0))], "unknown effect"),
    ([_set("x.1", 1, eff=("10", 0, b"k"))], "unknown effect"),
    ([_set("x.1", 1, eff=(10, 16, b"k", b"v", 0, None))], "database"),
    ([_set("x.1", 1, eff=(10, 0, "k", b"v", 0, None))], "non-bytes key"),
    ([_set("x.1", 1, eff=(10, 0, b"k", 5, 0, None))], "x.1:1:"),
    ([_set("x.1", 1, hlc=LIMIT + 1)], "ahead of this node's clock"),
])
def test_each_rule_refuses_alike(batch: list[Op], words: str) -> None:
    highest, why = _answers(batch, {}, {})[0]
    assert highest == 0 and why is not None and words in why


def test_validate_raises_the_reason() -> None:
    r = Replica("r")
    with pytest.raises(BadBatch, match="not deliverable"):
        validate(r.node, [_set("x.1", 2)])
    assert validate(r.node, [_set("x.1", 1, hlc=7)]) == 7


def test_the_compiled_check_is_used_when_built() -> None:
    native = batchcheck._native()
    if native is None:
        pytest.skip("no compiled build of crdtredis/replication/batchcheck.py (python3 setup.py build_ext --inplace)")
    assert batchcheck.compiled() and batchcheck.check_batch is native.check_batch_py
