"""Pub/sub: the per-node registry of subscriptions and local delivery (registry.py).
The commands live in crdtredis/commands/pubsub.py; messages cross replicas through
crdtredis/replication/pubsub_link.py (not ops: never logged, never replayed)."""
from __future__ import annotations

from .registry import PubSub, message_frame

__all__ = ["PubSub", "message_frame"]
