--- codestral.nvim: Codestral completion in Neovim through the codestral-ls language server.
---
--- ```lua
--- require('codestral').setup({})            -- or lazy.nvim: { dir = '.../editors/nvim', opts = {} }
--- ```
---
--- Neovim 0.12+: the server is registered with vim.lsp.config/vim.lsp.enable and ghost text comes
--- from the native vim.lsp.inline_completion; <Tab> accepts it (and is a normal <Tab> when nothing
--- is shown). Neovim 0.11: completion items in the popup menu (vim.lsp.completion, triggered as
--- you type). Neovim 0.10: the server starts on FileType and completes through omnifunc (<C-x><C-o>).
--- The key comes from the environment (CODESTRAL_API_KEY or MISTRAL_API_KEY): it is never read or
--- stored by this module.
local M = {}

local NAME = 'codestral'
local suggestion = require('codestral.suggestion')
local status = require('codestral.status')
local progress = require('codestral.progress')

--- Defaults; every field can be overridden in setup().
M.defaults = {
  --- The server command.
  cmd = { 'codestral-ls' },
  --- Filetypes the server attaches to; an empty list means every filetype.
  filetypes = {
    'c', 'cpp', 'cs', 'css', 'go', 'html', 'java', 'javascript', 'javascriptreact', 'json',
    'kotlin', 'lua', 'markdown', 'php', 'python', 'ruby', 'rust', 'scala', 'sh', 'sql', 'swift',
    'toml', 'typescript', 'typescriptreact', 'vim', 'yaml', 'zig',
  },
  root_markers = { '.git' },
  --- Server settings (initializationOptions), e.g. { model = 'codestral-latest', apiBase = '...' }.
  settings = {},
  --- Extra environment for the server, e.g. { CODESTRAL_API_BASE = 'http://localhost:8000/v1' }.
  cmd_env = nil,
  --- Insert-mode key that accepts the ghost text (a normal key press when there is none); false: no mapping.
  accept_key = '<Tab>',
  --- Insert-mode keys over the ghost text (false for one: no mapping): accept the next word
  --- or line, next/previous alternative, ask now, dismiss. See codestral.suggestion.
  keys = vim.deepcopy(suggestion.default_keys),
  --- Normal/visual-mode key that lists Codestral's code actions; false: no mapping.
  code_action_key = '<leader>cc',
  --- false: use completion items (the 0.11 path) even where inline completion exists.
  inline = true,
}

--- What :checkhealth codestral reports: the last problem the server told (and its details,
--- from the log message it sends along), cleared when the server says it recovered.
M.state = { last_error = nil, last_detail = nil, client_id = nil, config = nil }

local function has_inline()
  return vim.lsp.inline_completion ~= nil and vim.lsp.config ~= nil
end

local function record_error(message)
  M.state.last_error = os.date('%H:%M:%S ') .. message
  M.state.last_detail = nil
end

--- One line that fits the command line: a longer message, or a second one before a redraw,
--- raises Neovim's "Press ENTER" prompt, which eats the user's next keystroke. In insert mode
--- "-- INSERT --" would overwrite it at once, so it waits until the user leaves insert mode.
local pending_message
local function fit(text)
  local room = math.max(20, (vim.v.echospace > 0 and vim.v.echospace or vim.o.columns) - 1)
  while vim.fn.strdisplaywidth(text) > room do
    text = vim.fn.strcharpart(text, 0, math.min(room, vim.fn.strchars(text)) - 2) .. '…'
  end
  return text
end

local function flush_message()
  local shown = pending_message
  pending_message = nil
  if shown then
    vim.notify(fit(shown.text), shown.level)
  end
end

local function show_briefly(message, level)
  local first = vim.trim(message):match('^[^\r\n]*')
  local waiting = pending_message ~= nil
  -- Most of the server's messages name Codestral already ("Codestral: Fix failed. …").
  local text = first:lower():find('^codestral') and first or ('codestral: ' .. first)
  pending_message = { text = text, level = level }
  if waiting then
    return -- the newest replaces the one not shown yet
  end
  vim.schedule(function()
    if vim.fn.mode():match('^[iR]') and vim.o.showmode then
      vim.api.nvim_create_autocmd('InsertLeave', { once = true, callback = vim.schedule_wrap(flush_message) })
    else
      flush_message()
    end
  end)
