"""What never leaves the machine: excluded files, and secrets masked inside the others.

Completion sends the text around the cursor to the API, so a ``.env`` file or a private key
opened in the editor would be sent too. Three defences, all applied just before a request is
built (completions in ``engine.py``, code actions in ``actions/service.py``):

- :func:`is_excluded`: files whose path matches one of the ``excludeGlobs`` (credential files
  and folders: :data:`DEFAULT_EXCLUDE_GLOBS`), matched case-insensitively, get no completions
  and no code actions: nothing of them is sent.
- :func:`mostly_secrets`: a file whose first lines are mostly credentials (a ``.env`` under
  another name, a pasted ``credentials`` file) is treated the same way.
- :func:`mask_secrets`: in every other file, each credential that
  :mod:`codestral_ls.secret_patterns` finds is replaced by a placeholder before sending.
  Masking keeps the surrounding code intact, so completions still make sense.

Recall and false positives are measured on ``fixtures/secrets/`` by ``bench/secrets.py``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from urllib.parse import unquote, urlsplit

from codestral_ls import secret_patterns

#: Default ``excludeGlobs``: matched, ignoring case, against the file name and against every
#: path suffix (a glob with ``/*`` at its end: anything under that folder).
DEFAULT_EXCLUDE_GLOBS = (
    # environment files: .env, .env.local, prod.env, .envrc
    ".env*",
    "*.env",
    # keys and certificates with their private key
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    # credential folders
    ".ssh/*",
    ".gnupg/*",
    ".aws/*",
    ".kube/*",
    ".azure/*",
    ".config/gcloud/*",
    ".docker/config.json",
    # credential files of tools
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".my.cnf",
    ".git-credentials",
    ".htpasswd",
    "kubeconfig*",
    "*.tfvars",
    "*.tfstate",
    "*.tfstate.backup",
    "credentials",
    "credentials.*",
    "secrets.*",
    "*service-account*.json",
    "*serviceaccount*.json",
    "*-credentials.json",
    # git internals (remote URLs with tokens, hooks)
    ".git/*",
)

#: Placeholder written instead of a masked secret.
MASK = "<secret>"

#: What :func:`mostly_secrets` reads: the first lines of a file, at most this many characters.
HEAD_LINES = 200
HEAD_CHARS = 32_000


def path_of(uri: str) -> str:
    """The path part of a document URI (``file:///a/b.py`` -> ``/a/b.py``)."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme else uri


def is_excluded(uri: str, globs: Iterable[str]) -> bool:
    """Whether the document at ``uri`` matches an exclusion glob (and must never be sent).

    The globs are :data:`DEFAULT_EXCLUDE_GLOBS` plus the user's ``globs``, minus each default
    the user names with a leading ``!`` (:func:`effective_globs`); :class:`GlobSet` says how
    one glob matches. Case is ignored.
    """
    return GlobSet.of(effective_globs(tuple(globs))).matches(path_of(uri))


@functools.lru_cache(maxsize=16)
def effective_globs(globs: tuple[str, ...]) -> tuple[str, ...]:
    """The defaults, plus the user's globs, minus the defaults the user wrote as ``!glob``.

    Adding to the defaults rather than replacing them means that a user who excludes one
    more file does not silently start sending ``.env`` files.
    """
    removed = {
        glob.strip()[1:].strip().lstrip("/").lower() for glob in globs if glob.strip()[:1] == "!"
    }
    added = [glob.strip().lstrip("/") for glob in globs if glob.strip()[:1] not in ("!", "")]
    kept = [glob for glob in DEFAULT_EXCLUDE_GLOBS if glob.lower() not in removed]
    return tuple(dict.fromkeys(kept + [glob for glob in added if glob.lower() not in removed]))


class GlobSet:
    """Exclusion globs compiled into three regexes, so a path is matched in one pass each.

    Matching each glob against each tail of the path cost one regex compile per glob on the
    first request (46 compiles: 8 ms idle, 74 ms on a loaded machine) and time quadratic in
    the path's depth (a 144 KB URI: 5 s). Here, as in ``.gitignore``:

    - a glob without ``/`` matches the file name (``*.pem``, ``.env*``);
    - a glob ending in ``/*`` (or ``/**``) matches everything below that folder, however deep
      (``.git/*``, ``.config/gcloud/*``);
    - any other glob with ``/`` matches a tail of the path (``.docker/config.json``);
    - ``*``, ``?`` and ``[...]`` never match ``/``; a leading ``/`` or ``**/`` is dropped,
      since every glob may match at any depth anyway.
    """

    def __init__(self, globs: Iterable[str]) -> None:
        names: list[str] = []
        tails: list[str] = []
        folders: list[str] = []
        for glob in globs:
            glob = glob.lower().replace("\\", "/")
            while glob.startswith(("/", "**/")):
                glob = glob[1:] if glob.startswith("/") else glob[3:]
            if glob.endswith("/**"):
                glob = glob[:-1]
            if not glob:
                continue
            if glob.endswith("/*"):  # never "/*" itself: the leading "/" is gone
                folders.append(_glob_regex(glob[:-2]))
            elif "/" in glob:
                tails.append(_glob_regex(glob))
            else:
                names.append(_glob_regex(glob))
        self._name = _either(names, "", r"\Z")
        self._tail = _either(tails, "(?:^|/)", r"\Z")
        self._folder = _either(folders, "(?:^|/)", "/[^/]")

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def of(globs: tuple[str, ...]) -> GlobSet:
        """The compiled set for ``globs``, compiled once per distinct settings."""
        return GlobSet(globs)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (a file path, ``/`` or ``\\`` separated) matches a glob."""
        parts = [part for part in path.lower().replace("\\", "/").split("/") if part]
        if not parts:
            return False
        joined = "/".join(parts)
        return bool(
            (self._name and self._name.match(parts[-1]))
            or (self._tail and self._tail.search(joined))
            or (self._folder and self._folder.search(joined))
        )


def _either(regexes: list[str], before: str, after: str) -> re.Pattern[str] | None:
    if not regexes:
        return None
    return re.compile(f"{before}(?:{'|'.join(regexes)}){after}", re.DOTALL)


def _glob_regex(glob: str) -> str:
    """One glob as a regex in which no wildcard matches ``/``.

    Text between two stars is found with an atomic look-ahead (as ``fnmatch`` does), so
    ``*a*b*`` stays linear on a long name instead of trying every split. Brackets follow
    ``fnmatch``: ``[!...]`` negates, a ``]`` first in the class is literal, an unclosed
    ``[`` is literal.
    """
    pieces: list[str] = []  # the regex of each run between stars, each star as "*"
    current: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        i += 1
        if char == "*":
            pieces.append("".join(current))
            current = []
            while i < len(glob) and glob[i] == "*":
                i += 1
            pieces.append("*")
        elif char == "?":
            current.append("[^/]")
        elif char == "[":
            end = _class_end(glob, i)
            if end is None:
                current.append(re.escape(char))
                continue
            current.append(_class_regex(glob[i:end]))
            i = end + 1
        else:
            current.append(re.escape(char))
    pieces.append("".join(current))
    regex = []
    stars = [n for n, piece in enumerate(pieces) if piece == "*"]
    for n, piece in enumerate(pieces):
        if piece != "*":
            regex.append(piece)
        elif n != stars[-1]:
            # Not the last star: find the next run (never empty: stars in a row were merged)
            # at its first place, atomically.
            group = f"g{next(_GROUPS)}"
            regex.append(f"(?=(?P<{group}>[^/]*?{pieces[n + 1]}))(?P={group})")
            pieces[n + 1] = ""
        else:
            regex.append("[^/]*")
    return "".join(regex)


#: Unique names for the look-ahead groups of every glob compiled in this process.
_GROUPS = itertools.count()


def _class_end(glob: str, start: int) -> int | None:
    """Index of the ``]`` closing the class opened just before ``start``, as ``fnmatch`` reads."""
    i = start
    if i < len(glob) and glob[i] == "!":
        i += 1
    if i < len(glob) and glob[i] == "]":
        i += 1
    end = glob.find("]", i)
    return None if end < 0 else end


def _class_regex(body: str) -> str:
    """A ``[...]`` body as a regex class that never matches ``/``."""
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    escaped = "".join(char if char == "-" else re.escape(char) for char in body)
    try:
        re.compile(f"[{escaped}]")
    except re.error:  # a reversed range such as [z-a] holds nothing, as in fnmatch
        return "[^/]" if negated else "(?!)"
    return f"[^/{escaped}]" if negated else f"(?!/)[{escaped}]"


def is_withheld(uri: str, lines: Sequence[str], globs: Iterable[str], *, detect: bool) -> bool:
    """Whether nothing of the document at ``uri`` may be sent: it matches ``globs``, or
    (with ``detect``, the ``maskSecrets`` setting) its lines are :func:`mostly_secrets`."""
    return is_excluded(uri, globs) or (detect and mostly_secrets(lines))


class SecretFile:
    """:func:`mostly_secrets` of the document being typed in, read again only when its head
    (what the check reads) changed.

    Reading the first 200 lines out of a document's chunks and looking each one up cost
    140 us per request on a file of 200 lines or more (measured); the head as one string
    costs 7 us and comparing it with the last one a memory compare. Only the last document
    asked about is remembered: typing happens in one at a time, and one head (32 KB at
    most) is all the memory this holds.
    """

    def __init__(self) -> None:
        self._last: tuple[str, str, bool] | None = None  # uri, head, verdict

    def check(self, uri: str, head: str, lines: Sequence[str]) -> bool:
        """:func:`mostly_secrets` of ``lines``, whose :data:`HEAD_LINES` lines and
        :data:`HEAD_CHARS` + 1 characters are ``head``
        (``document.head(HEAD_LINES, HEAD_CHARS + 1)``)."""
        last = self._last
        if last is not None and last[0] == uri and last[1] == head:
            return last[2]
        verdict = mostly_secrets(lines)
        self._last = (uri, head, verdict)
        return verdict


def mostly_secrets(lines: Sequence[str]) -> bool:
    """Whether a file whose lines are ``lines`` is mostly credentials: more than a third of
    its first non-blank lines hold one (a ``.env`` or a key file under another name).

    Reads at most the first :data:`HEAD_LINES` lines and :data:`HEAD_CHARS` characters, so
    its cost is bounded whatever the file's size; each line's answer is remembered, so a
    keystroke costs one line's scan.
    """
    counted = secret_lines = size = 0
    for line in lines[:HEAD_LINES]:
        size += len(line)
        if size > HEAD_CHARS:
            break
        if not line.strip():
            continue
        counted += 1
        secret_lines += _line_has_secret(line)
    return secret_lines * 3 > counted  # never true of 0 secrets: counted >= 0


@functools.lru_cache(maxsize=4096)
def _line_has_secret(line: str) -> bool:
    return bool(secret_patterns.spans(line))


def mask_secrets(text: str) -> str:
    """``text`` with credentials replaced by :data:`MASK` (the rest unchanged)."""
    return _substitute(text, lambda _secret: MASK)


class SecretMask:
    """Masks secrets with numbered placeholders, and puts them back into the answer.

    Code actions send code and get code back that replaces it: with a plain :data:`MASK`, a
    Refactor of a function holding a token would write ``<secret>`` over the real token.
    Numbered placeholders (``<secret-1>``, the same number for the same secret) let
    :meth:`unmask` restore each secret wherever the model kept its placeholder. With
    ``enabled=False`` both directions leave the text alone (``maskSecrets: false``).
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._numbers: dict[str, int] = {}

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by its numbered placeholder."""
        if not self.enabled:
            return text
        return _substitute(text, self._placeholder)

    def unmask(self, text: str) -> str:
        """``text`` with every placeholder this mask made replaced by its secret again."""
        if not self._numbers:
            return text
        originals = {f"<secret-{n}>": secret for secret, n in self._numbers.items()}
        return _PLACEHOLDER.sub(lambda m: originals.get(m[0], m[0]), text)

    def _placeholder(self, secret: str) -> str:
        number = self._numbers.setdefault(secret, len(self._numbers) + 1)
        return f"<secret-{number}>"


class PromptMasker:
    """:func:`mask_secrets` for the prompt and suffix of one request after another.

    While the user types on one line, the prompt differs from the previous keystroke's only
    on its last line, and the suffix only on its first: the rest is remembered masked and
    only that one line is scanned again (masking the 12,000-character prompt every time
    cost 0.6 ms of the 1 MB file's added latency in the bench). When the rest changes too
    (Enter, the cursor moved to another line), it is masked line by line, each line's
    masking remembered, so only lines never seen before are scanned.

    Every pattern but private key blocks and a value on the line after its name stays within
    a line, so masking by parts gives the same text: a line that ends like ``password:`` is
    kept together with the next, and a text that mentions a private key is masked whole.
    """

    def __init__(self, remembered: int = 8, lines_remembered: int = 4096) -> None:
        self._remembered = remembered
        self._masked: dict[str, str] = {}
        self._lines_remembered = lines_remembered
        self._masked_lines: dict[str, str] = {}

    def prompt(self, text: str) -> str:
        """The masked prompt (text before the cursor): its last line is the one that changes."""
        return self._by_parts(text, text.rfind("\n") + 1)

    def suffix(self, text: str) -> str:
        """The masked suffix (text after the cursor): its first line is the one that changes."""
        return self._by_parts(text, text.find("\n") + 1)

    def _by_parts(self, text: str, cut: int) -> str:
        if "PRIVATE KEY" in text or "Private-Lines" in text:
            return mask_secrets(text)
        if cut <= 0 or _opens_value(text[:cut]):
            return self._by_lines(text)
        return self._remember(text[:cut]) + self._remember(text[cut:])

    def _remember(self, part: str) -> str:
        masked = self._masked.get(part)
        if masked is None:
            masked = self._by_lines(part)
            if len(self._masked) >= self._remembered:
                del self._masked[next(iter(self._masked))]  # the oldest
            self._masked[part] = masked
        return masked

    def _by_lines(self, text: str) -> str:
        """``text`` masked a group of lines at a time (a line that opens a value on the next
        one goes with it), each group's masking remembered; the groups not seen before are
        scanned together, in one pass."""
        groups = list(_line_groups(text))
        remembered = self._masked_lines
        unknown = [group for group in groups if group not in remembered]
        if unknown:
            if len(remembered) + len(unknown) > self._lines_remembered:
                remembered.clear()  # an editor session's lines; cheaper than an LRU
            remembered.update(_mask_each(unknown))
        return "".join(remembered[group] for group in groups)


def _line_groups(text: str) -> Iterator[str]:
    """``text`` cut after each line, except after a line that may open a value on the next."""
    start = 0
    end = len(text)
    while start < end:
        stop = text.find("\n", start) + 1 or end
        while stop < end and _opens_value(text[start:stop]):
            stop = text.find("\n", stop) + 1 or end
        yield text[start:stop]
        start = stop


def _mask_each(groups: list[str]) -> dict[str, str]:
    """Each of ``groups`` masked, from one scan of them all together (no span crosses the
    end of a group: see :func:`_line_groups`)."""
    joined = "".join(groups)
    found = secret_patterns.spans(joined)
    masked: dict[str, str] = {}
    offset = 0
    index = 0
    for group in groups:
        end = offset + len(group)
        mine: list[tuple[int, int]] = []
        while index < len(found):
            start, stop = found[index]
            if start >= end:
                break  # the next group's
            if stop > end:  # pragma: no cover - a span across groups: mask it alone
                return {group: mask_secrets(group) for group in groups}
            mine.append((start - offset, stop - offset))
            index += 1
        masked[group] = _apply(group, mine, lambda _secret: MASK)
        offset = end
    return masked


#: What :func:`mask_secrets` and :class:`SecretMask` write; never masked again.
_PLACEHOLDER = re.compile(r"<secret(?:-\d+)?>")


#: How much of a line's end can hold the separator that puts a value on the next line: 1 for
#: the separator, 16 for the blanks the pattern allows after it (secret_patterns: ``[ \t]{0,8}``
#: on each side of a ``|`` or ``(``), 2 for ``\r\n``. Fewer (it was 16) cut ``password:`` and
#: 15 blanks off its value, which was then masked alone, or not at all if the masker had seen
#: that line before.
_OPENER_REACH = 19


def _opens_value(text: str) -> bool:
    """Whether ``text`` ends (its last line) where a value may follow on the next line."""
    tail = text[-_OPENER_REACH:].rstrip()
    return tail.endswith((":", "=", "(", "\\", "|", ">", ",", "-", "+"))


def cursor_in_secret(line_before: str, line_after: str) -> bool:
    """Whether the cursor, between ``line_before`` and ``line_after`` (its line), is inside
    something that looks like a secret, or right at its end before the closing quote.

    The prompt and the suffix are masked apart, so a token with the cursor in it would leave
    in two unmasked halves, and so would ``PASSWORD = "hunter2`` before an auto-closed
    quote. A value being typed after a secret's name (no closing quote yet) counts too.
    Completion is skipped there: nobody wants a suggestion for a secret.
    """
    column = len(line_before)
    for start, end in secret_patterns.spans(line_before + line_after):
        if start < column <= end:
            return True
    typing = _OPEN_VALUE.search(line_before)
    if typing is None:
        return False
    name = _NAME_BEFORE.search(line_before, max(0, typing.start() - 130), typing.start())
    return bool(name and secret_patterns.is_credential_name(name[1]))


#: A quoted value still being typed: its quote is open at the end of the text before the cursor.
_OPEN_VALUE = re.compile(r"""[:=][ \t]{0,8}(?P<quote>["'`])(?P<value>[^"'`\r\n]{0,500})\Z""")
_NAME_BEFORE = re.compile(r"""(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,120})["']?[ \t]{0,8}\Z""")


def _substitute(text: str, placeholder_for: Callable[[str], str]) -> str:
    """``text`` with each credential replaced by ``placeholder_for(credential)``."""
    if not text:
        return text
    return _apply(text, secret_patterns.spans(text), placeholder_for)


def _apply(text: str, spans: list[tuple[int, int]], placeholder_for: Callable[[str], str]) -> str:
    """``text`` with each of ``spans`` replaced by its placeholder; the placeholders of an
    earlier masking are left as they are."""
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        secret = text[start:end]
        if _PLACEHOLDER.fullmatch(secret):
            continue
        pieces.append(text[done:start])
        pieces.append(placeholder_for(secret))
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
