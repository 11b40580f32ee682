"""A read batch's run of pipelined requests of one command, executed in one call.

A client that pipelines writes (a cache warm-up, a queue producer, `redis-cli --pipe`,
redis-benchmark) sends runs of the same command in one read. Run one by one, each request
pays for `Node.execute`'s checks and its timing before its handler runs. The request loops
(protocol/plainrun.pyx and its Python twin in protocol/connection.py) hand a run of two or
more requests spelled alike (`argv[0]` byte for byte) to `run_cmds`, which does what
`execute` would do for each, with the checks made once for the run:

* MERGEABLE writes (node.py) run this way: their effects join the op a read batch's
  writes share (`Node._merging`) exactly as they would one by one, and the op closes
  where `execute` closes it (`MERGE_CAP` effects); so do the common reads (`READS`),
  which close that op first and any op one of them opens at once, as `execute` does;
* `GET key` of plain strings without a TTL answers in one pass (`_gets`);
* `SET key value` (no options), `INCR key`, `HSET key field value`, `SADD key member`,
  `ZADD key score member`, `LPUSH`/`RPUSH key element` and `LPOP`/`RPOP key` are the
  commonest pipelined writes:
  without keyspace events or a `new`-key hook, a run of them joining an open op is applied
  in one `Node._emit_all` (MSET's path: `keyspace_batch.apply_local_all`, the same seq, HLC,
  vectors and GC notes per effect), the replies and effects computed first as the
  handlers would (`_incrs`, `_hsets`, `_sadds`, `_zadds`, `_pushes`, `_pops`); so is a run of MSETs (`_msets`:
  redis-benchmark's, a bulk loader's), its SETs in one `_emit_all` instead of one a request;
* a one-pass run stops before a request of a key with an expiry register (`Db.expires`:
  a TTL, maybe past, or a register that with peers outlives it until GC), which the
  handler checks and expires as it would one by one. TTLs on other keys of the db change
  nothing here: a cache's or a lock's keys with TTLs beside a queue's list used to send
  every run of the db one by one (2-3x the CPU a request, bench/RESULTS.md);
* every other run calls each request's handler in turn, as `execute` does; the run stops
  before a request whose arity is wrong (left to `execute`, which rejects it), after a
  reply the loops do not encode themselves (an error, an array: handed back last, for the
  connection to write as it writes any reply), and where the op fills up;
* the run is timed once: INFO commandstats counts each call and the whole time, the
  latency histogram and SLOWLOG see each request as the run's mean (Redis times each
  call; a run's requests are one command's, pipelined together).

Whatever makes a request need more than that (tracking, MONITOR, CLIENT PAUSE, ACL rules,
maxmemory, a busy script, a write refusal, MULTI, any other command, a blocked or special
client) makes `run_cmds` decline, and the requests take `Node.execute` one by one.

setup.py compiles this module with mypyc when it can (as `crdtredis._runs_native`): a
run's checks, its loops over the requests and the calls between these functions then run
in C: 5-15% less CPU a pipelined request (bench/RESULTS.md). This source is the fallback, and
runs as written when the build is missing or stale (wire/native.py); tests/test_runs.py
runs both.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from . import keyspace_batch, run_effects
from .crdt.codes import INCR as _INCR
from .crdt.codes import LREMOVE as _LREMOVE
from .crdt.list_rga import ElemId, ListEntry
from .crdt.map_fields import HSET as _HSET
from .crdt.map_fields import HashEntry
from .crdt.numbers import parse_int
from .crdt.schema import INT64_MAX, INT64_MIN
from .crdt.set_aw import SADD as _SADD
from .crdt.set_aw import SetEntry
from .crdt.string_counter import CounterStr
from .crdt.zset_aw import LISTPACK_MAX_ENTRIES as _ZSET_MAX_ENTRIES
from .crdt.zset_aw import LISTPACK_MAX_VALUE as _ZSET_MAX_VALUE
from .crdt.zset_aw import ZADD as _ZADD
from .crdt.zset_aw import ZsetEntry, rec_score
from .keyspace import CREATE
from .op import Effect, Op
from .reply import OK, CommandError, ErrorReply, Reply, Status
from .wire.native import native_module

if TYPE_CHECKING:
    from .client import Client
    from .cmdtable import Command
    from .node import Node

# `run_cmds` declined this run: its requests go one by one.
NOT_HERE = -1

# Reads whose handlers do nothing `execute` would have to do around them: besides the
# MERGEABLE writes, runs of these go in one call too (their replies are mostly plain).
READS = frozenset({
    "get", "strlen", "getrange", "exists", "type", "ttl", "pttl", "hget", "hexists", "hlen", "hstrlen",
    "sismember", "scard", "zscore", "zcard", "zrank", "llen", "lindex",
})


Run = tuple[int, "list[Reply] | None", "BaseException | None"]


def run_cmds(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, merge_cap: int) -> Run:
    """Execute a prefix of cmds[i:j] (requests spelled alike: the loop checks) and return
    `(k, replies, exc)`: the first k of them ran, with `replies` theirs (None: each
    answers +OK). Each reply but the last is one the loops encode themselves (plainrun.py);
    the last may be any reply. With `exc` not None, request i + k then raised it, as
    `Node.execute` would have raised it, and the requests after it have not run.
    k == 0 (no exc): run cmds[i] through `Node.execute` (its arity is wrong) and try again
    after it; k == NOT_HERE: not this run, whose requests go one by one."""
    cmd = node._plain.get(cmds[i][0])
    if cmd is None or not (cmd.merge or cmd.name in READS) or client.special or node.hooked \
            or client.in_multi or client.in_exec or not client.authenticated or not client.batching \
            or not node.merge_writes or node.persistence_error is not None or node.sync_error is not None:
        return NOT_HERE, None, None
    if node._merging is not None and not (cmd.merge and node._merging is client):
        node.end_merge()  # as `execute` does: a read, or another client's write, closes it
    op = node._group
    if op is not None and node._merging is not client:
        return NOT_HERE, None, None  # an op open outside the batch's sharing (not expected)
    if cmd.name == "set" and node.notify is None and node.emit_hook is None:
        m = i
        while m < j and len(cmds[m]) == 3:
            m += 1
        if m > i:
            room = merge_cap - len(op.effects) if op is not None else merge_cap
            return _sets(node, client, cmds, i, min(m - i, room), cmd, merge_cap)
    elif cmd.name == "mset" and node.notify is None and node.emit_hook is None:
        k, replies, exc = _msets(node, client, cmds, i, j, cmd, merge_cap)
        if k or exc is not None:
            return k, replies, exc
    else:
        run = _ONE_PASS.get(cmd.name)
        if run is not None and node.notify is None and node.emit_hook is None:
            room = merge_cap - len(op.effects) if op is not None else merge_cap
            k, replies, exc = run(node, client, cmds, i, min(j, i + room), cmd, merge_cap)
            if k or exc is not None:
                return k, replies, exc
    return _each(node, client, cmds, i, j, cmd, merge_cap)


def _open(node: Node) -> Op | None:
    """The batch's op, opened as `_emit` opens it for a write (its first effect gets the
    seq and HLC it would get there); None if the clock refuses a new stamp."""
    try:
        return node.open_group()
    except CommandError:
        return None


def _sets(node: Node, client: Client, cmds: list[list[bytes]], i: int, k: int, cmd: Command, merge_cap: int) -> Run:
    """k SETs of `SET key value` (module docstring), joining the open op, which has room."""
    return _emit_run(node, client, cmds, i, keyspace_batch.run_effects(client.db, cmds, i, i + k), None, cmd,
                     merge_cap)


def _msets(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """MSETs (`MSET key value [key value ...]`), joining the open op: what commands/strings.py
    `mset_cmd` emits for each (keyspace_batch.set_effects: a SET per key and value), all
    applied in one `Node._emit_all`, each answering +OK. As `execute` merges them, each joins
    the op while it holds fewer than `merge_cap` effects, so the run ends with the MSET that
    fills it (an MSET is never split between ops). The run stops before an MSET of the wrong
    arity (`execute` answers it)."""
    op = node._group
    room = merge_cap - len(op.effects) if op is not None else merge_cap
    dbi = client.db
    effs: list[Effect] = []
    ends: list[int] = []  # the end in effs of each request's effects
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) < 3 or not len(argv) & 1:
            break
        effs += keyspace_batch.set_effects(dbi, argv)
        ends.append(len(effs))
        if len(effs) >= room:
            break
    if not ends:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, None, cmd, merge_cap, ends)


def _emit_run(node: Node, client: Client, cmds: list[list[bytes]], i: int, effs: list[Effect],
              replies: list[Reply] | None, cmd: Command, merge_cap: int, ends: list[int] | None = None) -> Run:
    """The effects of cmds[i:i + len(effs)], one each (or, with `ends`, cmds[i + x]'s ending
    at ends[x]), with their replies (None: +OK), applied in one `Node._emit_all`, joining
    the open op; then counted as `execute` counts."""
    op = node._group
    k = len(effs) if ends is None else len(ends)
    before = len(op.effects) if op is not None else 0
    t0 = perf_counter_ns()
    try:
        node._emit_all(effs)
    except Exception as exc:  # an apply raised: the requests before it are done (_emit_all)
        op = node._group
        if op is None:
            # `_emit` refused to open the op (the clock is at its end): nothing applied;
            # the first request answers the refusal as its handler would.
            return _each(node, client, cmds, i, i + 1, cmd, merge_cap)
        k = max(len(op.effects) - before - 1, 0)  # effects applied before the one that raised
        if ends is not None:  # the requests whose effects all applied; the next one raised
            k = bisect_right(ends, k)
        done = None if replies is None else replies[:k]
        _count(node, client, cmds, i, k, done, perf_counter_ns() - t0, cmd)
        return k, done, exc
    _count(node, client, cmds, i, k, replies, perf_counter_ns() - t0, cmd)
    _after(node, client, cmd, merge_cap)
    return k, replies, None


def _incrs(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """INCRs of `INCR key`, joining the open op, which has room for cmds[i:j], of keys
    without a TTL: what commands/strings.py `_incr` answers and emits for each, the effects
    then applied in one `Node._emit_all`. A key incremented earlier in the run reads the
    value the run gave it, as it would once that INCR had applied. The run stops before an
    INCR `_incr` would refuse (another type, not an integer, an overflow): `_each` or
    `execute` answers it."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    dbi = client.db
    effs: list[Effect] = []
    replies: list[Reply] = []
    given: dict[bytes, int] = {}  # the run's keys, with the value the run gave them
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 2:
            break
        key = argv[1]
        value = given.get(key)
        code = _INCR
        if value is None:
            if expires and key in expires:
                break  # a TTL (maybe past): the handler's
            e = data.get(key)
            if e is None:
                value = 0
                code = _INCR | CREATE  # Node.emit's mark for a write to a missing key
            else:
                if e.__class__ is tuple:
                    old = e[0]
                elif e.__class__ is CounterStr:
                    old = e.value
                else:
                    break
                value = parse_int(old)
                if value is None:
                    break
        if value >= INT64_MAX:
            break
        value += 1
        given[key] = value
        effs.append((code, dbi, key, 1))
        replies.append(value)
    if not effs:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap)


