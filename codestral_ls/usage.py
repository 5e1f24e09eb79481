"""Local usage statistics: were the suggestions worth what they cost?

The server counts, per hour and language, the suggestions it *showed* (each distinct
suggestion once, however many keystrokes it stayed on screen), those the user *accepted*
(whole, or a word or a line of it: ``accepted_partly`` says how many of them were first
taken in part), those the user *typed over* (typed some of the suggested text by hand, which
says the suggestion was right even when it was not accepted), and the upstream calls and
tokens they cost. The acceptance rate is accepted / shown. The
counts go to one small JSON-lines file on this machine (``usage.jsonl`` in
``$CODESTRAL_LS_STATE_DIR``, else ``$XDG_STATE_HOME/codestral-ls``, else
``~/.local/state/codestral-ls``: :mod:`codestral_ls.folders`) and nowhere else: nothing
here talks to the network.
``codestral-ls stats`` reads it back (see :mod:`codestral_ls.stats_report`).

A suggestion is identified by where it ends up, not by the text still to insert: the line
before the cursor plus the suggested text stays the same while the user types through it
(VS Code asks again on every keystroke, and typed-ahead answers with the shrinking rest),
so one suggestion is counted once however it was served.

The file holds one line per flush and (hour, language) with the counts added since the
previous flush; several servers (several editors) may append to it at once. Reading sums the
lines; once the file passes :data:`COMPACT_BYTES` it is rewritten with one line per (hour,
language), dropping hours older than :data:`KEEP_DAYS`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from codestral_ls import folders

log = logging.getLogger(__name__)

#: Rewrite the file with one line per (hour, language) once it is larger than this.
COMPACT_BYTES = 256 * 1024
#: Hours older than this are dropped when the file is compacted.
KEEP_DAYS = 90
#: Largest file read as usage counts. Compacted, a file holds one short line per hour and
#: language of :data:`KEEP_DAYS` (2,160 hours x 10 languages: ~4 MB); a larger one is not
#: the server's, and reading it whole (``--file /dev/zero``) never ended.
MAX_READ_BYTES = 32 * 1024 * 1024
#: Suggestions remembered per server to count each one once (shown, typed over).
_REMEMBERED = 512


@dataclass
class Counts:
    """What one (hour, language) cost and brought."""

    shown: int = 0
    accepted: int = 0
    accepted_partly: int = 0
    typed_over: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Counts) -> None:
        for spec in fields(self):
            setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    def any(self) -> bool:
        return any(getattr(self, spec.name) for spec in fields(self))

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Counts:
        counts = cls()
        for spec in fields(cls):
            value = data.get(spec.name, 0)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                setattr(counts, spec.name, value)
        return counts


def usage_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """``usage.jsonl`` in the state folder (:func:`codestral_ls.folders.state_dir`);
    ``None`` where there is none (no home directory): counts then stay in memory."""
    folder = folders.state_dir(environ)
    return None if folder is None else folder / "usage.jsonl"


def suggestion_id(uri: str, line: int, line_before: str, text: str) -> str:
    """One suggestion's identity: the document, its line, and the line as it would read
    after accepting (constant while the user types through the suggestion)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in (uri, str(line), line_before + text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def hour_of(timestamp: float) -> str:
    """The UTC hour a timestamp falls in, as ``2026-12-01T07``."""
    return time.strftime("%Y-%m-%dT%H", time.gmtime(timestamp))


class UsageRecorder:
    """Counts in memory, written out by :meth:`flush` (the server calls it now and then and
    at exit). ``path=None`` counts without writing (``usageStats`` off still answers
    ``codestral/stats``)."""

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._pending: dict[tuple[str, str], Counts] = {}
        #: suggestion id -> what was counted for it already ("typed", "accepted")
        self._seen: OrderedDict[str, set[str]] = OrderedDict()
        self.totals = Counts()

    def _bucket(self, language: str) -> Counts:
        key = (hour_of(self._clock()), language or "unknown")
        counts = self._pending.get(key)
        if counts is None:
            counts = self._pending[key] = Counts()
        return counts

    def _count(self, language: str, **increments: int) -> None:
        for target in (self._bucket(language), self.totals):
            for name, value in increments.items():
                setattr(target, name, getattr(target, name) + value)

    def shown(self, language: str, suggestion: str, *, typed_since: bool) -> None:
        """A suggestion reached the editor. ``typed_since``: it is the rest of a suggestion
        already shown, after the user typed some of it (typed-ahead, a joined call)."""
        flags = self._seen.get(suggestion)
        if flags is None:
            self._remember(suggestion, set())
            self._count(language, shown=1)
        elif typed_since and not flags:
            flags.add("typed")
            self._count(language, typed_over=1)

    def accepted(self, language: str, suggestion: str | None, *, partly: bool) -> None:
        """The editor ran an item's accept command (whole) or a partial accept (a word, a
        line). Each suggestion counts once, at its first accept: further pieces of it, or
        typing after a partial accept, are not counted again."""
        flags = self._seen.get(suggestion) if suggestion is not None else None
        if flags is not None and "accepted" in flags:
            return
        if suggestion is not None:
            self._remember(suggestion, {"accepted"} | (flags or set()))
        self._count(language, accepted=1, **({"accepted_partly": 1} if partly else {}))

    def call(self, language: str, prompt_tokens: int, completion_tokens: int) -> None:
        """One upstream call and the tokens it cost (the API's usage, or an estimate)."""
        self._count(
            language, calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    def _remember(self, suggestion: str, flags: set[str]) -> None:
        self._seen[suggestion] = flags
        self._seen.move_to_end(suggestion)
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)

    def flush(self) -> None:
        """Append what was counted since the last flush; never raises (a full disk or a
        read-only home costs the statistics, not the completions)."""
        pending, self._pending = self._pending, {}
        lines = [
            json.dumps({"hour": hour, "language": language, **asdict(counts)})
            for (hour, language), counts in pending.items()
            if counts.any()
        ]
        if not lines or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self.path, "a") as out:
                out.write("\n".join(lines) + "\n")
            if self.path.stat().st_size > COMPACT_BYTES:
                compact(self.path, now=self._clock())
        except OSError as error:
            log.info("usage statistics not written to %s: %s", self.path, error)