end

local LEVELS = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.INFO }

--- The server's messages: kept for :checkhealth, shown on one line without blocking.
local function show_message_handler(_, result, _, _)
  if not (result and result.message) then
    return
  end
  if result.type and result.type <= vim.lsp.protocol.MessageType.Warning then
    record_error(result.message)
  end
  show_briefly(result.message, LEVELS[result.type] or vim.log.levels.INFO)
  return result
end

--- The server logs each warning's details (URL, status, what to set) right after telling it:
--- keep the last one for :checkhealth, and let Neovim's LSP log have them as usual.
local function log_message_handler(err, result, ctx, config)
  if result and result.type and result.type <= vim.lsp.protocol.MessageType.Warning then
    M.state.last_detail = result.message
  end
  return vim.lsp.handlers['window/logMessage'](err, result, ctx, config)
end

--- Ghost text is drawn with ComplHint, which links to NonText: a GUI colour only. Without
--- 'termguicolors' (256-colour terminals, tmux without truecolor) it came out in the normal text
--- colour, indistinguishable from code. Give it a terminal colour when it has none.
local function ghost_highlight()
  for _, name in ipairs({ 'ComplHint', 'ComplHintMore' }) do
    local hl = vim.api.nvim_get_hl(0, { name = name, link = false })
    if hl.ctermfg == nil then
      vim.api.nvim_set_hl(0, name, vim.tbl_extend('force', hl, { ctermfg = 'DarkGray' }))
    end
  end
end

--- A client-side command (never sent to the server): Neovim runs an action's command right
--- after applying its edit, the one moment the plugin sees what the edit did.
local EDIT_APPLIED = 'codestral.nvim.editApplied'

--- Each buffer's changedtick when the actions were listed: what an action's edit changed is
--- what moved since (a buffer the edit created has none).
local ticks_when_listed = {}

local function changedticks()
  local ticks = {}
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    ticks[bufnr] = vim.api.nvim_buf_get_changedtick(bufnr)
  end
  return ticks
end

--- The buffers an action's edit changed that no window shows, as names to read.
local function changed_out_of_sight()
  local names = {}
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr)
      and vim.api.nvim_buf_get_changedtick(bufnr) ~= ticks_when_listed[bufnr]
      and #vim.fn.win_findbuf(bufnr) == 0 then
      names[#names + 1] = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.')
    end
  end
  return names
end

--- "Write tests" puts the tests into a test file of their own (test_act.py): Neovim applied
--- that edit to a hidden, unsaved buffer, and nothing on screen changed. Say where it went,
--- in one line, without opening a window the user did not ask for (the answer may come
--- while they are busy elsewhere).
local function edit_applied(command)
  local names = changed_out_of_sight()
  if #names > 0 then
    local title = type(command.title) == 'string' and command.title or 'Codestral'
    show_briefly(('%s → %s (not saved; :sbuffer %s)'):format(title, table.concat(names, ', '), names[1]),
      vim.log.levels.INFO)
  end
end

--- Codestral's code actions only (other servers' actions are left to vim.lsp.buf.code_action).
--- Asked from a selection, the request takes the selection at once, and then visual mode
--- ends: Neovim stayed in it through the menu and the answer, and "-- VISUAL --" covered the
--- action's progress line and its errors (`gv` selects the same text again).
function M.code_action(opts)
  opts = opts or {}
  ticks_when_listed = changedticks()
  vim.lsp.buf.code_action(vim.tbl_extend('keep', opts, {
    filter = function(action, client_id)
      local client = client_id and vim.lsp.get_client_by_id(client_id)
      local ours = (client == nil or client.name == NAME)
        and type(action.title) == 'string'
        and action.title:find('^Codestral') ~= nil
      if ours and action.command == nil then
        -- Resolved, the action keeps this (the server sends it back): run after its edit.
        action.command = { title = action.title, command = EDIT_APPLIED }
      end
      return ours
    end,
  }))
  if vim.api.nvim_get_mode().mode:match('^[vV\22]') then
    vim.cmd.normal({ vim.keycode('<Esc>'), bang = true })
  end
end

--- The text the popup inserts. Neovim inserts a plain-text item's edit only up to its first
--- space ("return" of "return total * 2"); the whole first line is what the user accepts.
local function popup_word(item)
  local text = (item.textEdit and item.textEdit.newText) or item.insertText or item.label
  return { word = text:match('^[^\r\n]*') }