def _hsets(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """HSETs of `HSET key field value`, joining the open op, which has room for cmds[i:j],
    of keys without a TTL: what commands/hashes.py `hset_cmd` answers and emits for each
    (1 for a new field), the effects then applied in one `Node._emit_all`. A field set
    earlier in the run, or a key the run created, reads as they would once applied. The run
    stops before an HSET of a key of another type (the handler answers WRONGTYPE)."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    dbi = client.db
    effs: list[Effect] = []
    replies: list[Reply] = []
    made: set[bytes] = set()  # keys this run creates
    given: set[tuple[bytes, bytes]] = set()  # (key, field) this run sets
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 4:
            break
        key = argv[1]
        f = argv[2]
        code = _HSET
        if key in made:
            created = 0 if (key, f) in given else 1
        else:
            if expires and key in expires:
                break  # a TTL (maybe past): the handler's
            e = data.get(key)
            if e is None:
                created = 1
                code = _HSET | CREATE  # Node.emit's mark for a write to a missing key
                made.add(key)
            elif e.__class__ is HashEntry:
                created = 0 if f in e.fields or (key, f) in given else 1
            else:
                break
        given.add((key, f))
        effs.append((code, dbi, key, f, argv[3]))
        replies.append(created)
    if not effs:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap)


def _sadds(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """SADDs of `SADD key member`, joining the open op, which has room for cmds[i:j], of
    keys without a TTL: what commands/sets.py `sadd_cmd` answers and emits for each (1 and an
    effect for a new member; 0 and nothing for one already there, as in Redis), the effects
    then applied in one `Node._emit_all`. A member added earlier in the run, or a key the
    run created, reads as they would once applied. The run stops before a SADD of a key of
    another type (the handler answers WRONGTYPE)."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    dbi = client.db
    effs: list[Effect] = []
    replies: list[Reply] = []
    ends: list[int] = []  # the end in effs of each request's effect (none for a member there)
    made: set[bytes] = set()  # keys this run creates
    given: set[tuple[bytes, bytes]] = set()  # (key, member) this run adds
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 3:
            break
        key = argv[1]
        member = argv[2]
        code = _SADD
        if key not in made:
            if expires and key in expires:
                break  # a TTL (maybe past): the handler's
            e = data.get(key)
            if e is None:
                code = _SADD | CREATE  # Node.emit's mark for a write to a missing key
                made.add(key)
            elif e.__class__ is not SetEntry:
                break
            elif member in e.m:
                replies.append(0)
                ends.append(len(effs))
                continue
        if (key, member) in given:
            replies.append(0)
        else:
            given.add((key, member))
            effs.append((code, dbi, key, member))
            replies.append(1)
        ends.append(len(effs))
    if not replies:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap, ends)


