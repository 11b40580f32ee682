"""Start-up: decide the incarnation, load the base, replay segments through apply.

Rules (DESIGN §4):
* a torn or crc-failing record at the tail of the LAST segment is a crash mid-write:
  truncate it and warn with file and offset;
* damage anywhere else refuses to start, naming the file, offset and the repair command;
* the incarnation is kept only after a clean shutdown with a complete log; otherwise the
  node comes back as a new incarnation, so its new ops never reuse sequence numbers that
  peers may already hold (ops lost in a crash may have been replicated).
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from .. import gctune
from ..keyspace_batch import replay
from ..wire.codec import DecodeError, OpDecoder
from ..wire.fastdec import RawOp, new_decoder
from .framing import MAGIC_SIZE, SEG_MAGIC, scan
from .manifest import (
    JOINING,
    MEMBER,
    SOLO,
    ClusterState,
    Manifest,
    SegmentInfo,
    StorageError,
    load_cluster,
    load_identity,
    load_manifest,
    new_incarnation,
    save_cluster,
    save_identity,
    save_manifest,
)
from .snapshot import load_base

if TYPE_CHECKING:
    from ..node import Node

log = logging.getLogger("crdtredis.storage")

REPAIR_HINT = "run `crdt-redis check-log {dir}` to inspect, `crdt-redis check-log --fix --yes {dir}` to truncate"


class Opened:
    """What `open_data_dir` decided before the node exists."""

    def __init__(self, manifest: Manifest, incarnation: str, complete: bool, missing: list[str],
                 cluster: ClusterState, lock_fd: int = -1) -> None:
        self.manifest = manifest
        self.incarnation = incarnation
        self.complete = complete
        self.missing = missing
        self.cluster = cluster
        self.lock_fd = lock_fd  # held while the data dir is in use (released by closing it)


LOCK = "LOCK"


def lock_data_dir(data_dir: str) -> int:
    """Take the data dir for this process: a second process on the same dir would write
    the same origin's ops into the same files. A POSIX lock, so the kernel drops it when the
    process dies however it dies."""
    path = os.path.join(data_dir, LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise StorageError(f"{data_dir}: data directory is in use by another crdt-redis process (pid {other})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def open_data_dir(data_dir: str, replica_id: str, has_peers: bool = False) -> Opened:
    """Decide the incarnation and the cluster state. A new data dir with peers configured is
    a joining replica (it takes no writes until it has synced, or has founded the cluster
    with peers that are all new too); without peers it is founded alone (solo). After that
    the state is durable: later peer lists never change it (replication/cluster.py)."""
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as e:
        raise StorageError(f"{data_dir}: cannot create data directory: {e.strerror}") from e
    if not os.access(data_dir, os.W_OK):
        raise StorageError(f"{data_dir}: data directory is not writable")
    lock_fd = lock_data_dir(data_dir)
    try:
        return _open_locked(data_dir, replica_id, has_peers, lock_fd)
    except BaseException:
        os.close(lock_fd)
        raise


def _open_locked(data_dir: str, replica_id: str, has_peers: bool, lock_fd: int) -> Opened:
    ident = load_identity(data_dir)
    manifest = load_manifest(data_dir)
    if ident is None:
        if manifest is not None:
            raise StorageError(f"{data_dir}: MANIFEST without identity file; refusing to guess the owner")
        save_identity(data_dir, replica_id)
    elif ident["replica_id"] != replica_id:
        raise StorageError(
            f"{data_dir}: data directory belongs to replica '{ident['replica_id']}', "
            f"configured replica_id is '{replica_id}'"
        )
    cluster = load_cluster(data_dir)
    if manifest is None:
        leftovers = sorted(f for f in os.listdir(data_dir) if f.endswith((".seg", ".base")))
        if leftovers:
            # Starting empty would overwrite 000001.seg: the MANIFEST was lost, not the data.
            raise StorageError(
                f"{os.path.join(data_dir, 'MANIFEST')}: missing, but the data directory holds "
                f"{', '.join(leftovers[:4])}{' ...' if len(leftovers) > 4 else ''}; refusing to start. "
                + REPAIR_HINT.format(dir=data_dir)
            )
        if cluster is None or not has_peers and cluster.state == JOINING:
            # A new replica (a joining one that never synced may change its mind).
            cluster = ClusterState(state=JOINING if has_peers else SOLO)
            if not has_peers:
                cluster.cluster_id = cluster.proposal
            save_cluster(data_dir, cluster)
        manifest = Manifest(incarnation=new_incarnation(), clean=True, incarnation_ms=_now_ms())
        save_manifest(data_dir, manifest)
        return Opened(manifest, manifest.incarnation, True, [], cluster, lock_fd)
    if cluster is None:
        # A data dir from before cluster states: a member (never assumed alone), of a cluster
        # that every such data dir shares.
        cluster = ClusterState(state=MEMBER, cluster_id="legacy")
        save_cluster(data_dir, cluster)
    if manifest.base and not os.path.exists(os.path.join(data_dir, manifest.base)):
        raise StorageError(
            f"{os.path.join(data_dir, manifest.base)}: base snapshot listed in MANIFEST is missing; "
            + REPAIR_HINT.format(dir=data_dir)
        )
    missing = [s.name for s in manifest.segments if not os.path.exists(os.path.join(data_dir, s.name))]
    if missing:
        # Starting without them would show a state that never existed (later segments
        # replayed after a hole are dropped): an operator decides, with check-log.
        raise StorageError(
            f"{os.path.join(data_dir, missing[0])}: segment listed in MANIFEST is missing"
            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; refusing to start. "
            + REPAIR_HINT.format(dir=data_dir)
        )
    complete = True
    if manifest.clean and complete and manifest.incarnation:
        inc = manifest.incarnation
    else:
        inc = new_incarnation()
        manifest.incarnation_ms = _now_ms()
        why = "log incomplete (missing " + ", ".join(missing) + ")" if missing else "unclean shutdown"
        log.warning("starting as new incarnation %s: %s", inc, why)
    manifest.segments = [s for s in manifest.segments if s.name not in missing]
    manifest.incarnation = inc
    return Opened(manifest, inc, complete, missing, cluster, lock_fd)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Progress:
    """Logs loading progress at most once a second."""

    def __init__(self, total_bytes: int) -> None:
        self.total = max(1, total_bytes)
        self.done_bytes = 0
        self.records = 0
        self._last = time.monotonic()
        self.t0 = self._last

    def tick(self, records: int, nbytes: int) -> None:
        self.records += records
        self.done_bytes += nbytes
        now = time.monotonic()
        if now - self._last >= 1.0:
            self._last = now
            log.info("loading: %d records, %.1f MB, %.0f%%", self.records,
                     self.done_bytes / 1e6, 100.0 * self.done_bytes / self.total)


def recover(node: Node, data_dir: str, opened: Opened) -> dict[str, float]:
    """Load base + replay segments into `node` (blocking; run it off the event loop)."""
    with gctune.paused():  # what loading builds survives: nothing to collect (gctune.py)
        return _recover(node, data_dir, opened)


def _recover(node: Node, data_dir: str, opened: Opened) -> dict[str, float]:
    m = opened.manifest
    files = ([m.base] if m.base else []) + [s.name for s in m.segments]
    total = sum(os.path.getsize(os.path.join(data_dir, f)) for f in files)
    prog = Progress(total)
    t0 = time.monotonic()
    ks = node.keyspace
    if m.base:
        path = os.path.join(data_dir, m.base)
        size = os.path.getsize(path)
        hdr = load_base(path, ks, lambda i, n: prog.tick(4096 if i else 0, 0))
        prog.tick(0, size)
        node.hlc.observe(hdr.hlc)
    # Ops the base covers are not in any segment: replication must snapshot a peer below them.
    base_vv = dict(ks.vv)
    applied = skipped = gaps = 0
    last_idx = len(m.segments) - 1
    for idx, seg in enumerate(m.segments):
        path = os.path.join(data_dir, seg.name)
        with open(path, "rb") as f:
            data = f.read()
        if len(data) < MAGIC_SIZE:
            if idx == last_idx:
                log.warning("%s: segment shorter than its header (%d bytes); rewriting it", path, len(data))
                _truncate(path, 0, with_magic=True)
                continue
            raise StorageError(f"{path}: truncated segment header; " + REPAIR_HINT.format(dir=data_dir))
        if data[:MAGIC_SIZE] != SEG_MAGIC:
            raise StorageError(f"{path}: offset 0: not a crdt-redis segment (bad magic); "
                               + REPAIR_HINT.format(dir=data_dir))
        records, bad = scan(data, MAGIC_SIZE)
        dec = new_decoder()
        for off, payload in records:
            try:
                ops = dec.decode_raw(payload)
            except DecodeError as e:
                raise StorageError(f"{path}: offset {off}: {e}; " + REPAIR_HINT.format(dir=data_dir)) from e
            applied, skipped, gaps = _replay_ops(node, ops, applied, skipped, gaps)
        prog.tick(len(records), len(data))
        if bad is not None:
            if idx == last_idx and bad.tail:
                log.warning("%s: offset %d: %s at the tail of the last segment (crash mid-write); "
                            "truncating %d bytes", path, bad.offset, bad.reason, len(data) - bad.offset)
                _truncate(path, bad.offset)
            else:
                where = "the last segment" if idx == last_idx else "a segment that is not the last"
                raise StorageError(
                    f"{path}: offset {bad.offset}: {bad.reason} (in {where}); refusing to start. "
                    + REPAIR_HINT.format(dir=data_dir)
                )
    if gaps:
        log.warning("skipped %d ops after gaps in the log; peers will resend them", gaps)
    secs = time.monotonic() - t0
    log.info("data loaded in %.2fs: %d ops replayed, %d already in the base", secs, applied, skipped)
    # Effects (writes) replayed: seqs count effects, and a pipeline's or a transaction's op
    # holds several (node.MERGEABLE), so this is what compares with an AOF's commands.
    effects = sum(ks.vv.values()) - sum(base_vv.values())
    result: dict[str, Any] = {"seconds": secs, "ops": applied, "effects": effects, "skipped": skipped,
                              "gaps": gaps, "bytes": total, "base_vv": base_vv}
    return result


def _replay_ops(node: Node, ops: list[RawOp], applied: int, skipped: int, gaps: int) -> tuple[int, int, int]:
    """Replay the ops of one record: what `Node.replay` does per op, with the HLC observed
    once per record (its highest stamp; apply functions never read the clock) and no call
    chain per op. Ops are applied in log order through the keyspace's apply path
    (`keyspace_batch.replay`, `apply` for a run of ops)."""
    a, s, g, top = replay(node.keyspace, ops, node.replay_listeners)
    if top:
        node.hlc.observe(top)
    return applied + a, skipped + s, gaps + g


def _truncate(path: str, offset: int, with_magic: bool = False) -> None:
    with open(path, "r+b") as f:
        f.truncate(offset)
        if with_magic:
            f.write(SEG_MAGIC)
        f.flush()
        os.fsync(f.fileno())


def _rebuild_manifest(data_dir: str, files: list[str]) -> Manifest:
    """A MANIFEST for the files present: the newest base, then every segment in order. A
    segment the base already covers replays as duplicates (skipped by its seq numbers)."""
    bases = [f for f in files if f.endswith(".base")]
    segs = [f for f in files if f.endswith(".seg")]
    nums = [int(f.split(".")[0]) for f in files if f.split(".")[0].isdigit()]
    m = Manifest(incarnation=new_incarnation(), base=bases[-1] if bases else None,
                 segments=[SegmentInfo(f) for f in segs], next_file=max(nums, default=0) + 1,
                 clean=False, incarnation_ms=_now_ms())
    save_manifest(data_dir, m)
    return m


def check_log(data_dir: str, fix: bool) -> tuple[int, list[str]]:
    """The check-log command: (exit status, report lines). With fix, truncate at the first
    bad record and drop the segments after it (like redis-check-aof --fix)."""
    lines: list[str] = []
    m = load_manifest(data_dir)
    if m is None:
        files = sorted(f for f in os.listdir(data_dir) if f.endswith((".seg", ".base"))) \
            if os.path.isdir(data_dir) else []
        if not files:
            return 1, [f"{data_dir}: no MANIFEST: not a crdt-redis data directory"]
        if not fix:
            return 1, [f"{data_dir}: MANIFEST missing, {len(files)} log files present; "
                       "`--fix --yes` rebuilds it from them"]
        m = _rebuild_manifest(data_dir, files)
        lines.append(f"{data_dir}: MANIFEST rebuilt from {len(files)} files (base {m.base or 'none'})")
    status = 0
    if m.base:
        from ..keyspace import Keyspace
        from .snapshot import load_base_bytes

        path = os.path.join(data_dir, m.base)
        try:
            with open(path, "rb") as f:
                data = f.read()
            load_base_bytes(data, path, Keyspace("check", 1 << 16))
            lines.append(f"{path}: base snapshot OK ({len(data)} bytes)")
        except (OSError, StorageError) as e:
            lines.append(f"{path}: BAD: {e}")
            return 1, lines + ["a damaged base snapshot cannot be repaired by truncation"]
    first_bad: tuple[int, str, int, str] | None = None
    for idx, seg in enumerate(m.segments):
        path = os.path.join(data_dir, seg.name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            lines.append(f"{path}: MISSING")
            status = 1
            if first_bad is None:
                first_bad = (idx, path, -1, "missing segment")
            continue
        if data[:MAGIC_SIZE] != SEG_MAGIC:
            lines.append(f"{path}: offset 0: bad magic")
            status = 1
            if first_bad is None:
                first_bad = (idx, path, 0, "bad magic")
            continue
        records, bad = scan(data, MAGIC_SIZE)
        dec = OpDecoder()
        bad_decode = None
        for off, payload in records:
            try:
                dec.decode_batch(payload)
            except DecodeError as e:
                bad_decode = (off, str(e))
                break
        if bad_decode is not None:
            lines.append(f"{path}: offset {bad_decode[0]}: undecodable op: {bad_decode[1]}")
            status = 1
            if first_bad is None:
                first_bad = (idx, path, bad_decode[0], bad_decode[1])
        elif bad is not None:
            kind = "torn tail" if bad.tail else "corruption"
            lines.append(f"{path}: offset {bad.offset}: {bad.reason} ({kind}); "
                         f"{len(records)} good records before it")
            status = 1
            if first_bad is None:
                first_bad = (idx, path, bad.offset, bad.reason)
        else:
            lines.append(f"{path}: OK, {len(records)} records, {len(data)} bytes")
    if first_bad is None:
        lines.append("log OK")
        return 0, lines
    if not fix:
        lines.append("problems found; `--fix --yes` truncates at the first bad record "
                     f"({first_bad[1]} offset {first_bad[2]}) and drops the segments after it")
        return status, lines
    idx, path, off, _why = first_bad
    dropped = [s.name for s in m.segments[idx + 1:]]
    if off >= 0:
        _truncate(path, max(off, MAGIC_SIZE) if off > 0 else 0, with_magic=off == 0)
        m.segments = m.segments[: idx + 1]
    else:
        m.segments = m.segments[:idx]
    for name in dropped:
        try:
            os.rename(os.path.join(data_dir, name), os.path.join(data_dir, name + ".dropped"))
        except FileNotFoundError:
            pass
    m.clean = False  # the next start takes a new incarnation: ops were lost
    save_manifest(data_dir, m)
    lines.append(f"fixed: truncated {path} at offset {off}; dropped {len(dropped)} later segment(s)"
                 + (f" (renamed to *.dropped: {', '.join(dropped)})" if dropped else ""))
    return 0, lines
