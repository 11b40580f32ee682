"""Flags of a script call as CLIENT PAUSE WRITE and maxmemory judge them (Redis
evalGetCommandFlags / fcallGetCommandFlags / scriptFlagsToCmdFlags): a script declared
`no-writes` (shebang flags, or a function's flags) is not a write, so it runs during a
write pause; one that declares flags without `allow-oom` or `no-writes` is refused when
out of memory; one without flags counts as EVAL/FCALL."""
from __future__ import annotations

from typing import Any

from ..scripting.runner import (
    ALLOW_OOM,
    ALLOW_STALE,
    EVAL_COMPAT,
    NO_WRITES,
    extract_shebang_flags,
    scripting_of,
    sha1hex,
)
from .pause import register_command_flags


def _apply(flags: int, base: Any) -> Any:
    if flags & EVAL_COMPAT:
        return None
    out = set(base) - {"stale", "denyoom", "write"}
    if not flags & (ALLOW_OOM | NO_WRITES):  # no-writes implies allow-oom
        out.add("denyoom")
    if flags & NO_WRITES:
        out.discard("may_replicate")
    else:
        out.add("write")
    if flags & ALLOW_STALE:
        out.add("stale")
    return out


def _eval(node: Any, argv: list[bytes], sha: bool = False) -> Any:
    key = argv[1].lower() if sha else sha1hex(argv[1])
    s = scripting_of(node).scripts.get(key)
    if s is not None:
        flags = s.flags
    elif sha:
        return None
    else:
        flags, _n, err = extract_shebang_flags(argv[1])
        if err is not None:
            return None
    return _apply(flags, node.commands[b"evalsha" if sha else b"eval"].flags)


def _fcall(node: Any, argv: list[bytes]) -> Any:
    from .functions import view_of

    f = view_of(node).functions.get(argv[1].decode("utf-8", "surrogateescape").lower())
    return None if f is None else _apply(f.flags, node.commands[b"fcall"].flags)


register_command_flags("eval", lambda n, a: _eval(n, a))
register_command_flags("evalsha", lambda n, a: _eval(n, a, True))
register_command_flags("fcall", _fcall)
