-- Drives headless Neovim 0.12 through the plugin's everyday controls, typing keys as a user:
-- accept a word, then a line, of the ghost text; cycle to the second alternative and accept
-- it; :Codestral disable, type, :Codestral enable, type. Writes what it saw to
-- $CODESTRAL_TEST_RESULT as JSON. Every wait is bounded, and a watchdog ends a silent run.
-- The buffer is "def add(a, b):\n    \n\ndef mul(a, b):\n    \n\n" (see test_neovim_controls.py).
local result_file = assert(vim.env.CODESTRAL_TEST_RESULT)
local source_file = assert(vim.env.CODESTRAL_TEST_FILE)
local harness = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local h = harness.new({ result_file = result_file, watchdog_ms = 50000 })
local result, finish, wait_until = h.result, h.finish, h.wait_until

local function ghost(bufnr)
  local shown = harness.ghost_text(bufnr)
  return shown and shown.text
end

local function line(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1]
end

local function upstream_calls(client)
  local answer = client:request_sync("codestral/stats", {}, 60000)
  return answer and answer.result and answer.result.upstream_calls
end

local function insert_at_end(row)
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode on line ' .. row, function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
end

local function leave_insert()
  vim.api.nvim_input('<Esc>')
  wait_until('normal mode', function()
    return vim.api.nvim_get_mode().mode == 'n'
  end)
end

local function statusline_becomes(what, expected)
  return wait_until(what, function()
    return require('codestral').statusline() == expected and expected
  end)
end

