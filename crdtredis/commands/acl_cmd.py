"""ACL and its subcommands (CAT DELUSER DRYRUN GENPASS GETUSER LIST LOAD LOG SAVE SETUSER
USERS WHOAMI HELP), as Redis 7.0's aclCommand; the users themselves live in crdtredis/acl/.

Replies and error texts follow Redis 7.0.15 (tests/test_acl.py compares with a real
server). ACL users are configuration of this node: nothing here is an op.
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from .. import errors
from ..acl.manager import DENIED_CMD, DENIED_KEY, OK, Acl
from ..acl.users import CATEGORIES, category_commands, has_spaces
from ..crdt.numbers import parse_int
from ..reply import OK as OK_REPLY
from ..reply import CommandError, ErrorReply, Map, Reply
from .config_cmd import Param, register_config_hook, register_config_param
from .connection import register_reset_hook
from .helpers import help_reply
from .registry import COMMANDS, command

if TYPE_CHECKING:
    from ..client import Client
    from ..node import Node

_ADMIN = "admin noscript loading stale"
NO_ACLFILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users "
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
    "configuration file set) in order to store users in the Redis configuration."
)


def attach(node: Node) -> None:
    """Give a new node its ACL state (before any client exists), loading `aclfile`."""
    node.acl = Acl(node)
    path = node.runtime.get("aclfile", "")
    if path:
        err = node.acl.load_file(path)
        if err is not None:
            raise AclFileError(f"Aborting because of ACL errors: {err}")


class AclFileError(Exception):
    """The configured aclfile cannot be loaded: the node refuses to start."""


def _acl(node: Node) -> Acl:
    a = node.acl
    assert a is not None
    return a  # type: ignore[no-any-return]


def _syntax(sub: bytes) -> ErrorReply:
    return ErrorReply(errors.subcommand_syntax(sub, "ACL"))


# ACL <subcommand> [<arg> ...]
@command("acl", -2, "", group="server", summary="A container for Access List Control commands",
         since="6.0.0", acl="slow")
def acl_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    raise CommandError(errors.unknown_subcommand(argv[1], "acl"))


# ACL CAT [category]
@command("cat", -2, "noscript loading stale", group="server", since="6.0.0", parent="acl",
         summary="List the ACL categories or the commands inside a category")
def acl_cat_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [c.encode() for c in CATEGORIES]
    if len(argv) != 3:
        return _syntax(argv[1])
    cat = argv[2].lower().decode("latin-1")
    if cat not in CATEGORIES:
        return ErrorReply(f"ERR Unknown category '{argv[2][:128].decode('utf-8', 'replace')}'")
    return [c.fullname.encode() for c in category_commands(cat)]


# ACL DELUSER username [username ...]
@command("deluser", -3, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="Remove the specified ACL users and the associated rules")
def acl_deluser_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    r = _acl(node).deluser(argv[2:])
    return ErrorReply(r) if isinstance(r, str) else r


# ACL DRYRUN username command [arg ...]
@command("dryrun", -4, _ADMIN, group="server", since="7.0.0", parent="acl",
         summary="Returns whether the user can execute the given command without executing the command.")
def acl_dryrun_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    acl = _acl(node)
    user = acl.users.get(argv[2])
    if user is None:
        return ErrorReply(f"ERR User '{argv[2].decode('utf-8', 'replace')}' not found")
    args = argv[3:]
    cmd = COMMANDS.get(args[0].lower())
    if cmd is not None and cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        return ErrorReply(f"ERR Command '{args[0].decode('utf-8', 'replace')}' not found")
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        return ErrorReply(errors.wrong_arity(cmd.fullname))
    r, idx = acl.check_user(user, cmd, args)
    if r == OK:
        return OK_REPLY
    if r == DENIED_CMD:
        return f"This user has no permissions to run the '{cmd.fullname}' command".encode()
    what = "key" if r == DENIED_KEY else "channel"
    return b"This user has no permissions to access the '" + args[idx] + f"' {what}".encode()


# ACL GENPASS [bits]
@command("genpass", -2, "noscript loading stale", group="server", since="6.0.0", parent="acl",
         summary="Generate a pseudorandom secure password to use for ACL users")
def acl_genpass_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        return _syntax(argv[1])
    bits = 256
    if len(argv) == 3:
        v = parse_int(argv[2])
        if v is None:
            return ErrorReply(errors.NOT_INTEGER)
        bits = v
    if bits <= 0 or bits > 4096:
        return ErrorReply("ERR ACL GENPASS argument must be the number of bits for the output password, "
                          "a positive number up to 4096")
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


# ACL GETUSER username
@command("getuser", 3, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="Get the rules for a specific ACL user")
def acl_getuser_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    from ..reply import SetReply

    u = _acl(node).users.get(argv[2])
    if u is None:
        return None
    root = u.root
    items: list[tuple[Any, Any]] = [
        (b"flags", SetReply(u.flag_names())),
        (b"passwords", [p.encode() for p in u.passwords]),
        (b"commands", root.describe_commands()),
        (b"keys", root.describe_keys()),
        (b"channels", root.describe_channels()),
        (b"selectors", [Map([(b"commands", s.describe_commands()), (b"keys", s.describe_keys()),
                             (b"channels", s.describe_channels())]) for s in u.selectors[1:]]),
    ]
    return Map(items)


# ACL LIST
@command("list", 2, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="List the current ACL rules in ACL config file format")
def acl_list_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    users = _acl(node).users
    return [b"user " + n + b" " + users[n].describe() for n in sorted(users)]


# ACL USERS
@command("users", 2, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="List the username of all the configured ACL rules")
def acl_users_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return sorted(_acl(node).users)


# ACL WHOAMI
@command("whoami", 2, "noscript loading stale", group="server", since="6.0.0", parent="acl",
         summary="Return the name of the user associated to the current connection")
def acl_whoami_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return client.user.name if client.user is not None else None


# ACL LOAD
@command("load", 2, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="Reload the ACLs from the configured ACL file")
def acl_load_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    acl = _acl(node)
    path = acl.aclfile()
    if not path:
        return ErrorReply(NO_ACLFILE)
    err = acl.load_file(path)
    return OK_REPLY if err is None else ErrorReply("ERR " + err)


# ACL SAVE
@command("save", 2, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="Save the current ACL rules in the configured ACL file")
def acl_save_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    acl = _acl(node)
    path = acl.aclfile()
    if not path:
        return ErrorReply(NO_ACLFILE)
    if acl.save_file(path):
        return OK_REPLY
    return ErrorReply("ERR There was an error trying to save the ACLs. Please check the server logs for "
                      "more information")


# ACL LOG [count | RESET]
@command("log", -2, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="List latest events denied because of ACLs in place")
def acl_log_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    acl = _acl(node)
    if len(argv) > 3:
        return _syntax(argv[1])
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.clear()
            return OK_REPLY
        v = parse_int(argv[2])
        if v is None:
            return ErrorReply(errors.NOT_INTEGER)
        count = max(v, 0)
    return acl.log_reply(count)


# ACL SETUSER username [rule ...]
@command("setuser", -3, _ADMIN, group="server", since="6.0.0", parent="acl",
         summary="Modify or create the rules for a specific ACL user")
def acl_setuser_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    name = argv[2]
    if has_spaces(name):
        return ErrorReply("ERR Usernames can't contain spaces or null characters")
    err = _acl(node).setuser(name, argv[3:])
    return OK_REPLY if err is None else ErrorReply(err)


_ACL_HELP = (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
)


# ACL HELP
@command("help", 2, "loading stale", group="server", since="6.0.0", parent="acl",
         summary="Show helpful text about the different subcommands")
def acl_help_cmd(node: Node, client: Client, argv: list[bytes]) -> Reply:
    return help_reply(_ACL_HELP)


# ---- configuration and session hooks -----------------------------------------------------
def _set_requirepass(node: Node, value: str) -> None:
    _acl(node).set_requirepass(value or None)


def _reset_client(node: Node, client: Client) -> None:
    # RESET: back to the default user, authenticated only if it needs no password.
    acl = _acl(node)
    client.authenticated = acl.default_authenticated()
    acl.set_user(client, acl.default)


register_config_param(Param("aclfile", "str", lambda c: getattr(c, "aclfile", ""), mode="immutable"))
register_config_hook("requirepass", _set_requirepass)


def _set_pubsub_default(node: Node, value: str) -> None:
    from ..acl import users

    users.PUBSUB_DEFAULT["allchannels"] = value == "allchannels"


register_config_param(Param("acl-pubsub-default", "enum", "resetchannels", choices=("allchannels", "resetchannels")))
register_config_hook("acl-pubsub-default", _set_pubsub_default)
register_reset_hook(_reset_client)
