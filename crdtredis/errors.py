"""Redis error texts, verbatim, in one place (copied from Redis 7.0 src/server.c, t_*.c).

Tests compare against a real redis-server, so a changed byte here shows up as a diff.
"""
from __future__ import annotations

SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INCR_NAN_INF = "ERR increment would produce NaN or Infinity"
NO_SUCH_KEY = "ERR no such key"
DB_INDEX = "ERR DB index is out of range"
INVALID_DB_INDEX = "ERR invalid DB index"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_SET = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_NO_MULTI = "ERR EXEC without MULTI"
DISCARD_NO_MULTI = "ERR DISCARD without MULTI"
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
SAME_OBJECT = "ERR source and destination objects are the same"
SELECT_NOT_ALLOWED = "ERR SELECT is not allowed in cluster mode"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NOT_INT = "ERR timeout is not an integer or out of range"
COUNT_NEGATIVE = "ERR value is out of range, must be positive"
SWAPDB_UNSUPPORTED = (
    "ERR SWAPDB is not supported in active-active mode: swapping databases cannot be merged "
    "with concurrent writes at other replicas"
)
NOPROTO = "NOPROTO unsupported protocol version"
MISCONF_AOF = "MISCONF Errors writing to the AOF file: "
LOADING = "LOADING Redis is loading the dataset in memory"
# Not a Redis error: this replica's HLC reached the end of its range (node.py, _emit).
CLOCK_EXHAUSTED = ("ERR this replica's clock followed an op stamped at the end of its 64-bit range: "
                   "writes are refused (see docs/security.md, clock skew)")


def wrong_arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


def unknown_command(name: bytes, args: list[bytes]) -> str:
    # Redis quotes at most the first 128 bytes of the name and each arg, and lists args
    # while the text stays under 128 characters (server.c processCommand).
    shown = ""
    for a in args:
        if len(shown) >= 128:
            break
        shown += f"'{_sds_trunc(a, 128 - len(shown))}' "
    return f"ERR unknown command '{_sds_trunc(name, 128)}', with args beginning with: {shown}"


def unknown_subcommand(sub: bytes, cmd: str) -> str:
    return f"ERR unknown subcommand '{_sds_trunc(sub, 128)}'. Try {cmd.upper()} HELP."


def subcommand_syntax(sub: bytes, cmd: str) -> str:
    # addReplySubcommandSyntaxError: a known subcommand with the wrong number of arguments.
    return (
        f"ERR unknown subcommand or wrong number of arguments for '{_sds_trunc(sub, 128)}'. "
        f"Try {cmd.upper()} HELP."
    )


def invalid_expire(cmd: str) -> str:
    return f"ERR invalid expire time in '{cmd}' command"


def _sds_trunc(b: bytes, n: int) -> str:
    # surrogateescape: the reply encoder turns undecodable bytes back into the client's bytes.
    s = b[:n].decode("utf-8", "surrogateescape")
    # Redis escapes nothing here but replaces newlines so the reply stays one line.
    return s.replace("\r", " ").replace("\n", " ")


# ---- connection and server commands (commands/: connection, server, introspection, config_cmd, client_cmds)
NO_MULTI = "ERR Command not allowed inside a transaction"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
HELLO_PROTO_NOT_INT = "ERR Protocol version is not an integer or out of range"
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time"
)
CLIENT_NAME_INVALID = "ERR Client names cannot contain spaces, newlines or special characters."
INVALID_CLIENT_ID = "ERR Invalid client ID"
NO_SUCH_CLIENT = "ERR No such client"
CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
GETKEYS_INVALID_COMMAND = "ERR Invalid command specified"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_BAD_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_BAD_ARGS = "ERR Invalid arguments specified for command"
NO_CONFIG_FILE = "ERR The server is running without a config file"
NO_SHUTDOWN_IN_PROGRESS = "ERR No shutdown in progress."
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."


def _raw(b: bytes) -> str:
    # Redis prints these arguments with %s: no truncation, but a reply must stay one line.
    return b.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")


def hello_syntax(opt: bytes) -> str:
    return f"ERR Syntax error in HELLO option '{_raw(opt)}'"