--- The statusline follows the state: :Codestral status, then enable, left "Codestral off";
--- a language switched off (then on) by a settings change was shown only after :Codestral
--- status. And asking a file's view costs nothing per suggestion: the idle/waiting flips of a
--- slow answer (the fake delays the first one) send no request.
local function statusline_scenario(bufnr, client)
  local asked, told = 0, {}
  local request = client.request
  client.request = function(self, method, params, ...)
    if method == 'workspace/executeCommand' and params.command == 'codestral.toggle' then
      asked = asked + 1
    end
    return request(self, method, params, ...)
  end
  local on_status = client.handlers['codestral/status']
  client.handlers['codestral/status'] = function(err, status, ...)
    told[#told + 1] = status.state
    return on_status(err, status, ...)
  end
  statusline_becomes('ready', 'Codestral')

  insert_at_end(6)
  vim.api.nvim_input('x = 1')
  result.ghost_slow = wait_until('ghost text after a slow answer', function()
    return ghost(bufnr)
  end)
  wait_until('the server told the call ended', function()
    return told[#told] == 'idle'
  end)
  result.told_while_typing = told
  result.asked_while_typing = asked
  leave_insert()

  vim.cmd('Codestral disable')
  statusline_becomes('off after disable', 'Codestral off')
  vim.cmd('Codestral status')
  wait_until('the status answered', function()
    local own = vim.b[bufnr].codestral_status
    return own and own.state == 'disabled'
  end)
  vim.cmd('Codestral enable')
  result.after_status_enable = statusline_becomes('on after status, enable', 'Codestral')

  local function disable_languages(languages)
    client:notify('workspace/didChangeConfiguration', {
      settings = { codestral = { disabledLanguages = languages } },
    })
  end
  disable_languages({ 'python' })
  result.python_disabled = statusline_becomes('off with python disabled', 'Codestral off')
  disable_languages({})
  result.python_enabled = statusline_becomes('on with python enabled again', 'Codestral')
  finish(true)
end

h.run(function()
  vim.cmd.edit(vim.fn.fnameescape(source_file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = wait_until('client attached', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
  end)
  h.server_ready(client, bufnr)
  if vim.env.CODESTRAL_TEST_SCENARIO == 'statusline' then
    return statusline_scenario(bufnr, client)
  end
  result.mappings = {}
  for _, lhs in ipairs({ '<M-Right>', '<M-C-Right>', '<M-]>', '<M-[>', '<M-\\>', '<C-]>' }) do
    result.mappings[lhs] = vim.fn.maparg(lhs, 'i', false, true).desc
  end

  -- 1. Partial accept: a word, then the rest of the line, of "return a + b".
  insert_at_end(2)
  result.ghost_first = wait_until('ghost text', function()
    local text = ghost(bufnr)
    return text and text:find('a + b', 1, true) and text
  end)
  local calls_before = upstream_calls(client)
  vim.api.nvim_input('<M-Right>')
  result.after_word = wait_until('a word accepted', function()
    return line(bufnr, 2) ~= '    ' and line(bufnr, 2)
  end)
  result.ghost_after_word = wait_until('the rest shown again', function()
    local text = ghost(bufnr)
    return text and text:find('+ b', 1, true) and text
  end)
  vim.api.nvim_input('<M-C-Right>')
  result.after_line = wait_until('the line accepted', function()
    return line(bufnr, 2) ~= result.after_word and line(bufnr, 2)
  end)
  result.calls_for_partial_accepts = upstream_calls(client) - calls_before
  result.cursor_after_line = vim.api.nvim_win_get_cursor(0)
  leave_insert()

  -- 2. Dismiss; ask now (alternatives come with it: 1/3); the next key shows the second.
  insert_at_end(5)
  wait_until('ghost text on mul', function()
    return ghost(bufnr)
  end)
  vim.api.nvim_input('<C-]>')
  result.dismissed = wait_until('ghost text dismissed', function()
    return ghost(bufnr) == nil
  end)
  vim.api.nvim_input('<M-\\>')
  result.ghost_triggered = wait_until('suggestion asked for', function()
    local text = ghost(bufnr)
    return text and text:find('(1/', 1, true) and text
  end)
  vim.api.nvim_input('<M-]>')
  result.ghost_second = wait_until('second alternative shown', function()
    local text = ghost(bufnr)
    return text and text:find('(2/', 1, true) and text
  end)
  vim.api.nvim_input('<Tab>')
  result.accepted_alternative = wait_until('alternative accepted', function()
    return line(bufnr, 5) ~= '    ' and line(bufnr, 5)
  end)
  leave_insert()

  -- 3. :Codestral disable: typing asks nothing; :Codestral enable: ghost text again.
  vim.cmd('Codestral disable')
  result.enabled_after_disable = vim.lsp.inline_completion.is_enabled({ bufnr = bufnr })
  result.statusline_off = wait_until('statusline says off', function()
    local text = require('codestral').statusline()
    return text:find('off', 1, true) and text
  end)
  result.server_state_off = wait_until('the server told disabled', function()
    local current = require('codestral.status').current
    return current and current.state == 'disabled' and current.state
  end)
  local calls_disabled = upstream_calls(client)
  insert_at_end(6)
  vim.api.nvim_input('x = ')
  wait_until('typed while disabled', function()
    return line(bufnr, 6) == 'x = '
  end)
  result.pending_while_disabled = vim.tbl_count(client.requests)
  leave_insert()
  vim.cmd('Codestral enable')
  insert_at_end(6)
  vim.api.nvim_input('1')
  result.ghost_after_enable = wait_until('ghost text after enable', function()
    return ghost(bufnr)
  end)
  result.calls_after_enable = upstream_calls(client) - calls_disabled
  result.statusline_on = wait_until('statusline back on', function()
    local text = require('codestral').statusline()
    return not text:find('off', 1, true) and text
  end)
  leave_insert()

  -- 4. A file that is never sent: the statusline of its window says so.
  vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(vim.fs.dirname(source_file), '.env')))
  vim.bo.filetype = 'sh'
  local env_buffer = vim.api.nvim_get_current_buf()
  result.env_status = wait_until('the .env status', function()
    return vim.b[env_buffer].codestral_status
  end)
  result.env_statusline = require('codestral').statusline()

  -- 5. The usage counts are written when the server is told to shut down, as :qa does; the
  -- server outlives Neovim by a few milliseconds, so stop it here and wait until it has
  -- exited: the test then reads the file after the server wrote it, never before.
  local client_id = client.id
  client:stop()
  wait_until('the server exited', function()
    return vim.lsp.get_client_by_id(client_id) == nil
  end)
  finish(true)
end)
