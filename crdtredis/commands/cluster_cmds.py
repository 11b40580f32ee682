"""Commands that exist in standalone Redis 7.0 only to refuse: CLUSTER (every subcommand),
READONLY, READWRITE and ASKING answer "cluster support disabled", and DEBUG answers that it
is not allowed (enable-debug-command is "no" and cannot be changed here), as a Redis
without cluster mode and with its default configuration does. crdt-redis replicas are not
a Redis Cluster (docs/semantics.md); these commands exist so that clients, ACL rules
(`-debug`, `+readonly`) and COMMAND see the table Redis has.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..reply import ErrorReply, Reply
from .registry import command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
DEBUG_NOT_ALLOWED = (
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it '
    "from a local connection, otherwise you need to set this option in the configuration file, and then "
    "restart the server."
)


def _disabled(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(CLUSTER_DISABLED)


command("cluster", -2, "", group="cluster", summary="A container for cluster commands", since="3.0.0",
        acl="slow")(_disabled)
# (name, arity, flags, since, summary) of every CLUSTER subcommand, from Redis's command table.
_SUBCOMMANDS = (
    ('addslots', -3, 'no_async_loading admin stale', '3.0.0', 'Assign new hash slots to receiving node'),
    ('addslotsrange', -4, 'no_async_loading admin stale', '7.0.0', 'Assign new hash slots to receiving node'),
    ('bumpepoch', 2, 'no_async_loading admin stale', '3.0.0', 'Advance the cluster config epoch'),
    ('count-failure-reports', 3, 'admin stale', '3.0.0', 'Return the number of failure reports active for a given node'),
    ('countkeysinslot', 3, 'stale', '3.0.0', 'Return the number of local keys in the specified hash slot'),
    ('delslots', -3, 'no_async_loading admin stale', '3.0.0', 'Set hash slots as unbound in receiving node'),
    ('delslotsrange', -4, 'no_async_loading admin stale', '7.0.0', 'Set hash slots as unbound in receiving node'),
    ('failover', -2, 'no_async_loading admin stale', '3.0.0', 'Forces a replica to perform a manual failover of its master.'),
    ('flushslots', 2, 'no_async_loading admin stale', '3.0.0', "Delete a node's own slots information"),
    ('forget', 3, 'no_async_loading admin stale', '3.0.0', 'Remove a node from the nodes table'),
    ('getkeysinslot', 4, 'stale', '3.0.0', 'Return local key names in the specified hash slot'),
    ('help', 2, 'loading stale', '5.0.0', 'Show helpful text about the different subcommands'),
    ('info', 2, 'stale', '3.0.0', 'Provides info about Redis Cluster node state'),
    ('keyslot', 3, 'stale', '3.0.0', 'Returns the hash slot of the specified key'),
    ('links', 2, 'stale', '7.0.0', 'Returns a list of all TCP links to and from peer nodes in cluster'),
    ('meet', -4, 'no_async_loading admin stale', '3.0.0', 'Force a node cluster to handshake with another node'),
    ('myid', 2, 'stale', '3.0.0', 'Return the node id'),
    ('nodes', 2, 'stale', '3.0.0', 'Get Cluster config for the node'),
    ('replicas', 3, 'admin stale', '5.0.0', 'List replica nodes of the specified master node'),
    ('replicate', 3, 'no_async_loading admin stale', '3.0.0', 'Reconfigure a node as a replica of the specified master node'),
    ('reset', -2, 'admin stale noscript', '3.0.0', 'Reset a Redis Cluster node'),
    ('saveconfig', 2, 'no_async_loading admin stale', '3.0.0', 'Forces the node to save cluster state on disk'),
    ('set-config-epoch', 3, 'no_async_loading admin stale', '3.0.0', 'Set the configuration epoch in a new node'),
    ('setslot', -4, 'no_async_loading admin stale', '3.0.0', 'Bind a hash slot to a specific node'),
    ('shards', 2, 'stale', '7.0.0', 'Get array of cluster slots to node mappings'),
    ('slaves', 3, 'admin stale', '3.0.0', 'List replica nodes of the specified master node'),
    ('slots', 2, 'stale', '3.0.0', 'Get array of Cluster slot to node mappings'),
)
for _name, _arity, _flags, _since, _summary in _SUBCOMMANDS:
    command(_name, _arity, _flags, group="cluster", summary=_summary, since=_since, parent="cluster")(_disabled)

# READONLY / READWRITE / ASKING
for _name, _summary in (
    ("readonly", "Enables read queries for a connection to a cluster replica node"),
    ("readwrite", "Disables read queries for a connection to a cluster replica node"),
):
    command(_name, 1, "fast loading stale", group="cluster", summary=_summary, since="3.0.0",
            acl="connection")(_disabled)
command("asking", 1, "fast", group="cluster", summary="Sent by cluster clients after an -ASK redirect",
        since="3.0.0", acl="connection")(_disabled)


# DEBUG subcommand [arg ...]
@command("debug", -2, "admin noscript loading stale protected", group="server",
         summary="A container for debugging commands", since="1.0.0")
def debug_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return ErrorReply(DEBUG_NOT_ALLOWED)
