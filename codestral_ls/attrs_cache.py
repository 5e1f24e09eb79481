"""The methods attrs compiles for lsprotocol's classes, kept across starts like bytecode.

``import lsprotocol.types`` is the largest part of the server's start-up (0.32 s of 0.47 s of
imports on a quiet machine): it defines ~570 attrs classes, and attrs generates the source of
each class's ``__init__``, ``__eq__``, ``__repr__`` ... and compiles it, every start. Python
caches the bytecode of modules in ``__pycache__``, but not of code generated at run time, so
the same ~570 scripts are compiled again each time an editor starts the server. Compiling is
about half of that import (0.345 -> 0.158 s with the code reused, measured).

:func:`reusing_compiled_methods` keeps the code objects attrs compiled, keyed by a hash of the
script and its file name, in one ``marshal`` file (the format of ``.pyc`` files) per Python
bytecode version, and hands them back to attrs at the next start instead of compiling. The
code is the same code: same source, same file name, compiled with the future flags attrs
itself compiles with (``tests/unit/test_attrs_cache.py`` compares the bytes). A start that
compiled or left unused more than a few scripts (an upgrade of attrs or lsprotocol) writes what
it used, so old entries drop out; a few that change at every start do not rewrite the file.

It relies on one attrs internal, ``attr._make._compile_and_eval(script, globs, locs,
filename)``; when a release of attrs changes it, the cache is left off (a plain, slower start)
and the tests pinning the assumption fail. Anything wrong with the file (missing, corrupt,
unwritable directory) also means a plain start, never an error.

The file holds code this process runs, so it is trusted only as far as a place that no one
else can write: read only when it and its folder belong to the user running the server and
no group or other user may write either (``XDG_CACHE_HOME=/tmp`` would otherwise let any
local account plant ``/tmp/codestral-ls/`` with code of its choice, run at the next start).
A start that fails after reusing code removes the file, so that the next one is plain.
"""

from __future__ import annotations
import __future__

import contextlib
import hashlib
import importlib.util
import inspect
import linecache
import logging
import marshal
import os
import sys
import tempfile
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: A file larger than this is not what this module wrote (1.2 MB for lsprotocol 2025): it is
#: not read, so that a start never reads gigabytes.
MAX_BYTES = 16_000_000
#: Scripts a start may compile anew, and entries it may leave unused, as a share of those it
#: used, without rewriting the file. A frozen class's ``__hash__`` script holds a salted
#: ``str`` hash, new at every start (cattrs's ``AttributeOverride``: 1 of the server's 561):
#: rewriting 1.2 MB (5 ms, measured) at each start to keep it would be all loss.
MAX_CHURN = 0.02
#: The parameters of the attrs function that compiles and runs a generated script.
_EXPECTED_PARAMETERS = ["script", "globs", "locs", "filename"]
#: Every ``from __future__`` flag: the ones attrs's own module has are the ones its
#: ``compile`` calls inherit, and so the ones a replacement must pass.
_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


def cache_file(directory: Path) -> Path:
    """One file per bytecode format: a Python upgrade starts a new one."""
    tag = sys.implementation.cache_tag or "python"
    return directory / f"attrs-methods.{tag}.{importlib.util.MAGIC_NUMBER.hex()}.marshal"


@dataclass
class CacheUse:
    """What one start did with the cache (for the log and the tests)."""

    reused: int = 0
    compiled: int = 0
    written: bool = False
    #: Why the cache was not used, if it was not.
    off: str = ""
    _used: dict[str, types.CodeType] = field(default_factory=dict, repr=False)


@contextlib.contextmanager
def reusing_compiled_methods(directory: Path | None, make_module: Any = None) -> Iterator[CacheUse]:
    """While in this block, attrs classes reuse the methods compiled at an earlier start
    and kept in ``directory`` (:func:`codestral_ls.folders.cache_dir`; ``None``: no cache);
    on leaving it, the file is rewritten if this start compiled more new scripts or left more
    entries unused than :data:`MAX_CHURN` allows. ``make_module`` is ``attr._make`` (a
    parameter for the tests). The source of the generated methods is not kept either
    (:func:`generated_source_not_kept`)."""
    with generated_source_not_kept(), _reusing(directory, make_module) as use:
        yield use


