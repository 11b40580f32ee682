"""Receiving pushed ops at the speed they are written: decode them straight from their bytes,
apply the batch in one pass, and log them as received.

A pushed `OpBatch` is its head (vectors, gossip: Replication.state_batch) followed by the
ops exactly as the sender's op log wrote them (backlog.py: encoded once). The receiver
used to parse the whole message with protobuf and read every op back field by field
(`OpDecoder.from_message`, ~43% of a peer's CPU at 10,000 writes/s), then encode every op
again for its own log (~8%). Here:

* `parse_push` finds where the ops begin (`head_end`: a walk over the top-level fields),
  parses only the head with protobuf, and decodes the ops with the op-log decoder
  (wire/fastdec.py, compiled when built). Bytes outside the canonical layout, a head with
  an op in it, anything unexpected: None, and the caller parses the message as before, so
  what is accepted or refused does not change (the protobuf path is the reference; both
  decoders agree on canonical bytes: tests/test_wire_fastdec.py).
* The decoded ops are validated whole before anything applies (inbox.py, unchanged).
* `log_raw` says whether the received bytes can go to our op log unchanged
  (OpLog.append_encoded): only when every op of the batch was new (a duplicate is not
  applied, so the ops after it could elide deps against an op our record lacks) and the
  ops decoded from a fresh deps context, so the bytes decode on their own inside our
  record as they did here. They are the bytes we decoded and validated; replay decodes
  them with the same decoder.
"""
from __future__ import annotations

from typing import Any

from ..op import Op
from ..wire import ops_pb2 as pb
from ..wire.fastdec import new_decoder

# The tag byte of OpBatch field 2 (ops, length-delimited).
_OPS_TAG = 0x12


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """(value, next offset); raises IndexError past the end, ValueError when too long."""
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def head_end(data: bytes) -> int | None:
    """Offset of the first `ops` field of a serialized OpBatch (len(data) without ops):
    the head is everything before it. None when a field is malformed or of a kind a
    well-formed OpBatch does not have (protobuf's parser then judges the whole message)."""
    i = 0
    n = len(data)
    try:
        while i < n:
            start = i
            tag, i = _varint(data, i)
            wt = tag & 7
            if tag >> 3 == 2:
                return start if tag == _OPS_TAG else None
            if wt == 0:
                _, i = _varint(data, i)
            elif wt == 2:
                ln, i = _varint(data, i)
                i += ln
            elif wt == 1:
                i += 8
            elif wt == 5:
                i += 4
            else:
                return None
    except (IndexError, ValueError):
        return None
    return n if i == n else None


def parse_push(body: bytes) -> tuple[Any, list[Op], bytes | None] | None:
    """(head, ops, their bytes) of a pushed OpBatch whose ops are all in the canonical
    layout; None when protobuf must parse the message (malformed, or not canonical)."""
    k = head_end(body)
    if k is None:
        return None
    head = pb.OpBatch()
    try:
        head.ParseFromString(body[:k])
    except Exception:  # noqa: BLE001 - protobuf's DecodeError: judged by the full parse
        return None
    if k == len(body):
        return head, [], None
    ops = new_decoder().decode_ops(body, k)
    if ops is None:
        return None
    return head, ops, body[k:]
