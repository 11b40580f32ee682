"""Function libraries (FUNCTION LOAD/DELETE/FLUSH/RESTORE) as replicated data.

Conflict rule: each library name is a multi-value register of (code, stamp) values; the
value with the highest stamp (hlc, origin) is the library, so of two concurrent FUNCTION
LOADs of one library the later one wins everywhere. A load replaces the values it
observed; FUNCTION DELETE and FUNCTION FLUSH remove the values they observed, so a load
concurrent with a delete survives it (as a write survives a concurrent DEL). Keeping the
concurrent values, rather than only the winner, is what makes a delete that observed
only the losing value converge whatever the delivery order (docs/semantics.md,
"Functions").

The libraries are not keys: they live in `Keyspace.functions`, outside every database,
and go into base snapshots as one header field. Each replica compiles the code it holds
into its own Lua state when a library is needed (crdtredis/scripting/functions.py); the
code was validated where it was loaded, and a library that fails to compile here is
reported when it is used, never during apply.

Effects (codes 95-97, no key type):
    (FN_LOAD, 0, name, code)      set the library, replacing the values observed
    (FN_DELETE, 0, name)          observed-remove of the library
    (FN_FLUSH, 0, b"")            observed-remove of every library
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..op import Ctx, Effect

if TYPE_CHECKING:
    from ..keyspace import Db, Keyspace

FN_LOAD = 95
FN_DELETE = 96
FN_FLUSH = 97

# One value of a library: (code, hlc, origin).
Value = tuple[bytes, int, str]


class FunctionLibs:
    """name -> the concurrent values of that library (usually one)."""

    __slots__ = ("libs", "version")

    def __init__(self) -> None:
        self.libs: dict[bytes, list[Value]] = {}
        # Bumped on every change: the compiled view (scripting) rebuilds when it moves.
        self.version = 0

    def visible(self) -> dict[bytes, Value]:
        """Each library's winning value: the highest (hlc, origin)."""
        return {name: max(vals, key=_stamp) for name, vals in self.libs.items() if vals}

    def get(self, name: bytes) -> Value | None:
        vals = self.libs.get(name)
        return max(vals, key=_stamp) if vals else None

    def __len__(self) -> int:
        return len(self.libs)

    def load(self, name: bytes, code: bytes, ctx: Ctx, solo: bool) -> None:
        vals = self.libs.get(name)
        keep = [v for v in vals if not ctx.observed(v[1], v[2])] if vals and not solo else []
        keep.append((code, ctx.hlc, ctx.origin))
        self.libs[name] = keep
        self.version += 1

    def delete(self, name: bytes, ctx: Ctx, solo: bool) -> None:
        vals = self.libs.get(name)
        if vals is None:
            return
        keep = [] if solo else [v for v in vals if not ctx.observed(v[1], v[2])]
        if keep:
            self.libs[name] = keep
        else:
            del self.libs[name]
        self.version += 1

    def flush(self, ctx: Ctx, solo: bool) -> None:
        for name in list(self.libs):
            self.delete(name, ctx, solo)

    def state(self) -> dict[bytes, list[Value]]:
        return {name: list(vals) for name, vals in self.libs.items()}

    def load_state(self, s: Any) -> None:
        self.libs = {bytes(name): [(bytes(v[0]), int(v[1]), str(v[2])) for v in vals] for name, vals in s.items()}
        self.version += 1


def _stamp(v: Value) -> tuple[int, str]:
    return (v[1], v[2])


def _apply_load(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    ks.functions.load(eff[2], eff[3], ctx, ks.solo)


def _apply_delete(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    ks.functions.delete(eff[2], ctx, ks.solo)


def _apply_flush(ks: Keyspace, db: Db, eff: Effect, ctx: Ctx) -> None:
    ks.functions.flush(ctx, ks.solo)


def _register() -> None:
    from ..keyspace import register_effect
    from .schema import BYTES, fixed

    register_effect(FN_LOAD, _apply_load, check=fixed(BYTES))
    register_effect(FN_DELETE, _apply_delete, check=fixed())
    register_effect(FN_FLUSH, _apply_flush, check=fixed())


_register()
