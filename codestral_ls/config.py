"""User settings: one typed, documented field each, read from the editor's options.

Editors send settings in ``initializationOptions`` and later in
``workspace/didChangeConfiguration``, either flat or under a ``"codestral"`` key, in camelCase
(``maxTokens``) or snake_case (``max_tokens``). Every field below carries its default, its
valid range and a one-line description; the README's settings table is generated from the
same metadata (``python -m codestral_ls.config``), and a test keeps the two in step.

An invalid value never stops the server: the field keeps its default, and the problem is
returned so the server can tell the user once, in one message.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_NAMESPACE = "codestral"


def setting(
    default: Any,
    doc: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
) -> Any:
    """A settings field: its default, a description for the README, and its valid values."""
    metadata = {"doc": doc, "min": minimum, "max": maximum, "choices": choices, "secret": secret}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """What the user can configure. Names are snake_case here, camelCase in editors."""

    # -- endpoint ---------------------------------------------------------------------------
    api_key: str | None = setting(
        None,
        "API key. Prefer the environment (`CODESTRAL_API_KEY`, or `MISTRAL_API_KEY` for "
        "api.mistral.ai); a key set here wins over both.",
        secret=True,
    )
    api_base: str | None = setting(
        None,
        "Base URL up to and including `/v1` (`/fim/completions` is appended). Default: "
        "`CODESTRAL_API_BASE`, else `https://codestral.mistral.ai/v1` (or "
        "`https://api.mistral.ai/v1` when only `MISTRAL_API_KEY` is set).",
    )
    self_hosted_api_key: str | None = setting(
        None,
        "Key for a gateway or self-hosted server (any host but Mistral's); or "
        "`CODESTRAL_SELF_HOSTED_API_KEY`. Your Mistral key goes to an `apiBase` set here only on "
        "Mistral's hosts, loopback and `CODESTRAL_ALLOWED_HOSTS`.",
        secret=True,
    )
    # -- the FIM request ---------------------------------------------------------------------
    model: str = setting("codestral-latest", "FIM model.")
    max_tokens: int = setting(128, "Most tokens one completion may cost.", minimum=1, maximum=4096)
    min_tokens: int | None = setting(
        None, "Fewest tokens the model must write (unset: the API's default).", minimum=0
    )
    temperature: float = setting(
        0.0,
        "Sampling temperature; 0 is deterministic, which also makes caching exact.",
        minimum=0.0,
        maximum=1.5,
    )
    top_p: float = setting(1.0, "Nucleus sampling mass.", minimum=0.0, maximum=1.0)
    random_seed: int | None = setting(None, "Seed for sampling (unset: the API's).", minimum=0)
    stop: list[str] = setting([], "Extra stop strings sent with every FIM request.")
    stream: bool = setting(
        True,
        "Stream answers and close the stream as soon as the completion is whole (saves time "
        "and tokens). Off: wait for the full JSON answer.",
    )
    # -- what is sent ------------------------------------------------------------------------
    max_prefix_chars: int = setting(
        12000,
        "Budget of text before the cursor, cut at line starts.",
        minimum=0,
        maximum=2_000_000,
    )
    max_suffix_chars: int = setting(
        4000, "Budget of text after the cursor, cut at line ends.", minimum=0, maximum=2_000_000
    )
    # -- repository context ------------------------------------------------------------------
    context_chars: int = setting(
        3000,
        "Budget of code from other workspace files put at the start of the prompt, as comments "
        "under a `Path:` header; taken from `maxPrefixChars`, so requests do not grow. 0: off.",
        minimum=0,
        maximum=100_000,
    )
    context_sources: list[str] = setting(
        ["imports", "index", "openTabs", "recentEdits"],
        "Where that code comes from: `imports` (definitions of names imported from the "
        "workspace), `index` (a workspace index: definitions of other names used near the "
        "cursor, and look-alike code), `openTabs` (look-alike code in other open files), "
        "`recentEdits` (ranges edited lately in other open files).",
    )
    context_index_max_files: int = setting(
        5000,
        "Most files the workspace index reads (in the background, from the workspace folders; "
        "`.gitignore` and `excludeGlobs` respected).",
        minimum=0,
        maximum=200_000,
    )
    # -- what is shown -----------------------------------------------------------------------
    multiline: str = setting(
        "auto",
        "`auto`: multi-line on an empty line or after a block opener, else finish the line; "
        "`always`; `never`.",
        choices=("auto", "always", "never"),
    )
    max_lines: int = setting(
        16, "Most lines one multi-line completion may have.", minimum=1, maximum=500
    )
    alternatives: int = setting(
        3,
        "Suggestions offered when you ask for one explicitly (an invoked inline request, e.g. "
        "the Neovim plugin's next/previous keys), fetched at once; automatic requests fetch one.",
        minimum=1,
        maximum=5,
    )
    # -- scheduling --------------------------------------------------------------------------
    debounce_ms: int = setting(
        150,
        "Quiet time after the last keystroke before an automatic request goes out; with "
        "`adaptive_debounce` the starting value, learnt from the typing rhythm after that.",
        minimum=0,
        maximum=5000,
    )
    adaptive_debounce: bool = setting(
        True, "Learn the debounce from the user's own keystroke gaps (Tabby-style)."
    )
    debounce_min_ms: int = setting(
        60, "Lower bound of the adaptive debounce.", minimum=0, maximum=5000
    )
    debounce_max_ms: int = setting(
        400, "Upper bound of the adaptive debounce.", minimum=0, maximum=5000
    )
    cache_size: int = setting(512, "Completions kept in memory (LRU).", minimum=0, maximum=100_000)
    cache_ttl_seconds: float = setting(
        300.0, "How long a cached completion stays valid.", minimum=0.0, maximum=86_400.0
    )
    # -- network -----------------------------------------------------------------------------
    completion_timeout_ms: int = setting(
        5000,
        "Deadline for one completion request, connect to last byte.",
        minimum=100,
        maximum=120_000,
    )
    connect_timeout_ms: int = setting(
        3000, "Deadline for opening a connection.", minimum=100, maximum=60_000
    )
    # -- chat ---------------------------------------------------------------------------------
    chat_model: str = setting(
        "codestral-latest", "Chat model for the code actions (Explain, Refactor, Fix, ...)."
    )
    chat_max_tokens: int = setting(
        2048, "Most tokens one code-action answer may cost.", minimum=1, maximum=32_768
    )
    chat_temperature: float = setting(
        0.2, "Sampling temperature of the code actions.", minimum=0.0, maximum=1.5
    )
    chat_timeout_ms: int = setting(
        120_000,
        "Deadline for one code-action answer, and the longest wait between two of its pieces.",
        minimum=1000,
        maximum=600_000,
    )
    code_actions: list[str] = setting(
        ["explain", "refactor", "fix", "docstring", "tests", "custom", "reply"],
        "Code actions offered: any of `explain`, `refactor`, `fix`, `docstring`, `tests`, "
        "`custom`, `reply` (chat in `*.codestral.md` files).",
    )
    system_prompts: dict[str, str] = setting(
        {},
        "System prompt per code action, replacing the built-in one: an object from action id "
        '(as in `codeActions`, plus `chat`) to text, e.g. `{"explain": "Answer in French."}`.',
    )
    chat_context_lines: int = setting(
        40,
        "Lines of surrounding code sent with a selection, above and below each.",
        minimum=0,
        maximum=2000,
    )
    # -- switches ----------------------------------------------------------------------------
    enable: bool = setting(True, "Turn completions on or off.")
    disabled_languages: list[str] = setting(
        [], "Language ids (as the editor names them) that get no completions."
    )
    usage_stats: bool = setting(
        True,
        "Count shown and accepted suggestions, calls and tokens in a file on this machine "
        "(never sent anywhere); `codestral-ls stats` prints them.",
    )
    # -- privacy -----------------------------------------------------------------------------
    exclude_globs: list[str] = setting(
        [],
        "Files never sent to the API (no completions, no code actions), added to the built-in "
        "credential globs (`.env*`, `*.pem`, `.aws/*`, `.npmrc`, ... listed in the README); "
        "`!glob` removes a built-in one. Globs match the file name, or the path's tail when "
        "they contain `/` (`dir/*`: anything below `dir`); `*` never matches `/`; case is "
        "ignored.",
    )
    mask_secrets: bool = setting(
        True,
        "Replace credentials found in the text sent (provider tokens, URL passwords, "
        "`Authorization` values, values of credential names, private keys) by `<secret>` "
        "before it leaves, and send nothing of a file made mostly of them.",
    )

    @classmethod
    def from_options(
        cls, options: object, base: Settings | None = None, *, carrying_on: bool = True
    ) -> tuple[Settings, list[str]]:
        """Read editor options on top of ``base``; return the settings and the problems found.

        A bad value keeps the default and adds one line to the problems; unknown keys are
        reported too, since they are almost always a typo of a real setting. The lines say
        what is used instead, as the server carries on; a caller that stops at a problem
        (``codestral-ls complete``) passes ``carrying_on=False`` so they do not say it.
        """
        base = base or cls()
        values = _namespace(options)
        if values is None:
            return base, []
        known = {_camel(f.name): f for f in dataclasses.fields(cls)}
        known.update({f.name: f for f in dataclasses.fields(cls)})
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for key, raw in values.items():
            spec = known.get(key)
            if spec is None:
                problems.append(f"unknown setting '{key}'" + (" (ignored)" if carrying_on else ""))
                continue
            try:
                changes[spec.name] = _convert(spec, raw)
            except ValueError as error:
                default = getattr(cls(), spec.name)
                if spec.metadata.get("secret"):
                    # The error text holds the value: a key set as a Lua table or an object
                    # would reach the pop-up and the logs. Name the setting, never its value.
                    problems.append(f"'{_camel(spec.name)}' must be a string (value not shown)")
                else:
                    instead = f"; using the default {default!r}" if carrying_on else ""
                    problems.append(f"'{_camel(spec.name)}' {error}{instead}")
                changes[spec.name] = default
        return dataclasses.replace(base, **changes), problems


def secret_strings(options: object) -> list[str]:
    """Every string inside the key settings of ``options``, whatever their JSON type.

    A key given as a Lua table (``apiKey = { "..." }``) or an object is not a valid setting,
    but its strings are still the user's key: the log scrubber must know them before
    anything (pygls's own debug log of the initialize parameters) writes them.
    """
    values = _namespace(options)
    if values is None:
        return []
    found: list[str] = []
    for spec in dataclasses.fields(Settings):
        if spec.metadata.get("secret"):
            for key in (spec.name, _camel(spec.name)):
                _collect_strings(values.get(key), found)
    return found


def _collect_strings(value: object, found: list[str], depth: int = 0) -> None:
    if isinstance(value, str):
        found.append(value)
    elif depth < 8 and isinstance(value, Mapping):
        for item in value.values():
            _collect_strings(item, found, depth + 1)
    elif depth < 8 and isinstance(value, (list, tuple)):
        for item in value:
            _collect_strings(item, found, depth + 1)


def _namespace(options: object) -> Mapping[str, Any] | None:
    if not isinstance(options, Mapping):
        return None
    nested = options.get(_NAMESPACE)
    if isinstance(nested, Mapping):
        return nested
    return options


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _convert(spec: dataclasses.Field[Any], raw: Any) -> Any:
    """Check and convert one raw JSON value for ``spec``; ValueError says what is wrong."""
    hint = _type_hints()[spec.name]
    is_union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    members = typing.get_args(hint) if is_union else (hint,)
    if raw is None:
        if type(None) in members:
            return None
        raise ValueError("must not be null")
    target = next(t for t in members if t is not type(None))
    value = _coerce(target, raw)
    meta = spec.metadata
    if meta.get("choices") and value not in meta["choices"]:
        raise ValueError(f"must be one of {', '.join(meta['choices'])}, not {raw!r}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ValueError(f"must be at least {meta['min']}, not {raw!r}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ValueError(f"must be at most {meta['max']}, not {raw!r}")
    return value


@functools.cache
def _type_hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _coerce(target: Any, raw: Any) -> Any:
    if target is bool:
        if isinstance(raw, bool):
            return raw
        raise ValueError(f"must be true or false, not {raw!r}")
    if target is int:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != int(raw):
            raise ValueError(f"must be a whole number, not {raw!r}")
        return int(raw)
    if target is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"must be a number, not {raw!r}")
        return float(raw)
    if target is str:
        if not isinstance(raw, str):
            raise ValueError(f"must be a string, not {raw!r}")
        return raw
    if typing.get_origin(target) is list:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise ValueError(f"must be a list of strings, not {raw!r}")
        return list(raw)
    if typing.get_origin(target) is dict:
        if not isinstance(raw, Mapping):
            raise ValueError(f"must be an object, not {raw!r}")
        if typing.get_args(target) == (str, str) and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
        ):
            raise ValueError(f"must map strings to strings, not {raw!r}")
        return dict(raw)
    raise ValueError(f"has an unsupported type {target!r}")


def settings_table() -> str:
    """The README's settings table, made from the fields' metadata."""
    rows = ["| setting | default | description |", "| --- | --- | --- |"]
    defaults = Settings()
    for spec in dataclasses.fields(Settings):
        default = getattr(defaults, spec.name)
        shown = "unset" if default is None else f"`{default!r}`".replace("'", '"')
        if isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        rows.append(f"| `{_camel(spec.name)}` | {shown} | {spec.metadata['doc']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
