--- The server's state for the statusline, and :Codestral enable|disable|toggle|status|cancel
--- (cancel: see codestral.progress).
---
--- The server sends `codestral/status` ({state, message, until}) whenever its state changes:
--- idle, waiting (a suggestion is being written), backoff (paused after failures, until a
--- time), no-key, disabled. `require('codestral').statusline()` turns it into a short string:
---
---   vim.o.statusline = '%f %m%=%{v:lua.require("codestral").statusline()} %l:%c'
---   -- lualine: sections = { lualine_x = { require('codestral').statusline } }
local M = {}

local TOGGLE = 'codestral.toggle'

--- Last status the server told, and per-buffer switches this editor flipped.
M.current = nil

local SYMBOLS = {
  idle = 'Codestral',
  waiting = 'Codestral …',
  backoff = 'Codestral ⏸',
  ['no-key'] = 'Codestral ✗ key',
  disabled = 'Codestral off',
  stopped = 'Codestral ✗',
}

--- The state as far as a file's own view goes: idle and waiting flip with every suggestion
--- the server writes, and no file is switched on or off by them.
local function settled(status)
  local state = status and status.state
  return state == 'waiting' and 'idle' or state
end

--- Handler for the `codestral/status` notification. Each buffer's view (b:codestral_status)
--- includes this state: kept from before, a stale "off" stayed in the statusline after
--- :Codestral enable, so the shown buffers ask again when it changes (not for idle/waiting).
function M.on_status(_, result, ctx)
  if type(result) == 'table' and type(result.state) == 'string' then
    local before = M.current
    M.current = result
    local client = ctx and vim.lsp.get_client_by_id(ctx.client_id)
    if client and settled(before) ~= settled(result) then
      M.refresh_shown(client)
    end
    pcall(vim.cmd.redrawstatus)
  end
end

--- The server process ended: what it said last no longer holds. ``why`` (an unexpected end:
--- a crash, a kill) is shown as the state; a normal stop clears it.
function M.stopped(why)
  M.current = why and { state = 'stopped', message = why } or nil
  pcall(vim.cmd.redrawstatus)
end

--- Ask the server how it sees this buffer (a file it never sends, a disabled language, a
--- per-file switch) and keep the answer in b:codestral_status for the statusline.
function M.refresh_buffer(client, bufnr)
  local params = {
    command = TOGGLE,
    arguments = { { action = 'status', uri = vim.uri_from_bufnr(bufnr) } },
  }
  client:request('workspace/executeCommand', params, function(err, result)
    if not err and type(result) == 'table' and vim.api.nvim_buf_is_valid(bufnr) then
      vim.b[bufnr].codestral_status = result
      pcall(vim.cmd.redrawstatus)
    end
  end, bufnr)
end

--- Ask again for each buffer of ``client`` that a window shows (a hidden one asks when it is
--- entered, see watch_buffer): what changed everywhere changes every statusline on screen.
function M.refresh_shown(client)
  for bufnr in pairs(client.attached_buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) and #vim.fn.win_findbuf(bufnr) > 0 then
      M.refresh_buffer(client, bufnr)
    end
  end
end

--- A settings change (disabledLanguages, excludeGlobs) turns files off or on without changing
--- the server's state, so no `codestral/status` comes: ask again once Neovim has sent one
--- (whoever sent it). The server applies pushed settings before it reads the next message.
function M.watch_settings()
  vim.api.nvim_create_autocmd('LspNotify', {
    group = vim.api.nvim_create_augroup('codestral.settings', { clear = true }),
    callback = function(args)
      local data = args.data or {}
      if data.method ~= 'workspace/didChangeConfiguration' then
        return
      end
      local client = vim.lsp.get_client_by_id(data.client_id)
      if client and client.name == 'codestral' then
        M.refresh_shown(client)
      end
    end,
  })
end

