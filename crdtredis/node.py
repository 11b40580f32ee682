"""A replica: keyspace + clock + command dispatch + the stream of closed ops.

The node is what a connection talks to (`execute`), what HTTP reads (`stats`), and where
local effects become ops: `emit` applies one effect at once and adds it to the open
group; the group closes after each command (or at EXEC) into one Op, handed to every
op listener (op log, replication outbox) in order.
"""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import errors, keyspace_batch, runs
from .client import Client
from .clock import HLC, HLC_WRITE_LIMIT, LOGICAL_BITS, hlc_ms, wall_hlc
from .cmdstats import timed_call
from .cmdtable import Command, CommandTable
from .crdt import codes
from .keyspace import CREATE, Keyspace, typed_codes
from .op import Effect, Op
from .reply import QUEUED, CommandError, Deferred, ErrorReply, Reply

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("crdtredis.node")

OpListener = Callable[[Op], None]


def new_incarnation() -> str:
    return secrets.token_hex(4)


class Node:
    """One replica. It is handed its command table (`table`, from
    crdtredis.commands.command_table()) instead of importing the command modules;
    crdtredis.commands.new_node(config) builds the two together."""

    def __init__(self, config: Config, table: CommandTable, incarnation: str | None = None) -> None:
        self.config = config
        self.replica_id = config.replica_id
        self.incarnation = incarnation or new_incarnation()
        # The origin name every op of this incarnation carries; also the LWW tie-break.
        self.origin = f"{config.replica_id}.{self.incarnation}"
        self.keyspace = Keyspace(self.origin, config.databases)
        # Without a data dir there is nothing to replay: a node without peers is alone.
        # With one, the durable cluster state decides (Persistence.start): never the config.
        self.set_solo(not config.peers)
        self.hlc = HLC()
        # Wall-clock milliseconds (tests replace it with a fake clock).
        self.clock: Callable[[], int] = _wall_ms
        self._table = table
        self.commands = table.commands
        # Effect codes that write a type's content, other than SET (see `emit`).
        self._typed = typed_codes() - {_SET}
        # `execute`'s fast path: commands without subcommands, by the two spellings clients
        # use (lower and upper case), so most requests need no lower() and no subcommand check.
        self._plain_all: dict[bytes, Command] = {}
        for name, cmd in self.commands.items():
            if not cmd.subcommands:
                self._plain_all[name] = self._plain_all[name.upper()] = cmd
        self._plain = self._plain_all
        for name in MERGEABLE:
            self.commands[name].merge = True
        # The client whose last writes' op is still open for its next ones (`execute`).
        self._merging: Client | None = None
        # Off for good once a client turns tracking on: its invalidations follow each op.
        self.merge_writes = True
        # Reasons every request must take the checked path (see `set_checked`).
        self._checked: set[str] = set()
        # Run by `_execute_checked` before a command (maxmemory: evictions, OOM, access
        # times; commands/maxmemory.py); returns an error that refuses the command.
        self.before_command: Callable[[Client, Command, list[bytes]], str | None] | None = None
        self.started_at = time.time()
        self.loading = False
        self.proto_max_bulk_len = config.proto_max_bulk_len
        self.requirepass: str | None = config.requirepass
        # Runtime-settable CONFIG parameters (CONFIG SET); seeded from config + Redis defaults.
        self.runtime: dict[str, str] = table.default_runtime(config)
        # Clients.
        self.clients: dict[int, Client] = {}
        self._next_client_id = 0
        self.connections_received = 0
        self.rejected_connections = 0
        # Error counts by prefix (INFO errorstats).
        self.error_counts: dict[str, int] = {}
        # Op stream.
        # Local ops, once closed (op log, replication outbox).
        self.op_listeners: list[OpListener] = []
        # Ops from peers, once applied (op log; replication relays them to other peers).
        self.remote_op_listeners: list[OpListener] = []
        # Ops replayed from our own log at start-up (the replication backlog).
        self.replay_listeners: list[OpListener] = []
        # The Replication component, when running (WAIT, CRDT.*, INFO replication).
        self.replication: Any = None
        # Set by the op log while it cannot write: write commands are refused (Redis MISCONF).
        self.persistence_error: str | None = None
        # Set while this replica has not synced with its cluster (a new or wiped replica):
        # write commands are refused with this error (docs/semantics.md, "Joining").
        self.sync_error: str | None = None
        # The op of the running command (or EXEC): effects join it as they are emitted.
        self._group: Op | None = None
        # Wall-clock part of HLC timestamps for the current event-loop turn; 0: not read yet.
        self._wall = 0
        self._wall_loop: asyncio.AbstractEventLoop | None = None  # see _read_wall
        # Hooks the server installs: flush/fsync barrier per read batch, shutdown request.
        self.batch_hooks: list[Callable[[], Any]] = []
        # Blocked clients woken by writes and not yet served, in wake order (blocking.py).
        self.wakeups: list[Any] = []
        # Run by the server's cron, hz times a second (memory sampling, eviction).
        self.cron_hooks: list[Callable[[], None]] = []
        self.shutdown_cb: Callable[[bool], None] | None = None
        # CONFIG SET port: listen on a new port (the server installs it); returns an error.
        self.listen_cb: Callable[[int], str | None] | None = None
        self.expired_keys = 0
        self.last_save_time = int(self.started_at)
        # INFO: the run id; the config file path (set by whoever loaded one; CONFIG REWRITE);
        # keyspace hits/misses (bumped by key lookups); bytes read/written by connections;
        # commands refused before running, by full name (commandstats rejected_calls).
        self.run_id = secrets.token_hex(20)
        self.config_file = ""
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.rejected_calls: dict[str, int] = {}
        # The Persistence component when a data dir is in use (SAVE, INFO persistence).
        self.persistence: Any = None
        # Scripting (crdtredis/scripting/runner.py), created on first use.
        self.scripting: Any = None
        # Set while a script runs past busy-reply-threshold (scripting/busy.py): every
        # command without the allow_busy flag is refused with this BUSY error.
        self.busy_error: str | None = None
        # The RESP listening sockets (set by the server); a busy script keeps accepting.
        self.listen_sockets: list[Any] = []
        # Session features (pub/sub, MONITOR, tracking, CLIENT PAUSE); their state objects
        # are installed by `table.attach` (crdtredis/commands/session.py).
        # True while every command must take the hooked path (a MONITOR is connected, or
        # clients are paused); per client, `Client.special` does the same.
        self.hooked = False
        # The client whose command is running on the hooked path (Redis current_client):
        # its own invalidations wait until after its reply, NOLOOP skips it.
        self.current_client: Client | None = None
        # Called with (effect, key existed before) after each local effect is applied
        # (keyspace event "new"); None when nothing listens.
        self.emit_hook: Callable[[Effect, bool], None] | None = None
        # Called with (db index, key) when this replica deletes an expired key (keyspace
        # event "expired", tracking invalidation).
        self.expired_hook: Callable[[int, bytes], None] | None = None
        # CLIENT PAUSE WRITE|ALL in force: expired keys are hidden but not deleted.
        self.pause_writes = False
        self.pubsub: Any = None
        self.monitors: Any = None
        self.tracking: Any = None
        self.pause: Any = None
        self.notify: Any = None
        self.obuf_limits: dict[str, tuple[int, int, int]] = {}
        self.obuf_disconnections = 0
        # ACL users and checks (crdtredis/acl/manager.py), installed by `table.attach`.
        self.acl: Any = None
        # A command that ran at least `slow_ns` goes to `on_slow(client, cmd, argv, ns,
        # reply)`: SLOWLOG and the latency monitor (commands/slowlog.py), whose thresholds
        # set it; by default nothing is that slow.
        self.slow_ns = 1 << 62
        self.on_slow: Callable[[Client, Command, list[bytes], int, Reply], None] = _no_slow
        table.attach(self)

    # ---- clients -----------------------------------------------------------------------
    def new_client(self, addr: str, laddr: str, close_cb: Callable[[], None]) -> Client:
        self._next_client_id += 1
        self.connections_received += 1
        c = Client(self._next_client_id, addr, laddr, close_cb, authenticated=not self.requirepass)
        if self.acl is not None:
            self.acl.on_new_client(c)
        self.clients[c.id] = c
        return c

    def drop_client(self, client: Client) -> None:
        self.clients.pop(client.id, None)
        self._table.drop_client(self, client)

    # ---- dispatch ----------------------------------------------------------------------
    def execute(self, client: Client, argv: list[bytes]) -> Reply:
        """Run one request. The common case (a command without subcommands, spelled in
        lower or upper case, from an authenticated client outside MULTI) takes the straight
        path below, `call` inlined: at pipelining rates every call and attribute read
        shows (DESIGN §7). Everything else goes through `_execute_checked`. Inside a
        connection's read batch, a MERGEABLE write leaves its op open for the batch's next
        one; anything else closes it first (`end_merge`)."""
        cmd = self._plain.get(argv[0])
        if cmd is None or client.special or self.hooked or client.in_multi or client.in_exec \
                or not client.authenticated:
            if self._merging is not None:
                self.end_merge()
            return self._execute_checked(client, argv)
        if self._merging is not None and not (cmd.merge and self._merging is client):
            self.end_merge()
        n = len(argv)
        arity = cmd.arity
        if n != arity and (arity > 0 or n < -arity):
            return self._reject(client, errors.wrong_arity(cmd.name), cmd)
        if cmd.write and (self.persistence_error is not None or self.sync_error is not None):
            return self._reject(client, self._write_refusal(), cmd)
        client.last_cmd = argv[0]
        self.keyspace.emptied = None
        reply = timed_call(cmd.stats, cmd.handler, self, client, argv, cmd)
        op = self._group
        if op is not None:
            if cmd.merge and client.batching and self.merge_writes and len(op.effects) < MERGE_CAP:
                # The next writes of this read batch join this op (`end_merge` closes it).
                self._merging = client
            else:
                self._merging = None
                self.close_group()
                client.last_seq = op.seq + len(op.effects) - 1
        return reply

    def run_cmds(self, client: Client, cmds: list[list[bytes]], i: int, j: int) -> runs.Run:
        """A read batch's run of pipelined requests of one write command in one call (runs.py)."""
        return runs.run_cmds(self, client, cmds, i, j, MERGE_CAP)

    def _execute_checked(self, client: Client, argv: list[bytes]) -> Reply:
        """`execute` with every check, in Redis's order (processCommand)."""
        cmd = self.commands.get(argv[0].lower())
        if cmd is None:
            name = argv[0].lower()
            if name == b"post" or name == b"host:":
                return self._cross_protocol(client)
            return self._reject(client, errors.unknown_command(argv[0], argv[1:]))
        n = len(argv)
        arity = cmd.arity
        if (arity > 0 and n != arity) or n < -arity:
            return self._reject(client, errors.wrong_arity(cmd.name), cmd)
        if cmd.subcommands and n > 1:
            sub = cmd.subcommands.get(argv[1].lower())
            if sub is None:
                return self._reject(client, errors.unknown_subcommand(argv[1], cmd.name), cmd)
            cmd = sub
            arity = cmd.arity
            if (arity > 0 and n != arity) or n < -arity:
                return self._reject(client, errors.wrong_arity(cmd.fullname), cmd)
        if not client.authenticated and not cmd.noauth:
            return self._reject(client, errors.NOAUTH, cmd)
        if client.restricted:
            if client.in_multi and "no_multi" in cmd.flags:
                return self._reject(client, errors.NO_MULTI, cmd)
            err = self.acl.check(client, cmd, argv)
            if err is not None:
                return self._reject(client, err, cmd)
        if self.before_command is not None:
            err = self.before_command(client, cmd, argv)
            if err is not None:
                return self._reject(client, err, cmd)
        if cmd.write and (self.persistence_error is not None or self.sync_error is not None):
            return self._reject(client, self._write_refusal(), cmd)
        if self.busy_error is not None and "allow_busy" not in cmd.flags:
            return self._reject(client, self.busy_error, cmd)
        if client.special or self.hooked:
            return self._table.hooked_command(self, client, cmd, argv)
        return self.dispatch(client, cmd, argv)

    def _cross_protocol(self, client: Client) -> Reply:
        """An HTTP request sent to the RESP port (a web page's POST, cross-protocol
        scripting): like Redis's securityWarningCommand, drop the connection at once,
        replies not yet sent included, and say so at most once a minute."""
        now = time.monotonic()
        if not _ATTACK_LOGGED or now - _ATTACK_LOGGED[0] > 60:
            log.warning("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
                        "commands to Redis. This is likely due to an attacker attempting to use Cross Protocol "
                        "Scripting to compromise your Redis instance. Connection aborted.")
            _ATTACK_LOGGED[:] = [now]
        client.closing = True
        if client.conn is not None:
            client.conn.abort()
        return None

    def dispatch(self, client: Client, cmd: Command, argv: list[bytes]) -> Reply:
        """Queue the command (inside MULTI) or run it: the last step of every request."""
        if client.in_multi and cmd.name not in _MULTI_IMMEDIATE:
            if "no_multi" in cmd.flags:
                return self._reject(client, errors.NO_MULTI, cmd)
            client.multi_queue.append(argv)
            return QUEUED
        return self.call(cmd, client, argv)

    def call(self, cmd: Command, client: Client, argv: list[bytes]) -> Reply:
        """Run one command's handler, close its op, count it. Used by EXEC too."""
        # current_client: a special client's command runs (a script's commands run as
        # another client, and the caller's tracking and MONITOR still apply to them).
        hooked = self.hooked or client.special or self.current_client is not None
        if hooked:
            self._table.before_call(self, client, cmd, argv)
        client.last_cmd = argv[0]
        self.keyspace.emptied = None
        reply = timed_call(cmd.stats, cmd.handler, self, client, argv, cmd)
        # While a script is busy the open group is the script's: what other clients run
        # meanwhile (SCRIPT KILL, ...) must not close it (scripting/busy.py).
        if self._group is not None and not client.in_exec and self.busy_error is None:
            op = self.close_group()
            if op is not None:
                client.last_seq = op.seq + len(op.effects) - 1
        if hooked:
            self._table.after_call(self, client, cmd, argv, reply)
        return reply

    def reject(self, client: Client, msg: str, cmd: Command | None = None) -> ErrorReply:
        """Refuse a command before it runs (counted, aborts a MULTI), like Redis rejectCommand."""
        return self._reject(client, msg, cmd)

    def _reject(self, client: Client, msg: str, cmd: Command | None = None) -> ErrorReply:
        # Errors found before the command runs also abort a MULTI (Redis flagTransaction);
        # a rejected EXEC, in MULTI or not, answers EXECABORT (Redis rejectCommand ->
        # execCommandAbort, which also discards any transaction).
        if client.in_multi:
            client.multi_error = True
        if cmd is not None and cmd.name == "exec":
            self._table.discard_transaction(self, client)
            self._count_error(msg)
            body = msg[4:] if msg.startswith("ERR ") else msg
            return ErrorReply("EXECABORT Transaction discarded because of: " + body)
        if cmd is not None:
            name = cmd.fullname
            self.rejected_calls[name] = self.rejected_calls.get(name, 0) + 1
        self._count_error(msg)
        return ErrorReply(msg)

    def _write_refusal(self) -> str:
        if self.persistence_error is not None:
            return errors.MISCONF_AOF + self.persistence_error
        return self.sync_error or ""

    def count_error(self, msg: str) -> None:
        """Count an error reply made outside `call` (INFO errorstats)."""
        self._count_error(msg)

    def _count_error(self, msg: str) -> None:
        prefix = msg.split(" ", 1)[0]
        self.error_counts[prefix] = self.error_counts.get(prefix, 0) + 1

    def end_merge(self) -> None:
        """Close the op that a read batch's writes share (see MERGEABLE)."""
        client = self._merging
        self._merging = None
        op = self.close_group()
        if op is not None and client is not None:
            client.last_seq = op.seq + len(op.effects) - 1

    def batch_done(self) -> Any:
        """Called by connections once per read batch, before replies are written."""
        if self._merging is not None:
            self.end_merge()
        if self.busy_error is not None:
            return None  # served from inside a busy script: nothing was written meanwhile
        if self.wakeups:
            self.serve_wakeups()
        for hook in self.batch_hooks:
            r = hook()
            if r is not None:
                return r
        return None

    def serve_wakeups(self) -> None:
        """Serve the blocked clients this batch's writes woke, before its replies leave,
        as Redis serves them (handleClientsBlockedOnKeys) before it writes any reply: a
        client that sees its write acknowledged then also sees what the blocked clients did
        with it, chains included (a BLMOVE whose push wakes another waiter is served in the
        same loop; the pops join this batch's op-log write)."""
        wakeups = self.wakeups
        while wakeups:
            waiter = wakeups.pop(0)
            if waiter.scheduled:
                waiter.retry()

    def enter_busy(self, error: str) -> None:
        """A script runs past busy-reply-threshold: refuse what Redis refuses meanwhile.
        Every request takes the checked path (`execute` has no busy test of its own)."""
        self.busy_error = error
        self.set_checked("busy", True)

    def leave_busy(self) -> None:
        self.busy_error = None
        self.set_checked("busy", False)

    def set_checked(self, reason: str, on: bool) -> None:
        """Route every request through `_execute_checked` while any reason holds (a busy
        script; maxmemory, whose checks run before every command), by emptying the fast
        path's table: the common case pays nothing for these features when they are off."""
        if on:
            self._checked.add(reason)
        else:
            self._checked.discard(reason)
        self._plain = {} if self._checked else self._plain_all

    # ---- the write path ----------------------------------------------------------------
    def emit(self, eff: Effect) -> None:
        """Apply one local effect now and add it to the open op group.

        A write to a key that does not exist here (or has just expired) is marked CREATE:
        every replica first removes what this replica had observed of the key, as Redis
        deletes an expired key before a write recreates it (keyspace module docstring)."""
        code = eff[0]
        if code != _SET:
            if code in self._typed:
                db = self.keyspace.dbs[eff[1]]
                if eff[2] not in db.data or db.expires and eff[2] in db.expires:
                    eff = self._typed_write(eff)
        elif eff[4] == _TTL_KEEP:
            eff = self._keep_ttl(eff)
        self._emit(eff)

    def _expire_first(self, eff: Effect) -> bool:
        """Delete an expired key before a write to it; True when the key is (now) absent."""
        db = self.keyspace.dbs[eff[1]]
        key = eff[2]
        if db.expires:
            reg = db.expires.get(key)
            if reg is not None and reg.deadline is not None and reg.deadline <= self.now_ms() \
                    and key in db.data:
                self.expired_keys += 1
                self._emit((codes.DEL, eff[1], key))
                if self.expired_hook is not None:
                    self.expired_hook(eff[1], key)
        return key not in db.data

    def _typed_write(self, eff: Effect) -> Effect:
        if self._expire_first(eff):
            if self.keyspace.emptied == (eff[1], eff[2]):
                # The same command emptied the key and writes it again (LMOVE k k): it never
                # stopped existing for the client, so nothing is deleted first (its TTL stays).
                return eff
            return (eff[0] | CREATE, *eff[1:])
        return eff

    def _keep_ttl(self, eff: Effect) -> Effect:
        """SET ... KEEPTTL (also APPEND, SETRANGE): the key's TTL goes with the new value,
        written as that value's TTL (ExpiryReg: a TTL written by a SET belongs to its
        value). On a missing key there is nothing to keep. The choice depends only on the
        deadline this replica shows, never on what its GC has collected."""
        if self._expire_first(eff):
            return (_SET, eff[1], eff[2], eff[3], codes.TTL_CLEAR, None)
        reg = self.keyspace.dbs[eff[1]].expires.get(eff[2])
        if reg is not None and reg.deadline is not None:
            return (_SET, eff[1], eff[2], eff[3], codes.TTL_SET, reg.deadline)
        return eff

    def open_group(self) -> Op:
        """Open the op a write joins, with no effect yet: its first effect gets the op's
        seq and HLC. `_emit` opens it for the first write; a pipelined run opens it before
        computing its effects (runs.py), as an RPUSH's effect names the element an earlier
        one in the run adds, by its HLC."""
        ks = self.keyspace
        # HLC.now inlined (one call fewer per write): past every stamp issued or seen.
        clock = self.hlc
        hlc = clock.last + 1
        wall = self._wall or self._read_wall() or wall_hlc()  # HLC.now(0) reads the clock
        if wall > hlc:
            hlc = wall
        clock.last = hlc
        if hlc > HLC_WRITE_LIMIT:
            # The HLC followed a stamp near the end of its 64 bits (a peer's op stamped
            # in the far future, logged before such ops were refused): an op stamped past
            # it could not be encoded, so refuse the write rather than answer OK for it.
            raise CommandError(errors.CLOCK_EXHAUSTED)
        op = self._group = Op(self.origin, ks.vv.get(self.origin, 0) + 1, hlc, ks.deps, [])
        return op

    def _emit(self, eff: Effect) -> None:
        op = self._group
        ks = self.keyspace
        if op is None:
            op = self.open_group()
        n = len(op.effects)
        seq = op.seq + n
        hlc = op.hlc + n
        if hlc > self.hlc.last:
            self.hlc.last = hlc
        op.effects.append(eff)
        hook = self.emit_hook
        if hook is None:
            ks.apply_local(eff, seq, hlc)
        else:
            existed = eff[2] in ks.dbs[eff[1]].data
            ks.apply_local(eff, seq, hlc)
            hook(eff, existed)

    def _emit_all(self, effs: list[Effect]) -> None:
        """`_emit` of each of `effs` in turn (MSET's SETs, runs.py's runs): the op and the
        clock are touched once for the lot, and they are applied in one call
        (keyspace_batch.apply_local_all), each effect still taking `apply_local`'s steps
        with the seq and HLC `_emit` gives it. With an emit hook, one `_emit` each (the hook
        sees each key before its write). When no op is open, it is opened first, as
        `_emit` opens it for the first effect."""
        if self.emit_hook is not None:
            for eff in effs:
                self._emit(eff)
            return
        op = self._group
        if op is None:
            if not effs:
                return  # no write: no op
            op = self.open_group()
        n = len(op.effects)
        last = op.hlc + n + len(effs) - 1
        if last > self.hlc.last:
            self.hlc.last = last
        keyspace_batch.apply_local_all(self.keyspace, effs, op.effects, op.seq + n, op.hlc + n)

    def _read_wall(self) -> int:
        """The wall-clock part of new HLC timestamps, kept until the event loop's next
        turn: one clock read serves every op of the turn's read batches (DESIGN §7), and
        a timestamp lags real time by at most the turn it was made in. Without a running
        loop (tools, synchronous tests) nothing bounds a turn, so nothing is kept."""
        wall = self.clock() << LOGICAL_BITS
        loop = self._wall_loop
        # The loop this node last ran in, while it runs: asyncio.get_running_loop() costs a
        # getpid() system call in Python 3.11 (~0.2 us here), once a turn, that is once a
        # request for an unpipelined client. Commands run on the loop's thread only.
        if loop is None or not loop.is_running():
            try:
                loop = self._wall_loop = asyncio.get_running_loop()
            except RuntimeError:
                self._wall_loop = None
                return wall
        self._wall = wall
        loop.call_soon(self._forget_wall)
        return wall

    def _forget_wall(self) -> None:
        self._wall = 0

    def close_group(self) -> Op | None:
        op = self._group
        if op is None:
            return None
        self._group = None
        ks = self.keyspace
        ks.ops_applied += 1
        ks.ops_local += 1
        for listener in self.op_listeners:
            listener(op)
        return op

    def apply_remote(self, op: Op, listeners: bool = True) -> bool:
        """Apply an op from a peer (causal readiness checked by the caller), then hand it
        to the remote-op listeners (op log, relaying); `listeners=False` leaves that to a
        later `remote_applied` (a batch is logged once all of it applied: inbox.py).
        With keyspace notifications on, `notify` sees the touched keys before and after
        (events for replicated writes)."""
        self.hlc.observe(op.hlc + len(op.effects) - 1)
        watch = self.notify
        before = watch.before_remote(op) if watch is not None else None
        if not self.keyspace.apply(op):
            return False
        if before is not None:
            watch.after_remote(op, before)
        if listeners:
            self.remote_applied(op)
        return True

    def remote_applied(self, op: Op) -> None:
        for listener in self.remote_op_listeners:
            listener(op)

    def replay(self, op: Op) -> bool:
        """Apply an op read back from our own log at start-up (not logged again)."""
        self.hlc.observe(op.hlc + len(op.effects) - 1)
        if not self.keyspace.apply(op):
            return False
        for listener in self.replay_listeners:
            listener(op)
        return True

    # ---- introspection -----------------------------------------------------------------
    def now_ms(self) -> int:
        """The time expiry is judged by: the wall clock, or the HLC when it is ahead (a
        peer's clock is). A replica that has seen an op stamped past a deadline therefore
        treats the key as expired from then on (see Keyspace.drop_expired)."""
        return max(self.clock(), hlc_ms(self.hlc.last))

    def set_solo(self, solo: bool) -> None:
        """Alone in the cluster (durable state): ops are stable once applied, and an
        expired key can be dropped at once."""
        ks = self.keyspace
        ks.expiry_safe = _always if solo else _never
        if solo:
            ks.solo = True
        else:
            ks.leave_solo()
            ks.gc_visit_all()  # what was written alone was never noted for GC (gc_chunks)

    def used_memory_rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def stats(self) -> dict[str, Any]:
        ks = self.keyspace
        keys = {str(db.index): len(db.data) for db in ks.dbs if db.data}
        expires = {str(db.index): len(db.expires) for db in ks.dbs if db.expires}
        cmds: dict[str, dict[str, int]] = {}
        for c in _all_commands(self.commands):
            if c.calls:
                cmds[c.fullname] = {"calls": c.calls, "errors": c.errors, "usec": c.usec}
        return {
            "replica_id": self.replica_id,
            "origin": self.origin,
            "uptime_s": round(time.time() - self.started_at, 3),
            "keys": keys,
            "expires": expires,
            "ops_applied": ks.ops_applied,
            "ops_local": ks.ops_local,
            "ops_remote": ks.ops_remote,
            "type_conflicts": ks.type_conflicts,
            "version_vector": dict(ks.vv),
            "clients": len(self.clients),
            "connections_received": self.connections_received,
            "memory_rss_bytes": self.used_memory_rss(),
            "commands": cmds,
            "errors": dict(self.error_counts),
            "expired_keys": self.expired_keys,
            "loading": self.loading,
            "persistence": self.persistence.info() if self.persistence is not None else None,
            "replication": self.replication.info() if self.replication is not None else None,
        }


