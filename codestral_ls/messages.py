"""What the user is told: a one-line summary that pops up, and the details that do not.

Neovim shows a ``window/showMessage`` in its command line; a message longer than the line (or
of several lines) raises the "Press ENTER" prompt, which eats the user's next keystroke. So
every message popped up is one line of at most :data:`SUMMARY_CHARS` characters, and what
helps to fix the problem (the URL, the status, the setting to change) goes to
``window/logMessage``, the server log and Neovim's ``:checkhealth codestral``.
:func:`explain` says what happened when the API fails, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from codestral_ls.endpoint import MISTRAL_HOSTS, Endpoint, key_advice
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.prompt import MAX_LINE_CHARS

#: Longest summary popped up (Neovim's own "LSP[codestral] " prefix comes on top of it).
SUMMARY_CHARS = 100
#: Told once per document when the user asks for a completion on a line past the window
#: (``prompt.MAX_LINE_CHARS``: minified code, data).
LINE_TOO_LONG = (
    f"Codestral: no completion on lines over {MAX_LINE_CHARS:,} characters (minified code, data)"
)
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Notice:
    """A message for the user: ``summary`` is shown, ``detail`` is logged next to it."""

    summary: str
    detail: str = ""

    @classmethod
    def of(cls, text: str) -> Notice:
        """A notice from free text: its first sentence if that fits, else its start cut at a
        word; the whole text is the detail whenever the summary leaves something out."""
        flat = " ".join(text.split())
        if len(flat) <= SUMMARY_CHARS:
            return cls(flat)
        sentence_end = flat.find(". ", 0, SUMMARY_CHARS)
        if sentence_end > 0:
            return cls(flat[: sentence_end + 1], flat)
        return cls(clip(flat), flat)

    def shown(self) -> str:
        """The summary as it may be shown: one line, at most :data:`SUMMARY_CHARS`."""
        return clip(" ".join(self.summary.split()))

    def logged(self) -> str:
        """Summary and detail on one log line."""
        summary = " ".join(self.summary.split())
        if not self.detail or self.detail == summary:
            return summary
        if self.detail.startswith(summary):
            return self.detail
        return f"{summary} ({self.detail})"

    __str__ = logged


def clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(_ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:(") + _ELLIPSIS


#: Failures that usually pass by themselves: a code action is worth running again soon.
_PASSING = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.SERVER,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.BAD_RESPONSE,
    }
)


def explain(error: ApiError, endpoint: Endpoint, *, action: str | None = None) -> Notice:
    """What happened (the summary, one short line) and what to do (the detail).

    Completions retry by themselves, so their messages say so; a code action (``action``,
    its title) does not, so its message says to run it again instead.
    """
    what, todo, detail = _described(error, endpoint)
    if action:
        if error.kind is ErrorKind.INVALID and error.reason:
            what = _refused(error)
        again = " Retry soon." if error.kind in _PASSING else ""
        return Notice(clip(f"{action} failed. {what}.{again}"), detail)
    return Notice(clip(what + todo), detail)


def _refused(error: ApiError) -> str:
    """What an action's refused request says: ``Refused (HTTP 400): <the API's reason>``.

    A 400/422 is about what was sent (a prompt over the model's context, a model the key may
    not use), which only the API's reason tells: "Codestral refused the request" alone left
    the user guessing what to change.
    """
    status = f" (HTTP {error.status})" if error.status else ""
    return f"Refused{status}: {(error.reason or '').rstrip('.')}"


def in_brief(error: ApiError, endpoint: Endpoint) -> str:
    """What happened, without what to do: "The Codestral API is failing (HTTP 503)", for a
    sentence that already names Codestral ("Codestral paused ...: ...")."""
    return clip(_described(error, endpoint)[0].removeprefix("Codestral: "))


def _described(error: ApiError, endpoint: Endpoint) -> tuple[str, str, str]:
    """(what happened, what to do as the end of that sentence, the detail for the log)."""
    reason = str(error)
    base_url = endpoint.base_url
    status = f" (HTTP {error.status})" if error.status else ""
    host = urlsplit(base_url).netloc or base_url
    kind = error.kind
    if kind is ErrorKind.BUSY:
        what = "Too many requests to Codestral at once"
        todo = "; the next one asks again."
        detail = f"{reason}."
    elif kind is ErrorKind.CA_BUNDLE:
        what = f"Codestral cannot load the {reason}"
        todo = "."
        detail = (
            f"Fix or unset that variable where the editor starts: nothing is sent to {host} "
            "until the bundle loads."
        )
    elif kind is ErrorKind.AUTH:
        # A key kept back is not a key rejected: say which, and how to fix that one.
        what, detail = key_advice(endpoint)
        todo, detail = ".", f"{detail} ({reason})"
    elif kind is ErrorKind.RATE_LIMITED:
        what = f"Codestral is rate-limiting requests{status}"
        todo = "; completions pause and resume by themselves."
        if endpoint.host in MISTRAL_HOSTS:
            detail = (
                f"{reason}. If it keeps happening, check your plan's limits on console.mistral.ai."
            )
        else:  # a gateway's limit, usually shared by a whole team
            detail = f"{reason}. The limit is {endpoint.host}'s, shared by everyone who uses it."
    elif kind is ErrorKind.SERVER:
        what = f"The Codestral API is failing{status}"
        todo = "; completions resume when it recovers."
        detail = f"{reason}. Nothing to do on your side."
    elif kind is ErrorKind.NOT_FOUND and error.missing_route:
        what = f"Codestral: no {error.missing_route} route at {endpoint.host} (chat works)"
        todo = ": see the log."
        detail = reason
    elif kind is ErrorKind.NOT_FOUND and error.status and 300 <= error.status < 400:
        what = f"The API at {host} redirects elsewhere{status}"
        todo = ": check the apiBase setting."
        detail = f"{reason}. Set apiBase to the address it redirects to, if you trust it."
    elif kind is ErrorKind.NOT_FOUND:
        what = f"No Codestral API at {host}{status}"
        todo = ": check the apiBase and model settings."
        detail = f"{reason}. apiBase is {base_url}."
    elif kind is ErrorKind.INVALID:
        what = f"Codestral refused the request{status}"
        todo = ": check the model and settings."
        detail = f"{reason}."
    elif kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK):
        what = f"Cannot reach Codestral at {host}"
        todo = "; completions resume when it answers."
        detail = f"{reason}. Check the network (and HTTPS_PROXY if you use a proxy)."
        if len(what) + len(reason) < SUMMARY_CHARS - 3:
            what, todo = f"{what}: {reason}", "."  # the reason says more than the reassurance
            detail += " Completions resume by themselves when it answers."
    else:
        what = "Codestral answered something unexpected"
        todo = ": check the apiBase setting."
        detail = f"{reason}. apiBase is {base_url}."
    return what, todo, detail


__all__ = ["SUMMARY_CHARS", "Notice", "clip", "explain", "in_brief"]
