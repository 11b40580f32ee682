"""Differential testing: run one script against real Redis and crdt-redis, compare raw bytes.

A script is a list of steps run in order on a fresh connection to each server after
FLUSHALL. Comparing raw reply bytes (not client-library values) is what makes error texts,
RESP2/RESP3 types and null forms part of the contract. The reference is whatever real
redis-server is installed (7.0.x here), so the scripts never state expected replies: they
are known-good once they pass with two real redis-servers on both sides (see
`CRDT_DIFF_SUBJECT=redis` in tests/differential/conftest.py).

A step is any of:
    "SET k v"                      shlex-split string, compared exactly
    ["SET", b"k", 1]               argv list (str, bytes, int)
    ("TTL k", int_range(0, 100))   argv plus a comparison mode
    Cmd(argv, mode, conn=1)        the same on another connection (WATCH tests)
    Raw(b"PING\\r\\n")              raw bytes (inline commands, protocol errors)
    WaitFor("EXISTS k", b":0")     poll until both servers give this reply (expiry)
    ScanAll("MATCH k*")            SCAN to completion, compare the set of keys
    ExpectClosed()                 the server closed the connection (QUIT)
"""
from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, cast

from tests.support.procs import CrdtRedisProc, RedisServerProc, wait_until
from tests.support.resp_client import (
    Arg,
    RespConnection,
    RespMap,
    canonical,
    decode,
    resp_type,
    to_bytes,
)

# ---------------------------------------------------------------------------------------
# Comparison modes. `check(ref, sub)` returns None when the replies agree, else a reason.


class Mode(Protocol):
    def check(self, ref: bytes, sub: bytes) -> str | None: ...


class _Exact:
    def check(self, ref: bytes, sub: bytes) -> str | None:
        return None if ref == sub else "raw bytes differ"

    def __repr__(self) -> str:
        return "exact"


class _Type:
    def check(self, ref: bytes, sub: bytes) -> str | None:
        rt, st = resp_type(ref), resp_type(sub)
        return None if rt == st else f"RESP type differs: {rt} vs {st}"

    def __repr__(self) -> str:
        return "type"


def _shape(value: Any) -> Any:
    """Types and aggregate lengths at every level, values dropped."""
    c = canonical(value)
    return _shape_of_canonical(c)


def _shape_of_canonical(c: Any) -> Any:
    tag, payload = c[0], c[1]
    if tag in ("array", "set", "push"):
        return (tag, tuple(_shape_of_canonical(x) for x in payload))
    if tag == "map":
        return (tag, len(payload))
    if tag == "attributed":
        return (tag, _shape_of_canonical(c[2]))
    return tag


class _IgnoreValue:
    """Same reply type and, for aggregates, the same shape; scalar values are free."""

    def check(self, ref: bytes, sub: bytes) -> str | None:
        rs, ss = _shape(decode(ref)), _shape(decode(sub))
        return None if rs == ss else f"shape differs: {rs} vs {ss}"

    def __repr__(self) -> str:
        return "ignore_value"


class _Unordered:
    """Same multiset of top-level elements (KEYS, SMEMBERS); nested order still counts."""

    def check(self, ref: bytes, sub: bytes) -> str | None:
        if resp_type(ref) != resp_type(sub):
            return f"RESP type differs: {resp_type(ref)} vs {resp_type(sub)}"
        rc, sc = canonical(decode(ref)), canonical(decode(sub))
        if rc[0] in ("array", "set", "push"):
            rc, sc = sorted(rc[1]), sorted(sc[1])
        return None if rc == sc else "elements differ (order ignored)"

    def __repr__(self) -> str:
        return "unordered"


