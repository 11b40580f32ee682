"""Joining and founding: when a replica may take writes, and whom it exchanges ops with.

GC at causal stability assumes that every op any replica applies later observes what was
collected. An op made by a replica that holds none of the cluster's state observes nothing,
so (docs/semantics.md, "Joining a cluster"):

* A new data dir **without peers** founds a cluster alone (`solo`): its ops are stable the
  moment they apply (Keyspace.solo). Replicas added later join it (below); the first one to
  sync makes it a `member`.
* A new or wiped data dir **with peers** is `joining`: it serves reads but refuses writes
  (NOT_SYNCED) until it holds a state that covers everything stable anywhere: a full pull
  from a member, or a member's snapshot (Redis Enterprise: no writes until syncing). The
  member registers it at once, so every member's GC waits for it from then on.
* If every configured peer answers that it is joining too, the replicas **found** the
  cluster together (devcluster, a compose file): nothing was ever collected, so they start
  taking writes; the cluster id is the smallest of their proposals, so all agree on it.
* Once decided, the state is durable (the data dir's `cluster` file): a later peer list never
  changes it. Replicas of different clusters never exchange ops: merging two histories that
  each collected without counting the other would diverge.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..storage.manifest import JOINING, MEMBER, SOLO, ClusterState

if TYPE_CHECKING:
    from ..config import Config
    from ..node import Node
    from .peer import Peer

log = logging.getLogger("crdtredis.replication")

NOT_SYNCED = "READONLY You can't write against a replica that has not synced with its cluster yet."


class ClusterGlue:
    def __init__(self, node: Node, config: Config) -> None:
        self.node = node
        self.config = config
        persistence = node.persistence
        if persistence is not None:
            self.state: ClusterState = persistence.cluster
        else:
            # No data dir (tests, tools): nothing to replay, nothing to join.
            self.state = ClusterState(state=MEMBER if config.peers else SOLO, cluster_id="memory")
        self.founded_with: list[str] = []

    @property
    def status(self) -> str:
        return self.state.state

    @property
    def joining(self) -> bool:
        return self.state.state == JOINING

    def save(self) -> None:
        p = self.node.persistence
        if p is not None:
            try:
                p.save_cluster()
            except OSError as e:
                log.error("cannot save the cluster state: %s", e)

    # ---- incoming requests -------------------------------------------------------------
    def refuse(self, batch: Any, push: bool) -> str | None:
        """Why a push or pull from this sender must be refused (HTTP 409), or None."""
        theirs = batch.status or MEMBER
        ours = self.state.cluster_id
        if theirs != JOINING and ours and not batch.cluster_id and self.status != SOLO:
            # Only a replica that has not synced yet may call without a cluster: anything
            # else that does is not a replica of ours (and would become a member forever).
            return (f"replica {batch.replica_id} names no cluster: a replica that is not joining must "
                    f"belong to cluster {ours}")
        if theirs != JOINING and batch.cluster_id and ours and batch.cluster_id != ours:
            return (f"replica {batch.replica_id} belongs to cluster {batch.cluster_id}, this one to {ours}: "
                    "replicas of different clusters never exchange ops")
        if self.status == SOLO:
            if theirs != JOINING:
                return (f"this replica was founded alone and holds data; replica {batch.replica_id} "
                        "has data of its own: only a new (empty) replica can join it")
            self._become_member(f"replica {batch.replica_id} is joining")
        if self.joining and push:
            return "joining: this replica takes ops only from its own pulls until it has synced"
        return None

    def _become_member(self, why: str) -> None:
        self.state.state = MEMBER
        self.node.set_solo(False)
        self.save()
        log.info("no longer alone in the cluster (%s): ops keep their stamps from now on", why)

    # ---- what peers tell us ------------------------------------------------------------
    def on_answer(self, peer: Peer, batch: Any) -> None:
        """Any batch from a peer: remember its status; a joining replica may found."""
        peer.status = batch.status or MEMBER
        peer.cluster_id = batch.cluster_id
        peer.proposal = batch.proposal
        if self.joining:
            self._maybe_found()

    def _maybe_found(self, peers: list[Peer] | None = None) -> None:
        from .service import configured_peers

        ps = configured_peers(self.node) if peers is None else peers
        if any(p.status != JOINING for p in ps):
            return  # (no peer left at all: every one was forgotten, so we found alone)
        cid = min([self.state.proposal, *(p.proposal for p in ps if p.proposal)])
        self.founded_with = sorted(p.replica_id for p in ps)
        self._synced(cid, f"founded the cluster with {', '.join(self.founded_with)}, all new")

    def pull_done(self, peer: Peer) -> None:
        """A pull round from `peer` ended with nothing more to fetch: if it is a member,
        we now hold everything it held, so everything stable anywhere."""
        if self.joining and peer.status in (MEMBER, SOLO) and peer.cluster_id:
            self._synced(peer.cluster_id, f"synced from {peer.replica_id or peer.url}")

    def _synced(self, cluster_id: str, why: str) -> None:
        self.state.state = MEMBER
        self.state.cluster_id = cluster_id
        self.node.set_solo(False)
        self.node.sync_error = None
        self.save()
        log.info("joined cluster %s: %s; taking writes", cluster_id, why)
