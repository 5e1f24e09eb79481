"""The user's run-time on/off switches: ``:Codestral toggle`` and the ``codestral.toggle``
LSP command that mirrors it in every editor.

The ``enable`` setting is the configured default; these switches are what the user flips
while working (globally, or for one file) and last until the server exits. A switched-off
file gets no completion and no upstream call; code actions stay available, since the user
asks for those explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The LSP command (``workspace/executeCommand``) that flips a switch; its argument is an
#: object ``{"action": "enable" | "disable" | "toggle" | "status", "uri": "..."}`` (``uri``
#: absent: the global switch). It answers the status of that scope.
TOGGLE_COMMAND = "codestral.toggle"

ACTIONS = ("enable", "disable", "toggle", "status")


@dataclass
class Switches:
    """Globally off, or off for some documents."""

    globally_off: bool = False
    off: set[str] = field(default_factory=set)

    def allows(self, uri: str) -> bool:
        return not self.globally_off and uri not in self.off

    def apply(self, action: str, uri: str | None) -> None:
        """Flip the global switch (``uri`` None) or one document's; ``status`` changes
        nothing. ValueError for an unknown action."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
        if action == "status":
            return
        currently_on = not self.globally_off if uri is None else uri not in self.off
        turn_on = {"enable": True, "disable": False, "toggle": not currently_on}[action]
        if uri is None:
            self.globally_off = not turn_on
        elif turn_on:
            self.off.discard(uri)
        else:
            self.off.add(uri)

    def forget(self, uri: str) -> None:
        """A closed document starts afresh when it is opened again."""
        self.off.discard(uri)


def parse_arguments(arguments: object) -> tuple[str, str | None]:
    """The (action, uri) of a ``codestral.toggle`` call; editors send the object as the
    first argument (Neovim, VS Code) or, from a key binding, a bare action string."""
    first = arguments[0] if isinstance(arguments, (list, tuple)) and arguments else arguments
    if isinstance(first, str):
        return first, None
    if isinstance(first, Mapping):
        action = first.get("action", "toggle")
        uri = first.get("uri")
        if isinstance(action, str) and (uri is None or isinstance(uri, str)):
            return action, uri
    if first is None or first == []:
        return "toggle", None
    raise ValueError('expected {"action": "enable|disable|toggle|status", "uri": "..."}')
