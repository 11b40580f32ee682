"""SLOWLOG, LATENCY and MEMORY against a real redis-server, byte for byte where the reply
does not depend on timing or on the allocator: errors, HELP texts, which commands get
logged and with which arguments, empty replies, and reply shapes otherwise.

Own servers (the scripts change slowlog and latency settings)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.harness import (
    KEEP_GOING,
    TYPE,
    Differ,
    Script,
    ScriptCase,
    custom,
    own_pair,
    scripts,
)
from tests.support.resp_client import RespConnection


@pytest.fixture(scope="module")
def mon_diff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differ]:
    with own_pair(tmp_path_factory, "mon") as d:  # slowlog/latency settings are server-wide
        yield d


def _reset(port: int) -> None:
    with RespConnection(port=port) as c:
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128",
               "latency-monitor-threshold", "0")
        c.call("SLOWLOG", "RESET")
        c.call("LATENCY", "RESET")


def _slowlog_args(value: Any) -> list[Any]:
    """Each entry's arguments (id, time, duration, address and name differ by nature)."""
    return [list(e[3]) for e in value]


ARGS = custom(_slowlog_args, "SLOWLOG GET arguments")

MONITORING: dict[str, Script] = {
    "slowlog_logs_commands_with_their_arguments": [
        "CONFIG SET slowlog-log-slower-than 0", "SET k v", "GET k", "SLOWLOG LEN", ("SLOWLOG GET", ARGS),
        ("SLOWLOG GET 2", ARGS), ("SLOWLOG GET -1", ARGS), "SLOWLOG RESET", "SLOWLOG LEN",
        "CONFIG SET slowlog-log-slower-than -1", "SET k v", "SLOWLOG LEN",
    ],
    "slowlog_trims_and_redacts": [
        "CONFIG SET slowlog-log-slower-than 0", "CONFIG SET slowlog-max-len 3", "SET a 1", "SET b 2", "SET c 3",
        "SET d 4", "SLOWLOG LEN", ("SLOWLOG GET", ARGS), "SLOWLOG RESET", "CONFIG SET masterauth secret",
        "ACL SETUSER u >pw", "RPUSH l " + " ".join(str(i) for i in range(40)), "SET big " + "x" * 200,
        ("SLOWLOG GET", ARGS), "ACL DELUSER u", "CONFIG SET masterauth \"\"",
    ],
    "slowlog_redacts_migrate_passwords": [
        "CONFIG SET slowlog-log-slower-than 0", "MIGRATE 127.0.0.1 1 nokey 0 10 AUTH secret",
        "MIGRATE 127.0.0.1 1 nokey 0 10 COPY AUTH2 user secret REPLACE KEYS", "MIGRATE 127.0.0.1 1 '' 0 10 KEYS a AUTH x",
        "MIGRATE 127.0.0.1 1 nokey 0 10 BOGUS AUTH secret", "AUTH nosuch", ("SLOWLOG GET", ARGS),
    ],
    "slowlog_errors_and_help": [
        KEEP_GOING,
        "SLOWLOG GET x", "SLOWLOG GET -2", "SLOWLOG LEN x", "SLOWLOG RESET x", "SLOWLOG", "SLOWLOG NOSUCH",
        "SLOWLOG HELP", "SLOWLOG help",
    ],
    "latency_empty_and_errors": [
        KEEP_GOING,
        "LATENCY LATEST", "LATENCY HISTORY command", "LATENCY HISTORY nosuch", "LATENCY RESET", "LATENCY RESET x",
        "LATENCY GRAPH command", "LATENCY GRAPH", "LATENCY HELP", "LATENCY NOSUCH", "LATENCY",
        "LATENCY HISTOGRAM nosuch", ("LATENCY HISTOGRAM", TYPE),
    ],
    "latency_histogram_shape": [
        "SET k v", ("LATENCY HISTOGRAM set", TYPE), ("LATENCY HISTOGRAM set get", TYPE),
    ],
    "memory_subcommands": [
        KEEP_GOING,
        "MEMORY HELP", ("MEMORY STATS", TYPE), ("MEMORY DOCTOR", TYPE), ("MEMORY MALLOC-STATS", TYPE),
        "MEMORY PURGE", "MEMORY NOSUCH", "MEMORY STATS x", "MEMORY", "MEMORY USAGE", "MEMORY USAGE nokey",
    ],
}


@pytest.mark.parametrize("case", scripts(MONITORING))
def test_monitoring(mon_diff: Differ, case: ScriptCase) -> None:
    for side in (mon_diff.ref, mon_diff.sub):
        _reset(side.port)
    mon_diff.run(case)