--- Keep b:codestral_status current for a buffer the client attached to.
function M.watch_buffer(client, bufnr)
  M.refresh_buffer(client, bufnr)
  vim.api.nvim_create_autocmd('BufEnter', {
    buffer = bufnr,
    group = vim.api.nvim_create_augroup('codestral_status_' .. bufnr, { clear = true }),
    callback = function()
      M.refresh_buffer(client, bufnr)
    end,
  })
end

--- A short string for a statusline: a stopped server first (nothing works, whatever this
--- buffer's switch says), then the buffer's own switch and the server's view of this file,
--- then the server's state.
function M.statusline()
  local running = require('codestral.progress').statusline()
  if running then
    return running
  end
  if M.current and M.current.state == 'stopped' then
    return SYMBOLS.stopped
  end
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.lsp.inline_completion and not vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }) then
    return SYMBOLS.disabled
  end
  local own = vim.b[bufnr].codestral_status
  if type(own) == 'table' and own.state == 'disabled' then
    return SYMBOLS.disabled
  end
  local state = M.current and M.current.state
  if not state then
    return ''
  end
  return SYMBOLS[state] or ('Codestral ' .. state)
end

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
    or vim.lsp.get_clients({ name = 'codestral' })[1]
end

--- Flip a switch: ``action`` enable|disable|toggle|status, ``scope`` 'buffer' or nil (all).
--- Ghost text stops (or starts) asking here at once; the server is told too, so that every
--- other way of asking (the popup, other editors' integrations) follows the same switch.
function M.command(action, scope)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  local argument = { action = action }
  if scope == 'buffer' or action == 'status' then
    argument.uri = vim.uri_from_bufnr(bufnr) -- the status: as seen from this buffer
  end
  if action ~= 'status' and vim.lsp.inline_completion then
    local filter = scope == 'buffer' and { bufnr = bufnr } or nil
    local on = vim.lsp.inline_completion.is_enabled(filter)
    local want = ({ enable = true, disable = false, toggle = not on })[action]
    vim.lsp.inline_completion.enable(want, filter)
  end
  if not client then
    vim.notify('codestral-ls is not running', vim.log.levels.WARN)
    return
  end
  client:exec_cmd({ title = 'Codestral ' .. action, command = TOGGLE, arguments = { argument } },
    { bufnr = bufnr }, function(err, result)
      if err then
        vim.notify('Codestral: ' .. tostring(err.message or err), vim.log.levels.WARN)
      elseif type(result) == 'table' and result.message then
        if scope == 'buffer' or action == 'status' then
          vim.b[bufnr].codestral_status = result
        else
          M.refresh_shown(client) -- the answer is the global state, not each buffer's view
        end
        -- One short line: never a hit-enter prompt.
        vim.api.nvim_echo({ { result.message:sub(1, vim.o.columns - 12) } }, false, {})
      end
      pcall(vim.cmd.redrawstatus)
    end)
end

--- :Codestral enable|disable|toggle|status [buffer]
function M.create_user_command()
  vim.api.nvim_create_user_command('Codestral', function(opts)
    local action, scope = opts.fargs[1] or 'status', opts.fargs[2]
    if action == 'cancel' then
      require('codestral.progress').cancel()
      return
    end
    if not vim.tbl_contains({ 'enable', 'disable', 'toggle', 'status' }, action)
      or (scope and scope ~= 'buffer') then
      vim.notify('Usage: :Codestral enable|disable|toggle|status [buffer] | cancel', vim.log.levels.WARN)
      return
    end
    M.command(action, scope)
  end, {
    nargs = '*',
    desc = 'Codestral: enable, disable, toggle (all buffers, or "buffer"), show the status, cancel',
    complete = function(_, line)
      local words = vim.split(line, '%s+', { trimempty = true })
      if #words <= 1 or (#words == 2 and not line:match('%s$')) then
        return { 'enable', 'disable', 'toggle', 'status', 'cancel' }
      end
      return { 'buffer' }
    end,
  })
end

return M
