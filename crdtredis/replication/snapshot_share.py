"""GET /repl/snapshot: one snapshot fork at a time, shared by every concurrent requester.

A snapshot is written by a forked child (copy-on-write: the parent keeps serving), then
streamed from the file. Each fork costs up to the whole dataset in memory if the parent
writes meanwhile, so eight requests must not fork eight times: a requester that arrives
while a snapshot is being written, or while a recent one is still being streamed, gets
that one. Any snapshot is a valid state to start from; the requester pulls what came
after it. The file goes away when its last reader is done.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..http_guard import refuse

# A finished snapshot is handed to new requesters for this long (then the next one forks).
SHARE_S = 30.0
CHUNK = 1 << 20


class _Job:
    __slots__ = ("path", "ready", "readers", "started")

    def __init__(self, path: str, ready: asyncio.Future[bool]) -> None:
        self.path = path
        self.ready = ready
        self.readers = 0
        self.started = time.monotonic()


class SharedSnapshot:
    def __init__(self, data_dir: str, produce: Callable[[str], Awaitable[bool]]) -> None:
        self.data_dir = data_dir
        self.produce = produce  # writes a base snapshot to the path; True on success
        self._job: _Job | None = None
        self.forks = 0
        self.served = 0

    def _current(self) -> _Job:
        job = self._job
        if job is not None and not (job.ready.done() and time.monotonic() - job.started > SHARE_S):
            return job
        fd, path = tempfile.mkstemp(prefix="snapshot-", suffix=".tmp", dir=self.data_dir)
        os.close(fd)
        self.forks += 1
        job = _Job(path, asyncio.ensure_future(self.produce(path)))
        job.ready.add_done_callback(functools.partial(self._released, job))
        self._job = job
        return job

    def _released(self, job: _Job, _fut: object) -> None:
        self._release(job)

    def _release(self, job: _Job) -> None:
        if job.readers or not job.ready.done():
            return
        with contextlib.suppress(OSError):
            os.unlink(job.path)
        if self._job is job:
            self._job = None

    async def serve(self, request: web.Request) -> web.StreamResponse:
        job = self._current()
        job.readers += 1
        try:
            try:
                ok = await asyncio.shield(job.ready)
            except Exception:  # noqa: BLE001 - reported to the requester
                ok = False
            if not ok:
                return refuse(500, "snapshot failed")
            self.served += 1
            resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            resp.content_length = os.path.getsize(job.path)
            await resp.prepare(request)
            with open(job.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    await resp.write(chunk)
            await resp.write_eof()
            return resp
        finally:
            job.readers -= 1
            self._release(job)

    def close(self) -> None:
        job = self._job
        if job is not None and not job.ready.done():
            job.ready.cancel()