end

local function on_attach(client, bufnr, opts)
  M.state.client_id = client.id
  if opts.accept_key and has_inline() and opts.inline then
    vim.keymap.set('i', opts.accept_key, function()
      if suggestion.accept() then
        return ''
      end
      return vim.api.nvim_replace_termcodes(opts.accept_key, true, false, true)
    end, { buffer = bufnr, expr = true, replace_keycodes = false, desc = 'Codestral: accept the ghost text' })
  end
  if opts.keys and has_inline() and opts.inline then
    suggestion.map_keys(bufnr, opts.keys)
  end
  if has_inline() and opts.inline then
    suggestion.stop_asking_on_leave(bufnr)
  end
  status.watch_buffer(client, bufnr)
  if opts.code_action_key then
    vim.keymap.set({ 'n', 'x' }, opts.code_action_key, M.code_action,
      { buffer = bufnr, desc = 'Codestral: code actions' })
  end
  if (not has_inline() or not opts.inline) and vim.lsp.completion then
    -- The server completes anywhere, not after trigger characters: ask on every printable key.
    local provider = client.server_capabilities.completionProvider
    if provider then
      local chars = {}
      for byte = 33, 126 do
        chars[#chars + 1] = string.char(byte)
      end
      provider.triggerCharacters = chars
    end
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true, convert = popup_word })
  end
end

local function client_config(opts)
  -- An empty Lua table is a JSON list; the server expects an object.
  local settings = next(opts.settings or {}) and opts.settings or vim.empty_dict()
  local config = {
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = (#opts.filetypes > 0) and opts.filetypes or nil,
    root_markers = opts.root_markers,
    init_options = settings,
    commands = { [EDIT_APPLIED] = edit_applied },
    settings = { codestral = settings },
    handlers = {
      ['window/showMessage'] = show_message_handler,
      ['codestral/status'] = status.on_status,
      ['window/logMessage'] = log_message_handler,
    },
    on_attach = function(client, bufnr)
      on_attach(client, bufnr, opts)
    end,
    on_exit = function(code, signal, client_id)
      -- A kill or a crash by signal exits with code 0: the signal tells it apart.
      local why = (code ~= 0 or (signal or 0) ~= 0)
        and ('codestral-ls exited with code %d (signal %d)'):format(code, signal or 0) or nil
      if why then
        record_error(why)
      end
      vim.schedule(function() -- on_exit runs in a fast event: no redraw from here
        status.stopped(why)
        progress.client_gone(client_id)
      end)
    end,
  }
  if not has_inline() or not opts.inline then
    -- Without ghost text, don't advertise inline completion, so the server answers the popup.
    config.capabilities = vim.lsp.protocol.make_client_capabilities()
    config.capabilities.textDocument.inlineCompletion = nil
  end
  return config
end

--- The server's state as a short string for a statusline (see codestral.status).
M.statusline = status.statusline

--- Register and start the server for the configured filetypes.
function M.setup(user_opts)
  local opts = vim.tbl_deep_extend('force', {}, M.defaults, user_opts or {})
  if user_opts and user_opts.filetypes then
    opts.filetypes = user_opts.filetypes -- a list replaces the default, it does not merge
  end
  M.state.config = opts
  local config = client_config(opts)
  status.create_user_command()
  status.watch_settings()
  progress.setup()
  ghost_highlight()
  vim.api.nvim_create_autocmd('ColorScheme', {
    group = vim.api.nvim_create_augroup('codestral.highlight', { clear = true }),
    callback = ghost_highlight,
  })

  if vim.lsp.config and vim.lsp.enable then -- 0.11+
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    if has_inline() and opts.inline then
      vim.lsp.inline_completion.enable()
    end
    return
  end

  -- 0.10: start (or reuse) the client on FileType.
  vim.api.nvim_create_autocmd('FileType', {
    group = vim.api.nvim_create_augroup('codestral', { clear = true }),
    pattern = config.filetypes or '*',
    callback = function(args)
      local root = vim.fs.root and vim.fs.root(args.buf, opts.root_markers) or vim.fn.getcwd()
      vim.lsp.start(vim.tbl_extend('force', config, { name = NAME, root_dir = root }), { bufnr = args.buf })
    end,
  })
end

return M