def client_attr_invalid(attr: bytes) -> str:
    return f"ERR {_raw(attr)} cannot contain spaces, newlines or special characters."


def unrecognized_option(opt: bytes) -> str:
    return f"ERR Unrecognized option '{_raw(opt)}'"


def unknown_client_type(name: bytes) -> str:
    return f"ERR Unknown client type '{_raw(name)}'"


def no_such_user(name: bytes) -> str:
    return f"ERR No such user '{_raw(name)}'"


def config_set_unknown(name: bytes) -> str:
    return f"ERR Unknown option or number of arguments for CONFIG SET - '{_raw(name)}'"


def config_set_failed(name: bytes, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{_raw(name)}') - {reason}"


def config_rewrite_failed(reason: str) -> str:
    return f"ERR Rewriting config file: {reason}"


# hashes (t_hash.c)
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
VALUE_NAN_INF = "ERR value is NaN or Infinity"
VALUE_OUT_OF_RANGE = "ERR value is out of range"
INVALID_CURSOR = "ERR invalid cursor"


def value_out_of_range(lo: int, hi: int) -> str:
    # getRangeLongFromObjectOrReply's default message (sic: "must between").
    return f"ERR value is out of range, value must between {lo} and {hi}"


# sorted sets (t_zset.c)
ZSET_NAN = "ERR resulting score is not a number (NaN)"
ZSET_MIN_MAX_NOT_FLOAT = "ERR min or max is not a float"
ZSET_LEX_RANGE = "ERR min or max not valid string range item"
ZADD_XX_NX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIR = "ERR INCR option supports a single increment-element pair"
ZRANGE_LIMIT = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ZRANGE_BYLEX_WITHSCORES = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
ZSET_WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
ZSET_LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
ZSET_NUMKEYS = "ERR numkeys should be greater than 0"
ZSET_COUNT = "ERR count should be greater than 0"


def zset_no_input_keys(cmd: str) -> str:
    return f"ERR at least 1 input key is needed for '{cmd}' command"


# sets (t_set.c); SINTERCARD also uses ZSET_NUMKEYS and ZSET_LIMIT_NEGATIVE (same texts)
NUMKEYS_EXCEED_ARGS = "ERR Number of keys can't be greater than number of args"
# Redis streams a negative-count SRANDMEMBER (HRANDFIELD, ZRANDMEMBER) reply of any length
# (and runs out of memory on absurd counts); crdt-redis builds the reply in memory, so it
# caps the count and the reply's size (commands/helpers.py, repeated_reply_fits).
SRANDMEMBER_TOO_MANY = (
    "ERR value is out of range, a negative SRANDMEMBER count returns at most 16777216 members "
    "and proto-max-bulk-len bytes"
)
ZRANDMEMBER_TOO_MANY = (
    "ERR value is out of range, a negative ZRANDMEMBER count returns at most 16777216 members "
    "and proto-max-bulk-len bytes"
)


# streams (t_stream.c, blocked.c)
def _cstr(b: bytes) -> str:
    # A C "%s" of an sds: stops at the first NUL; the reply must stay one line.
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")


INVALID_STREAM_ID = "ERR Invalid stream ID specified as stream command argument"
XADD_ID_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
XADD_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
XADD_ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
XADD_TOO_LARGE = "ERR Elements are too large to be stored"
TRIM_BOTH = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
TRIM_MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
TRIM_LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
TRIM_LIMIT_NO_STRATEGY = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
XTRIM_NO_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
TRIM_LIMIT_NO_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
INVALID_START_ID = "ERR invalid start ID for the interval"
INVALID_END_ID = "ERR invalid end ID for the interval"
XREAD_UNBALANCED = (
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
)
XREAD_GROUP_OPTION = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
XREAD_NOACK_OPTION = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
XREADGROUP_NO_GROUP = "ERR Missing GROUP option for XREADGROUP"
XREADGROUP_DOLLAR = (
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
    "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would "
    "just return an empty result set."
)
XREAD_GT_ID = (
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option."
)
ENTRIESREAD_RANGE = "ERR value for ENTRIESREAD must be positive or -1"
XGROUP_NO_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically."
)
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
XSETID_ADDED_NEGATIVE = "ERR entries_added must be positive"
XSETID_BELOW_MAXDEL = "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
XSETID_BELOW_TOP = "ERR The ID specified in XSETID is smaller than the target stream top item"
XSETID_ADDED_BELOW_LEN = "ERR The entries_added specified in XSETID is smaller than the target stream length"
XCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XCLAIM"
XCLAIM_IDLE = "ERR Invalid IDLE option argument for XCLAIM"
XCLAIM_TIME = "ERR Invalid TIME option argument for XCLAIM"
XCLAIM_RETRYCOUNT = "ERR Invalid RETRYCOUNT option argument for XCLAIM"
XAUTOCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
XAUTOCLAIM_COUNT = "ERR COUNT must be > 0"
XBLOCK_KEY_GONE = "UNBLOCKED the stream key no longer exists"
XBLOCK_GROUP_GONE = "NOGROUP the consumer group this client was blocked on no longer exists"


