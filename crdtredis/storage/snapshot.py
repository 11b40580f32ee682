"""Base snapshots: every key's full CRDT state plus the version vectors it covers.

File: BASE_MAGIC, then framed records, each an encoded `Value`:
  header  {"version", "origin", "vv", "vh", "hlc", "databases", "type_conflicts",
           "functions" (optional: function libraries, crdt/functions.py)}
  key     (db, key, visible (tag, state) | None, {type: (tag, state)} | None, expiry values | None)
  trailer {"end": number of records between header and trailer}
Version 2 (written since issue 12) adds one record kind: a packed batch of plain string keys
(storage/strbatch.py, told apart by its first byte), which loads an order of magnitude
faster than per-key records; every other key keeps its version-1 record. Version-1 bases
(every record a key record) still load.
A base is written to a temp name and renamed when complete, so a damaged one is always
corruption, never a torn tail.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO

from ..keyspace import EXPIRE_KIND, ExpiryReg, Keyspace, entry_from_state, entry_state
from ..wire.codec import DecodeError, decode_value, encode_value
from ..wire.fastval import decode_value as decode_value_fast
from . import strbatch
from .framing import BASE_MAGIC, MAGIC_SIZE, frame, iter_records, scan
from .manifest import StorageError, fsync_dir

FORMAT_VERSION = 2
# Versions this code reads: 1 has no string batches.
READ_VERSIONS = (1, 2)


def write_base(ks: Keyspace, hlc: int, out: BinaryIO, flush_every: int = 1 << 20) -> int:
    """Write the snapshot of `ks` to `out`; returns the number of records between the
    header and the trailer (string batches and key records)."""
    out.write(BASE_MAGIC)
    hdr = {
        "version": FORMAT_VERSION, "origin": ks.origin, "vv": dict(ks.vv), "vh": dict(ks.vh),
        "hlc": hlc, "databases": len(ks.dbs), "type_conflicts": ks.type_conflicts,
    }
    if ks.functions.libs:
        # Absent when there are none: bases of earlier versions have no such field.
        hdr["functions"] = ks.functions.state()
    out.write(frame(encode_value(hdr)))
    n = 0
    buf: list[bytes] = []
    size = 0
    pack = strbatch.packable
    for db in ks.dbs:
        keys: Any = db.data.keys()
        shadow, expires = db.shadow, db.expires
        if shadow or expires:
            keys = list(dict.fromkeys([*db.data, *shadow, *expires]))
        bkeys: list[bytes] = []
        bvals: list[Any] = []
        for key in keys:
            e = db.data.get(key)
            if pack(e) and key not in shadow and key not in expires:
                bkeys.append(key)
                bvals.append(e)
                if len(bkeys) < strbatch.BATCH:
                    continue
                rec = frame(strbatch.encode(db.index, bkeys, bvals))
                bkeys, bvals = [], []
            else:
                vis = entry_state(e) if e is not None else None
                hidden = shadow.get(key)
                hid = {t: entry_state(h) for t, h in hidden.items()} if hidden else None
                reg = expires.get(key)
                exp = list(reg.vals) if reg is not None else None
                rec = frame(encode_value((db.index, key, vis, hid, exp)))
            buf.append(rec)
            size += len(rec)
            n += 1
            if size >= flush_every:
                out.write(b"".join(buf))
                buf = []
                size = 0
        if bkeys:
            buf.append(frame(strbatch.encode(db.index, bkeys, bvals)))
            n += 1
    if buf:
        out.write(b"".join(buf))
    out.write(frame(encode_value({"end": n})))
    return n


def write_base_file(ks: Keyspace, hlc: int, path: str) -> int:
    tmp = path + ".tmp"
    with open(tmp, "wb", buffering=1 << 20) as f:
        n = write_base(ks, hlc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return n


class BaseHeader:
    def __init__(self, d: dict[str, Any]) -> None:
        self.origin: str = d["origin"]
        self.vv: dict[str, int] = dict(d["vv"])
        self.vh: dict[str, int] = dict(d["vh"])
        self.hlc: int = int(d["hlc"])
        self.databases: int = int(d["databases"])
        self.type_conflicts: int = int(d.get("type_conflicts", 0))


def load_base(
    path: str, ks: Keyspace, progress: Callable[[int, int], None] | None = None
) -> BaseHeader:
    """Load a base snapshot into an empty keyspace. Any damage is fatal (StorageError)."""
    with open(path, "rb") as f:
        data = f.read()
    return load_base_bytes(data, path, ks, progress)


def load_base_bytes(
    data: bytes, path: str, ks: Keyspace, progress: Callable[[int, int], None] | None = None
) -> BaseHeader:
    if data[:MAGIC_SIZE] != BASE_MAGIC:
        raise StorageError(f"{path}: not a crdt-redis base snapshot (bad magic)")
    records, bad = scan(data, MAGIC_SIZE)
    if bad is not None:
        raise StorageError(f"{path}: corrupt base snapshot at offset {bad.offset}: {bad.reason}")
    if len(records) < 2:
        raise StorageError(f"{path}: incomplete base snapshot (no header or trailer)")
    try:
        hdr_d = decode_value(records[0][1])
        if not isinstance(hdr_d, dict) or hdr_d.get("version") not in READ_VERSIONS:
            raise DecodeError(f"unsupported base header {hdr_d!r:.80}")
        hdr = BaseHeader(hdr_d)
        libs = hdr_d.get("functions")
        if libs:
            try:
                ks.functions.load_state(libs)
            except (ValueError, TypeError, IndexError, AttributeError) as e:
                raise DecodeError(f"bad function libraries in the header: {e}") from e
        trailer = decode_value(records[-1][1])
        if not isinstance(trailer, dict) or trailer.get("end") != len(records) - 2:
            raise DecodeError("trailer does not match the number of key records")
        if hdr.databases > len(ks.dbs):
            raise DecodeError(f"snapshot has {hdr.databases} databases, configured {len(ks.dbs)}")
        total = len(records) - 2
        batches = hdr_d["version"] >= 2
        for i, (off, payload) in enumerate(records[1:-1]):
            try:
                if batches and payload[:2] == strbatch.MARKER:
                    dbi, skeys, svals = strbatch.decode(payload)
                    ks.dbs[dbi].data.update(zip(skeys, svals, strict=True))
                    if progress is not None:
                        progress(i, total)
                    continue
                dbi, key, vis, hid, exp = decode_value_fast(payload)
                db = ks.dbs[dbi]
                if vis is not None:
                    db.data[key] = entry_from_state(vis[0], vis[1])
                if hid:
                    db.shadow[key] = {t: entry_from_state(s[0], s[1]) for t, s in hid.items()}
                if exp:
                    # Values of earlier versions have no kind: they were all EXPIRE-kind.
                    db.expires[key] = ExpiryReg([(v[0], v[1], v[2], v[3] if len(v) > 3 else EXPIRE_KIND)
                                                 for v in exp])
                    ks.refresh_expiry(db, key)
            except (ValueError, TypeError, IndexError, KeyError) as e:
                raise DecodeError(f"bad key record at offset {off}: {e}") from e
            if progress is not None and i % 4096 == 0:
                progress(i, total)
    except DecodeError as e:
        raise StorageError(f"{path}: {e}") from e
    ks.vv.update(hdr.vv)
    ks.vh.update(hdr.vh)
    deps = dict(ks.vh)
    deps.pop(ks.origin, None)
    ks.deps = deps
    ks.type_conflicts = hdr.type_conflicts
    return hdr


def base_header(path: str) -> dict[str, Any] | None:
    """Just the header of a base (for check-log and replication), or None if unreadable."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    for _off, payload in iter_records(data, MAGIC_SIZE):
        try:
            d = decode_value(payload)
        except DecodeError:
            return None
        return d if isinstance(d, dict) else None
    return None
