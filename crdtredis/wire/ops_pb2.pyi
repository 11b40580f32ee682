from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Value(_message.Message):
    __slots__ = ("i", "b", "d", "nil", "s", "l", "big", "m", "t")
    I_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    D_FIELD_NUMBER: _ClassVar[int]
    NIL_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    L_FIELD_NUMBER: _ClassVar[int]
    BIG_FIELD_NUMBER: _ClassVar[int]
    M_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    i: int
    b: bytes
    d: float
    nil: bool
    s: str
    l: ValueList
    big: bytes
    m: ValueMap
    t: bool
    def __init__(self, i: _Optional[int] = ..., b: _Optional[bytes] = ..., d: _Optional[float] = ..., nil: _Optional[bool] = ..., s: _Optional[str] = ..., l: _Optional[_Union[ValueList, _Mapping]] = ..., big: _Optional[bytes] = ..., m: _Optional[_Union[ValueMap, _Mapping]] = ..., t: _Optional[bool] = ...) -> None: ...

class ValueList(_message.Message):
    __slots__ = ("items", "is_list")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    IS_LIST_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Value]
    is_list: bool
    def __init__(self, items: _Optional[_Iterable[_Union[Value, _Mapping]]] = ..., is_list: _Optional[bool] = ...) -> None: ...

class ValueMap(_message.Message):
    __slots__ = ("keys", "vals")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    VALS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[Value]
    vals: _containers.RepeatedCompositeFieldContainer[Value]
    def __init__(self, keys: _Optional[_Iterable[_Union[Value, _Mapping]]] = ..., vals: _Optional[_Iterable[_Union[Value, _Mapping]]] = ...) -> None: ...

class Effect(_message.Message):
    __slots__ = ("code", "db", "key", "args")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DB_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    code: int
    db: int
    key: bytes
    args: _containers.RepeatedCompositeFieldContainer[Value]
    def __init__(self, code: _Optional[int] = ..., db: _Optional[int] = ..., key: _Optional[bytes] = ..., args: _Optional[_Iterable[_Union[Value, _Mapping]]] = ...) -> None: ...

class Op(_message.Message):
    __slots__ = ("version", "origin", "seq", "hlc", "deps", "deps_same", "effects")
    class DepsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HLC_FIELD_NUMBER: _ClassVar[int]
    DEPS_FIELD_NUMBER: _ClassVar[int]
    DEPS_SAME_FIELD_NUMBER: _ClassVar[int]
    EFFECTS_FIELD_NUMBER: _ClassVar[int]
    version: int
    origin: str
    seq: int
    hlc: int
    deps: _containers.ScalarMap[str, int]
    deps_same: bool
    effects: _containers.RepeatedCompositeFieldContainer[Effect]
    def __init__(self, version: _Optional[int] = ..., origin: _Optional[str] = ..., seq: _Optional[int] = ..., hlc: _Optional[int] = ..., deps: _Optional[_Mapping[str, int]] = ..., deps_same: _Optional[bool] = ..., effects: _Optional[_Iterable[_Union[Effect, _Mapping]]] = ...) -> None: ...

class OpBatch(_message.Message):
    __slots__ = ("version", "ops", "sender", "vv", "vh", "more", "snapshot_needed", "replica_id", "status", "cluster_id", "proposal", "dvv", "dvh", "incarnation_ms", "members")
    class VvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class VhEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class DvvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class DvhEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    VV_FIELD_NUMBER: _ClassVar[int]
    VH_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_NEEDED_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    DVV_FIELD_NUMBER: _ClassVar[int]
    DVH_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_MS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    version: int
    ops: _containers.RepeatedCompositeFieldContainer[Op]
    sender: str
    vv: _containers.ScalarMap[str, int]
    vh: _containers.ScalarMap[str, int]
    more: bool
    snapshot_needed: bool
    replica_id: str
    status: str
    cluster_id: str
    proposal: str
    dvv: _containers.ScalarMap[str, int]
    dvh: _containers.ScalarMap[str, int]
    incarnation_ms: int
    members: _containers.RepeatedCompositeFieldContainer[MemberAck]
    def __init__(self, version: _Optional[int] = ..., ops: _Optional[_Iterable[_Union[Op, _Mapping]]] = ..., sender: _Optional[str] = ..., vv: _Optional[_Mapping[str, int]] = ..., vh: _Optional[_Mapping[str, int]] = ..., more: _Optional[bool] = ..., snapshot_needed: _Optional[bool] = ..., replica_id: _Optional[str] = ..., status: _Optional[str] = ..., cluster_id: _Optional[str] = ..., proposal: _Optional[str] = ..., dvv: _Optional[_Mapping[str, int]] = ..., dvh: _Optional[_Mapping[str, int]] = ..., incarnation_ms: _Optional[int] = ..., members: _Optional[_Iterable[_Union[MemberAck, _Mapping]]] = ...) -> None: ...

class MemberAck(_message.Message):
    __slots__ = ("replica_id", "origin", "incarnation_ms", "vv", "vh")
    class VvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class VhEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_MS_FIELD_NUMBER: _ClassVar[int]
    VV_FIELD_NUMBER: _ClassVar[int]
    VH_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    origin: str
    incarnation_ms: int
    vv: _containers.ScalarMap[str, int]
    vh: _containers.ScalarMap[str, int]
    def __init__(self, replica_id: _Optional[str] = ..., origin: _Optional[str] = ..., incarnation_ms: _Optional[int] = ..., vv: _Optional[_Mapping[str, int]] = ..., vh: _Optional[_Mapping[str, int]] = ...) -> None: ...
