"""The data directory's small metadata files: `identity`, `MANIFEST` and `cluster`.

Both are JSON, replaced atomically (temp file, fsync, rename, fsync directory — the order
of Redis's writeAofManifestFile), so a crash leaves either the old or the new version.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

MANIFEST = "MANIFEST"
IDENTITY = "identity"
CLUSTER = "cluster"
FORMAT_VERSION = 1


class StorageError(Exception):
    """A data directory that cannot be used safely; the message says what and where."""


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


@dataclass
class SegmentInfo:
    name: str
    # Seq vector after the segment's last op (set when the segment is closed): the
    # retention rule compares it with every peer's acked vector.
    end_vv: dict[str, int] | None = None


@dataclass
class Manifest:
    version: int = FORMAT_VERSION
    incarnation: str = ""
    base: str | None = None
    segments: list[SegmentInfo] = field(default_factory=list)
    next_file: int = 1
    # True only between a clean shutdown and the next start: a crash leaves it False, and
    # the next start then takes a new incarnation (ops lost in the crash may have reached
    # peers; their seqs must never be reused).
    clean: bool = False
    last_save: int = 0
    compactions: int = 0
    # Unix ms when the incarnation began: orders a replica's incarnations for its peers
    # (0: an incarnation made before this field existed).
    incarnation_ms: int = 0

    def to_json(self) -> bytes:
        d: dict[str, Any] = {
            "version": self.version,
            "incarnation": self.incarnation,
            "incarnation_ms": self.incarnation_ms,
            "base": self.base,
            "segments": [{"name": s.name, "end_vv": s.end_vv} for s in self.segments],
            "next_file": self.next_file,
            "clean": self.clean,
            "last_save": self.last_save,
            "compactions": self.compactions,
        }
        return json.dumps(d, indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, path: str) -> Manifest:
        try:
            d = json.loads(data)
            if not isinstance(d, dict):
                raise ValueError("not an object")
            if d.get("version") != FORMAT_VERSION:
                raise ValueError(f"unsupported manifest version {d.get('version')!r}")
            segs = [SegmentInfo(s["name"], s.get("end_vv")) for s in d["segments"]]
            for s in segs:
                if not isinstance(s.name, str) or "/" in s.name:
                    raise ValueError(f"bad segment name {s.name!r}")
            return cls(
                version=d["version"],
                incarnation=str(d["incarnation"]),
                incarnation_ms=int(d.get("incarnation_ms", 0)),
                base=d.get("base"),
                segments=segs,
                next_file=int(d["next_file"]),
                clean=bool(d.get("clean", False)),
                last_save=int(d.get("last_save", 0)),
                compactions=int(d.get("compactions", 0)),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"{path}: unreadable manifest: {e}") from e

    def alloc(self, suffix: str) -> str:
        name = f"{self.next_file:06d}.{suffix}"
        self.next_file += 1
        return name


def load_manifest(data_dir: str) -> Manifest | None:
    path = os.path.join(data_dir, MANIFEST)
    try:
        with open(path, "rb") as f:
            return Manifest.from_json(f.read(), path)
    except FileNotFoundError:
        return None


def save_manifest(data_dir: str, m: Manifest) -> None:
    atomic_write(os.path.join(data_dir, MANIFEST), m.to_json())


def load_identity(data_dir: str) -> dict[str, Any] | None:
    path = os.path.join(data_dir, IDENTITY)
    try:
        with open(path, "rb") as f:
            d = json.loads(f.read())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise StorageError(f"{path}: unreadable identity file: {e}") from e
    if not isinstance(d, dict) or not isinstance(d.get("replica_id"), str):
        raise StorageError(f"{path}: identity file without replica_id")
    return d


def save_identity(data_dir: str, replica_id: str) -> None:
    d = {"replica_id": replica_id, "created": int(time.time()), "format": FORMAT_VERSION}
    atomic_write(os.path.join(data_dir, IDENTITY), json.dumps(d).encode() + b"\n")


def new_incarnation() -> str:
    return secrets.token_hex(4)


# ---- cluster membership state (replication/cluster.py) -------------------------------------
SOLO = "solo"  # alone: founded without peers; ops are causally stable once applied
MEMBER = "member"  # founded with its peers, or synced from a member
JOINING = "joining"  # new or wiped with peers configured: takes no writes until synced


@dataclass
class ClusterState:
    """Durable: decides how ops apply (Keyspace.solo) and whether writes are taken, so it
    must never follow the peer list of one start (a restart never changes what a node
    shows). `members`: every other replica known to belong (replica id -> last origin):
    causal stability waits for each of them until it is forgotten (CRDT.FORGETPEER)."""

    state: str = JOINING
    cluster_id: str = ""
    proposal: str = field(default_factory=lambda: secrets.token_hex(8))
    members: dict[str, str] = field(default_factory=dict)
    forgotten: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        d = {"version": FORMAT_VERSION, "state": self.state, "cluster_id": self.cluster_id,
             "proposal": self.proposal, "members": self.members, "forgotten": self.forgotten}
        return json.dumps(d, indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, path: str) -> ClusterState:
        try:
            d = json.loads(data)
            if not isinstance(d, dict) or d.get("version") != FORMAT_VERSION:
                raise ValueError("unsupported cluster state")
            state = d["state"]
            if state not in (SOLO, MEMBER, JOINING):
                raise ValueError(f"unknown state {state!r}")
            members = d.get("members", {})
            forgotten = d.get("forgotten", [])
            if not isinstance(members, dict) or not isinstance(forgotten, list):
                raise ValueError("bad members")
            return cls(state, str(d.get("cluster_id", "")), str(d.get("proposal", "")),
                       {str(k): str(v) for k, v in members.items()}, [str(x) for x in forgotten])
        except (ValueError, KeyError, TypeError) as e:
            raise StorageError(f"{path}: unreadable cluster state: {e}") from e


def load_cluster(data_dir: str) -> ClusterState | None:
    path = os.path.join(data_dir, CLUSTER)
    try:
        with open(path, "rb") as f:
            return ClusterState.from_json(f.read(), path)
    except FileNotFoundError:
        return None


def save_cluster(data_dir: str, c: ClusterState) -> None:
    atomic_write(os.path.join(data_dir, CLUSTER), c.to_json())