def _zadds(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """ZADDs of `ZADD key score member` (no flags), joining the open op, which has room for
    cmds[i:j], of keys without a TTL: what commands/zsets.py `_zadd_one` answers and emits for
    each (1 for a new member; nothing for a score the member already has), the effects then
    applied in one `Node._emit_all`. A member's score and a key's size and encoding (a zero
    score is written 0.0 in listpack encoding, as Redis stores it) read as the run's earlier
    ZADDs left them. The run stops before a score `parse_score` refuses or a key of another
    type (the handler answers the error)."""
    # Here, not at the top: the commands package imports node.py, which imports this module.
    from .commands.zset_args import parse_score

    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    dbi = client.db
    effs: list[Effect] = []
    replies: list[Reply] = []
    ends: list[int] = []  # the end in effs of each request's effect (none for a score unchanged)
    sizes: dict[bytes, list[Any]] = {}  # the run's keys: [entry or None, members, big] as the run left them
    given: dict[tuple[bytes, bytes], float] = {}  # (key, member) -> the score the run gave it
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 4:
            break
        try:  # a flag (NX, XX, GT, LT, CH, INCR) is no score either: `_zadd` parses it
            s = parse_score(argv[2])
        except CommandError:
            break
        key = argv[1]
        m = argv[3]
        st = sizes.get(key)
        code = _ZADD
        if st is None:
            if expires and key in expires:
                break  # a TTL (maybe past): the handler's
            e = data.get(key)
            if e is None:
                code = _ZADD | CREATE  # Node.emit's mark for a write to a missing key
                st = [None, 0, False]
            elif e.__class__ is ZsetEntry:
                st = [e, len(e.recs), e.big]
            else:
                break
            sizes[key] = st
        cur = given.get((key, m))
        if cur is None and st[0] is not None:
            rec = st[0].recs.get(m)
            if rec is not None:
                cur = rec if type(rec) is float else rec_score(rec)
        if cur is None:
            added = 1
            st[1] += 1
            if len(m) > _ZSET_MAX_VALUE or st[1] > _ZSET_MAX_ENTRIES:
                st[2] = True  # as ZsetEntry._store marks it when the member is added
        elif s == cur:
            replies.append(0)  # no change is no write (`_zadd`)
            ends.append(len(effs))
            continue
        else:
            added = 0
        given[(key, m)] = s
        effs.append((code, dbi, key, m, 0.0 if (s == 0.0 and not st[2]) else s))
        replies.append(added)
        ends.append(len(effs))
    if not replies:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap, ends)