# When the cross-protocol warning was last logged (monotonic seconds; empty: never).
_ATTACK_LOGGED: list[float] = []


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _no_slow(client: Client, cmd: Command, argv: list[bytes], ns: int, reply: Reply) -> None:
    return None


def _always(reg: Any, top: int) -> bool:
    return True


def _never(reg: Any, top: int) -> bool:
    return False


_SET = codes.SET
_TTL_KEEP = codes.TTL_KEEP

# Writes whose op stays open for the next writes of the same read batch: a pipeline's
# consecutive writes travel as one op, atomic at every replica as a MULTI's are, at one
# op's cost (header, log framing, listeners) instead of one per command; ~1 µs per
# pipelined SET (bench/RESULTS.md). Only plain handlers that never close or inspect the
# open op themselves; any other command, the end of the read batch, MERGE_CAP effects or
# tracking on close it first (docs/semantics.md, "Pipelines").
MERGEABLE = (
    b"set", b"setnx", b"setex", b"psetex", b"getset", b"append", b"mset",
    b"incr", b"decr", b"incrby", b"decrby", b"incrbyfloat", b"del", b"unlink",
    b"expire", b"pexpire", b"lpush", b"rpush", b"lpop", b"rpop", b"sadd", b"srem",
    b"hset", b"hmset", b"hsetnx", b"hdel", b"hincrby", b"zadd", b"zincrby", b"zrem",
)
MERGE_CAP = 64


def _all_commands(commands: dict[bytes, Command]) -> list[Command]:
    out: list[Command] = []
    for c in commands.values():
        out.append(c)
        out.extend(c.subcommands.values())
    return out


# Commands that run at once even inside MULTI (Redis processCommand).
_MULTI_IMMEDIATE = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})

# Silence "imported but unused" for Deferred, re-exported for handlers' convenience.
__all__ = ["Node", "Deferred", "new_incarnation"]
