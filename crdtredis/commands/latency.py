"""LATENCY (LATEST HISTORY RESET GRAPH DOCTOR HISTOGRAM HELP), the latency monitor's event
time series, and INFO latencystats, as Redis 7.0's latency.c and sparkline.c.

Events: `add_sample(node, event, ms)` keeps, per event, the worst latency of each second
in a ring of the last 160 seconds with an event, and the all-time maximum. "command" and
"fast-command" come from commands/slowlog.py, "expire-cycle" from the server's cron.

Histograms: every command's `Command.hist` counts its calls by duration in octave
buckets of nanoseconds (recorded by cmdstats.timed_call). LATENCY HISTOGRAM shows them the way Redis
shows its HDR histograms (cumulative counts at 1, 2, 4, 8, 16, 33 µs...), and INFO
latencystats the percentiles of latency-tracking-info-percentiles, each the upper bound of
the bucket it falls in (within a factor of 2; Redis's HDR histograms are within 1%: finer
buckets cost a GET 20% more). With latency-tracking off, no command records its durations
(CmdStats.track) and the histograms are empty.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import errors, info
from ..reply import ErrorReply, Map, Reply, Verbatim
from .config_cmd import register_config_hook
from .helpers import help_reply
from .registry import COMMANDS, command

if TYPE_CHECKING:
    from ..client import Client
    from ..cmdtable import Command
    from ..node import Node

TS_LEN = 160
GRAPH_COLS = 80


class TimeSeries:
    __slots__ = ("idx", "max", "samples")

    def __init__(self) -> None:
        self.idx = 0
        self.max = 0
        self.samples: list[tuple[int, int]] = [(0, 0)] * TS_LEN  # (unix time, ms)


def _events(node: Node) -> dict[str, TimeSeries]:
    ev: Any = getattr(node, "_latency_events", None)
    if ev is None:
        ev = {}
        node._latency_events = ev  # type: ignore[attr-defined]
    return ev  # type: ignore[no-any-return]


def add_sample(node: Node, event: str, ms: int) -> None:
    """latencyAddSample: one sample per second per event (the worst one)."""
    events = _events(node)
    ts = events.get(event)
    if ts is None:
        ts = events[event] = TimeSeries()
    now = int(time.time())
    if ms > ts.max:
        ts.max = ms
    prev = (ts.idx + TS_LEN - 1) % TS_LEN
    if ts.samples[prev][0] == now:
        if ms > ts.samples[prev][1]:
            ts.samples[prev] = (now, ms)
        return
    ts.samples[ts.idx] = (now, ms)
    ts.idx = (ts.idx + 1) % TS_LEN


def add_sample_if_needed(node: Node, event: str, ms: int) -> None:
    """latencyAddSampleIfNeeded: only at or above latency-monitor-threshold."""
    threshold = _int(node.runtime.get("latency-monitor-threshold", "0"))
    if threshold and ms >= threshold:
        add_sample(node, event, ms)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _ordered(ts: TimeSeries) -> list[tuple[int, int]]:
    return [s for s in (ts.samples[(ts.idx + j) % TS_LEN] for j in range(TS_LEN)) if s[0]]


# ---- histograms ------------------------------------------------------------------------------
def _bucket_top_ns(i: int) -> int:
    """The largest duration (ns) that bucket i of Command.hist holds (i bits)."""
    return (1 << i) - 1


def cdf(cmd: Command) -> tuple[int, list[tuple[int, int]]]:
    """(calls, [(µs, cumulative calls)]) as Redis's fillCommandCDF reports it: octaves of
    1024 ns, each key the highest value HDR would show for its bound, divided by 1000."""
    hist = cmd.hist
    total = sum(hist)
    out: list[tuple[int, int]] = []
    cum = prev = 0
    idx = 0
    for k in range(10, 64):
        limit = k + 1  # buckets of values below 2^k
        while idx < limit and idx < len(hist):
            cum += hist[idx]
            idx += 1
        if cum > prev:
            out.append((((1 << k) + (1 << (k - 7)) - 1) // 1000, cum))
            prev = cum
        if cum == total:
            break
    return total, out


def percentile_us(cmd: Command, pct: float) -> float:
    hist = cmd.hist
    total = sum(hist)
    if not total:
        return 0.0
    want = max(1, int(pct / 100 * total + 0.5))
    cum = 0
    for i, n in enumerate(hist):
        cum += n
        if cum >= want:
            return _bucket_top_ns(i) / 1000
    return _bucket_top_ns(len(hist) - 1) / 1000


def _tracking(node: Node) -> bool:
    return node.runtime.get("latency-tracking", "yes") == "yes"


def reset_histograms(node: Node) -> None:
    """CONFIG RESETSTAT: histograms start over (Redis frees them)."""
    track = _tracking(node)
    for c in info.all_commands():
        c.stats.clear_histogram()
        c.stats.track = track


def _set_tracking(node: Node, value: str) -> None:
    for c in info.all_commands():
        if value != "yes":
            c.stats.clear_histogram()
        c.stats.track = value == "yes"


register_config_hook("latency-tracking", _set_tracking)
info.register_reset_hook(reset_histograms)


def _fmt_pct(p: float) -> str:
    text = f"{p:f}".rstrip("0").rstrip(".")  # trimDoubleString
    return text or "0"


def latencystats_section(node: Node) -> list[tuple[str, Any]]:
    if not _tracking(node):
        return []
    pcts = [float(x) for x in node.runtime.get("latency-tracking-info-percentiles", "50 99 99.9").split()]
    out: list[tuple[str, Any]] = []
    for c in info.all_commands():
        if not c.stats.track or not any(c.hist):
            continue
        vals = ",".join(f"p{_fmt_pct(p)}={percentile_us(c, p):.3f}" for p in pcts)
        out.append((f"latency_percentiles_usec_{c.fullname}", vals))
    return out


info.register_info_section("latencystats", "Latencystats", latencystats_section, after="errorstats",
                           default=False)


# ---- DOCTOR and GRAPH -------------------------------------------------------------------------
_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "
    "\"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a "
    "deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
)
_NO_SPIKES = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest "
    "bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
)
_ADVICE = {
    "slowlog_enabled": "- There are latency issues with potentially slow commands you are using. Try to enable "
    "the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {t}'. If the Slow log "
    "is disabled Redis is not able to log slow commands execution for you.\n",
    "slowlog_tuning": "- Your current Slow Log configuration only logs events that are slower than your "
    "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {t}'.\n",
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are running which are "
    "too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n",
    "scheduler": "- The system is slow to execute Redis code paths not containing system calls. This usually "
    "means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
    "  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using "
    "Jemalloc. However this may create fragmentation problems.\n",
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' "
    "configuration parameter to 100 using 'CONFIG SET hz 100'.\n",
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a "
    "blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to "
    "fragment those objects into multiple smaller objects.\n",
    "mass_eviction": "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large "
    "objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys "
    "migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to "
    "evict keys. \n",
}


def doctor_report(node: Node) -> str:
    """createLatencyReport, for the events crdt-redis records (command, fast-command,
    expire-cycle, eviction-del, eviction-cycle)."""
    events = _events(node)
    threshold = _int(node.runtime.get("latency-monitor-threshold", "0"))
    if not events and threshold == 0:
        return _DISABLED
    slow_us = _int(node.runtime.get("slowlog-log-slower-than", "10000"))
    advice: set[str] = set()
    report = ""
    for n, (event, ts) in enumerate(events.items(), 1):
        if n == 1:
            report += ("Dave, I have observed latency spikes in this Redis instance. You don't mind talking "
                       "about it, do you Dave?\n\n")
        samples = [s[1] for s in ts.samples if s[0]]
        count = len(samples)
        avg = sum(samples) // count if count else 0
        mad = sum(abs(avg - x) for x in samples) // count if count else 0
        oldest = min((s[0] for s in ts.samples if s[0]), default=0)
        period = max(int(time.time()) - oldest, 1) if count else 0
        report += (f"{n}. {event}: {count} latency spikes (average {avg}ms, mean deviation {mad}ms, period "
                   f"{period / count if count else 0:.2f} sec). Worst all time event {ts.max}ms.")
        if event == "command":
            if slow_us < 0:
                advice.add("slowlog_enabled")
            elif slow_us // 1000 > threshold:
                advice.add("slowlog_tuning")
            advice.update(("slowlog_inspect", "large_objects"))
        elif event == "fast-command":
            advice.add("scheduler")
        elif event == "expire-cycle":
            advice.update(("hz", "large_objects"))
        elif event == "eviction-del":
            advice.add("large_objects")
        elif event == "eviction-cycle":
            advice.add("mass_eviction")
        report += "\n"
    hz = _int(node.runtime.get("hz", "10"))
    if "hz" in advice and hz >= 100:
        advice.discard("hz")
    if not events and not advice:
        return _NO_SPIKES
    if not advice:
        return report + ("\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
                         "Please use the Redis community to get some help, providing this report in your "
                         "help request.\n")
    report += "\nI have a few advices for you:\n\n"
    for key in ("slowlog_enabled", "slowlog_tuning", "slowlog_inspect", "scheduler", "hz", "large_objects",
                "mass_eviction"):
        if key in advice:
            report += _ADVICE[key].format(t=threshold * 1000)
    return report


def _sparkline(samples: list[tuple[float, str]], columns: int = GRAPH_COLS, rows: int = 4) -> str:
    """sparklineRender with SPARKLINE_FILL: `rows` rows of "_o#|", then the labels
    vertically, for each run of `columns` samples."""
    if not samples:
        return ""
    lo = min(v for v, _l in samples)
    hi = max(v for v, _l in samples)
    out = ""
    for start in range(0, len(samples), columns):
        part = samples[start:start + columns]
        if start:
            out += "\n"
        out += _render_range(part, lo, hi, rows)
    return out


def _render_range(part: list[tuple[float, str]], lo: float, hi: float, rows: int) -> str:
    charset = "_o#"
    relmax = (hi - lo) or 1
    steps = len(charset) * rows
    labels = any(label for _v, label in part)
    out = ""
    row = 0
    while True:
        chars = [" "] * len(part)
        loop = False
        for j, (v, label) in enumerate(part):
            step = int((v - lo) * steps / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                idx = step - (rows - row - 1) * len(charset)
                loop = True
                if 0 <= idx < len(charset):
                    chars[j] = charset[idx]
                elif idx >= len(charset):
                    chars[j] = "|"
            else:
                if labels and row - rows < 1:
                    loop = True
                    break
                li = row - rows - 1
                if label and len(label) > li:
                    loop = True
                    chars[j] = label[li]
        if not loop:
            return out
        row += 1
        out += "".join(chars) + "\n"


def graph(event: str, ts: TimeSeries) -> str:
    now = int(time.time())
    samples: list[tuple[float, str]] = []
    for t, ms in _ordered(ts):
        el = now - t
        label = (f"{el}s" if el < 60 else f"{el // 60}m" if el < 3600 else f"{el // 3600}h" if el < 86400
                 else f"{el // 86400}d")
        samples.append((float(ms), label))
    vals = [v for v, _l in samples]
    text = (f"{event} - high {int(max(vals, default=0))} ms, low {int(min(vals, default=0))} ms "
            f"(all time high {ts.max} ms)\n")
    return text + "-" * GRAPH_COLS + "\n" + _sparkline(samples)


# ---- the command -----------------------------------------------------------------------------
_ADMIN = "admin noscript loading stale"


# LATENCY <subcommand> [<arg> ...]
@command("latency", -2, "", group="server", summary="A container for latency diagnostics commands",
         since="2.8.13", acl="slow")
def latency_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(errors.unknown_subcommand(argv[1], "latency"))


# LATENCY DOCTOR
@command("doctor", 2, _ADMIN, group="server", since="2.8.13", parent="latency",
         summary="Return a human readable latency analysis report.")
def latency_doctor_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return Verbatim(doctor_report(node).encode())


# LATENCY GRAPH event
@command("graph", 3, _ADMIN, group="server", since="2.8.13", parent="latency",
         summary="Return a latency graph for the event.")
def latency_graph_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    name = argv[2].decode("utf-8", "surrogateescape")
    ts = _events(node).get(name)
    if ts is None:
        return ErrorReply(f"ERR No samples available for event '{name}'")
    return Verbatim(graph(name, ts).encode("utf-8", "surrogateescape"))


# LATENCY HISTORY event
@command("history", 3, _ADMIN, group="server", since="2.8.13", parent="latency",
         summary="Return timestamp-latency samples for the event.")
def latency_history_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    ts = _events(node).get(argv[2].decode("utf-8", "surrogateescape"))
    if ts is None:
        return []
    return [[t, ms] for t, ms in _ordered(ts)]


# LATENCY LATEST
@command("latest", 2, _ADMIN, group="server", since="2.8.13", parent="latency",
         summary="Return the latest latency samples for all events.")
def latency_latest_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    out: list[Any] = []
    for event, ts in _events(node).items():
        t, ms = ts.samples[(ts.idx + TS_LEN - 1) % TS_LEN]
        out.append([event.encode(), t, ms, ts.max])
    return out


# LATENCY RESET [event ...]
@command("reset", -2, _ADMIN, group="server", since="2.8.13", parent="latency",
         summary="Reset latency data for one or more events.")
def latency_reset_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    events = _events(node)
    if len(argv) == 2:
        n = len(events)
        events.clear()
        return n
    n = 0
    for a in argv[2:]:
        want = a.decode("utf-8", "surrogateescape").lower()
        for name in [e for e in events if e.lower() == want]:
            del events[name]
            n += 1
    return n


# LATENCY HISTOGRAM [command ...]
@command("histogram", -2, _ADMIN, group="server", since="7.0.0", parent="latency",
         summary="Return the cumulative distribution of latencies of a subset of commands or all.")
def latency_histogram_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        cmds = [c for c in info.all_commands()]
    else:
        cmds = []
        for name in argv[2:]:
            parts = name.lower().split(b"|")
            c = COMMANDS.get(parts[0])
            if c is None or len(parts) > 2:
                continue
            if len(parts) == 2:
                c = c.subcommands.get(parts[1])
                if c is None:
                    continue
                cmds.append(c)
            else:
                cmds.append(c)
                cmds.extend(c.subcommands.values())
    items: list[tuple[Any, Any]] = []
    for c in cmds:
        if not c.stats.track:
            continue
        calls, points = cdf(c)
        if calls:
            items.append((c.fullname.encode(), Map([
                (b"calls", calls), (b"histogram_usec", Map([(us, n) for us, n in points])),
            ])))
    return Map(items)


_HELP = (
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified "
    "command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
)


# LATENCY HELP
@command("help", 2, "loading stale", group="server", since="2.8.13", parent="latency",
         summary="Show helpful text about the different subcommands.")
def latency_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_HELP)


__all__ = ["add_sample", "add_sample_if_needed"]
