"""Polling inside an event loop, for tests that drive a connection on fake transports."""
from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    """Let the loop run until `cond` holds (bounded by a deadline): one turn between
    looks, so the connections' end-of-turn writes run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0)
