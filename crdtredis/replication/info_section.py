"""INFO replication: the cluster state, the peers and what replication has done."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..node import Node


def _info_replication(node: Node) -> list[tuple[str, Any]]:
    repl = node.replication
    if repl is None:
        p = node.persistence
        return [("crdt_sync_state", p.cluster.state if p is not None else "solo"), ("crdt_peers", 0)]
    d = repl.info()
    items: list[tuple[str, Any]] = [
        ("crdt_sync_state", d["sync_state"]),
        ("crdt_cluster_id", d["cluster_id"]),
        ("crdt_members", ",".join(d["members"])),
        ("crdt_peers", len(d["peers"])),
        ("crdt_version_vector", _vv_text(d["version_vector"])),
        ("crdt_backlog_ops", d["backlog_ops"]),
        ("crdt_backlog_bytes", d["backlog_bytes"]),
        ("crdt_causal_buffer", d["causal_buffer"]),
        ("crdt_streams_in", d["streams_in"]),
        ("crdt_streams_in_ended", d["streams_in_ended"]),
        ("crdt_rejected_batches", d["rejected_batches"]),
        ("crdt_ops_received", d["ops_in"]),
        ("crdt_snapshot_installs", d["snapshot_installs"]),
        ("crdt_gc_runs", d["gc_runs"]),
        ("crdt_gc_dropped", d["gc_dropped"]),
        ("crdt_gc_watermark", _vv_text(d["gc_watermark"])),
    ]
    for i, p in enumerate(d["peers"]):
        items.append((
            f"peer{i}",
            f"url={p['url']},replica_id={p['replica_id']},state={p['state']},lag_ops={p['lag_ops']},"
            f"lag_ms={p['lag_ms']},last_contact={p['last_contact']},retries={p['retries']},"
            f"bytes_in={p['bytes_in']},bytes_out={p['bytes_out']},ops_sent={p['ops_sent']},"
            f"batches_sent={p['batches_sent']},stream={p['stream']},"
            f"acked={_vv_text(p['acked_vv'])}",
        ))
    return items


def _vv_text(vv: dict[str, int]) -> str:
    return ";".join(f"{k}:{v}" for k, v in sorted(vv.items()))


def _register_info() -> None:
    from ..info import register_info_provider

    register_info_provider("replication", _info_replication)


_register_info()
