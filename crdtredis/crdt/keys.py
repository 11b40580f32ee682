"""Key-level effects: DEL, EXPIRE/PERSIST, FLUSHDB; rebuilding a value for RENAME/COPY.

Rule: a delete removes only the content it observed, so a concurrent write to the key
survives it (update wins). Expiry is a multi-value register (keyspace.ExpiryReg).
"""
from __future__ import annotations

from typing import Any

from ..keyspace import TYPE_CODECS, Db, Keyspace, register_effect
from ..op import Ctx, Effect
from . import codes
from .schema import INT64, fixed, optional
from .string_bits import BitStr
from .string_counter import CounterStr, string_value


def apply_del(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    ks.remove_key_observed(db, eff[2], ctx)


def apply_expire(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    ks.write_expiry(db, eff[2], ctx, eff[3])
    if db.watched:
        db.touch(eff[2])


def apply_flushdb(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    if ctx.origin == ks.origin and not db.shadow and ks.solo:
        # (Otherwise entries may have to keep tombstones hidden: see Entry.retain.)
        # At its origin a flush has observed everything: drop the dicts wholesale. Like
        # Redis (touchAllWatchedKeysInDb), only WATCHed keys that exist are touched.
        if db.watched:
            for key in [k for k in db.watched if k in db.data]:
                db.touch(key)
        db.data = {}
        db.expires = {}
        # Blocked clients re-check their keys (XREADGROUP answers that its key is gone).
        for cbs in list(db.waiters.values()):
            for cb in list(cbs):
                cb()
        return
    for key in list(db.data) + list(db.shadow) + list(db.expires):
        ks.remove_key_observed(db, key, ctx)
    db.visit_whole()  # what it left (hidden emptied entries, tombstones) is in any key


def rebuild_effects(db: int, key: bytes, e: Any) -> list[Effect]:
    """Effects that write a value equal to entry `e` at (db, key) (RENAME/COPY)."""
    if type(e) is tuple or type(e) is CounterStr or type(e) is BitStr:
        return [(codes.SET, db, key, string_value(e), codes.TTL_KEEP, None)]
    return TYPE_CODECS[e.TYPE](db, key, e)


register_effect(codes.DEL, apply_del, check=fixed())
register_effect(codes.EXPIRE, apply_expire, check=fixed(optional(INT64)))
register_effect(codes.FLUSHDB, apply_flushdb, check=fixed())
