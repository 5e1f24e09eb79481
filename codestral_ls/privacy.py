"""What never leaves the machine: excluded files, and secrets masked inside the others.

Completion sends the text around the cursor to the API, so a ``.env`` file or a private key
opened in the editor would be sent too. Two defences, both applied just before a request is
built (completions in ``engine.py``, code actions in ``actions/service.py``):

- :func:`is_excluded`: files whose path matches one of the ``excludeGlobs`` (``.env*``,
  ``*.pem``, ``*.key``, ``id_rsa*``, ``*.kdbx``, ``secrets.*``, anything under ``.git/`` by
  default) get no completions at all: nothing of them is sent.
- :func:`mask_secrets`: in every other file, text that looks like a credential (private key
  blocks, AWS access key ids, GitHub and Slack tokens, JWTs, ``api_key = "..."``-style
  assignments) is replaced by a placeholder of the same kind before sending. Masking keeps
  the surrounding code intact, so completions still make sense.

The patterns favour precision over recall: they match well-known token formats and obvious
assignments, so ordinary code is sent unchanged.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

#: Default ``excludeGlobs``: matched against the file name and against every path suffix.
DEFAULT_EXCLUDE_GLOBS = (
    ".env*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "*.kdbx",
    "secrets.*",
    ".git/*",
)

#: Placeholder written instead of a masked secret.
MASK = "<secret>"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----.*?"
    r"(?:-----END \1PRIVATE KEY\2-----|\Z)",
    re.DOTALL,
)
#: The rest of a key block whose BEGIN line is not in the text (a suffix that starts inside).
_PRIVATE_KEY_TAIL = re.compile(
    r"\A(?:(?!-----BEGIN ).)*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", re.DOTALL
)
#: Well-known token formats. Matched without a leading ``\b`` (which made the engine try the
#: alternation at every word boundary); the boundary is checked on each match instead.
_TOKENS = re.compile(
    r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"  # OpenAI / Anthropic style keys
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    # JWT, tried only where a run of its characters starts (inside one, each start rescanned
    # the rest of the run: 7.9 s on a 60,000-character eyJ line)
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)
#: A quoted value of 8+ characters after ``=`` or ``:``. The name it is assigned to
#: (``api_key = "..."``, ``"password": '...'``) is read backwards from the separator:
#: matching the name first made the engine backtrack through every identifier of the text
#: (5 ms on 12,000 characters, measured; this way it is 0.05 ms).
#: Both stay within one line, so that :class:`PromptMasker` can mask a text line by line.
_QUOTED_VALUE = re.compile(r"""[:=][ \t]*(?P<quote>["'`])(?P<value>[^"'`\r\n]{8,})(?P=quote)""")
#: A quoted value still being typed: its quote is open at the end of the text before the cursor.
_OPEN_VALUE = re.compile(r"""[:=][ \t]*(?P<quote>["'`])(?P<value>[^"'`\r\n]*)\Z""")
_NAME_BEFORE = re.compile(r"""(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,120})["']?[ \t]*\Z""")
#: ``api_key``, ``password``, ``SECRET_TOKEN``, ``clientSecret``: names whose value is a secret.
_SECRET_NAME = re.compile(
    r"api[_-]?key|apikey|secret|token|passw(?:or)?d|passwd|access[_-]?key|auth[_-]?key"
    r"|private[_-]?key|client[_-]?secret",
    re.IGNORECASE,
)


def path_of(uri: str) -> str:
    """The path part of a document URI (``file:///a/b.py`` -> ``/a/b.py``)."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme else uri


def is_excluded(uri: str, globs: Iterable[str]) -> bool:
    """Whether the document at ``uri`` matches one of ``globs`` (and must never be sent).

    A glob without ``/`` matches the file name (``*.pem``); one with ``/`` matches any tail of
    the path (``.git/*`` matches ``/repo/.git/config``, ``config/secrets/*`` a folder). A
    folder glob ending in ``/*`` matches everything below that folder, however deep.
    """
    path = path_of(uri).replace("\\", "/")
    parts = [p for p in path.split("/") if p]
    if not parts:
        return False
    name = parts[-1]
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    for glob in globs:
        glob = glob.strip().lstrip("/")
        if not glob:
            continue
        if "/" not in glob:
            if fnmatch.fnmatchcase(name, glob):
                return True
            continue
        if glob.endswith("/*"):
            folder = glob[:-2]
            if any(fnmatch.fnmatchcase(part, folder) for part in parts[:-1]) and "/" not in folder:
                return True
        if any(fnmatch.fnmatchcase(tail, glob) for tail in tails):
            return True
    return False


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
    cost 0.6 ms of the 1 MB file's added latency in the bench). Every pattern but private
    key blocks stays within a line, so masking by parts gives the same text; a text that
    mentions a private key is masked whole.
    """

    def __init__(self, remembered: int = 8) -> None:
        self._remembered = remembered
        self._masked: dict[str, str] = {}

    def prompt(self, text: str) -> str:
        """The masked prompt (text before the cursor): its last line is the one that changes."""
        return self._by_parts(text, text.rfind("\n") + 1)

    def suffix(self, text: str) -> str:
        """The masked suffix (text after the cursor): its first line is the one that changes."""
        return self._by_parts(text, text.find("\n") + 1)

    def _by_parts(self, text: str, cut: int) -> str:
        if "PRIVATE KEY" in text or cut <= 0:
            return mask_secrets(text)
        return self._remember(text[:cut]) + self._remember(text[cut:])

    def _remember(self, part: str) -> str:
        masked = self._masked.get(part)
        if masked is None:
            masked = mask_secrets(part)
            if len(self._masked) >= self._remembered:
                del self._masked[next(iter(self._masked))]  # the oldest
            self._masked[part] = masked
        return masked


#: What :func:`mask_secrets` and :class:`SecretMask` write; never masked again.
_PLACEHOLDER = re.compile(r"<secret(?:-\d+)?>")


def cursor_in_secret(line_before: str, line_after: str) -> bool:
    """Whether the cursor, between ``line_before`` and ``line_after`` (its line), is inside
    something that looks like a secret, or right at its end before the closing quote.

    The prompt and the suffix are masked apart, so a token with the cursor in it would leave
    in two unmasked halves, and so would ``PASSWORD = "hunter2`` before an auto-closed
    quote. A value being typed after a secret's name (no closing quote yet) counts too.
    Completion is skipped there: nobody wants a suggestion for a secret.
    """
    line = line_before + line_after
    column = len(line_before)
    for match in _TOKENS.finditer(line):
        if _is_token(match) and match.start() < column <= match.end():
            return True
    for match in _QUOTED_VALUE.finditer(line):
        if match.start("value") < column <= match.end("value") and _is_secret_value(match):
            return True
    typing = _OPEN_VALUE.search(line_before)
    return bool(typing and _is_secret_value(typing))


def _is_token(match: re.Match[str]) -> bool:
    """A :data:`_TOKENS` match that is not the inside of a longer word."""
    start = match.start()
    return not (start and _is_word(match.string[start - 1]))


def _is_secret_value(match: re.Match[str]) -> bool:
    """A :data:`_QUOTED_VALUE` match assigned to a secret's name, not masked already."""
    start = match.start()
    name = _NAME_BEFORE.search(match.string, max(0, start - 130), start)
    return bool(
        name and _SECRET_NAME.search(name[1]) and not _PLACEHOLDER.fullmatch(match["value"])
    )


def _substitute(text: str, placeholder_for: Callable[[str], str]) -> str:
    """``text`` with each credential replaced by ``placeholder_for(credential)``.

    Runs on every completion request (12,000 characters by default), so each pattern only
    runs when a plain substring search says it can match.
    """
    if not text:
        return text

    def whole(match: re.Match[str]) -> str:
        return placeholder_for(match[0])

    def token(match: re.Match[str]) -> str:
        return placeholder_for(match[0]) if _is_token(match) else match[0]

    def assigned(match: re.Match[str]) -> str:
        if not _is_secret_value(match):
            return match[0]
        quote = match["quote"]
        separator = match[0][: match.start("quote") - match.start()]
        return f"{separator}{quote}{placeholder_for(match['value'])}{quote}"

    if "PRIVATE KEY" in text:
        text = _PRIVATE_KEY.sub(whole, text)
        text = _PRIVATE_KEY_TAIL.sub(whole, text)
    text = _TOKENS.sub(token, text)
    return _QUOTED_VALUE.sub(assigned, text)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
