"""What the tests of keyspace_batch.apply_local_all's inline cases share (test_inline_hset.py,
test_list_end_runs.py, test_inline_incr.py): the copies of the loop they compare, a node for
each with the same clock, and a client's read batch run as the request loops run it."""
from __future__ import annotations

import dataclasses
from typing import Any

from crdtredis import keyspace_batch
from crdtredis.commands import new_node
from crdtredis.config import default_config
from crdtredis.node import Node
from tests.test_cmd_strings import FAR_MS


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