def _pushes(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command,
            merge_cap: int) -> Run:
    """LPUSHes or RPUSHes of `PUSH key element` to visible lists, joining the open op, which
    has room for cmds[i:j], of keys without a TTL or a hidden type: what commands/lists.py
    `_push1` answers (the list's new length) and emits for each, the effects then applied in
    one `Node._emit_all`. An RPUSH refers to the list's last element: after an RPUSH of the
    run to that list, the element it adds, whose id is (its effect's HLC, this node, 0) as
    every insert of one value names it. The run stops before a push `_push1` leaves to the
    generic path (a key that is not a visible list)."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    shadow = db.shadow
    left = cmd.name == "lpush"
    h0 = -1  # the HLC `_emit_all` gives the run's first effect: an RPUSH after an RPUSH needs it
    if not left:
        first = cmds[i]
        if len(first) != 3 or data.get(first[1]).__class__ is not ListEntry or expires and first[1] in expires \
                or shadow and first[1] in shadow:
            return 0, None, None  # the handler's (arity: `execute`'s; a TTL, a hidden type)
        # The batch's op: open already, or opened now as `_emit_all` would open it for the
        # run's first effect, which this request makes (that reads the clock once, as it would).
        op = node._group or _open(node)
        if op is None:
            return _each(node, client, cmds, i, i + 1, cmd, merge_cap)  # the clock refuses: the handler answers
        h0 = op.hlc + len(op.effects)
    effs: list[Effect] = []
    replies: list[Reply] = []
    run_effects.push_effects(cmds, i, j, client.db, data, expires, shadow, node.origin, left, h0, effs, replies)
    if not effs:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap)


def _pops(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command,
          merge_cap: int) -> Run:
    """LPOPs or RPOPs of `POP key` (no COUNT) of visible lists, joining the open op, which
    has room for cmds[i:j], of keys without a TTL or a hidden type: what commands/lists.py
    `_pop1` answers (the element) and emits for each, the effects then applied in one
    `Node._emit_all`. The run's pops of one list take its elements in turn from that end.
    The run stops before a pop `_pop1` leaves to the generic path (a key that is not a
    visible list, or a list's last element: that pop deletes the key)."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    shadow = db.shadow
    dbi = client.db
    left = cmd.name == "lpop"
    own = node.origin
    effs: list[Effect] = []
    first = cmds[i]
    if len(first) == 2:
        # The usual pipeline: pops of one list. What they take is read in one slice of its
        # end block (`end_items`), when the run's elements lie there side by side.
        key = first[1]
        c = i + 1
        while c < j and len(cmds[c]) == 2 and cmds[c][1] == key:
            c += 1
        e = data.get(key)
        if c - i > 1 and e.__class__ is ListEntry and e.size > 2 \
                and not (expires and key in expires or shadow and key in shadow):
            s0 = e.size
            n = min(c - i, s0 - 1)
            got = e.end_items(n, left)
            if got is not None:
                vals, hls, ois = got
                run_effects.pop_effects(dbi, key, hls, ois, own, left, s0, n, effs)
                return _emit_run(node, client, cmds, i, effs, vals, cmd, merge_cap)  # type: ignore[arg-type]
    replies: list[Reply] = []
    sizes: dict[bytes, int] = {}  # the run's lists, with the length the run left them
    ends: dict[bytes, Iterator[tuple[bytes, ElemId]]] = {}  # their elements from that end
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 2:
            break
        key = argv[1]
        size = sizes.get(key)
        if size is None:
            if expires and key in expires or shadow and key in shadow:
                break  # a TTL (maybe past), a hidden type: the handler's
            e = data.get(key)
            if e.__class__ is not ListEntry:
                break
            size = e.size
            it = ends[key] = e.iter_items(reverse=not left)
        else:
            it = ends[key]
        if size < 2:
            break
        v, (h, o, ri) = next(it)
        k = 0 if left else size - 1
        effs.append((_LREMOVE, dbi, key, h, "" if o == own else o, ri, k if k <= size >> 1 else -2))  # _hint(k, size)
        sizes[key] = size - 1
        replies.append(v)
    if not effs:
        return 0, None, None
    return _emit_run(node, client, cmds, i, effs, replies, cmd, merge_cap)


def _gets(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """GETs of `GET key` of keys without a TTL: what commands/strings.py `get_cmd` answers
    for a key holding nothing or a plain string (None; its value), without a handler call
    each (the commonest pipelined read: a cache's). The run stops before a GET of a key
    holding anything else (a counter, a bitmap, another type): the handler answers it."""
    db = node.keyspace.dbs[client.db]
    data = db.data
    expires = db.expires
    replies: list[Reply] = []
    t0 = perf_counter_ns()
    for x in range(i, j):
        argv = cmds[x]
        if len(argv) != 2:
            break
        if expires and argv[1] in expires:
            break  # a TTL (maybe past): the handler's
        e = data.get(argv[1])
        if e is None:
            replies.append(None)
        elif e.__class__ is tuple:
            replies.append(e[0])
        else:
            break
    _count(node, client, cmds, i, len(replies), replies, perf_counter_ns() - t0, cmd)
    return len(replies), replies, None


def _each(node: Node, client: Client, cmds: list[list[bytes]], i: int, j: int, cmd: Command, merge_cap: int) -> Run:
    """Each request's handler in turn, as `execute` calls it (module docstring)."""
    handler = cmd.handler
    arity = cmd.arity
    merge = cmd.merge
    ks = node.keyspace
    replies: list[Reply] = []
    exc: BaseException | None = None
    t0 = perf_counter_ns()
    try:
        for x in range(i, j):
            argv = cmds[x]
            n = len(argv)
            if n != arity and (arity > 0 or n < -arity):
                break  # `execute` rejects it
            client.last_cmd = argv[0]
            ks.emptied = None
            try:
                reply = handler(node, client, argv)
            except CommandError as e:
                reply = ErrorReply(e.message)
            replies.append(reply)
            op = node._group
            # `_after` when it has anything to do: most of the time a write joined the
            # client's op, which has room, or a read opened none.
            if op is not None and (not merge or node._merging is not client or len(op.effects) >= merge_cap) \
                    and not _after(node, client, cmd, merge_cap):
                break
            c = reply.__class__
            if not ((c is int and INT64_MIN <= reply <= INT64_MAX) or reply is OK  # type: ignore[operator]
                    or c is bytes or reply is None or c is Status):
                break  # the connection writes it (plainrun.py)
    except Exception as e:
        exc = e
    _count(node, client, cmds, i, len(replies), replies, perf_counter_ns() - t0, cmd)
    return len(replies), replies, exc


def _after(node: Node, client: Client, cmd: Command, merge_cap: int) -> bool:
    """`execute`'s step after a command: a mergeable write's op stays open for the client's
    next write, or closes once full (False: the run ends there); an op a read opened
    closes at once."""
    op = node._group
    if op is None:
        return True
    if cmd.merge and len(op.effects) < merge_cap:
        node._merging = client
        return True
    node._merging = None
    node.close_group()
    client.last_seq = op.seq + len(op.effects) - 1
    return not cmd.merge


def _count(node: Node, client: Client, cmds: list[list[bytes]], i: int, k: int, replies: list[Reply] | None,
           dt: int, cmd: Command) -> None:
    """What `timed_call` and `execute` record of each of the k requests that ran (`replies`
    None: each answered +OK). Only the last reply can be an error (`_each` stops there)."""
    if not k:
        return
    st = cmd.stats
    st.record_run(k, dt)
    each = dt // k
    if each >= node.slow_ns:
        for x in range(k):
            node.on_slow(client, cmd, cmds[i + x], each, OK if replies is None else replies[x])
    if replies is not None:
        last = replies[k - 1]
        if last.__class__ is ErrorReply:
            st.errors += 1
            node._count_error(last.message)
    client.last_cmd = cmds[i + k - 1][0]
    node.keyspace.emptied = None


# Runs computed in one pass and applied in one `Node._emit_all` (module docstring); a
# run of GETs is answered in one pass and applies nothing.
_ONE_PASS = {"get": _gets, "incr": _incrs, "hset": _hsets, "sadd": _sadds, "zadd": _zadds, "lpush": _pushes, "rpush": _pushes, "lpop": _pops, "rpop": _pops}


def _native() -> Any:
    """The compiled copy of this module, if it was built from this source."""
    return native_module("crdtredis._runs_native", __file__)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native() if __name__ == "crdtredis.runs" else None
# The source's own entry point and table (tests/test_runs.py runs them too).
run_cmds_py = run_cmds
_ONE_PASS_PY = _ONE_PASS
if _NATIVE is not None:
    run_cmds = _NATIVE.run_cmds  # noqa: F811
    _ONE_PASS = _NATIVE._ONE_PASS  # the table the compiled run_cmds reads (tests count in it)


def compiled() -> bool:
    """True when `run_cmds` is the compiled copy's (setup.py)."""
    return _NATIVE is not None