def block_from_script(cmd: bytes) -> str:
    return f"ERR {_cstr(cmd)} command is not allowed with BLOCK option from scripts"


def nogroup_xreadgroup(key: bytes, group: bytes) -> str:
    return (f"NOGROUP No such key '{_cstr(key)}' or consumer group '{_cstr(group)}' in XREADGROUP "
            "with GROUP option")


def nogroup_for_key(group: bytes, key: bytes) -> str:
    return f"NOGROUP No such consumer group '{_cstr(group)}' for key name '{_cstr(key)}'"


def nogroup_key_or_group(key: bytes, group: bytes) -> str:
    return f"NOGROUP No such key '{_cstr(key)}' or consumer group '{_cstr(group)}'"


def xclaim_option(opt: bytes) -> str:
    return f"ERR Unrecognized XCLAIM option '{_cstr(opt)}'"


# SORT (sort.c)
SORT_BAD_SCORES = "ERR One or more scores can't be converted into double"


# lists (t_list.c); LMPOP/BLMPOP also use ZSET_NUMKEYS and ZSET_COUNT (same texts)
INDEX_OUT_OF_RANGE = "ERR index out of range"
LPOS_RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
HRANDFIELD_TOO_MANY = (
    "ERR value is out of range, a negative HRANDFIELD count returns at most 16777216 fields "
    "and proto-max-bulk-len bytes"
)


# pub/sub, MONITOR, CLIENT PAUSE/UNBLOCK/TRACKING (pubsub.c, networking.c, server.c)
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"
SSUBSCRIBE_DENY_BLOCKING = "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"
TRACKING_ONE_REDIRECT = "ERR A client can only redirect to a single other client"
TRACKING_NO_REDIRECT_CLIENT = "ERR The client ID you want redirect to does not exist"
TRACKING_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
TRACKING_BCAST_SWITCH = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
    "and then re-enabling it with a different mode."
)
TRACKING_OPT_BCAST = "ERR OPTIN and OPTOUT are not compatible with BCAST"
TRACKING_OPTIN_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
TRACKING_OPT_SWITCH = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
    "and then re-enabling it with a different mode."
)
CACHING_NOT_TRACKING = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
    "or OPTOUT mode enabled"
)
CACHING_YES_OPTIN = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO_OPTOUT = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."


def pubsub_context(cmd_fullname: str) -> str:
    return (
        f"ERR Can't execute '{cmd_fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
        "QUIT / RESET are allowed in this context"
    )


def prefix_overlaps_existing(new: bytes, old: bytes) -> str:
    return (
        f"ERR Prefix '{_sds_trunc(new, len(new))}' overlaps with an existing prefix "
        f"'{_sds_trunc(old, len(old))}'. Prefixes for a single client must not overlap."
    )


def prefix_overlaps_other(a: bytes, b: bytes) -> str:
    return (
        f"ERR Prefix '{_sds_trunc(a, len(a))}' overlaps with another provided prefix "
        f"'{_sds_trunc(b, len(b))}'. Prefixes for a single client must not overlap."
    )
