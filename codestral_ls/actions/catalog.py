"""Which code actions exist, how each one's answer lands in the file, and when it is offered.

Offering an action costs nothing: listing looks only at the document, the selection and the
diagnostics the client sent, and never calls the API. What a picked action needs later travels
in an :class:`ActionRequest`, small JSON the client hands back in ``codeAction/resolve`` or as
the argument of ``workspace/executeCommand``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: listing actions must not import the parsers
    from codestral_ls.actions.target import Target

#: The command clients without ``codeAction/resolve`` run to get the edit applied.
RUN_COMMAND = "codestral.runAction"
#: Longest title a Custom action gets from its instruction.
_TITLE_INSTRUCTION_CHARS = 60


class Placement(str, Enum):
    """Where an answer goes."""

    COMMENT_ABOVE = "comment-above"  # as a comment block above the target
    REPLACE = "replace"  # instead of the target
    TESTS = "tests"  # below the target, or into a test file of its own
    APPEND_REPLY = "append-reply"  # at the end of a chat buffer, under a heading


@dataclass(frozen=True)
class ActionSpec:
    """One action: its id (as in the ``codeActions`` setting), title, LSP kind and placement."""

    id: str
    title: str
    kind: str
    placement: Placement


_SPECS = (
    ActionSpec(
        "explain", "Codestral: Explain", "refactor.codestral.explain", Placement.COMMENT_ABOVE
    ),
    ActionSpec(
        "refactor", "Codestral: Refactor / Improve", "refactor.rewrite.codestral", Placement.REPLACE
    ),
    ActionSpec("fix", "Codestral: Fix", "quickfix.codestral", Placement.REPLACE),
    ActionSpec(
        "docstring",
        "Codestral: Add docstring / documentation comment",
        "refactor.rewrite.codestral.docstring",
        Placement.REPLACE,
    ),
    ActionSpec("tests", "Codestral: Write tests", "refactor.codestral.tests", Placement.TESTS),
    ActionSpec(
        "custom",
        "Codestral: Custom instruction",
        "refactor.rewrite.codestral.custom",
        Placement.REPLACE,
    ),
    ActionSpec("reply", "Codestral: Reply", "refactor.codestral.reply", Placement.APPEND_REPLY),
)
ACTIONS: dict[str, ActionSpec] = {spec.id: spec for spec in _SPECS}
#: Every kind we produce, for ``CodeActionOptions.code_action_kinds``.
ACTION_KINDS: list[str] = ["quickfix", "refactor", "refactor.rewrite"] + [s.kind for s in _SPECS]


@dataclass(frozen=True)
class ActionRequest:
    """What running an action needs: which action, on which document version and range.

    The range is the one the client asked about, in its own position units; the target is found
    again from it when the action runs, against the same document version (or not at all).
    ``diagnostics`` are the client's, reduced to what the prompt uses.
    """

    action: str
    uri: str
    version: int | None
    start: tuple[int, int]
    end: tuple[int, int]
    diagnostics: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "uri": self.uri,
            "version": self.version,
            "range": [list(self.start), list(self.end)],
            "diagnostics": [dict(d) for d in self.diagnostics],
        }

    @classmethod
    def from_json(cls, data: object) -> ActionRequest:
        """Read what a client sent back; ValueError when it is not ours or was mangled."""
        if not isinstance(data, Mapping):
            raise ValueError("the action's data is not an object")
        try:
            action, uri, version = data["action"], data["uri"], data.get("version")
            (start_line, start_char), (end_line, end_char) = data["range"]
            diagnostics = data.get("diagnostics") or []
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the action's data is incomplete ({error})") from None
        numbers = (start_line, start_char, end_line, end_char)
        if action not in ACTIONS or not isinstance(uri, str):
            raise ValueError(f"unknown action {action!r}")
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise ValueError("the action's range is not made of numbers")
        if version is not None and not isinstance(version, int):
            raise ValueError("the action's document version is not a number")
        if not isinstance(diagnostics, list) or not all(
            isinstance(d, Mapping) for d in diagnostics
        ):
            raise ValueError("the action's diagnostics are not a list of objects")
        return cls(
            action, uri, version, (start_line, start_char), (end_line, end_char), tuple(diagnostics)
        )


def enabled_ids(setting: Iterable[str]) -> set[str]:
    """The action ids the ``codeActions`` setting turns on (unknown ids are ignored)."""
    return {name.strip().lower() for name in setting} & ACTIONS.keys()


def offered(
    enabled: set[str],
    target: Target | None,
    *,
    has_diagnostics: bool,
    chat_buffer: bool = False,
    awaiting_reply: bool = False,
) -> list[ActionSpec]:
    """The actions to list, in menu order. A chat buffer gets Reply only."""
    if chat_buffer:
        return [ACTIONS["reply"]] if "reply" in enabled and awaiting_reply else []
    if target is None:
        return []
    wanted = ["fix"] if has_diagnostics else []
    if target.instruction:
        wanted.append("custom")
    wanted += ["refactor", "explain", "docstring", "tests"]
    return [ACTIONS[name] for name in wanted if name in enabled]


def title_of(spec: ActionSpec, target: Target | None) -> str:
    """The menu title; Custom shows its instruction."""
    if spec.id == "custom" and target is not None and target.instruction:
        instruction = target.instruction
        if len(instruction) > _TITLE_INSTRUCTION_CHARS:
            instruction = instruction[: _TITLE_INSTRUCTION_CHARS - 1].rstrip() + "…"
        return f"Codestral: {instruction}"
    return spec.title


def kind_matches(kind: str, only: Sequence[str] | None) -> bool:
    """Whether ``kind`` passes the client's ``context.only`` filter (kinds nest by dots)."""
    if not only:
        return True
    return any(not wanted or kind == wanted or kind.startswith(wanted + ".") for wanted in only)


__all__ = [
    "ACTIONS",
    "ACTION_KINDS",
    "RUN_COMMAND",
    "ActionRequest",
    "ActionSpec",
    "Placement",
    "enabled_ids",
    "kind_matches",
    "offered",
    "title_of",
]
