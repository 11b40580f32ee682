"""The effects of a read batch's runs of list pushes and pops (runs.py `_pushes`, `_pops`),
built in one loop that setup.py compiles with mypyc when it can (as
`crdtredis._run_effects_native`; this source is the pure-Python fallback, and runs as
written when the build is missing or stale: wire/native.py).

Interpreted, building a push's or a pop's effect cost a pipelined LPUSH, RPUSH or LPOP a
dict lookup or two, an 8-tuple and three appends a request: compiled, a request costs
0.1-0.2 µs less of its ~1.5 µs in process (bench/RESULTS.md). The loops do what runs.py's
did; tests/test_runs.py holds both builds to the handlers, one request at a time.
"""
from __future__ import annotations

from typing import Any

from .crdt.codes import LINSERT as _LINSERT
from .crdt.codes import LREMOVE as _LREMOVE
from .crdt.list_blocks import _I_MASK, _ORIGINS
from .crdt.list_rga import ListEntry
from .wire.native import native_module


def push_effects_py(cmds: list[Any], i: int, j: int, dbi: int, data: dict[Any, Any], expires: dict[Any, Any],
                    shadow: dict[Any, Any], own: str, left: bool, h0: int, effs: list[Any], replies: list[Any]) -> None:
    """The effect and the reply (the list's new length) of each of cmds[i:j], LPUSHes
    (`left`) or RPUSHes of `PUSH key element`, appended to `effs` and `replies`, as
    commands/lists.py `_push1` makes them; the loop stops before a request of another shape
    or one whose key does not hold a visible list, or has an expiry register (`expires`) or a
    hidden type (`shadow`). An RPUSH refers to the list's last element:
    after an RPUSH of the run to that list, the element it adds, whose id is (its effect's
    HLC, this node, 0) as every insert of one value names it, the run's first effect
    getting HLC `h0` (unused for LPUSH)."""
    code: Any = _LINSERT
    db: Any = dbi
    list_cls: Any = ListEntry
    # The run's lists but the current one, with the length the run gave them and (RPUSH)
    # the index in effs of the run's last push to each. Most runs push to one list: its
    # state stays in `cur`, `size` and `at`, and these dicts hold the others'.
    sizes: dict[Any, int] = {}
    last: dict[Any, int] = {}
    cur: Any = None  # the list of the request before
    size: int = 0
    at: int = -1
    argv: Any
    e: Any
    end: Any
    o: Any
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 3:
            break
        key = argv[1]
        if cur is None or key != cur:
            if cur is not None:
                sizes[cur] = size
                last[cur] = at
            got = sizes.get(key)
            if got is None:
                if expires and key in expires or shadow and key in shadow:
                    break
                e = data.get(key)
                if type(e) is not list_cls:
                    break
                size = e.size
                if left:
                    effs.append((code, db, key, 0, "", 0, -1, argv[2]))
                else:
                    end = e.end(False)[1]
                    o = end[1]
                    effs.append((code, db, key, end[0], "" if o == own else o, end[2],
                                 size - 1 if size <= 2 else -2, argv[2]))  # _push1's _hint(size - 1, size)
                cur = key
                at = len(effs) - 1
                size += 1
                replies.append(size)
                continue
            cur = key
            size = got
            at = last.get(key, -1)
        if left:
            effs.append((code, db, key, 0, "", 0, -1, argv[2]))
        else:
            effs.append((code, db, key, h0 + at, "", 0, size - 1 if size <= 2 else -2, argv[2]))
            at = len(effs) - 1
        size += 1
        replies.append(size)


def pop_effects_py(dbi: int, key: Any, hls: Any, ois: Any, own: str, left: bool, s0: int, n: int,
                   effs: list[Any]) -> None:
    """The effects of n pops of list `key` (of length s0 > n) from the head (`left`) or the
    tail, the t-th taking the element of HLC hls[t] and packed origin id ois[t] (list_ends
    `end_items`), appended to `effs` as commands/lists.py `_pop1` makes them: the element's
    id, and the position hint `_hint(k, size)` (0 from the head; from the tail size - 1,
    which is past half but for size 2)."""
    code: Any = _LREMOVE
    db: Any = dbi
    origins: list[str] = _ORIGINS
    mask: int = _I_MASK
    oid: int
    name: str
    for t in range(n):
        oid = ois[t]
        name = origins[oid >> 32]
        effs.append((code, db, key, hls[t], "" if name == own else name, oid & mask,
                     0 if left else (-2 if s0 - t > 2 else 1)))


def _native() -> Any:
    """The compiled copy of this module, if it was built from this source."""
    return native_module("crdtredis._run_effects_native", __file__)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native() if __name__ == "crdtredis.run_effects" else None
push_effects = push_effects_py if _NATIVE is None else _NATIVE.push_effects_py
pop_effects = pop_effects_py if _NATIVE is None else _NATIVE.pop_effects_py


def compiled() -> bool:
    """True when `push_effects` and `pop_effects` are the compiled loops."""
    return _NATIVE is not None
