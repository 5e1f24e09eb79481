"""``codestral-ls complete``: one completion in the terminal, through the same engine.

Useful to try a key and an endpoint without an editor, and for scripts. Lines and columns
count from 1, columns in characters, as compilers and editors' status lines show them.
Settings come as editors pass them (``--settings``, JSON text or a file) and from the
environment, the same as the server's (``CODESTRAL_API_KEY``, ``CODESTRAL_API_BASE``...).

Scripts get an exit status they can act on, and people one line on stderr saying what failed,
where, and what to do about it:

* 0: a completion, printed on stdout;
* 1: the model had nothing to add here;
* 2: a configuration problem (no key, a rejected key, a bad setting, a wrong URL): a retry
  will not help, a change will;
* 3: the API or the network failed (429, 5xx, timeout, refused, a malformed answer): try
  again later;
* 4: nothing was asked, on purpose: the settings turn Codestral off (``enable``,
  ``disabledLanguages``), or this file or the text at the cursor is never sent
  (``excludeGlobs``, ``maskSecrets``). The line on stderr says which, in the words the
  server's status uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from codestral_ls import logs, privacy
from codestral_ls.config import Settings
from codestral_ls.documents import Document, PositionEncoding
from codestral_ls.endpoint import (
    CODESTRAL_HOST,
    PLATFORM_HOSTS,
    SELF_HOSTED_ENV,
    Endpoint,
    resolve_endpoint,
)
from codestral_ls.engine import CompletionEngine
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.languages import language_from_path
from codestral_ls.status import Inputs, describe, document_status
from codestral_ls.upstream import Upstream

#: Exit statuses (see the module's docstring).
COMPLETED, NOTHING, CONFIGURATION, UNAVAILABLE, NOT_ASKED = 0, 1, 2, 3, 4

#: Why nothing is sent from here when the server's status has no words for it (it tells
#: files, not the cursor).
AT_A_SECRET = "The cursor is in a secret, which is never sent to Codestral (maskSecrets)"

#: Failures a change of settings, key or URL fixes; the others pass by themselves.
_CONFIGURATION_KINDS = frozenset(
    {ErrorKind.AUTH, ErrorKind.NOT_FOUND, ErrorKind.INVALID, ErrorKind.CA_BUNDLE}
)


class _Failure(Exception):
    """A failure told to the user: one line, and the exit status."""

    def __init__(self, line: str, status: int) -> None:
        super().__init__(line)
        self.status = status


def run_complete(args: argparse.Namespace) -> int:
    """Print the completion at ``args.line``/``args.column`` of ``args.file``; the exit status
    and the line on stderr say why there is none (see the module's docstring)."""
    try:
        completion = _run(args)
    except _Failure as failure:
        print(f"codestral-ls: {failure}", file=sys.stderr)
        return failure.status
    if completion is None:
        return NOTHING
    sys.stdout.write(completion + ("" if completion.endswith("\n") else "\n"))
    return COMPLETED


def _run(args: argparse.Namespace) -> str | None:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _Failure(f"cannot read {path}: {error}", CONFIGURATION) from None
    document = Document(
        path.resolve().as_uri(),
        text,
        language_id=args.language or language_from_path(path.name),
        encoding=PositionEncoding.UTF32,
    )
    if not document.is_valid_position(args.line - 1, args.column - 1):
        raise _Failure(f"{path} has no line {args.line}, column {args.column}", CONFIGURATION)
    options = read_settings(args.settings)
    if args.multiline is not None:
        options["multiline"] = args.multiline
    # A bad setting stops here (exit 2) rather than running with the default the server
    # would use: a script's settings are read once, and nobody watches for a warning.
    settings, problems = Settings.from_options(options, carrying_on=False)
    logs.SCRUBBER.add(settings.api_key)
    logs.SCRUBBER.add(settings.self_hosted_api_key)
    if problems:
        raise _Failure(
            f"--settings: {'; '.join(problems)} (fix and try again; nothing was asked)",
            CONFIGURATION,
        )
    endpoint = resolve_endpoint(settings, os.environ)
    reason = why_nothing_is_asked(settings, endpoint, document, args.line - 1, args.column - 1)
    if reason is not None:
        raise _Failure(f"{path}: {reason}", NOT_ASKED)
    if not endpoint.usable:
        raise _Failure(for_a_shell(str(endpoint.problem)), CONFIGURATION)
    failures: list[ApiError] = []
    completion = asyncio.run(_complete(settings, endpoint, document, args, failures))
    if completion is None and failures:
        error = failures[-1]
        status = CONFIGURATION if error.kind in _CONFIGURATION_KINDS else UNAVAILABLE
        raise _Failure(explain_for_a_shell(error, endpoint, settings), status)
    return completion


def why_nothing_is_asked(
    settings: Settings, endpoint: Endpoint, document: Document, line: int, column: int
) -> str | None:
    """Why the engine would send nothing from this position, or ``None``. Without this, a
    script would read "the model had nothing to add" where the model was never asked.

    The server's status says it for the settings and the file (status.py), ranked as there:
    Codestral off everywhere first, then a missing key (``None``: the caller explains it),
    then this file (a credentials file included); then a secret at the cursor."""
    board = describe(
        Inputs(
            enabled_setting=settings.enable,
            switched_off=False,
            endpoint_problem=None if endpoint.usable else str(endpoint.problem),
            pause_remaining=0.0,
            failures=0,
            calls_running=0,
        ),
        now=0.0,
    )
    language = document.language_id
    seen = document_status(
        board,
        switched_off=False,
        language_disabled=language if language in settings.disabled_languages else None,
        excluded=privacy.is_excluded(document.uri, settings.exclude_globs),
        credentials=settings.mask_secrets and privacy.mostly_secrets(document.lines),
    )
    if seen.state == "disabled":
        return seen.message
    if seen.state == "no-key" or not settings.mask_secrets:
        return None
    text = document.line_text(line)
    if privacy.cursor_in_secret(text[:column], text[column:]):
        return AT_A_SECRET
    return None


def read_settings(value: str | None) -> dict[str, Any]:
    """``--settings``: a JSON object, given as text or as the path of a file holding it."""
    if value is None:
        return {}
    text = value
    if not value.lstrip().startswith(("{", "[")):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise _Failure(
                f"--settings wants JSON text or a JSON file; cannot read {value}: {error}",
                CONFIGURATION,
            ) from None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise _Failure(f"--settings is not valid JSON: {error}", CONFIGURATION) from None
    if not isinstance(options, dict):
        raise _Failure('--settings must be a JSON object, e.g. \'{"model": "..."}\'', CONFIGURATION)
    return options


def for_a_shell(advice: str) -> str:
    """The server's advice, which speaks of the editor's environment, for a shell user."""
    return advice.replace("in the editor's environment", "in the environment (export it)")


def explain_for_a_shell(error: ApiError, endpoint: Endpoint, settings: Settings) -> str:
    """One line for a terminal user: what failed, at which URL, and what to do now."""
    url = f"{endpoint.base_url}/fim/completions"
    host = endpoint.host
    reason = str(error)
    kind = error.kind
    if kind is ErrorKind.CA_BUNDLE:
        return f"cannot load the {reason}: fix or unset that variable (nothing was sent to {url})"
    if kind is ErrorKind.AUTH:
        if endpoint.withheld:
            return (
                f"{url} asks for a key ({reason}) and {endpoint.withheld} was not sent: a base "
                f"URL from --settings gets a Mistral key only on Mistral's hosts. Export "
                f"CODESTRAL_ALLOWED_HOSTS={host} to send it, or give {host} its own key with "
                f"{SELF_HOSTED_ENV} (or selfHostedApiKey in --settings)"
            )
        if endpoint.api_key is None:
            return (
                f"{url} asks for a key ({reason}): export {SELF_HOSTED_ENV}=<its key> (or "
                "pass selfHostedApiKey in --settings)"
            )
        if host in PLATFORM_HOSTS:
            hint = f"{host} takes La Plateforme keys (MISTRAL_API_KEY), not Codestral keys"
        elif host == CODESTRAL_HOST:
            hint = f"{host} takes Codestral keys (CODESTRAL_API_KEY), not La Plateforme keys"
        else:
            hint = "check it with whoever runs that gateway"
        return f"{url} rejected the key from {endpoint.key_source} ({reason}): {hint}"
    if kind is ErrorKind.NOT_FOUND:
        if error.missing_route:
            return reason  # which route is missing, and what to use instead
        return (
            f"nothing at {url} ({reason}): check the base URL (CODESTRAL_API_BASE or apiBase, "
            f"up to and including /v1) and the model ({settings.model})"
        )
    if kind is ErrorKind.INVALID:
        return (
            f"{url} refused the request ({reason}): check the model ({settings.model}) and settings"
        )
    if kind is ErrorKind.RATE_LIMITED:
        wait = f"{error.retry_after:g} s" if error.retry_after is not None else "a minute"
        return (
            f"{url} is rate-limiting requests ({reason}): try again in {wait}; if it keeps "
            "happening, check the plan's or the gateway's limits"
        )
    if kind is ErrorKind.SERVER:
        return f"{url} is failing ({reason}): nothing to fix on your side, try again later"
    if kind is ErrorKind.TIMEOUT:
        return (
            f"no answer from {url} in time ({reason}): check the network (and HTTPS_PROXY), try "
            "again, or allow more time with --settings '{\"completionTimeoutMs\": 15000}'"
        )
    if kind is ErrorKind.NETWORK:
        return (
            f"cannot reach {url} ({reason}): check the base URL (CODESTRAL_API_BASE or "
            "apiBase), the network and HTTPS_PROXY, then try again"
        )
    return (
        f"{url} answered something that is not a completion ({reason}): check that the base "
        "URL points to a Codestral API, up to and including /v1, and try again"
    )


async def _complete(
    settings: Settings,
    endpoint: Endpoint,
    document: Document,
    args: argparse.Namespace,
    failures: list[ApiError],
) -> str | None:
    upstream = Upstream(settings, endpoint)
    engine = CompletionEngine(settings, upstream)
    engine.on_failure = failures.append
    try:
        cursor = document.cursor(args.line - 1, args.column - 1)
        completion = await engine.complete(document, cursor, invoked=True)
        return None if completion is None else completion.text
    finally:
        await engine.aclose()
        await upstream.aclose()
