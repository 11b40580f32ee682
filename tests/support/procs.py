"""Server processes for integration tests: crdt-redis nodes and a real redis-server.

Tests synchronise only through `wait_until` (a deadline-bounded poll), never through bare
sleeps: a sleep is either too short on a loaded CI box or wastes time everywhere else.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

T = TypeVar("T")

HOST = "127.0.0.1"

# Ports already handed out in this session. The kernel may give the same ephemeral port to
# two consecutive bind(0) calls once the first socket is closed; two servers told to use
# the same port would then fail in a confusing way, so we never hand a port out twice.
_handed_ports: set[int] = set()
_port_lock = threading.Lock()

# Children run in their own session (so Ctrl-C reaches pytest, which then tears them down
# in order); the price is that nothing kills them if pytest exits without teardown. This is
# the last resort for that case.
_live_procs: weakref.WeakSet[_Proc] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_live_procs):
        proc.kill()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now and not handed out before."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        with _port_lock:
            if port not in _handed_ports:
                _handed_ports.add(port)
                return port
    raise RuntimeError("could not find a free port not handed out before")


def free_port_run(n: int) -> int:
    """The first of n consecutive TCP ports on 127.0.0.1 that are free now and not handed
    out before, below the kernel's ephemeral range (32768 and up on Linux): a run of ports
    counted up from an ephemeral one collides now and then with the local end of some
    outgoing connection (devcluster's ports in a row)."""
    rnd = random.Random()
    for _ in range(200):
        start = rnd.randrange(20000, 32768 - n)
        run = range(start, start + n)
        with _port_lock:
            if any(p in _handed_ports for p in run):
                continue
        try:
            for p in run:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind((HOST, p))
        except OSError:
            continue
        with _port_lock:
            _handed_ports.update(run)
        return start
    raise RuntimeError(f"could not find {n} free consecutive ports")


class StopWaiting(Exception):
    """Raised by a `wait_until` predicate to give up at once (e.g. the server process
    exited: waiting out the deadline would only hide the cause)."""


class _Poll:
    """One wait of `wait_until` / `poll_until`: `done()` tries `pred` once, and raises
    TimeoutError once the deadline has passed."""

    def __init__(self, pred: Callable[[], Any], timeout: float, msg: str) -> None:
        self.pred, self.timeout, self.msg = pred, timeout, msg
        self.deadline = time.monotonic() + timeout
        self.value: Any = None
        self.exc: BaseException | None = None

    def done(self) -> bool:
        try:
            self.value = self.pred()
            if self.value:
                return True
            self.exc = None
        except StopWaiting:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure just means "not ready yet"
            self.exc = exc
        if time.monotonic() >= self.deadline:
            detail = f"last exception: {self.exc!r}" if self.exc else f"last value: {self.value!r}"
            raise TimeoutError(f"timed out after {self.timeout}s waiting for {self.msg or self.pred!r} "
                               f"({detail})") from self.exc
        return False


def wait_until(
    pred: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.01,
    msg: str = "",
) -> T:
    """Poll `pred` until it returns a truthy value, and return that value.

    Exceptions raised by `pred` count as "not yet" (a server that is still starting refuses
    connections); the last one is chained into the TimeoutError so the cause is visible.
    StopWaiting propagates immediately.
    """
    p = _Poll(pred, timeout, msg)
    while not p.done():
        time.sleep(interval)
    return p.value  # type: ignore[no-any-return]


async def poll_until(
    pred: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.01,
    msg: str = "",
) -> T:
    """`wait_until` for a test running on the event loop: the loop runs between tries, so
    that what the test waits for (an executor callback, a server task in the same loop)
    can happen."""
    p = _Poll(pred, timeout, msg)
    while not p.done():
        await asyncio.sleep(interval)
    return p.value  # type: ignore[no-any-return]


def _ping_raw(port: int, timeout: float = 1.0) -> bool:
    """True when something on `port` answers PING with any RESP reply.

    NOAUTH (requirepass) or LOADING errors still prove the RESP loop is up, which is all
    readiness means here; a bare TCP accept would not (the listener may precede the loop).
    """
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = s.recv(64)
    return data[:1] in (b"+", b"-")


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


class _Proc:
    """A child server process whose output goes to files, so a failing test can show it."""

    name: str
    port: int
    log_dir: Path
    _popen: subprocess.Popen[bytes] | None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr.log"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def _spawn(self, env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Append so that the output of earlier incarnations (before a restart) stays readable.
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            banner = f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(self._argv())}\n".encode()
            out.write(banner)
            err.write(banner)
            out.flush()
            err.flush()
            self._popen = subprocess.Popen(
                self._argv(),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                # Own process group, so Ctrl-C on pytest does not hit the servers mid-teardown.
                start_new_session=True,
            )
        _live_procs.add(self)

    def _wait_ready(self, timeout: float) -> None:
        def ready() -> bool:
            if self._popen is not None and self._popen.poll() is not None:
                raise _Exited(self._popen.returncode)
            return _ping_raw(self.port)

        try:
            wait_until(ready, timeout=timeout, interval=0.02, msg=f"{self.name} to answer PING on port {self.port}")
        except _Exited as exc:
            raise RuntimeError(f"{self.name} exited with code {exc.code} during start-up\n{self.logs()}") from None
        except TimeoutError as exc:
            self.kill()
            raise RuntimeError(f"{exc}\n{self.logs()}") from None

    def logs(self, lines: int = 60) -> str:
        """The tails of stdout and stderr, for failure messages."""
        return (
            f"----- {self.name} stdout ({self.stdout_path}) -----\n{_tail(self.stdout_path, lines)}\n"
            f"----- {self.name} stderr ({self.stderr_path}) -----\n{_tail(self.stderr_path, lines)}\n"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait for a clean exit, SIGKILL after `timeout`. Returns the exit code."""
        if self._popen is None:
            return None
        if self._popen.poll() is None:
            # A stopped process cannot handle SIGTERM; wake it first.
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._popen.wait(timeout)
        return self._popen.returncode

    def kill(self) -> None:
        """SIGKILL: a crash with no chance to flush or clean up."""
        if self._popen is not None and self._popen.poll() is None:
            self._signal(signal.SIGKILL)
            self._popen.wait(10)

    def sigstop(self) -> None:
        """Freeze the process (it keeps its sockets: clients and peers see a hung node)."""
        self._signal(signal.SIGSTOP)

    def sigcont(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(sig)

    def client(self, **kw: Any) -> redis.Redis:
        """A redis-py client bound to this server (keyword arguments go to redis.Redis)."""
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kw)


class _Exited(StopWaiting):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class CrdtRedisProc(_Proc):
    """One crdt-redis node as a child process (`python -m crdtredis ...`).

    The data directory survives stop/start/restart, so persistence tests can restart a
    node on the same state; logs go next to it (in its parent directory).
    """

    def __init__(
        self,
        data_dir: Path | str,
        replica_id: str = "n1",
        *,
        port: int | None = None,
        http_port: int | None = None,
        peers: Sequence[str] = (),
        requirepass: str | None = None,
        settings: dict[str, Any] | None = None,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.replica_id = replica_id
        self.name = f"crdt-{replica_id}"
        self.log_dir = self.data_dir.parent
        self.port = port if port is not None else free_port()
        self.http_port = http_port if http_port is not None else free_port()
        self.peers = list(peers)
        self.requirepass = requirepass
        self.settings = dict(settings or {})
        self.extra_args = list(extra_args)
        self.env = env
        self.startup_timeout = startup_timeout
        self._popen = None

    @property
    def url(self) -> str:
        """The HTTP base URL peers use to reach this node."""
        return f"http://{HOST}:{self.http_port}"

    def _argv(self) -> list[str]:
        argv = [
            sys.executable, "-m", "crdtredis",
            "--port", str(self.port),
            "--http-port", str(self.http_port),
            "--data-dir", str(self.data_dir),
            "--replica-id", self.replica_id,
        ]
        for peer in self.peers:
            argv += ["--peer", peer]
        if self.requirepass is not None:
            argv += ["--requirepass", self.requirepass]
        for key, value in self.settings.items():
            argv += ["--set", f"{key}={value}"]
        return argv + self.extra_args

    def start(self, wait: bool = True) -> CrdtRedisProc:
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        env = dict(os.environ if self.env is None else self.env)
        # Unbuffered, so the log tail on failure shows the last lines before a crash.
        env["PYTHONUNBUFFERED"] = "1"
        # Run this checkout's code, whatever checkout an editable install points at.
        repo = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._spawn(env)
        if wait:
            self._wait_ready(self.startup_timeout)
        return self

    def restart(self, wait: bool = True) -> CrdtRedisProc:
        """Clean stop and start again on the same ports and data directory."""
        self.stop()
        return self.start(wait=wait)

    def ensure_running(self) -> bool:
        """Start the node again if it died; True if it had to. Keeps one crash from failing
        every later test that shares a module-scoped node (the crash itself still fails)."""
        if self.is_running():
            return False
        self.start()
        return True

    def sync_state(self) -> str:
        """"solo", "member" or "joining" (a new replica that has not synced yet)."""
        return str(self.client().info("replication").get("crdt_sync_state", ""))

    def wait_synced(self, timeout: float = 60.0) -> CrdtRedisProc:
        """Wait until this replica takes writes (founded its cluster or synced a member)."""
        wait_until(lambda: self.sync_state() in ("solo", "member"), timeout=timeout, interval=0.05,
                   msg=f"{self.name} to sync with its cluster")
        return self

    def health(self, timeout: float = 2.0) -> int:
        """HTTP status of GET /health (raises if the HTTP port does not answer)."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def __repr__(self) -> str:
        return f"CrdtRedisProc({self.replica_id!r}, port={self.port}, http_port={self.http_port}, pid={self.pid})"


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


class RedisServerProc(_Proc):
    """A real redis-server, the reference the differential tests compare against."""

    def __init__(self, port: int | None = None, dir: Path | str | None = None, extra_args: Sequence[str] = ()) -> None:
        exe = redis_server_path()
        if exe is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.exe = exe
        self.port = port if port is not None else free_port()
        self._own_dir = dir is None
        self.dir = Path(dir) if dir is not None else Path(tempfile.mkdtemp(prefix="redis-ref-"))
        self.log_dir = self.dir
        self.name = f"redis-{self.port}"
        self.extra_args = list(extra_args)
        self._popen = None

    def _argv(self) -> list[str]:
        return [
            self.exe,
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(self.dir),
            *self.extra_args,
        ]

    def start(self, wait: bool = True) -> RedisServerProc:
        self._spawn()
        if wait:
            self._wait_ready(10.0)
        return self

    def restart(self) -> RedisServerProc:
        self.stop()
        return self.start()

    def ensure_running(self) -> bool:
        if self.is_running():
            return False
        self.start()
        return True

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RedisServerProc(port={self.port}, pid={self.pid})"
