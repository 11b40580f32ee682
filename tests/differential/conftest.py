"""The `diff` fixture: a Differ whose reference is the session's real redis-server.

The subject is this module's crdt-redis node, or, with CRDT_DIFF_SUBJECT=redis, a second
real redis-server: that self-check proves every script is deterministic and valid (a
script that fails Redis-vs-Redis is a broken script, not a crdt-redis bug).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.differential.harness import Differ, Side
from tests.support.procs import RedisServerProc


@pytest.fixture(scope="session")
def second_redis() -> Iterator[RedisServerProc]:
    server = RedisServerProc().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def diff(request: pytest.FixtureRequest, real_redis: RedisServerProc) -> Differ:
    if os.environ.get("CRDT_DIFF_SUBJECT", "crdt") == "redis":
        subject = request.getfixturevalue("second_redis")
        label = "redis2"
    else:
        subject = request.getfixturevalue("crdt_node_module")
        label = "crdt"
    return Differ(Side("redis", real_redis.port, real_redis), Side(label, subject.port, subject))
