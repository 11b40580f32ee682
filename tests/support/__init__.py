"""Test support: server processes, polling, and a raw RESP client."""
from __future__ import annotations

from tests.support.procs import CrdtRedisProc, RedisServerProc, free_port, wait_until

__all__ = ["CrdtRedisProc", "RedisServerProc", "free_port", "wait_until"]
