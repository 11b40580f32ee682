"""The shape and delivery checks of a peer's batch (inbox.py: `validate`), as one loop over
its ops that returns the first reason to refuse it instead of raising, so that it can be
compiled.

A healing replica validates a partition's worth of ops before applying any (~12-20% of its
CPU): compiled (setup.py: mypyc, as crdtredis.replication._batchcheck_native), the loop's
own work runs as C. `check_batch` is the compiled function when that build was made from
this very source (wire/native.py), else this module's; both answer the same.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..clock import LOGICAL_BITS
from ..crdt.schema import check_for
from ..keyspace import effect_known
from ..op import Op
from ..wire.native import native_module

# "<replica id>.<incarnation>": the replica id rule of config.py, then the incarnation.
ORIGIN_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\.[A-Za-z0-9]{1,32}")


def check_batch_py(ops: list[Op], vv0: dict[str, int], vh0: dict[str, int], ours: str, ndb: int, max_bulk: int,
                   limit: int, clock: Callable[[], int], skew_ms: Any) -> tuple[int, str | None]:
    """(highest stamp of the new ops (0: none), None) when every op of the batch may apply,
    in order, onto the vectors `vv0`/`vh0` (not changed); else (0, why not)."""
    highest = 0
    vv = dict(vv0)
    vh = dict(vh0)
    vv_get = vv.get
    # code -> its shape check, for the codes this batch already showed to be known (a
    # healing replica validates a partition's worth of ops: two calls per effect less),
    # and the check's `fast` acceptance of the code's hot shape (crdt/schema.py Shape: the
    # check itself answers None at once when it holds), called directly: a call less.
    known: dict[Any, Any] = {}
    fasts: dict[Any, Any] = {}
    origin: Any
    effects: Any
    eff: Any
    code: Any
    db: Any
    deps: Any
    for op in ops:
        origin = op.origin
        seq: Any = op.seq
        hlc: Any = op.hlc
        effects = op.effects
        n: int = len(effects)
        if not origin or seq < 1 or n == 0:
            return 0, f"op without origin, seq or effects ({origin!r}:{seq})"
        last = seq + n - 1
        have: int = vv_get(origin, 0)
        if last <= have:
            continue  # a duplicate: harmless, skipped on apply
        if origin == ours:
            return 0, f"op {origin}:{seq} claims to be ours but we never issued it"
        if not have and ORIGIN_RE.fullmatch(origin) is None:  # (a known origin was checked)
            return 0, f"op origin {origin[:80]!r} is not <replica id>.<incarnation>"
        if seq != have + 1:
            return 0, f"op {origin}:{seq} is not deliverable: we hold {origin} up to seq {have}"
        top = hlc + n - 1
        if top > limit:
            ahead = ((top >> LOGICAL_BITS) - clock()) / 1000
            return 0, (f"op {origin}:{seq} is stamped {ahead:.0f}s ahead of this node's clock "
                       f"(max_clock_skew_ms={skew_ms}): check the replicas' clocks (NTP)")
        deps = op.deps
        if deps:
            for o, h in deps.items():
                if vh.get(o, 0) < h:
                    return 0, f"op {origin}:{seq} depends on {o} at hlc {h}, which we lack"
        for eff in effects:
            code = eff[0] if len(eff) >= 3 else None
            chk = known.get(code) if type(code) is int else None
            if chk is None:
                if code is None or not effect_known(code):
                    return 0, f"op {origin}:{seq} has an unknown effect {eff[:1]!r}"
                chk = known[code] = check_for(code)
                fasts[code] = getattr(chk, "fast", None)
            db = eff[1]
            if type(db) is not int or not 0 <= db < ndb:
                return 0, f"op {origin}:{seq} names database {db!r} of {ndb}"
            if type(eff[2]) is not bytes:
                return 0, f"op {origin}:{seq} has a non-bytes key"
            fast = fasts[code]
            if fast is None or not fast(eff):
                why = chk(eff, max_bulk)
                if why is not None:
                    return 0, f"op {origin}:{seq}: {why}"
        vv[origin] = last
        vh[origin] = top
        if top > highest:
            highest = top
    return highest, None


def _native() -> Any:
    """The compiled copy of this module, if it was built from this source."""
    return native_module("crdtredis.replication._batchcheck_native", __file__)


# Only this module looks for the compiled copy (the copy itself runs this code too).
_NATIVE: Any = _native() if __name__ == "crdtredis.replication.batchcheck" else None
check_batch: Callable[[list[Op], dict[str, int], dict[str, int], str, int, int, int, Callable[[], int], Any],
                      tuple[int, str | None]] = check_batch_py if _NATIVE is None else _NATIVE.check_batch_py


def compiled() -> bool:
    """True when `check_batch` is the compiled loop."""
    return _NATIVE is not None