@dataclass(frozen=True)
class pairs:  # noqa: N801 - reads like the other mode names in scripts
    """A flat RESP2 array of field/value pairs (CONFIG GET, HGETALL) or a RESP3 map,
    compared as a set of pairs; `ignore_values` compares only the set of fields, and
    `ignore` drops fields that are server-specific."""

    ignore_values: bool = False
    ignore: frozenset[bytes] = frozenset()

    def check(self, ref: bytes, sub: bytes) -> str | None:
        if resp_type(ref) != resp_type(sub):
            return f"RESP type differs: {resp_type(ref)} vs {resp_type(sub)}"
        try:
            rp, sp = self._pairs(decode(ref)), self._pairs(decode(sub))
        except ValueError as exc:
            return str(exc)
        if self.ignore_values:
            rk, sk = sorted(k for k, _ in rp), sorted(k for k, _ in sp)
            if rk != sk:
                return f"fields differ: only ref {sorted(set(rk) - set(sk))}, only sub {sorted(set(sk) - set(rk))}"
            return None
        return None if sorted(rp) == sorted(sp) else f"pairs differ: {sorted(set(rp) ^ set(sp))}"

    def _pairs(self, value: Any) -> list[tuple[Any, Any]]:
        if isinstance(value, RespMap):
            items = list(value)
        elif isinstance(value, list):
            if len(value) % 2:
                raise ValueError(f"odd-length array is not a list of pairs: {value!r}")
            items = list(zip(value[::2], value[1::2], strict=True))
        else:
            raise ValueError(f"not a map or pair array: {value!r}")
        return [
            (canonical(k), canonical(v))
            for k, v in items
            if not (isinstance(k, bytes) and bytes(k) in self.ignore)
        ]


@dataclass(frozen=True)
class int_range:  # noqa: N801
    """Both replies are integers within [lo, hi] (TTL just after EXPIRE: timing varies)."""

    lo: int
    hi: int

    def check(self, ref: bytes, sub: bytes) -> str | None:
        for side, raw in (("ref", ref), ("sub", sub)):
            if not raw.startswith(b":"):
                return f"{side} reply is not an integer"
            n = int(raw[1:-2])
            if not self.lo <= n <= self.hi:
                return f"{side} integer {n} outside [{self.lo}, {self.hi}]"
        return None


@dataclass(frozen=True)
class contains:  # noqa: N801
    """Both replies are bulk (or verbatim) strings containing `needle` (INFO)."""

    needle: bytes

    def check(self, ref: bytes, sub: bytes) -> str | None:
        if resp_type(ref) != resp_type(sub):
            return f"RESP type differs: {resp_type(ref)} vs {resp_type(sub)}"
        for side, raw in (("ref", ref), ("sub", sub)):
            value = decode(raw)
            if not isinstance(value, bytes) or self.needle not in value:
                return f"{side} reply does not contain {self.needle!r}"
        return None


@dataclass(frozen=True)
class custom:  # noqa: N801
    """Compare `fn(decoded)` of both sides; `label` names it in failure messages."""

    fn: Callable[[Any], Any]
    label: str

    def check(self, ref: bytes, sub: bytes) -> str | None:
        if resp_type(ref) != resp_type(sub):
            return f"RESP type differs: {resp_type(ref)} vs {resp_type(sub)}"
        try:
            r, s = self.fn(decode(ref)), self.fn(decode(sub))
        except Exception as exc:  # noqa: BLE001 - an unexpected shape is a mismatch, not a crash
            return f"{self.label}: cannot extract: {exc!r}"
        return None if r == s else f"{self.label} differs:\n    ref: {r!r}\n    sub: {s!r}"

    def __repr__(self) -> str:
        return f"custom({self.label})"


EXACT: Mode = _Exact()
TYPE: Mode = _Type()
IGNORE_VALUE: Mode = _IgnoreValue()
UNORDERED: Mode = _Unordered()

# ---------------------------------------------------------------------------------------
# Steps


def parse_argv(argv: str | Sequence[Arg]) -> list[bytes]:
    if isinstance(argv, str):
        return [a.encode() for a in shlex.split(argv)]
    return [to_bytes(a) for a in argv]


def _show_argv(argv: Sequence[bytes]) -> str:
    out = []
    for a in argv:
        s = a.decode("utf-8", "backslashreplace")
        out.append(shlex.quote(s) if len(s) <= 60 else shlex.quote(s[:40]) + f"...<{len(a)} bytes>")
    return " ".join(out)


