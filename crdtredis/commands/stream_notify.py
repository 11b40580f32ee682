"""Keyspace events of the stream commands: Redis's notifyKeyspaceEvent calls of t_stream.c
("xadd", "xtrim", "xdel", "xsetid", "xgroup-create", "xgroup-setid", "xgroup-destroy",
"xgroup-createconsumer", "xgroup-delconsumer"), class `t`.

They are published through `node.notify` (crdtredis/notify.py), and the events of replicated
stream effects are registered with notify_remote.register_remote_event, in checkouts that
have keyspace notifications; in one without them (this branch's base) there is nothing to
publish and these are no-ops.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..crdt.stream_log import XADD, XDEL, XGCURSOR, XGPEL, XGREMOVE, XSETID, XTRIM

if TYPE_CHECKING:
    from ..node import Node

# Redis's NOTIFY_STREAM class (notify-keyspace-events "t").
STREAM = 1 << 10

# A checkout with keyspace notifications has crdtredis/notify.py and notify_remote.py; the
# test is on this package's own files (an editable install of another checkout must not
# lend its modules to this one).
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_NOTIFY = os.path.exists(os.path.join(_PKG, "notify_remote.py"))


def stream_event(node: Node, event: bytes, key: bytes, dbid: int) -> None:
    """notifyKeyspaceEvent(NOTIFY_STREAM, ...): `node.notify` is set while
    notify-keyspace-events is on (crdtredis/notify.py)."""
    n = getattr(node, "notify", None)
    if n is not None and n.flags & STREAM:
        n.publish(event, key, dbid)


# ---- events of replicated effects (what changed here: notify_remote's before/after views) --
def _grew(event: bytes) -> Callable[[Any, Any, Any], bytes | None]:
    def fn(eff: Any, b: Any, a: Any) -> bytes | None:
        return event if a.etype == b"stream" and (b.etype != b"stream" or a.size > b.size) else None
    return fn


def _shrank(event: bytes) -> Callable[[Any, Any, Any], bytes | None]:
    def fn(eff: Any, b: Any, a: Any) -> bytes | None:
        return event if b.etype == b"stream" and a.etype == b"stream" and a.size < b.size else None
    return fn


def _on_stream(event: Callable[[Any], bytes | None]) -> Callable[[Any, Any, Any], bytes | None]:
    def fn(eff: Any, b: Any, a: Any) -> bytes | None:
        return event(eff) if a.etype == b"stream" else None
    return fn


if HAS_NOTIFY:
    import importlib

    _register = importlib.import_module("crdtredis.notify_remote").register_remote_event
    _register(XADD, STREAM, _grew(b"xadd"))
    _register(XDEL, STREAM, _shrank(b"xdel"))
    _register(XTRIM, STREAM, _shrank(b"xtrim"))
    _register(XSETID, STREAM, _on_stream(lambda eff: b"xsetid"))
    _register(XGCURSOR, STREAM, _on_stream(lambda eff: b"xgroup-create" if eff[7] else b"xgroup-setid"))
    _register(XGREMOVE, STREAM, _on_stream(
        lambda eff: b"xgroup-destroy" if eff[4] is None else b"xgroup-delconsumer"))
    _register(XGPEL, STREAM, _on_stream(lambda eff: b"xgroup-createconsumer" if len(eff) == 6 else None))
