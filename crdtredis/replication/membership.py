"""Who is in the cluster, what each member has durably applied, and causal stability.

GC at causal stability (Keyspace.gc_chunks) and expiry without ops (Keyspace.drop_expired)
assume that every op this replica will ever apply observes what they collect. That holds
only if stability is computed over every replica that can still issue ops, from what they
*durably* hold, and only once the ops each of them had when it said so are here too:

* **Members.** Every replica id that is configured, has called us, was reported by another
  member (gossip: each ack carries the sender's view of the others), or appears as the
  origin of an op we hold; minus those an operator forgot (CRDT.FORGETPEER). No member, no
  stability: a member that never reported blocks GC, it never gets skipped.
* **Durable acks.** A member reports the vectors its op log holds (written and, by the fsync
  policy, synced), not what it has merely applied, so a crash never takes back an ack. A new
  incarnation of a member (a restart after a crash, a wiped data dir) replaces everything
  known of it, even when its new ack is lower: the old ack no longer describes any replica.
* **Usable acks.** An ack counts only once our vector covers it entirely, over every origin:
  then each op its sender had issued before acking, including ops of its earlier
  incarnations, is here, so no op concurrent with what the ack covers can still arrive from
  it. Acks are kept in a short queue per member so that one taken a moment ago becomes
  usable while newer ones are still in flight (under constant writes the newest ack is
  almost never covered).

* **Replaced incarnations.** A wiped replica's new incarnation starts from a peer's
  state, and a crashed one's from its log, which may lack its last ops: either way the
  old incarnation's ops may live on only at other members, and nothing acks for them any
  more. So when a member's incarnation changes, every other member's earlier acks are
  dropped (one taken before that member received an op of the old incarnation must not
  count), and stability waits while any member's latest ack lists ops of an origin that is
  no member's current incarnation (ours included) that we do not hold yet.

A replica joins only by syncing a state that covers everything stable anywhere first (see
Replication: `joining`), so a member that another member does not know of yet can never
send an op that fails to observe what was collected.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..clock import hlc_ms, stable_upto, vv_covers

# How often a new pending ack is queued per member (older ones in the same window are
# replaced by the newer one), and how many are kept.
_ACK_SPACING_S = 0.05
_MAX_PENDING = 32


def replica_of(origin: str) -> str:
    """The replica id part of an origin ("<replica_id>.<incarnation>")."""
    return origin.rsplit(".", 1)[0]


class Ack:
    __slots__ = ("vv", "vh", "at")

    def __init__(self, vv: dict[str, int], vh: dict[str, int], at: float) -> None:
        self.vv = vv
        self.vh = vh
        self.at = at


class MemberView:
    """What we know of one other replica."""

    __slots__ = ("replica_id", "origin", "inc_ms", "pending", "usable", "latest")

    def __init__(self, replica_id: str, origin: str = "", inc_ms: int = 0) -> None:
        self.replica_id = replica_id
        self.origin = origin
        self.inc_ms = inc_ms
        self.pending: list[Ack] = []
        self.usable: Ack | None = None
        self.latest: Ack | None = None

    def reset(self, origin: str, inc_ms: int) -> None:
        self.origin = origin
        self.inc_ms = inc_ms
        self.pending = []
        self.usable = None
        self.latest = None


class Membership:
    def __init__(self, replica_id: str, on_new_member: Callable[[str, str], None] | None = None,
                 limit: int = 0) -> None:
        self.replica_id = replica_id
        self.members: dict[str, MemberView] = {}
        self.forgotten: set[str] = set()
        # At most `limit` replicas, us included (0: no limit). Requests that would add more
        # are refused (admission.py); a member that must be added past it anyway (one of
        # the ops we hold, gossip in a peer's answer) is not, and stability stays blocked:
        # collecting without counting a replica that exists would be wrong.
        self.limit = limit
        self.overflow = ""
        # Configured peers whose replica id we do not know yet: they block stability.
        self.unknown_peers = 0
        self.on_new_member = on_new_member
        self._cache: tuple[float, Any, int | None] | None = None

    # ---- who ----------------------------------------------------------------------------
    def add(self, replica_id: str, origin: str = "", inc_ms: int = 0) -> MemberView | None:
        """Know of a member (no ack yet). None for ourselves or a forgotten replica."""
        if not replica_id or replica_id == self.replica_id or replica_id in self.forgotten:
            return None
        m = self.members.get(replica_id)
        if m is None:
            if self.limit and len(self.members) + 1 >= self.limit:
                self.overflow = replica_id
                self._cache = None
                return None
            m = self.members[replica_id] = MemberView(replica_id, origin, inc_ms)
            if self.overflow == replica_id:
                self.overflow = ""
            self._cache = None
            if self.on_new_member is not None:
                self.on_new_member(replica_id, origin)
        return m

    def forget(self, replica_id: str) -> None:
        self.forgotten.add(replica_id)
        self.members.pop(replica_id, None)
        self.overflow = ""  # room was made: the next gossip or stability pass adds it again
        self._cache = None

    def note_origins(self, origins: Iterable[str]) -> None:
        """Every replica whose ops we hold may still issue ops: it is a member."""
        for o in origins:
            rid = replica_of(o)
            if rid not in self.members and rid != self.replica_id:
                self.add(rid)

    # ---- acks ---------------------------------------------------------------------------
    def note(self, replica_id: str, origin: str, inc_ms: int, vv: Mapping[str, int], vh: Mapping[str, int],
             direct: bool, now: float | None = None) -> None:
        """A durable ack of `replica_id`'s incarnation `origin` (from it, or gossiped)."""
        m = self.add(replica_id, origin, inc_ms)
        if m is None or not origin:
            return
        if origin != m.origin:
            # Another incarnation. Trust it when the replica says so itself, or when it is
            # the newer one (incarnations begin later in time); ignore stale gossip.
            if not (direct or (inc_ms, origin) > (m.inc_ms, m.origin)):
                return
            if m.origin:
                # The replica lost its ops (a wipe) or some of them (a crash): its old
                # incarnation's ops may live on only at other members, and the new one's
                # acks no longer speak for them. What the others acked before we heard of
                # the change may predate ops of the old incarnation they hold, so only
                # their acks from now on count (module docstring, "Replaced incarnations").
                for other in self.members.values():
                    if other is not m:
                        other.pending = []
                        other.usable = None
            m.reset(origin, inc_ms)
        t = time.monotonic() if now is None else now
        last = m.latest
        if last is not None and not vv_covers(vv, last.vv):
            # Older than what we know of this incarnation (gossip relayed late): skip it.
            return
        ack = Ack(dict(vv), dict(vh), t)
        m.latest = ack
        p = m.pending
        if p and t - p[-1].at < _ACK_SPACING_S:
            p[-1] = ack
        else:
            p.append(ack)
            if len(p) > _MAX_PENDING:
                del p[0]
        self._cache = None

    def gossip(self) -> list[tuple[str, str, int, dict[str, int], dict[str, int]]]:
        """(replica id, origin, incarnation start, durable vv, durable vh) of every member
        whose ack we know: sent with our own acks so partial meshes learn of everyone."""
        out = []
        for m in self.members.values():
            if m.latest is not None and m.origin:
                out.append((m.replica_id, m.origin, m.inc_ms, m.latest.vv, m.latest.vh))
        return out

    # ---- stability ----------------------------------------------------------------------
    def _refresh(self, our_vv: Mapping[str, int]) -> bool:
        """Promote pending acks our vector covers; False when some member has none usable,
        or when a member holds ops of a replaced incarnation that we lack."""
        ok = self.unknown_peers == 0 and not self.overflow
        current = {m.origin for m in self.members.values()}
        for m in self.members.values():
            lat = m.latest
            if lat is not None:
                for o, seq in lat.vv.items():
                    # No live incarnation acks for these ops any more: until they are here
                    # they may be concurrent with anything we would collect.
                    if seq > our_vv.get(o, 0) and o not in current:
                        ok = False
                        break
            p = m.pending
            i = 0
            while i < len(p) and vv_covers(our_vv, p[i].vv):
                i += 1
            if i:
                m.usable = p[i - 1]
                del p[:i]
            if m.usable is None:
                ok = False
        return ok

    def stable_checker(self, our_vv: Mapping[str, int], our_vh: Mapping[str, int]
                       ) -> Callable[[int, str], bool] | None:
        """stable(hlc, origin): every member durably holds that effect, and everything each
        of them held when it said so is here. None while some member has no usable ack."""
        self.note_origins(our_vv)
        if not self._refresh(our_vv):
            return None
        wm = dict(our_vh)
        for m in self.members.values():
            u = m.usable
            assert u is not None
            get = u.vh.get
            for o in wm:
                a = get(o, 0)
                if a < wm[o]:
                    wm[o] = a
        return lambda h, o: wm.get(o, 0) >= h

    def watermark(self, our_vv: Mapping[str, int], our_vh: Mapping[str, int]) -> dict[str, int]:
        """The stable HLC per origin (empty while stability is blocked), for INFO."""
        chk = self.stable_checker(our_vv, our_vh)
        if chk is None:
            return {}
        return {o: h for o, h in our_vh.items() if chk(h, o)}

    def horizon_ms(self, our_vv: Mapping[str, int], now_ms: int) -> int | None:
        """A time every member's clock has passed, as far as ops here can tell: each usable
        ack includes an op stamped at or after it, and the HLC of its sender has moved past
        every stamp it applied. Any op a member issues from now on is stamped later."""
        self.note_origins(our_vv)
        if not self._refresh(our_vv):
            return None
        h = now_ms
        for m in self.members.values():
            u = m.usable
            assert u is not None
            top = max(u.vh.values(), default=0)
            h = min(h, hlc_ms(top))
        return h

    def expiry_checker(self, our_vv: Mapping[str, int], our_vh: Mapping[str, int], now_ms: int,
                       max_age: float = 0.1) -> Callable[[Any, int], bool]:
        """expiry_safe(reg, top) for Keyspace.drop_expired. Safe when no op that can still
        arrive would leave any of the key alive:

        * every value of the key's expiry register is stable and its deadline is before the
          horizon, so every such op observes the deadline and was issued after it: its
          origin saw the key expired (not a PERSIST made before the deadline);
        * everything the key holds is stable too: every op we hold stamped at or before
          `top` (the key's latest write, Keyspace.drop_expired) is. Otherwise an op that
          saw the key expired but missed a concurrent write to it (a SET racing an EXPIRE)
          deletes only what it saw: the deadline goes, the concurrent value stays alive,
          and a replica that had dropped it shows nothing (docs/semantics.md, "Expiry").

        The stable HLCs and the horizon are cached for `max_age` seconds (asked once per
        expired key); `our_vh` is read when asked, as ops arrive meanwhile."""
        now = time.monotonic()
        c = self._cache
        if c is None or now - c[0] > max_age:
            chk = self.stable_checker(our_vv, our_vh)
            hz = self.horizon_ms(our_vv, now_ms) if chk is not None else None
            c = self._cache = (now, chk, hz)
        chk, hz = c[1], c[2]
        if chk is None or hz is None:
            return _never

        def safe(reg: Any, top: int) -> bool:
            d = reg.deadline
            if d is None or d > hz:
                return False
            return all(chk(v[1], v[2]) for v in reg.vals) and stable_upto(chk, our_vh, top)

        return safe


def _never(reg: Any, top: int) -> bool:
    return False
