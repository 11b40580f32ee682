"""What the tests of keyspace_batch.apply_local_all's inline cases share (test_inline_hset.py,
test_list_end_runs.py, test_inline_incr.py, test_inline_sadd.py, test_zadd_runs.py): the
copies of the loop they compare, a node for each with the same clock, a client's read batch
run as the request loops run it, and (`compare_runs`) a script of steps driven at all of
them and at a node taking the same requests one at a time."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from crdtredis import keyspace_batch
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from tests.support.state import assert_same_keyspaces
from tests.test_cmd_strings import FAR_MS, R, from_peer


def reference(ks: Any, effs: list[Any], into: list[Any], seq: int, hlc: int) -> None:
    """What `Node._emit` does for each effect one by one: `Keyspace.apply_local`, every
    effect through its type's apply function."""
    for k, eff in enumerate(effs):
        into.append(eff)
        ks.apply_local(eff, seq + k, hlc + k)


def loop_nodes(peers: bool) -> tuple[list[Any], list[Node], Node]:
    """The loops to compare (`reference`, the interpreted loop, the compiled one when
    built), a node for each (replica "t", with peers or not) and a peer "p" for concurrent
    writes, all on one clock, GC noting each key written from here on."""
    loops: list[Any] = [reference, keyspace_batch.apply_local_all_py]
    if keyspace_batch.compiled():
        loops.append(keyspace_batch._NATIVE.apply_local_all_py)
    nodes = [one_by_one_node(peers) for _ in loops]
    peer = new_node(dataclasses.replace(default_config(), replica_id="p", peers=("http://x",)))
    peer.clock = lambda: FAR_MS  # the same stamps on every node
    peer.keyspace._gc_seal()
    return loops, nodes, peer


def one_by_one_node(peers: bool) -> Node:
    """Replica "t" (with peers or not) on the tests' one clock, GC noting each key written
    from here on: each of loop_nodes' nodes, and a node for the requests a test sends one
    at a time through `Node.execute` to compare with them."""
    cfg = dataclasses.replace(default_config(), replica_id="t", peers=("http://x",) if peers else ())
    n = new_node(cfg, incarnation="1")
    n.clock = lambda: FAR_MS
    n.keyspace._gc_seal()
    return n


def pipelined(node: Node, client: Any, cmds: list[list[bytes]]) -> list[Any]:
    """`cmds` as one read batch of one client: runs.run_cmds where it takes them, else
    `Node.execute` (as the request loops do)."""
    client.batching = True
    out: list[Any] = []
    i = 0
    while i < len(cmds):
        k, replies, exc = node.run_cmds(client, cmds, i, len(cmds))
        assert exc is None
        if k <= 0:
            out.append(node.execute(client, cmds[i]))
            k = 1
        else:
            out += replies if replies is not None else [None] * k
        i += k
    node.batch_done()
    client.batching = False
    return out


Step = tuple[Any, ...]


def compare_runs(steps: list[Step], peers: bool, run: Callable[[Step], list[list[bytes]]],
                 peer: Callable[[Step], tuple[Any, ...]], own: dict[str, Callable[[R, Step], Any]],
                 summary: Callable[[Node], Any]) -> None:
    """Drive `steps` at loop_nodes' nodes (a step ("run", ...) pipelined through `run_cmds`,
    each node on its copy of the loop) and at a node taking the same requests one at a
    time (`Node.execute`): every step's replies, the keyspaces, `summary` of each node and
    the effects each ships (in order, however grouped into ops) must agree, by repr
    (0.0 == -0.0, where the sign of a zero is kept and shipped).

    Steps: ("run", ...) -> `run(step)`'s requests; ("peer", ...) -> `peer(step)` run at a
    peer and applied everywhere (with peers only); ("txn",) MULTI / PING / EXEC (nil when a
    WATCHed key was touched); ("gc", key) every stamp of the key stable, folded; a step
    named in `own` -> own[name](client, step), its reply compared unless it is None;
    anything else is a command."""
    loops, nodes, p = loop_nodes(peers)
    single = one_by_one_node(peers)
    every = [*nodes, single]
    clients = [R(n) for n in every]
    shipped: list[list[Any]] = [[] for _ in every]
    for n, out in zip(every, shipped, strict=True):
        n.op_listeners.append(out.append)  # each op; compared as its effects in order
    saved = keyspace_batch.apply_local_all
    try:
        for step in steps:
            if step[0] == "peer":
                if peers:
                    from_peer(p, every, *peer(step))
                continue
            replies: list[Any] = []
            for loop, n, r in zip([*loops, saved], every, clients, strict=True):
                keyspace_batch.apply_local_all = loop
                if step[0] == "run":
                    cmds = run(step)
                    replies.append([n.execute(r.c, argv) for argv in cmds] if n is single
                                   else pipelined(n, r.c, cmds))
                elif step[0] in own:
                    got = own[step[0]](r, step)
                    if got is not None:
                        replies.append(got)
                elif step[0] == "txn":
                    r("MULTI")
                    r("PING")
                    replies.append(r("EXEC"))
                elif step[0] == "gc":
                    ks = n.keyspace
                    replies.append(ks._gc_key(ks.dbs[0], step[1].encode(), lambda hlc, origin: True))
                else:
                    replies.append(r(*step))
            assert all(repr(x) == repr(replies[0]) for x in replies), (step, replies)
        for n in every:
            n.end_merge()  # a run's op left open for the client's next write
        assert_same_keyspaces(every, dbs=1)
        assert all(repr(summary(n)) == repr(summary(every[0])) for n in every[1:])
        effects = [[e for op in ops for e in op.effects] for ops in shipped]
        assert all(repr(x) == repr(effects[0]) for x in effects[1:])
    finally:
        keyspace_batch.apply_local_all = saved