def _show_raw(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    return repr(raw) if len(raw) <= 400 else repr(raw[:400]) + f"...<{len(raw)} bytes>"


class Side:
    """One server under comparison and this script's connections to it."""

    def __init__(self, label: str, port: int, proc: Any = None, timeout: float = 5.0) -> None:
        self.label = label
        self.port = port
        self.proc = proc
        self.timeout = timeout
        self.conns: dict[int, RespConnection] = {}

    def conn(self, n: int) -> RespConnection:
        if n not in self.conns:
            self.conns[n] = RespConnection(port=self.port, timeout=self.timeout)
        return self.conns[n]

    def close_all(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()

    def exchange(self, n: int, data: bytes) -> bytes | str:
        """Send and read one reply; a failure becomes a '<...>' string so it is reported
        side by side with the other server's reply rather than as a bare traceback."""
        try:
            c = self.conn(n)
            c.send_raw(data)
            return c.read_reply()
        except TimeoutError:
            return f"<no reply within {self.timeout}s>"
        except (OSError, ConnectionError) as exc:
            return f"<connection error: {exc}>"
        except Exception as exc:  # noqa: BLE001 - e.g. a protocol violation from the server
            return f"<{type(exc).__name__}: {exc}>"


class Step:
    def run(self, ctx: Run) -> None:
        raise NotImplementedError


@dataclass
class Cmd(Step):
    argv: str | Sequence[Arg]
    mode: Mode = EXACT
    conn: int = 0

    def run(self, ctx: Run) -> None:
        __tracebackhide__ = True
        argv = parse_argv(self.argv)
        data = b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
        ctx.compare(f"{_conn_tag(self.conn)}{_show_argv(argv)}", self.conn, data, self.mode)


@dataclass
class Raw(Step):
    """Raw bytes, for inline commands and protocol errors; one reply is read back."""

    data: bytes
    mode: Mode = EXACT
    conn: int = 0

    def run(self, ctx: Run) -> None:
        __tracebackhide__ = True
        ctx.compare(f"{_conn_tag(self.conn)}RAW {self.data!r}", self.conn, self.data, self.mode)


def On(conn: int, argv: str | Sequence[Arg] | tuple[Any, Mode], mode: Mode = EXACT) -> Cmd:  # noqa: N802
    """`argv` on connection number `conn` (0 is the script's main connection); also takes
    a `(argv, mode)` step tuple, like a script line."""
    if isinstance(argv, tuple) and len(argv) == 2 and hasattr(argv[1], "check"):
        return Cmd(cast(Any, argv[0]), cast(Mode, argv[1]), conn)
    return Cmd(cast(Sequence[Arg], argv), mode, conn)


@dataclass
class WaitFor(Step):
    """Poll `argv` on each server until its raw reply equals `expect` (CRLF added).

    This is how scripts wait for an expiry to take effect: both servers must reach the
    state, and the deadline bounds a server that never gets there."""

    argv: str | Sequence[Arg]
    expect: bytes
    timeout: float = 5.0
    conn: int = 0

    def run(self, ctx: Run) -> None:
        __tracebackhide__ = True
        argv = parse_argv(self.argv)
        want = self.expect if self.expect.endswith(b"\r\n") else self.expect + b"\r\n"
        data = b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
        for side in (ctx.ref, ctx.sub):
            last: list[bytes | str] = [b""]

            def reached(side: Side = side, last: list[bytes | str] = last) -> bool:
                last[0] = side.exchange(self.conn, data)
                return last[0] == want

            try:
                wait_until(reached, timeout=self.timeout, interval=0.01)
            except TimeoutError:
                ctx.fail(
                    f"WAIT {_show_argv(argv)} == {want!r}",
                    f"{side.label} never reached it within {self.timeout}s; last reply {_show_raw(last[0])}",
                )
        ctx.log(f"WAIT {_show_argv(argv)} == {want!r}", "ok")


@dataclass
class ScanAll(Step):
    """SCAN with `args` (MATCH/COUNT/TYPE) until the cursor returns to 0; compares the set
    of keys seen (cursors are implementation details). Keys may legitimately repeat in
    SCAN, so duplicates are collapsed."""

    args: str | Sequence[Arg] = ""
    conn: int = 0
    max_calls: int = 10_000

    def run(self, ctx: Run) -> None:
        __tracebackhide__ = True
        extra = parse_argv(self.args)
        results: dict[str, frozenset[bytes] | str] = {}
        for side in (ctx.ref, ctx.sub):
            cursor = b"0"
            keys: set[bytes] = set()
            for _ in range(self.max_calls):
                argv = [b"SCAN", cursor, *extra]
                raw = side.exchange(self.conn, b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
                if isinstance(raw, str) or not raw.startswith(b"*2\r\n"):
                    results[side.label] = f"SCAN {cursor!r} replied {_show_raw(raw)}"
                    break
                value = decode(raw)
                cursor, batch = value[0], value[1]
                if not isinstance(cursor, bytes) or not isinstance(batch, list):
                    results[side.label] = f"SCAN reply has the wrong shape: {_show_raw(raw)}"
                    break
                keys.update(batch)
                if cursor == b"0":
                    results[side.label] = frozenset(keys)
                    break
            else:
                results[side.label] = f"cursor never returned to 0 after {self.max_calls} calls"
        r, s = results[ctx.ref.label], results[ctx.sub.label]
        what = f"{_conn_tag(self.conn)}SCAN* {_show_argv(extra)}"
        if r != s:
            show = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in results.items()}
            ctx.fail(what, f"key sets differ:\n    ref: {show[ctx.ref.label]}\n    sub: {show[ctx.sub.label]}")
        ctx.log(what, f"{len(r)} keys")


@dataclass
class ExpectClosed(Step):
    """Both servers have closed this connection (after QUIT, or a protocol error)."""

    conn: int = 0
    timeout: float = 2.0

    def run(self, ctx: Run) -> None:
        __tracebackhide__ = True
        states = {}
        for side in (ctx.ref, ctx.sub):
            try:
                states[side.label] = side.conn(self.conn).is_closed_by_peer(self.timeout)
            except OSError:
                states[side.label] = True
        if states[ctx.ref.label] != states[ctx.sub.label]:
            ctx.fail(f"{_conn_tag(self.conn)}<connection closed?>", f"closed: {states}")
        ctx.log(f"{_conn_tag(self.conn)}<connection closed?>", str(states[ctx.ref.label]))


def _conn_tag(conn: int) -> str:
    return "" if conn == 0 else f"[conn {conn}] "


StepLike = Step | str | Sequence[Arg] | tuple[Any, Mode]
Script = Sequence[StepLike]


def as_step(item: StepLike) -> Step:
    if isinstance(item, Step):
        return item
    if isinstance(item, str):
        return Cmd(item)
    if isinstance(item, tuple) and len(item) == 2 and hasattr(item[1], "check"):
        return Cmd(cast(Any, item[0]), cast(Mode, item[1]))
    return Cmd(cast(Sequence[Arg], item))


class ScriptMismatch(AssertionError):
    pass


class _KeepGoing(Step):
    def run(self, ctx: Run) -> None:
        ctx.keep_going = True

    def __repr__(self) -> str:
        return "KEEP_GOING"


# First step of a script whose steps do not depend on each other (lists of error cases):
# a mismatching reply is recorded and the script continues, so one run reports every
# divergence instead of only the first. Failures that break the conversation (no reply,
# closed connection) still stop the script.
KEEP_GOING: Step = _KeepGoing()


@dataclass
class Run:
    """One execution of a script: both sides' connections and a transcript for messages."""

    ref: Side
    sub: Side
    name: str
    transcript: list[str] = field(default_factory=list)
    # Set by the KEEP_GOING step: record mismatches and carry on (see KEEP_GOING).
    keep_going: bool = False
    mismatches: list[str] = field(default_factory=list)

    def log(self, what: str, result: str) -> None:
        self.transcript.append(f"  {what:<60} -> {result}")

    def compare(self, what: str, conn: int, data: bytes, mode: Mode) -> None:
        __tracebackhide__ = True
        r = self.ref.exchange(conn, data)
        s = self.sub.exchange(conn, data)
        if isinstance(r, str):
            self.fail(what, f"the REFERENCE server failed ({r}): the script itself is wrong", r, s)
        reason = "subject did not reply" if isinstance(s, str) else _safe_check(mode, r, s)
        if reason is not None:
            if not (self.keep_going and isinstance(s, bytes)):
                self.fail(what, f"mode {mode!r}: {reason}", r, s)
            self.mismatches.append(
                f"step {len(self.transcript) + 1}: {what}\n  mode {mode!r}: {reason}\n"
                f"  {self.ref.label:>8}: {_show_raw(r)}\n  {self.sub.label:>8}: {_show_raw(s)}"
            )
            self.log(what, f"{_show_raw(r)}   <-- MISMATCH, {self.sub.label}: {_show_raw(s)}")
            return
        self.log(what, _show_raw(r))

    def fail(self, what: str, reason: str, ref: bytes | str | None = None, sub: bytes | str | None = None) -> NoReturn:
        __tracebackhide__ = True
        lines = [f"script {self.name!r}: mismatch at step {len(self.transcript) + 1}: {what}", f"  {reason}"]
        if ref is not None or sub is not None:
            lines += [f"  {self.ref.label:>8}: {_show_raw(ref or b'')}", f"  {self.sub.label:>8}: {_show_raw(sub or b'')}"]
        if self.mismatches:
            lines += ["earlier mismatches:", *self.mismatches]
        lines += ["script so far (reference replies):", *self.transcript, f"  {what:<60} -> MISMATCH"]
        raise ScriptMismatch("\n".join(lines))

    def finish(self) -> None:
        __tracebackhide__ = True
        if self.mismatches:
            lines = [f"script {self.name!r}: {len(self.mismatches)} mismatching step(s)", *self.mismatches]
            lines += ["whole script (reference replies):", *self.transcript]
            raise ScriptMismatch("\n".join(lines))


def _safe_check(mode: Mode, ref: bytes, sub: bytes) -> str | None:
    try:
        return mode.check(ref, sub)
    except Exception as exc:  # noqa: BLE001 - a reply the mode cannot parse is a mismatch
        return f"cannot compare: {exc!r}"


class Differ:
    """Runs scripts against a reference server and a subject server."""

    def __init__(self, ref: Side, sub: Side) -> None:
        self.ref = ref
        self.sub = sub

    @property
    def procs(self) -> list[Any]:
        # Read by tests/conftest.py to show the subject's log when a test fails.
        return [p for p in (self.ref.proc, self.sub.proc) if p is not None]

    def _reset(self) -> None:
        for side in (self.ref, self.sub):
            side.close_all()
            if side.proc is not None and hasattr(side.proc, "ensure_running"):
                side.proc.ensure_running()
            with RespConnection(port=side.port, timeout=side.timeout) as admin:
                reply = admin.call("FLUSHALL")
                if reply != b"+OK\r\n":
                    raise AssertionError(f"FLUSHALL on {side.label} replied {reply!r}; cannot start from an empty db")

    def run(self, script: Script | ScriptCase, name: str = "script") -> None:
        if isinstance(script, ScriptCase):
            name, script = script.name, script.steps
        __tracebackhide__ = True
        self._reset()
        run = Run(self.ref, self.sub, name)
        try:
            for item in script:
                as_step(item).run(run)
            run.finish()
            if os.environ.get("CRDT_DIFF_TRACE"):
                # For reviewing what a script really exercises (pytest -s shows it).
                print(f"\n--- {name}\n" + "\n".join(run.transcript))
        finally:
            self.ref.close_all()
            self.sub.close_all()


# ---------------------------------------------------------------------------------------
# Helpers for test modules


@dataclass(frozen=True)
class ScriptCase:
    name: str
    steps: Script


def scripts(table: dict[str, Script]) -> list[Any]:
    """`@pytest.mark.parametrize("case", scripts(TABLE))`: one test per script, with the
    script's key as test id, so a failure list reads as a list of scenarios."""
    import pytest

    return [pytest.param(ScriptCase(name, steps), id=name) for name, steps in table.items()]


def hello_mode(*ignore: bytes) -> pairs:
    """HELLO's reply compared as pairs, minus the connection id (always differs)."""
    return pairs(ignore=frozenset({b"id", *ignore}))


__all__ = [
    "EXACT", "IGNORE_VALUE", "KEEP_GOING", "TYPE", "UNORDERED", "Cmd", "Differ", "ExpectClosed", "On", "Raw",
    "ScanAll", "Script", "ScriptCase", "Side", "WaitFor", "contains", "custom", "hello_mode", "int_range",
    "pairs", "scripts",
]


@contextlib.contextmanager
def own_pair(tmp_path_factory: Any, name: str) -> Iterator[Differ]:
    """A redis-server and a crdt-redis node of the caller's own, for scripts that change
    server-wide settings (ACL users, maxmemory, slowlog) a shared pair would keep."""
    ref = RedisServerProc().start()
    sub = CrdtRedisProc(tmp_path_factory.mktemp(name) / "n1", "n1").start()
    try:
        yield Differ(Side("redis", ref.port, ref), Side("crdt", sub.port, sub))
    finally:
        sub.stop()
        ref.cleanup()
