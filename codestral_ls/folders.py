"""Where the server keeps files of its own on this machine: its state (the usage statistics)
and its cache (the start-up cache), by the XDG base directory rules.

A variable of ours (``CODESTRAL_LS_STATE_DIR``, ``CODESTRAL_LS_CACHE_DIR``; a leading ``~``
is the home directory, as in a shell, since editors pass environments without one) wins,
then the XDG variable, each only when it is an absolute path (the XDG specification says to
ignore relative ones; ours follow the same rule), then the usual folder under the home
directory. When there is no home directory to be found (a service account without one),
there is no folder: ``None``. A relative path is never used: it would be a folder in
whatever project the editor was started in (``~/x`` taken literally made one named ``~``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP = "codestral-ls"


def _folder(environ: Mapping[str, str] | None, ours: str, xdg: str, *default: str) -> Path | None:
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or os.path.expanduser("~")  # else the password database
    chosen = environ.get(ours, "")
    if chosen.startswith("~") and os.path.isabs(home):
        chosen = home + chosen[1:] if chosen[1:2] in ("", "/", os.sep) else chosen
    if os.path.isabs(chosen):
        return Path(chosen)
    base = environ.get(xdg, "")
    if os.path.isabs(base):
        return Path(base) / APP
    if not os.path.isabs(home):
        return None
    return Path(home, *default, APP)


def state_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$CODESTRAL_LS_STATE_DIR``, else ``$XDG_STATE_HOME/codestral-ls``, else
    ``~/.local/state/codestral-ls``."""
    return _folder(environ, "CODESTRAL_LS_STATE_DIR", "XDG_STATE_HOME", ".local", "state")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$CODESTRAL_LS_CACHE_DIR``, else ``$XDG_CACHE_HOME/codestral-ls``, else
    ``~/.cache/codestral-ls``."""
    return _folder(environ, "CODESTRAL_LS_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
