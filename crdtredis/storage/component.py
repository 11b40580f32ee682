"""Persistence as a server component: open the data dir, recover, then log every op."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from .manifest import JOINING, SOLO, ClusterState, StorageError, save_cluster
from .oplog import OpLog
from .recovery import Opened, open_data_dir, recover

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.storage")


class Persistence:
    def __init__(self, data_dir: str, replica_id: str, has_peers: bool = False) -> None:
        self.dir = data_dir
        # Decided before the node exists: the node's origin name depends on it.
        self.opened: Opened = open_data_dir(data_dir, replica_id, has_peers)
        self.incarnation = self.opened.incarnation
        self.incarnation_ms = self.opened.manifest.incarnation_ms
        self.cluster: ClusterState = self.opened.cluster
        self.oplog: OpLog | None = None
        self.node: Node | None = None
        self.recovery: dict[str, Any] = {}

    def attach(self, node: Node) -> None:
        self.node = node
        node.persistence = self
        # Before recovery: how the log replays depends on it (Keyspace.solo), never on
        # this start's peer list.
        node.set_solo(self.cluster.state == SOLO)
        if self.cluster.state == JOINING:
            from ..replication.cluster import NOT_SYNCED

            node.sync_error = NOT_SYNCED

    def save_cluster(self) -> None:
        save_cluster(self.dir, self.cluster)

    async def start(self) -> None:
        node = self.node
        assert node is not None
        node.loading = True
        try:
            # Off the event loop so /health can answer 503 "loading" meanwhile.
            self.recovery = await asyncio.to_thread(recover, node, self.dir, self.opened)
        finally:
            node.loading = False
        self.oplog = OpLog(node, self.dir, self.opened.manifest)
        await self.oplog.start()
        node.last_save_time = self.opened.manifest.last_save or node.last_save_time

    async def stop(self) -> None:
        if self.oplog is not None:
            await self.oplog.stop()
        self.release()

    def release(self) -> None:
        """Give the data dir back (the lock); also after a failed start."""
        if self.opened.lock_fd >= 0:
            os.close(self.opened.lock_fd)
            self.opened.lock_fd = -1

    def info(self) -> dict[str, Any]:
        d: dict[str, Any] = {"loading": int(bool(self.node and self.node.loading)), "data_dir": self.dir,
                             "incarnation": self.incarnation}
        if self.recovery:
            d["last_load_seconds"] = round(self.recovery.get("seconds", 0.0), 3)
            d["last_load_ops"] = int(self.recovery.get("ops", 0))
            d["last_load_effects"] = int(self.recovery.get("effects", 0))
        if self.oplog is not None:
            d.update(self.oplog.info())
        return d


__all__ = ["Persistence", "StorageError"]


def _info_persistence(node: Node) -> list[tuple[str, Any]]:
    p = node.persistence
    if p is None:
        return []
    d = p.info()
    last = d.get("last_compaction") or {}
    items: list[tuple[str, Any]] = [
        ("loading", d["loading"]),
        ("aof_rewrite_in_progress", d.get("compacting", 0)),
        ("rdb_bgsave_in_progress", d.get("compacting", 0)),
        ("aof_rewrite_scheduled", d.get("compact_scheduled", 0)),
        ("aof_last_rewrite_time_sec", int(last.get("seconds", -1)) if last else -1),
        ("rdb_last_save_time", node.last_save_time),
        ("aof_rewrites", d.get("compactions", 0)),
        ("appendfsync", d.get("appendfsync", "")),
        ("oplog_incarnation", d["incarnation"]),
        ("oplog_segments", d.get("segments", 0)),
        ("oplog_segments_bytes", d.get("segments_bytes", 0)),
        ("oplog_current_segment", d.get("current_segment", "")),
        ("oplog_current_segment_bytes", d.get("current_segment_bytes", 0)),
        ("oplog_pending_bytes", d.get("pending_bytes", 0)),
        ("oplog_unsynced_bytes", d.get("unsynced_bytes", 0)),
        ("oplog_ops_logged", d.get("ops_logged", 0)),
        ("oplog_base", d.get("base", "")),
        ("oplog_base_bytes", d.get("base_bytes", 0)),
        ("oplog_last_compaction_time", last.get("time", 0) if last else 0),
        ("oplog_last_compaction_retired_segments", last.get("retired_segments", 0) if last else 0),
        ("oplog_last_compaction_kept_for_peers", last.get("kept_for_peers", 0) if last else 0),
        ("oplog_last_load_seconds", d.get("last_load_seconds", 0)),
        ("oplog_last_load_ops", d.get("last_load_ops", 0)),
        ("oplog_last_load_effects", d.get("last_load_effects", 0)),
        ("oplog_write_error", d.get("write_error", "")),
        ("oplog_rotate_error", d.get("rotate_error", "")),
    ]
    return items


def _register_info() -> None:
    from ..info import register_info_provider

    register_info_provider("persistence", _info_persistence)


_register_info()
