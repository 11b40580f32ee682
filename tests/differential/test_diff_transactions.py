"""Differential scripts for MULTI/EXEC/DISCARD/WATCH/UNWATCH.

WATCH needs a second client to modify the key: `On(1, ...)` runs a step on a second
connection to the same server."""
from __future__ import annotations

import pytest

from tests.differential.harness import IGNORE_VALUE, TYPE, Differ, On, Script, ScriptCase, WaitFor, scripts

TRANSACTIONS: dict[str, Script] = {
    "multi_exec_basic": [
        "MULTI", "SET k v", "INCR c", "INCR c", "GET k", "GET nokey", "PING", "ECHO hi", "EXEC", "GET c",
        "MULTI", "EXEC", "multi", "set a 1", "exec", "GET a",
    ],
    "multi_state_errors": [
        "EXEC", "DISCARD", "MULTI", "MULTI", "SET k v", "EXEC", "GET k", "MULTI x", "EXEC x", "DISCARD x",
    ],
    "discard": [
        "MULTI", "SET k v", "INCR c", "DISCARD", "GET k", "GET c", "EXEC", "DISCARD", "MULTI", "DISCARD", "EXEC",
    ],
    "queue_time_errors_abort": [
        "MULTI", "SET k v", "SET k", "INCR c", "EXEC", "GET k", "GET c",
        "MULTI", "SET k v", "FOO bar", "EXEC", "GET k",
        "MULTI", "GET", "DISCARD", "GET k",
        "MULTI", "SET k v", "EXEC x", "EXEC", "GET k",
        "MULTI", "SET k v", "MULTI", "EXEC", "GET k",
    ],
    "runtime_errors_do_not_abort": [
        "SET s abc", "MULTI", "SET k v", "INCR s", "SET k2 v2", "SET k3 v EX abc", "SET k4 v EX 0", "INCRBY c x",
        "GET k", "EXEC", "GET k", "GET k2", "EXISTS k3 k4", "GET s",
    ],
    "multi_exec_select_and_db": [
        "MULTI", "SELECT 2", "SET k v2", "EXEC", "GET k", "SELECT 0", "GET k", "MULTI", "SELECT 99", "SET k v0",
        "EXEC", "GET k",
    ],
    "multi_commands_not_queued": [
        "MULTI", "WATCH k", "SET k v", "EXEC", "GET k", "MULTI", "UNWATCH", "EXEC", "MULTI", "DISCARD",
    ],
    "watch_other_connection_aborts": [
        "SET k v", "WATCH k", On(1, "SET k changed"), "MULTI", "SET k mine", "EXEC", "GET k",
        "WATCH k", "MULTI", "SET k mine", "EXEC", "GET k",
    ],
    "watch_missing_key_created": [
        "WATCH nokey", On(1, "SET nokey v"), "MULTI", "SET nokey mine", "EXEC", "GET nokey",
    ],
    "watch_key_deleted_or_expired_by_other": [
        "SET k v", "WATCH k", On(1, "DEL k"), "MULTI", "SET x 1", "EXEC", "EXISTS x",
        "SET k v", "WATCH k", On(1, "EXPIRE k 100"), "MULTI", "SET x 1", "EXEC",
        "WATCH k", On(1, "PERSIST k"), "MULTI", "SET x 2", "EXEC", "GET x",
        "WATCH k", On(1, "APPEND k x"), "MULTI", "PING", "EXEC",
        "WATCH k", On(1, "INCRBYFLOAT num 1"), "MULTI", "PING", "EXEC",
    ],
    "watch_untouched_key_succeeds": [
        "SET k v", "WATCH k", On(1, "SET other v"), On(1, "GET k"), "MULTI", "SET k mine", "EXEC", "GET k",
    ],
    "watch_same_value_write_still_aborts": [
        "SET k v", "WATCH k", On(1, "SET k v"), "MULTI", "GET k", "EXEC",
    ],
    "watch_own_write_aborts": [
        "SET k v", "WATCH k", "SET k w", "MULTI", "GET k", "EXEC",
    ],
    "watch_failed_command_does_not_touch": [
        "SET k v", "WATCH k", On(1, "SET k v NX"), On(1, "EXPIRE k 10 XX"), On(1, "INCR k"), "MULTI", "GET k", "EXEC",
    ],
    "unwatch": [
        "SET k v", "WATCH k", "UNWATCH", On(1, "SET k changed"), "MULTI", "SET k mine", "EXEC", "GET k",
        "WATCH k", On(1, "SET k again"), "MULTI", "DISCARD", "MULTI", "GET k", "EXEC",
        "UNWATCH", "UNWATCH",
    ],
    "watch_multiple_and_exec_clears": [
        "MSET a 1 b 2", "WATCH a", "WATCH b nokey", On(1, "SET nokey 3"), "MULTI", "GET a", "EXEC",
        "MULTI", "GET a", "EXEC",
    ],
    "watch_flush_from_other": [
        "SET k v", "WATCH k", On(1, "FLUSHDB"), "MULTI", "PING", "EXEC",
        "SET k v", "WATCH k", On(1, "FLUSHALL"), "MULTI", "PING", "EXEC",
        "WATCH k", On(1, "FLUSHALL"), "MULTI", "PING", "EXEC",
    ],
    "watch_other_db": [
        "SET k v", "WATCH k", On(1, "SELECT 1"), On(1, "SET k other-db"), "MULTI", "GET k", "EXEC",
        "SELECT 1", "WATCH k", On(1, "SET k changed"), "MULTI", "GET k", "EXEC",
    ],
    "watch_rename_copy_from_other": [
        "SET k v", "SET src s", "WATCH k", On(1, "RENAME src k"), "MULTI", "PING", "EXEC",
        "WATCH k", On(1, "SET src s"), On(1, "COPY src k REPLACE"), "MULTI", "PING", "EXEC",
        "WATCH k", On(1, "MSET k m"), "MULTI", "PING", "EXEC",
    ],
    "watch_expiry_passes": [
        "SET k v PX 300", "WATCH k", WaitFor("EXISTS k", b":0", conn=1), "MULTI", "PING", "EXEC",
    ],
    "transaction_resp3": [
        ("HELLO 3", TYPE), "MULTI", "SET k v", "GET k", "GET nokey", "INCRBYFLOAT f 1.5", "EXEC",
        "SET w v", "WATCH w", On(1, "SET w x"), "MULTI", "GET w", "EXEC", "MULTI", "SET k", "EXEC",
    ],
    "multi_with_hello_and_info_inside": [
        # EXEC carries HELLO's map, whose connection id differs between servers.
        "MULTI", ("HELLO 3", TYPE), "DBSIZE", ("INFO server", TYPE), ("EXEC", IGNORE_VALUE), "GET nokey", "DBSIZE",
    ],
}

WRONGTYPE: dict[str, Script] = {
    "runtime_wrongtype_inside_exec": [
        "RPUSH l a", "MULTI", "SET k v", "GET l", "INCR l", "SET k2 v2", "APPEND l x", "EXEC", "GET k", "GET k2",
        "TYPE l",
    ],
    "watch_list_modified": [
        "RPUSH l a", "WATCH l", On(1, "RPUSH l b"), "MULTI", "GET k", "EXEC",
    ],
}


@pytest.mark.parametrize("case", scripts(TRANSACTIONS))
def test_transactions(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)


@pytest.mark.parametrize("case", scripts(WRONGTYPE))
def test_transactions_wrongtype(diff: Differ, case: ScriptCase) -> None:
    diff.run(case)
