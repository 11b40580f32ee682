"""Differential scripts for the list commands: every command, its errors, RESP2/RESP3 null
shapes, blocking pops (woken from another connection, timeouts, MULTI), on small lists and
on lists large enough to span many blocks of the RGA index."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.differential.harness import (
    EXACT,
    KEEP_GOING,
    TYPE,
    Differ,
    Mode,
    On,
    Run,
    Script,
    ScriptCase,
    Step,
    int_range,
    parse_argv,
    scripts,
)

# ---- steps for blocking commands: send now, read the reply later ----------------------------


@dataclass
class Send(Step):
    """Send a command on connection `conn` of both servers without reading its reply."""

    argv: str
    conn: int = 1

    def run(self, ctx: Run) -> None:
        argv = parse_argv(self.argv)
        data = b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
        for side in (ctx.ref, ctx.sub):
            before = _blocked_clients(side)
            side.conn(self.conn).send_raw(data)
            # Every Send is a blocking pop: go on once the server counts it as blocked. A short
            # timeout may expire first, so the deadline ends the wait without failing (Recv checks).
            deadline = time.monotonic() + 2.0
            while _blocked_clients(side) <= before and time.monotonic() < deadline:
                time.sleep(0.002)  # polling interval, bounded by the deadline
        ctx.log(f"[conn {self.conn}] SEND {self.argv}", "sent")


def _blocked_clients(side: Any) -> int:
    info = side.conn(0).call("INFO", "clients")
    for line in info.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return 0


@dataclass
class Recv(Step):
    """Read the pending reply of connection `conn` on both servers and compare."""

    conn: int = 1
    mode: Mode = EXACT

    def run(self, ctx: Run) -> None:
        replies: list[bytes | str] = []
        for side in (ctx.ref, ctx.sub):
            try:
                replies.append(side.conn(self.conn).read_reply())
            except Exception as exc:  # noqa: BLE001 - reported side by side below
                replies.append(f"<{type(exc).__name__}: {exc}>")
        r, s = replies
        what = f"[conn {self.conn}] RECV"
        if isinstance(r, str):
            ctx.fail(what, f"the REFERENCE server failed ({r})", r, s)
        if isinstance(s, str) or self.mode.check(r, s) is not None:
            ctx.fail(what, f"mode {self.mode!r}: replies differ", r, s)
        ctx.log(what, repr(r))


@dataclass
class Sleep(Step):
    """A negative check's wait: gives a wrong wake-up (a write of another type, or to another
    db) the time to happen. The sleep is the thing under test, not synchronisation."""

    seconds: float

    def run(self, ctx: Run) -> None:
        time.sleep(self.seconds)
        ctx.log(f"SLEEP {self.seconds}", "ok")


BIG = 3000  # elements: several blocks of the index
BIG_ARGS = ["RPUSH", "big", *[f"v{i}" for i in range(BIG)]]

LISTS: dict[str, Script] = {
    "push_basic": [
        "RPUSH l a b c", "LPUSH l x y", "RPUSH l d", "LRANGE l 0 -1", "LLEN l", "TYPE l",
        "OBJECT ENCODING l", "LPUSH l", "RPUSH l", "LPUSH", "rpush l e", "lpush l ''", "LRANGE l 0 -1",
        ["RPUSH", "bin", b"\x00\xff\r\n", b""], "LRANGE bin 0 -1",
    ],
    "pushx": [
        KEEP_GOING, "LPUSHX l a", "RPUSHX l a b", "EXISTS l", "RPUSH l m", "LPUSHX l a b", "RPUSHX l z",
        "LRANGE l 0 -1", "LPUSHX l", "RPUSHX", "SET s v", "LPUSHX s a", "RPUSHX s a", "LPUSHX nokey a",
    ],
    "push_wrongtype": [
        KEEP_GOING, "SET s v", "LPUSH s a", "RPUSH s a", "HSET h f v", "RPUSH h a", "SADD st m", "LPUSH st a",
        "ZADD z 1 m", "RPUSH z a", "GET s",
    ],
    "pop_basic": [
        "RPUSH l a b c d e", "LPOP l", "RPOP l", "LPOP l 2", "RPOP l 0", "RPOP l 10", "EXISTS l", "LPOP l",
        "LPOP l 1", "LPOP l 0", "RPOP nokey", "RPOP nokey 3", "RPUSH l a", "LPOP l 0", "LPOP l 1", "TYPE l",
    ],
    "pop_errors": [
        KEEP_GOING, "RPUSH l a", "SET s v", "LPOP l -1", "LPOP l x", "LPOP l 1.5", "LPOP nokey -1",
        "RPOP s x", "LPOP l 1 2", "RPOP", "LPOP s", "RPOP s 1", "LPOP l 9223372036854775807",
        "LPOP l 9223372036854775808", "LLEN l",
    ],
    "pop_resp3": [
        ("HELLO 3", TYPE), "LPOP nokey", "LPOP nokey 1", "LPOP nokey 0", "RPUSH l a b", "LPOP l 0", "LPOP l",
        "RPOP l 5", "LPOP l", "LMPOP 1 l LEFT", "LMPOP 1 nokey RIGHT COUNT 2", "RPUSH l x", "LMPOP 1 l LEFT",
        "LRANGE nokey 0 -1", "LINDEX nokey 0", "LPOS nokey a", "LPOS nokey a COUNT 0", "LMOVE nokey d LEFT LEFT",
    ],
    "pop_ttl": [
        "RPUSH l a b", "EXPIRE l 100", ("TTL l", int_range(98, 100)), "RPOP l 5", "EXISTS l", "RPUSH l c",
        "TTL l", "EXPIRE l 100", "LPOP l", "TTL l", "RPUSH l a", "EXPIRE l 100", "LREM l 0 a", "TTL l",
        "RPUSH l a", "EXPIRE l 100", "LTRIM l 1 0", "TTL l", "EXISTS l",
    ],
    "llen_lindex_lrange": [
        KEEP_GOING, "LLEN nokey", "LRANGE nokey 0 -1", "LINDEX nokey 0", "RPUSH l a b c", "LLEN l",
        "LINDEX l 0", "LINDEX l 2", "LINDEX l 3", "LINDEX l -1", "LINDEX l -3", "LINDEX l -4",
        "LRANGE l 0 -1", "LRANGE l 1 1", "LRANGE l -2 10", "LRANGE l 2 1", "LRANGE l 5 10", "LRANGE l -100 0",
        "LRANGE l 0 -100", "LRANGE l -9223372036854775808 9223372036854775807", "LRANGE l 0 9223372036854775807",
        "LRANGE l x 1", "LRANGE l 0 y", "LRANGE l 0", "LINDEX l 1.5", "LINDEX l", "LLEN", "LLEN l x",
        "LINDEX l 9223372036854775808", "SET s v", "LLEN s", "LRANGE s 0 1", "LINDEX s 0",
    ],
    "lset": [
        KEEP_GOING, "LSET nokey 0 x", "LSET nokey abc x", "RPUSH l a b c", "LSET l 1 B", "LSET l -1 C",
        "LSET l 0 ''", "LRANGE l 0 -1", "LSET l 3 x", "LSET l -4 x", "LSET l abc x", "LSET l 0",
        "LSET l 9223372036854775807 x", "SET s v", "LSET s 0 x", "LSET s abc x", "LRANGE l 0 -1",
    ],
    "linsert": [
        KEEP_GOING, "LINSERT nokey BEFORE a x", "EXISTS nokey", "RPUSH l a b a", "LINSERT l BEFORE a x",
        "LINSERT l after a y", "LINSERT l AFTER b z", "LINSERT l before b w", "LRANGE l 0 -1",
        "LINSERT l BEFORE nope v", "LINSERT l MIDDLE a v", "LINSERT nokey MIDDLE a v", "LINSERT l BEFORE a",
        "LINSERT l AFTER a ''", "LINSERT l BEFORE '' q", "LRANGE l 0 -1", "SET s v", "LINSERT s BEFORE a v",
    ],
    "lrem": [
        KEEP_GOING, "LREM nokey 1 a", "LREM nokey x a", "RPUSH l a b a c a b", "LREM l 2 a", "LRANGE l 0 -1",
        "LREM l -1 b", "LRANGE l 0 -1", "LREM l 0 zz", "RPUSH l b b", "LREM l 0 b", "LRANGE l 0 -1",
        "LREM l 0 c", "LREM l -5 a", "EXISTS l", "LREM l 1.5 a", "LREM l -9223372036854775808 a",
        "SET s v", "LREM s 0 v", "LREM s x v",
    ],
    "ltrim": [
        KEEP_GOING, "LTRIM nokey 0 1", "LTRIM nokey a 1", "RPUSH l a b c d e f g", "LTRIM l 1 -2",
        "LRANGE l 0 -1", "LTRIM l 0 100", "LRANGE l 0 -1", "LTRIM l -2 -1", "LRANGE l 0 -1",
        "LTRIM l -100 100", "LRANGE l 0 -1", "LTRIM l 5 1", "EXISTS l", "RPUSH l a b c", "LTRIM l 3 5",
        "EXISTS l", "RPUSH l a b c", "LTRIM l -1 -2", "EXISTS l", "RPUSH l a b c",
        "LTRIM l -9223372036854775808 9223372036854775807", "LRANGE l 0 -1", "LTRIM l 0 x", "LTRIM l 0",
        "SET s v", "LTRIM s 0 1", "LTRIM s x 1",
    ],
    "lpos": [
        KEEP_GOING, "RPUSH l a b c a b c", "LPOS l a", "LPOS l c", "LPOS l z", "LPOS l a RANK 2",
        "LPOS l a RANK -1", "LPOS l a RANK -2", "LPOS l a RANK 3", "LPOS l a COUNT 0", "LPOS l a COUNT 1",
        "LPOS l b RANK -1 COUNT 0", "LPOS l c MAXLEN 2", "LPOS l c MAXLEN 3", "LPOS l c RANK -1 MAXLEN 1",
        "LPOS l c RANK -1 MAXLEN 2 COUNT 0", "LPOS l z COUNT 0", "LPOS nokey z COUNT 0", "LPOS nokey z",
        "LPOS l a RANK -9223372036854775808 COUNT 1", "LPOS l a RANK -9223372036854775808",
        "LPOS l a RANK 9223372036854775807 COUNT 0", "LPOS l a rank 1 count 2 maxlen 0",
        "LPOS l a COUNT 5 COUNT 1", "LPOS l a RANK 0", "LPOS l a RANK x", "LPOS l a COUNT -1",
        "LPOS l a COUNT x", "LPOS l a MAXLEN -1", "LPOS l a MAXLEN x", "LPOS l a RANK", "LPOS l a FOO 1",
        "LPOS l", "SET s v", "LPOS s a COUNT x", "LPOS s a", "LPOS s a RANK 0",
    ],
    "lmove": [
        "RPUSH s a b c", "RPUSH d x", "LMOVE s d LEFT LEFT", "LRANGE s 0 -1", "LRANGE d 0 -1",
        "LMOVE s d left right", "LMOVE d s RIGHT LEFT", "LMOVE s d RIGHT RIGHT", "LRANGE s 0 -1",
        "LRANGE d 0 -1", "LMOVE s s LEFT RIGHT", "LRANGE s 0 -1", "LMOVE d new LEFT LEFT", "LRANGE new 0 -1",
        "RPUSH one x", "LMOVE one one RIGHT LEFT", "LRANGE one 0 -1", "LMOVE one other LEFT LEFT", "EXISTS one",
        "RPUSH t x", "EXPIRE t 100", "LMOVE t t LEFT RIGHT", ("TTL t", int_range(98, 100)), "RPOPLPUSH t t",
        ("TTL t", int_range(98, 100)), "LMOVE t u LEFT RIGHT", "TTL t", "TTL u", "EXPIRE u 100",
        "BLMOVE u u LEFT LEFT 0", ("TTL u", int_range(98, 100)),
    ],
    "lmove_errors": [
        KEEP_GOING, "SET s v", "RPUSH l a", "LMOVE nokey s LEFT LEFT", "LMOVE s l LEFT LEFT",
        "LMOVE l s LEFT LEFT", "LRANGE l 0 -1", "LMOVE l d LEFT MIDDLE", "LMOVE l d UP LEFT", "LMOVE l d LEFT",
        "LMOVE nokey d MIDDLE LEFT", "RPOPLPUSH l", "RPOPLPUSH nokey l", "RPOPLPUSH l s", "RPOPLPUSH s l",
        "RPOPLPUSH l new", "EXISTS l", "LRANGE new 0 -1",
    ],
    "lmpop": [
        KEEP_GOING, "RPUSH b 1 2 3", "LMPOP 2 a b LEFT", "LMPOP 2 a b right COUNT 5", "LMPOP 1 b LEFT",
        "LMPOP 0 a LEFT", "LMPOP -1 a LEFT", "LMPOP x a LEFT", "LMPOP 2 a LEFT", "LMPOP 1 a MIDDLE",
        "LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT -1", "LMPOP 1 a LEFT COUNT x",
        "LMPOP 1 a LEFT COUNT 1 COUNT 2", "LMPOP 1 a LEFT FOO 1", "LMPOP 1 a LEFT COUNT", "LMPOP 1 a",
        "SET s v", "RPUSH l x y", "LMPOP 2 l s LEFT COUNT 1", "LMPOP 2 nokey s LEFT", "LMPOP 2 l l RIGHT COUNT 9",
        "LMPOP 1 l LEFT COUNT 9223372036854775807",
    ],
    "blocking_immediate": [
        "RPUSH b 1 2 3", "BLPOP a b 0", "BRPOP a b 0", "BLMOVE b d LEFT LEFT 0", "BRPOPLPUSH d b 0",
        "BLMPOP 0 2 a b LEFT COUNT 2", "EXISTS b", "BLPOP a 0.01", "BRPOP a 0.01", "BLMOVE a b LEFT RIGHT 0.01",
        "BRPOPLPUSH a b 0.01", "BLMPOP 0.01 1 a LEFT", "BLPOP a 0.0001", "BLPOP a 1e-400",
    ],
    "blocking_errors": [
        KEEP_GOING, "SET s v", "BLPOP a -1", "BLPOP a inf", "BLPOP a -inf", "BLPOP a 1e100", "BLPOP a abc",
        "BLPOP a nan", "BLPOP a ' 1'", "BLPOP a ''", "BLPOP a 1_0", "BLPOP a 9223372036854775807",
        "BLPOP s -1", "BLPOP s 0", "BRPOP a s 0", "BLPOP", "BLPOP a", "BLMOVE s d MIDDLE LEFT -1",
        "BLMOVE s d LEFT LEFT -1", "BLMOVE s d LEFT LEFT 0", "BLMOVE a b LEFT LEFT", "BRPOPLPUSH s d abc",
        "BRPOPLPUSH s d 0", "BLMPOP -1 0 a LEFT", "BLMPOP abc 1 a MIDDLE", "BLMPOP -1 1 a LEFT COUNT 0",
        "BLMPOP -1 1 a LEFT", "BLMPOP x 1 a LEFT", "BLMPOP 0 2 a s LEFT", "BLMPOP 0 1 a", "RPUSH l a",
        "BLMOVE l s LEFT LEFT 0", "LRANGE l 0 -1",
    ],
    "blocking_in_multi": [
        "MULTI", "BLPOP l 1", "BLMOVE a b LEFT RIGHT 1", "BRPOPLPUSH a b 1", "BLMPOP 1 1 a LEFT", "BRPOP l 0",
        "EXEC", "RPUSH l x", "MULTI", "BLPOP l 0", "BLPOP l 0", "EXEC",
        ("HELLO 3", TYPE), "MULTI", "BLPOP l 1", "BLMOVE a b LEFT RIGHT 1", "BLMPOP 1 1 a LEFT", "EXEC",
    ],
    "blocking_wake": [
        Send("BLPOP a b 0"), "RPUSH b x y", Recv(), "LRANGE b 0 -1", On(1, "PING"),
        Send("BRPOP q 0"), Send("BRPOP q 0", conn=2), "LPUSH q 1", Recv(1), "LPUSH q 2 3", Recv(2),
        "LRANGE q 0 -1",
        Send("BLMOVE src dst RIGHT LEFT 0"), "RPUSH src a b", Recv(), "LRANGE src 0 -1", "LRANGE dst 0 -1",
        Send("BLMPOP 0 2 x y RIGHT COUNT 2"), "RPUSH y 1 2 3", Recv(), "LRANGE y 0 -1",
        Send("BRPOPLPUSH e dst 0"), "RPUSH e z", Recv(), "LRANGE dst 0 -1",
        # Several keys: served from the key written first, not the first key named.
        Send("BLPOP k1 k2 0"), "MULTI", "RPUSH k2 x", "RPUSH k1 y", "EXEC", Recv(), "LRANGE k1 0 -1",
        "LRANGE k2 0 -1",
    ],
    "blocking_wake_edge_cases": [
        Send("BLPOP k 0"), "SET k v", Sleep(0.05), "DEL k", "RPUSH k a", Recv(),
        Send("BLMOVE s d LEFT LEFT 0"), "SET d v", "RPUSH s a", Recv(), "LRANGE s 0 -1",
        Send("BLPOP w 0.2"), Recv(),
        Send("BLMOVE w d LEFT LEFT 0.2"), Recv(),
        Send("BLMPOP 0.2 1 w LEFT"), Recv(),
        On(3, "SELECT 1"), Send("BLPOP k2 0"), On(3, "RPUSH k2 other-db"), Sleep(0.05), "RPUSH k2 mine",
        Recv(), On(3, "LRANGE k2 0 -1"),
    ],
    "blocking_wake_resp3": [
        On(1, ("HELLO 3", TYPE)), Send("BLPOP a 0"), "RPUSH a x", Recv(), Send("BLPOP a 0.1"), Recv(),
        Send("BLMPOP 0 1 a LEFT COUNT 3"), "RPUSH a 1 2", Recv(),
    ],
    "watch": [
        "RPUSH l a", On(1, "WATCH l"), "LTRIM l 0 -1", On(1, "MULTI"), On(1, "PING"), On(1, "EXEC"),
        On(1, "WATCH l"), "LPOP nokey", On(1, "MULTI"), On(1, "PING"), On(1, "EXEC"),
        On(1, "WATCH l"), "LSET l 0 b", On(1, "MULTI"), On(1, "PING"), On(1, "EXEC"),
        On(1, "WATCH l"), "RPOP l", On(1, "MULTI"), On(1, "PING"), On(1, "EXEC"),
    ],
    "big_list": [
        BIG_ARGS, "LLEN big", "LINDEX big 0", "LINDEX big 1500", "LINDEX big -1", "LINDEX big -1024",
        "LRANGE big 1020 1030", "LRANGE big -5 -1", "LSET big 1500 changed", "LINDEX big 1500",
        "LINSERT big BEFORE v2000 ins-before", "LINSERT big AFTER v1023 ins-after", "LRANGE big 1022 1026",
        "LRANGE big 1998 2003", "LPOS big v2999", "LPOS big v10 RANK -1", "LPOS big ins-after", "LREM big 0 v5",
        "LREM big -1 v2998", "LPOP big 3", "RPOP big 2", "LLEN big", "LRANGE big 0 3", "LTRIM big 500 -500",
        "LLEN big", "LINDEX big 0", "LINDEX big -1", "LRANGE big 995 1005", "LMOVE big big LEFT RIGHT",
        "LINDEX big -1", "LMPOP 1 big RIGHT COUNT 4",
    ],
    "big_list_whole": [BIG_ARGS, "LRANGE big 0 -1", "LPUSH big a b c", "LRANGE big 0 -1", "LTRIM big 1 1",
                       "LRANGE big 0 -1"],
}


@pytest.mark.parametrize("case", scripts(LISTS))
def test_lists(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