@contextlib.contextmanager
def _locked(path: Path, mode: str) -> Iterator[object]:
    """Open ``path`` (a regular file: see :func:`_open_regular`) holding an exclusive lock
    where the platform has one (two editors' servers may write at once)."""
    flags = os.O_RDWR if mode == "r+" else os.O_WRONLY | os.O_APPEND | os.O_CREAT
    with os.fdopen(_open_regular(path, flags), mode, encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: appends of one short write are good enough
            yield handle
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read(path: Path) -> dict[tuple[str, str], Counts]:
    """The counts in ``path`` summed per (hour, language); unreadable lines are skipped."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        return {}
    return parse(text)


def read_text(path: Path) -> str:
    """The text of a usage file, read up to :data:`MAX_READ_BYTES`.

    Raises :class:`OSError` for what cannot be one: a folder, a device or a pipe (see
    :func:`_open_regular`), a file over the cap (told by its size, or once read past the cap:
    ``/proc`` files say 0).
    """
    with os.fdopen(_open_regular(path, os.O_RDONLY), "rb") as handle:
        sized_over = os.fstat(handle.fileno()).st_size > MAX_READ_BYTES
        data = b"" if sized_over else handle.read(MAX_READ_BYTES + 1)
    if sized_over or len(data) > MAX_READ_BYTES:
        message = f"over {MAX_READ_BYTES // 2**20} MB, larger than any usage file"
        raise OSError(errno.EFBIG, message, str(path))
    return data.decode("utf-8", "replace")


def _open_regular(path: Path, flags: int) -> int:
    """A descriptor of ``path`` opened with ``flags``, if it is a regular file.

    Opened without blocking, then checked, so that nothing can be swapped in between: opening
    a FIFO for writing waited for a reader (a usage path that is a FIFO hung the server's
    shutdown), reading ``/dev/zero`` never ended, ``/proc/kmsg`` waits for the kernel.
    """
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), 0o666)
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(kind):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def parse(text: str) -> dict[tuple[str, str], Counts]:
    """The counts in the text of a usage file, summed per (hour, language). Lines that are
    not counts are skipped: a server that died mid-write leaves half a line."""
    totals: dict[tuple[str, str], Counts] = {}
    for line in text.splitlines():
        # RecursionError: a line of 2,000 "[" is valid JSON's start, and too deep to decode.
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(line)
            if isinstance(data, dict):
                hour, language = data.get("hour"), data.get("language")
                if isinstance(hour, str) and isinstance(language, str):
                    totals.setdefault((hour, language), Counts()).add(Counts.from_json(data))
    return totals


def compact(path: Path, *, now: float) -> None:
    """Rewrite ``path`` with one line per (hour, language), dropping old hours."""
    oldest = hour_of(now - KEEP_DAYS * 86400)
    with _locked(path, "r+") as handle:
        merged = read(path)
        lines = [
            json.dumps({"hour": hour, "language": language, **asdict(counts)})
            for (hour, language), counts in sorted(merged.items())
            if hour >= oldest
        ]
        handle.seek(0)  # type: ignore[attr-defined]
        handle.truncate()  # type: ignore[attr-defined]
        handle.write("".join(line + "\n" for line in lines))  # type: ignore[attr-defined]


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` when the API did not say (a streamed answer closed early carries
    no usage): a rough four characters a token, the usual rule of thumb for code."""
    return (len(text) + 3) // 4
