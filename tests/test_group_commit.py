"""storage/commit.py: the replies waiting for one op-log write."""
from __future__ import annotations

import asyncio
import logging

import pytest

from crdtredis.storage.commit import GroupCommit


async def test_waiters_are_released_in_order_by_the_write_itself() -> None:
    c = GroupCommit(asyncio.get_running_loop())
    seen: list[tuple[int, BaseException | None]] = []
    for i in range(3):
        c.add_waiter(lambda exc, i=i: seen.append((i, exc)))
    assert not seen
    c.resolve()
    assert seen == [(0, None), (1, None), (2, None)]  # at once: no loop turn in between
    c.add_waiter(lambda exc: seen.append((3, exc)))  # after the write: called at once
    assert seen[-1] == (3, None)
    c.resolve(OSError("late"))  # a second resolve changes nothing
    assert c.error is None


async def test_a_failed_write_reaches_every_waiter_and_the_awaiters() -> None:
    c = GroupCommit(asyncio.get_running_loop())
    got: list[BaseException | None] = []
    c.add_waiter(got.append)
    early = c.future()
    err = OSError("disk full")
    c.resolve(err)
    assert got == [err]
    with pytest.raises(OSError, match="disk full"):
        await early
    with pytest.raises(OSError, match="disk full"):
        await c  # a future asked for after the write is settled at once


async def test_awaiting_a_commit_waits_for_the_write() -> None:
    loop = asyncio.get_running_loop()
    c = GroupCommit(loop)
    task = loop.create_task(_await(c))
    await asyncio.sleep(0)
    assert not task.done()
    c.resolve()
    assert await asyncio.wait_for(task, 5) == "written"


async def _await(c: GroupCommit) -> str:
    await c
    return "written"


async def test_a_waiter_that_raises_does_not_keep_the_others_waiting(caplog: pytest.LogCaptureFixture) -> None:
    c = GroupCommit(asyncio.get_running_loop())
    seen: list[int] = []

    def bad(exc: BaseException | None) -> None:
        raise RuntimeError("boom")

    c.add_waiter(bad)
    c.add_waiter(lambda exc: seen.append(1))
    with caplog.at_level(logging.ERROR):
        c.resolve()
    assert seen == [1]
    assert "op log write failed" in caplog.text