@contextlib.contextmanager
def generated_source_not_kept() -> Iterator[None]:
    """While in this block, attrs does not keep the source of the methods it generates.

    attrs puts each generated script in ``linecache`` so that a debugger can step through
    an ``__init__``: for lsprotocol's ~570 classes, 1.9 MB of the server's 47 MB after its
    imports (measured), for a debugger no one attaches to a language server. attrs stores
    them with ``linecache.cache.setdefault``; here that call answers as if the entry had
    been stored, without storing it. Everything else stored meanwhile (a traceback's lines)
    is kept, and the real cache is put back on leaving. If attrs stores them another way,
    they are kept as before (``tests/unit/test_attrs_cache.py`` notices).
    """
    kept = linecache.cache
    linecache.cache = _WithoutGeneratedSource(kept)
    try:
        yield
    finally:
        during, linecache.cache = linecache.cache, kept
        kept.update(during)


class _WithoutGeneratedSource(dict):
    def setdefault(self, key: Any, default: Any = None) -> Any:
        if isinstance(key, str) and key.startswith("<attrs generated "):
            return default
        return super().setdefault(key, default)


@contextlib.contextmanager
def _reusing(directory: Path | None, make_module: Any) -> Iterator[CacheUse]:
    use = CacheUse()
    if directory is None:
        use.off = "no cache folder (no home directory)"
        yield use
        return
    if make_module is None:
        import attr._make as make_module
    original = getattr(make_module, "_compile_and_eval", None)
    if not _has_expected_shape(original):
        use.off = "attrs changed: no _compile_and_eval(script, globs, locs, filename)"
        log.debug("attrs method cache off: %s", use.off)
        yield use
        return
    path = cache_file(directory)
    distrust = _distrust(directory)
    if distrust:
        use.off = distrust
        log.warning("attrs method cache off: %s", distrust)
        yield use
        return
    known = _read(path)
    flags = original.__code__.co_flags & _FUTURE_FLAGS

    def compile_and_eval(
        script: str,
        globs: dict[str, Any] | None,
        locs: Mapping[str, object] | None = None,
        filename: str = "",
    ) -> None:
        key = hashlib.sha1(f"{filename}\0{script}".encode(), usedforsecurity=False).hexdigest()
        code = known.get(key)
        if code is None:
            code = compile(script, filename, "exec", flags=flags, dont_inherit=True)
            use.compiled += 1
        else:
            use.reused += 1
        use._used[key] = code
        eval(code, globs, locs)  # what attrs itself does with the compiled script

    make_module._compile_and_eval = compile_and_eval
    try:
        yield use
    except Exception:
        if use.reused:  # maybe because of what was reused: the next start compiles anew
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    finally:
        make_module._compile_and_eval = original
    # New scripts, and entries this start did not use.
    churn = use.compiled + len(known.keys() - use._used.keys())
    if churn > len(use._used) * MAX_CHURN:
        use.written = _write(path, use._used)
    log.debug("attrs method cache: %d reused, %d compiled", use.reused, use.compiled)


def _has_expected_shape(function: Any) -> bool:
    if not isinstance(function, types.FunctionType):
        return False
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    return parameters == _EXPECTED_PARAMETERS


def _distrust(directory: Path) -> str:
    """Why ``directory`` may hold a file someone else wrote ("" when it may not, or does
    not exist yet: it is then made ours, private, when the file is written)."""
    try:
        status = directory.stat()
    except OSError:
        return ""
    return _foreign(status, f"folder {directory}")


def _foreign(status: os.stat_result, what: str) -> str:
    """Why a file or folder with ``status`` is not the user's own ("" when it is)."""
    if not hasattr(os, "getuid"):  # Windows: the user's profile folders are private
        return ""
    if status.st_uid != os.getuid():
        return f"{what} belongs to another user (uid {status.st_uid})"
    if status.st_mode & 0o022:
        return f"{what} is writable by others (mode {status.st_mode & 0o777:o})"
    return ""


def _read(path: Path) -> dict[str, types.CodeType]:
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if status.st_size > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES} bytes")
            foreign = _foreign(status, "file")
            if foreign:
                raise ValueError(foreign)
            # One read, then ``loads``: ``marshal.load`` on a file reads it piece by piece
            # (52-55 ms for the 1.2 MB file against 1 + 8 ms, measured).
            data = handle.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:  # grew since fstat
                raise ValueError(f"larger than {MAX_BYTES} bytes")
            loaded = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError) as error:
        if not isinstance(error, FileNotFoundError):
            log.debug("attrs method cache unreadable, starting a new one: %s", error)
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {
        key: code
        for key, code in loaded.items()
        if isinstance(key, str) and isinstance(code, types.CodeType)
    }


def _write(path: Path, codes: dict[str, types.CodeType]) -> bool:
    """Replace the file in one step (another server may be starting at the same time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                marshal.dump(codes, out)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except (OSError, ValueError) as error:
        log.debug("attrs method cache not written: %s", error)
        return False
    return True
