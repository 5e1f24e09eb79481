"""Where the server keeps its own files (codestral_ls/folders.py): our variable, then an
absolute XDG variable, then the home directory; no folder at all without a home."""

from __future__ import annotations

from pathlib import Path

from codestral_ls import folders


def test_our_variable_then_xdg_then_home() -> None:
    home = {"HOME": "/home/ada"}
    assert folders.cache_dir({**home, "CODESTRAL_LS_CACHE_DIR": "/x"}) == Path("/x")
    assert folders.cache_dir({**home, "XDG_CACHE_HOME": "/c"}) == Path("/c/codestral-ls")
    assert folders.cache_dir(home) == Path("/home/ada/.cache/codestral-ls")
    assert folders.state_dir({**home, "CODESTRAL_LS_STATE_DIR": "/s"}) == Path("/s")
    assert folders.state_dir({**home, "XDG_STATE_HOME": "/st"}) == Path("/st/codestral-ls")
    assert folders.state_dir(home) == Path("/home/ada/.local/state/codestral-ls")


def test_a_relative_xdg_variable_is_ignored_as_the_specification_says() -> None:
    environ = {"HOME": "/home/ada", "XDG_CACHE_HOME": "cache", "XDG_STATE_HOME": "."}
    assert folders.cache_dir(environ) == Path("/home/ada/.cache/codestral-ls")
    assert folders.state_dir(environ) == Path("/home/ada/.local/state/codestral-ls")


def test_without_a_home_directory_there_is_no_folder_not_one_named_tilde() -> None:
    assert folders.cache_dir({"HOME": "~"}) is None
    assert folders.state_dir({"HOME": "relative/home"}) is None


def test_our_variables_take_a_home_tilde_and_never_a_relative_path() -> None:
    home = {"HOME": "/home/ada"}
    assert folders.cache_dir({**home, "CODESTRAL_LS_CACHE_DIR": "~/c"}) == Path("/home/ada/c")
    assert folders.state_dir({**home, "CODESTRAL_LS_STATE_DIR": "~"}) == Path("/home/ada")
    # Relative (an editor's environment, no shell to expand it): as if unset.
    for relative in ("state", "./s", "~bob/s"):
        assert folders.state_dir({**home, "CODESTRAL_LS_STATE_DIR": relative}) == Path(
            "/home/ada/.local/state/codestral-ls"
        )
    assert folders.cache_dir({"HOME": "nowhere", "CODESTRAL_LS_CACHE_DIR": "~/c"}) is None
