"""The compiled request loop of a connection's read batch (crdtredis/protocol/plainrun.pyx).

`run_plain(execute, client, cmds, i, out, run_cmds=None)` runs cmds[i:] in order, each
through `execute(client, argv)` (a run of two or more requests spelled alike through one
`run_cmds(client, cmds, i, j)` call instead, when it takes them: crdtredis/runs.py), and
encodes into `out` the replies of the plain kinds, the replies of nearly every pipelined
request: OK, an int of 64 bits, a bulk string, a status (+PONG) and None (the null of the
client's RESP version), byte for byte as protocol/resp.py's `encode_reply` writes them.
It stops and returns `(j, obj, state)` at the first request it cannot finish alone:

- DONE: every request ran, every reply is in `out` (j == len(cmds));
- CLOSING: request j-1 ran, its reply is in `out`, and the client is closing (QUIT);
- REPLY: request j ran and `obj` is its reply, not encoded: any other kind (arrays, maps,
  errors, a Deferred, a bigger int) or a client that became `special` (CLIENT REPLY,
  SUBSCRIBE, MONITOR...);
- RAISED: request j raised `obj` (an Exception: an internal error).

The connection (connection.py `_run`) does the rest of each such request its own way and
calls back for the requests after it, so every reply kind and every rule has one Python
implementation; this loop only takes the requests whose replies cannot mean anything but
those bytes.

Why it exists: the same loop in Python costs ~195 ns a request beyond `execute` (the
per-request type checks, attribute reads and three `out +=` of a bulk reply); compiled,
~85 ns including the call of `execute` (bench/RESULTS.md). setup.py builds the .pyx with
Cython; without that build (no compiler, CRDT_REDIS_PURE=1, an edited .pyx) `native()` is
None and the connection runs its Python loop for every request.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..wire.native import native_module

DONE = 0
CLOSING = 1
REPLY = 2
RAISED = 3

RunPlain = Callable[[Callable[[Any, list[bytes]], Any], Any, list[list[bytes]], int, bytearray, Any],
                    tuple[int, Any, int]]


def native() -> RunPlain | None:
    """The compiled run_plain if it was built from the plainrun.pyx beside this file."""
    nat = native_module("crdtredis.protocol._plainrun_native", os.path.join(os.path.dirname(__file__), "plainrun.pyx"))
    return None if nat is None else nat.run_plain  # type: ignore[no-any-return]
