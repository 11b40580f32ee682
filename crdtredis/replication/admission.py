"""Who may push to or pull from this replica: identity and membership checks of a parsed
batch, before anything in it is used (docs/security.md, "Peers").

The trust model: every holder of the peer token (or, with `tls_ca`, of a certificate that
CA signed) is a peer, and a peer is trusted with the data: it may send ops of any origin,
because in a partial mesh peers relay each other's ops. What is checked is what a
well-behaved peer never does, and what would otherwise cost this replica without bound:

* names: `replica_id` and `sender` (`<replica id>.<incarnation>`) of the form config.py
  allows, and the same for every member a batch gossips about (they are persisted);
* membership: each member is permanent (GC waits for it until CRDT.FORGETPEER), so a
  batch that would make the cluster larger than `max_members` is refused with a reason,
  before it adds anything;
* the cluster: a sender that is not joining must name our cluster id (cluster.py).

Ops of our own origin that we never issued, ops stamped far in the future and malformed
effects are refused by the inbox (inbox.py).
"""
from __future__ import annotations

import re
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..op import Op
from .inbox import ORIGIN_RE
from .membership import replica_of

if TYPE_CHECKING:
    from .service import Replication

_origin = attrgetter("origin")
REPLICA_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _named(rid: str, origin: str) -> bool:
    return (REPLICA_ID_RE.fullmatch(rid) is not None and ORIGIN_RE.fullmatch(origin) is not None
            and replica_of(origin) == rid)


def refusal(repl: Replication, batch: Any, ops: list[Op]) -> str | None:
    """Why this push or pull must be refused (HTTP 409), or None."""
    if not _named(batch.replica_id, batch.sender):
        return (f"sender {batch.sender[:80]!r} / replica_id {batch.replica_id[:80]!r}: expected "
                "<replica id>.<incarnation> with a replica id of [A-Za-z0-9_.-]{1,64}")
    for a in batch.members:
        if not _named(a.replica_id, a.origin):
            return f"gossiped member {a.replica_id[:80]!r} ({a.origin[:80]!r}) is not a valid replica name"
    m = repl.membership
    # A batch's ops come from a few origins: the distinct ones first (in C), then their
    # replica ids, not an rsplit per op (a healing replica takes 200,000 ops in batches).
    new = {batch.replica_id, *(a.replica_id for a in batch.members),
           *(replica_of(o) for o in set(map(_origin, ops)))}
    new.discard(repl.node.replica_id)
    new = {r for r in new if r not in m.members and r not in m.forgotten}
    limit = repl.config.max_members
    if new and len(m.members) + len(new) + 1 > limit:
        return (f"the cluster would have more than max_members={limit} replicas "
                f"({len(m.members) + 1} known, {len(new)} new: {', '.join(sorted(new)[:5])}); "
                "raise max_members on every replica, or CRDT.FORGETPEER replicas that are gone")
    return None
