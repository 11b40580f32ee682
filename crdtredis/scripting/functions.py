"""The compiled view of the function libraries a replica holds (functions.c, function_lua.c).

`Keyspace.functions` (crdt/functions.py) is the data: library name -> code. This module
compiles that code into the node's function engine (a Lua state of its own) when a
library is first needed after a change, and answers what FCALL, FUNCTION LIST and
FUNCTION STATS need: functions by name (case-insensitive, as Redis's function dict),
their flags and descriptions.

If two libraries register the same function name (possible only when they were loaded
concurrently at two replicas), FCALL runs the one of the library with the later stamp.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from .runner import LOAD_TIMEOUT_MS, valid_name

if TYPE_CHECKING:
    from .runner import Scripting

log = logging.getLogger("crdtredis.scripting")

BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must be at least "
            "one character long")


class Function:
    __slots__ = ("name", "fn", "desc", "flags", "lib")

    def __init__(self, name: str, fn: Any, desc: bytes | None, flags: int, lib: Library) -> None:
        self.name = name
        self.fn = fn
        self.desc = desc
        self.flags = flags
        self.lib = lib


class Library:
    __slots__ = ("name", "code", "functions", "error")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[str, Function] = {}
        # Set when the code does not compile here (it did where it was loaded).
        self.error: str | None = None


def parse_metadata(code: bytes) -> tuple[bytes, bytes, bytes] | str:
    """functionExtractLibMetaData: (engine, name, body) or the error text."""
    if not code.startswith(b"#!"):
        return "Missing library metadata"
    end = code.find(b"\n")
    nul = code.find(b"\0")
    if end < 0 or 0 <= nul < end:  # strchr: the C string ends at its first NUL
        return "Invalid library metadata"
    from ..protocol.reader import split_inline

    parts = split_inline(code[:end])
    if not parts:
        return "Invalid library metadata"
    engine = parts[0][2:]
    name: bytes | None = None
    for p in parts[1:]:
        if p[:5].lower() == b"name=":
            if name is not None:
                return "Invalid metadata value, name argument was given multiple times"
            name = p[5:]
            continue
        return f"Invalid metadata value given: {p.decode('utf-8', 'surrogateescape')}"
    if name is None:
        return "Library name was not given"
    return engine, name, code[end:]


class FunctionView:
    def __init__(self, scripting: Scripting) -> None:
        self.scripting = scripting
        self.version = -1
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[str, Function] = {}  # lower-case name -> function
        # Compiled libraries by code, so that a library compiled to validate FUNCTION
        # LOAD is not compiled again when its effect is applied.
        self._cache: dict[bytes, Library] = {}

    def sync(self) -> None:
        libs = self.scripting.node.keyspace.functions
        if libs.version == self.version:
            return
        self.version = libs.version
        visible = libs.visible()
        cache = self._cache
        self._cache = {}
        self.libraries = {}
        self.functions = {}
        if not visible and cache:
            # Nothing left: start the next library in a fresh Lua state (frees memory). A
            # state no library ever ran in is fresh already: the first sync keeps it.
            self.scripting.reset_function_engine()
        for name, (code, _h, _o) in sorted(visible.items(), key=lambda kv: (kv[1][1], kv[1][2])):
            lib = cache.get(code)
            if lib is None:
                compiled = self.compile(code)
                if isinstance(compiled, str):
                    log.warning("function library %r does not compile here: %s", name, compiled)
                    lib = Library(name, code)
                    lib.error = compiled
                else:
                    lib = compiled
            self._cache[code] = lib
            self.libraries[name] = lib
            for f in lib.functions.values():
                self.functions[f.name.lower()] = f

    def compile(self, code: bytes, timeout_ms: int = LOAD_TIMEOUT_MS) -> Library | str:
        """Compile and run a library's code (functionsCreateWithLibraryCtx's engine part);
        the library or the error text (without its ERR code)."""
        md = parse_metadata(code)
        if isinstance(md, str):
            return md
        engine, name, body = md
        if not valid_name(name.decode("utf-8", "surrogateescape")):
            return BAD_NAME
        if engine.lower() != b"lua":
            return f"Engine '{engine.decode('utf-8', 'surrogateescape')}' not found"
        return self.run_library(name, code, body, timeout_ms)

    def run_library(self, name: bytes, code: bytes, body: bytes, timeout_ms: int) -> Library | str:
        sc = self.scripting
        eng = sc.function_engine
        sc.registering = []
        sc.load_deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else 0.0
        try:
            err = eng.load_library(body)
            registered = sc.registering
        finally:
            sc.registering = None
            sc.load_deadline = 0.0
        if err is not None:
            kind, msg = err
            if kind == "compile":
                return f"Error compiling function: {msg}"
            return f"Error registering functions: {msg}"
        if not registered:
            return "No functions registered"
        lib = Library(name, code)
        for fname, fn, desc, flags in registered:
            lib.functions[fname] = Function(fname, fn, desc, flags, lib)
        self._cache[code] = lib
        return lib

    def remember(self, lib: Library) -> None:
        self._cache[lib.code] = lib
