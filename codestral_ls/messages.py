"""What the user reads when the API fails: what happened, and what to do about it."""

from __future__ import annotations

import logging

from codestral_ls.endpoint import Endpoint, key_advice
from codestral_ls.errors import ApiError, ErrorKind

log = logging.getLogger(__name__)


def explain(error: ApiError, endpoint: Endpoint, *, action: str | None = None) -> str:
    """What happened and what to do, for a ``window/showMessage``.

    Completions retry by themselves, so their messages say so; a code action (``action``,
    its title) does not, so its message says to run it again instead.
    """
    reason = str(error)
    base_url = endpoint.base_url
    again = f"Run {action} again" if action else ""
    if error.kind is ErrorKind.AUTH:
        # A key kept back is not a key rejected: say which, and how to fix that one.
        short, detail = key_advice(endpoint)
        log.warning("%s (%s)", detail, reason)
        return f"{short}."
    if error.kind is ErrorKind.RATE_LIMITED:
        retry = f"{again} in a moment" if action else "Completions pause and resume by themselves"
        return (
            f"Codestral is rate-limiting requests ({reason}). {retry}; if this keeps "
            "happening, check your plan's limits on console.mistral.ai."
        )
    if error.kind is ErrorKind.SERVER:
        retry = (
            f"{again} in a moment."
            if action
            else "completions pause and resume by themselves when it recovers."
        )
        return f"The Codestral API is failing ({reason}). Nothing to do on your side: {retry}"
    if error.kind is ErrorKind.NOT_FOUND:
        if error.missing_route:
            log.warning("%s", reason)
            return f"No {error.missing_route} route at {endpoint.host} (chat works): see the log."
        return f"No Codestral API at {base_url} ({reason}): check the apiBase and model settings."
    if error.kind is ErrorKind.INVALID:
        return f"Codestral refused the request ({reason}): check the model and settings."
    if error.kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK):
        retry = (
            f"{again} when it answers."
            if action
            else "completions resume by themselves when it answers."
        )
        return (
            f"Cannot reach Codestral at {base_url}: {reason}. Check the network (and "
            f"HTTPS_PROXY if you use a proxy); {retry}"
        )
    retry = (
        f"{again}; if it persists"
        if action
        else "Completions pause and retry by themselves; if it persists"
    )
    return (
        f"Codestral answered something unexpected ({reason}). {retry}, check the apiBase setting."
    )
