"""Pure pieces of pub/sub: the subscription registry, the cross-replica wire format, the
relay and de-duplication rules of the link (with stand-in peers), MONITOR's quoting and
the notify-keyspace-events flags."""
from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from crdtredis import notify
from crdtredis.client import Client
from crdtredis.commands.monitor import quote
from crdtredis.pubsub import PubSub
from crdtredis.replication import pubsub_link
from crdtredis.replication.peer import Peer
from crdtredis.replication.pubsub_link import DecodeError, Msg, PubsubLink, decode_batch, encode_batch


class Rec:
    def __init__(self) -> None:
        self.data = bytearray()

    def push(self, data: bytes) -> None:
        self.data += data


def client(cid: int, resp: int = 2) -> tuple[Client, Rec]:
    c = Client(cid)
    c.resp = resp
    rec = Rec()
    c.conn = rec
    return c, rec


# ---- registry ------------------------------------------------------------------------------
def test_registry_delivery_counts_channels_then_patterns() -> None:
    ps = PubSub()
    a, ra = client(1)
    b, rb = client(2, resp=3)
    assert ps.subscribe(a, b"news") and not ps.subscribe(a, b"news")
    assert ps.psubscribe(a, b"n*") and ps.psubscribe(b, b"n?ws")
    assert ps.deliver(b"news", b"hi") == 3
    assert bytes(ra.data) == (b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
                              b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
    assert bytes(rb.data) == b">4\r\n$8\r\npmessage\r\n$4\r\nn?ws\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    assert ps.deliver(b"other", b"x") == 0
    assert ps.numsub(b"news") == 1 and len(ps.patterns) == 2


def test_registry_shard_channels_ignore_patterns_and_unsubscribe_cleans_up() -> None:
    ps = PubSub()
    a, ra = client(1)
    ps.ssubscribe(a, b"s")
    ps.psubscribe(a, b"*")
    assert ps.deliver(b"s", b"m", shard=True) == 1
    assert bytes(ra.data) == b"*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n"
    ps.drop_client(a)
    assert not ps.shard and not ps.patterns and not a.ssubs and not a.psubs


def test_publish_hands_the_message_to_the_link() -> None:
    ps = PubSub()
    sent: list[tuple[bytes, bytes, bool]] = []
    ps.link = lambda ch, msg, shard: sent.append((ch, msg, shard))
    assert ps.publish(b"c", b"m", True) == 0
    assert sent == [(b"c", b"m", True)] and ps.published == 1


# ---- the link's wire format ----------------------------------------------------------------
def test_batch_roundtrip() -> None:
    msgs = [Msg("r1.ab/12", 7, False, b"ch", b"\x00\xffbin", frozenset({"r1", "r2"})),
            Msg("r2.cd/34", 1, True, b"", b"", frozenset())]
    sender, back = decode_batch(encode_batch("r1", msgs))
    assert sender == "r1"
    assert [(m.stream, m.counter, m.shard, m.channel, m.message, m.visited) for m in back] == \
        [(m.stream, m.counter, m.shard, m.channel, m.message, m.visited) for m in msgs]


@pytest.mark.parametrize("body", [b"", b"XXXX", b"PSB1\x05ab", b"PSB1\x01a\x01\x01s\x01",
                                  b"PSB1\x01a\x00trailing", b"PSB1\x01a\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"])
def test_bad_batches_are_rejected(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_batch(body)


# ---- relay and de-duplication --------------------------------------------------------------
class FakePeer:
    unreachable = Peer.unreachable  # what the link asks of a peer's state, as peer.py answers it

    def __init__(self, url: str, replica_id: str, state: str = "up") -> None:
        self.url = url
        self.replica_id = replica_id
        self.state = state
        self.forgotten = False


def fake_link(me: str, peers: list[FakePeer]) -> tuple[PubsubLink, PubSub, list[tuple[str, Msg]]]:
    pubsub = PubSub()
    node = types.SimpleNamespace(replica_id=me, origin=f"{me}.inc", pubsub=pubsub)
    repl: Any = types.SimpleNamespace(node=node, config=types.SimpleNamespace(peers=["x"], retry_interval=0.1),
                                      peers={p.url: p for p in peers}, session=object())
    link = PubsubLink(repl)
    link.start()
    queued: list[tuple[str, Msg]] = []

    class Sender:
        def __init__(self, peer: FakePeer) -> None:
            self.peer = peer

        def offer(self, msg: Msg) -> None:
            queued.append((self.peer.replica_id, msg))

    for p in peers:
        link.senders[p.url] = Sender(p)  # type: ignore[assignment]
    return link, pubsub, queued


def test_publish_goes_to_every_peer_marked_visited() -> None:
    link, pubsub, queued = fake_link("a", [FakePeer("u-b", "b"), FakePeer("u-c", "c")])
    assert pubsub.publish(b"ch", b"m") == 0
    assert sorted(r for r, _m in queued) == ["b", "c"]
    assert queued[0][1].visited == frozenset({"a", "b", "c"})
    assert queued[0][1].counter == 1 and link.published == 1


def test_down_peers_get_nothing_and_are_not_marked_visited() -> None:
    link, pubsub, queued = fake_link("a", [FakePeer("u-b", "b"), FakePeer("u-c", "c", state="down")])
    pubsub.publish(b"ch", b"m")
    assert [r for r, _m in queued] == ["b"]
    assert queued[0][1].visited == frozenset({"a", "b"})  # b may relay to c
    assert link.dropped == 1


@pytest.mark.parametrize("state", ["joining", "snapshot"])
def test_peers_that_answer_but_have_not_synced_get_messages(state: str) -> None:
    # A joining peer refuses ops, not pub/sub: dropping its messages lost some for good
    # (the relayed copies were overtaken by direct ones once it had synced).
    link, pubsub, queued = fake_link("a", [FakePeer("u-b", "b", state=state), FakePeer("u-c", "c", state="connecting")])
    pubsub.publish(b"ch", b"m")
    assert [r for r, _m in queued] == ["b"]
    assert queued[0][1].visited == frozenset({"a", "b"})
    assert link.dropped == 1  # c has never answered


def test_receiver_delivers_once_in_order_and_relays_to_unvisited_peers() -> None:
    link, pubsub, queued = fake_link("b", [FakePeer("u-a", "a"), FakePeer("u-c", "c")])
    sub, rec = client(1)
    pubsub.subscribe(sub, b"ch")
    m1 = Msg("a.inc/1", 1, False, b"ch", b"one", frozenset({"a", "b"}))
    m2 = Msg("a.inc/1", 2, False, b"ch", b"two", frozenset({"a", "b"}))
    link.receive([m1, m2, m1])  # a duplicate copy (another path) is dropped
    assert rec.data.count(b"message") == 2 and rec.data.index(b"one") < rec.data.index(b"two")
    assert link.duplicates == 1
    # Relayed to c only (a sent it; b itself received it), marked so c forwards nowhere.
    assert [r for r, _m in queued] == ["c", "c"]
    assert queued[0][1].visited == frozenset({"a", "b", "c"})
    # An older message overtaken on another path is dropped: per-publisher order holds.
    link.receive([Msg("a.inc/1", 1, False, b"ch", b"late", frozenset({"a"}))])
    assert b"late" not in rec.data


def test_full_mesh_relays_nothing() -> None:
    link, _pubsub, queued = fake_link("b", [FakePeer("u-a", "a"), FakePeer("u-c", "c")])
    link.receive([Msg("a.inc/9", 1, False, b"x", b"y", frozenset({"a", "b", "c"}))])
    assert queued == [] and link.relayed == 0


def test_stream_window_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pubsub_link, "STREAMS_MAX", 3)
    link, _pubsub, _queued = fake_link("b", [])
    for i in range(5):
        link.receive([Msg(f"s{i}", 1, False, b"x", b"y", frozenset())])
    assert list(link.last) == ["s2", "s3", "s4"]


async def test_sender_queue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pubsub_link, "QUEUE_MAX", 2)
    link, _pubsub, _queued = fake_link("a", [])
    s = pubsub_link._Sender(link, FakePeer("u-b", "b"))  # type: ignore[arg-type]
    for i in range(5):
        s.offer(Msg("x", i + 1, False, b"c", b"m", frozenset()))
    assert len(s.queue) == 2 and s.dropped == 3 and link.dropped == 3
    await asyncio.sleep(0)


# ---- MONITOR quoting, event flags ----------------------------------------------------------
def test_monitor_quote_is_sdscatrepr() -> None:
    assert quote(b"set") == b'"set"'
    assert quote(b'a"b\\c') == b'"a\\"b\\\\c"'
    assert quote(b"\r\n\t\x07\x08\x00\xff") == b'"\\r\\n\\t\\a\\b\\x00\\xff"'


def test_notify_flags() -> None:
    assert notify.parse_flags("KEA") == notify.KEYSPACE | notify.KEYEVENT | notify.ALL
    assert notify.parse_flags("Kn") & notify.NEW and not notify.parse_flags("A") & notify.NEW
    assert notify.parse_flags("Em") == notify.KEYEVENT | notify.KEY_MISS
