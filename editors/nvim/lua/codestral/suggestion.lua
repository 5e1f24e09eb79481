--- Everyday controls over the ghost text (Neovim 0.12 inline completion): take a word or a
--- line of it, cycle through alternatives, ask for one now, dismiss it.
---
--- Partial accepts insert the next piece at the cursor and tell the server (for the local
--- acceptance statistics); Neovim then asks again as the cursor moves, and the server answers
--- the rest of the same suggestion from memory, without a new API call.
local M = {}

local INVOKED = 1 -- lsp.InlineCompletionTriggerKind.Invoked
local ACCEPTED = 'codestral.accepted'

--- Neovim's inline-completion state for a buffer (a private table of vim.lsp; nil when the
--- layout changes, and every control then falls back to doing nothing).
local function completor(bufnr)
  local ok, capability = pcall(require, 'vim.lsp._capability')
  local class = ok and capability.all and capability.all.inline_completion
  return class and class.active and class.active[bufnr] or nil
end

local function codestral_client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
end

--- The part of an item's text that is not in the buffer yet, starting at the cursor; nil
--- when the item no longer matches the buffer (the user typed elsewhere since).
function M.pending_text(item, bufnr)
  local text = item.insert_text
  if type(text) ~= 'string' then
    return nil
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local range = item.range
  if range then
    local start, finish = range.start, range.end_
    if start.row ~= row or finish.row ~= row or start.col > col or finish.col < col then
      return nil
    end
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
    local typed = line:sub(start.col + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
    local after = line:sub(col + 1, finish.col)
    if after ~= '' and text:sub(-#after) == after then
      text = text:sub(1, #text - #after) -- the rest of the line, which the item only repeats
    end
  end
  return text
end

--- The next word of ``text``: leading blanks, then a run of word characters (UTF-8 letters
--- included) or else a run of punctuation.
function M.next_word(text)
  return text:match('^%s*[%w_\128-\255]+') or text:match('^%s*[^%w_%s\128-\255]+') or text
end

--- The rest of the current line of ``text``; at a line end, the line break and the next line.
function M.next_line(text)
  if text:sub(1, 1) == '\n' then
    return '\n' .. (text:sub(2):match('^[^\n]*'))
  end
  return text:match('^[^\n]*')
end

local function tell_server(item, bufnr, partly)
  local command = item.command
  if not (command and command.command == ACCEPTED) then
    return
  end
  local client = vim.lsp.get_client_by_id(item.client_id)
  if client then
    local argument = vim.tbl_extend('force', (command.arguments or {})[1] or {}, { partly = partly })
    client:exec_cmd({ title = command.title, command = ACCEPTED, arguments = { argument } }, { bufnr = bufnr })
  end
end

local function insert_at_cursor(bufnr, piece)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local lines = vim.split(piece, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local last = #lines == 1 and col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + #lines, last })
end

--- Accept part of the ghost text: ``take`` picks the piece from the pending text (e.g.
--- M.next_word). Returns false when nothing is shown (for a key's fallback).
function M.accept_part(take)
  local bufnr = vim.api.nvim_get_current_buf()
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      local text = M.pending_text(item, bufnr)
      if not text or text == '' then
        return
      end
      local piece = take(text)
      if piece == text then
        -- The whole rest: the same as a full accept, counted as one.
        insert_at_cursor(bufnr, piece)
        tell_server(item, bufnr, false)
        return
      end
      insert_at_cursor(bufnr, piece)
      tell_server(item, bufnr, true)
    end,
  })
end

function M.accept_word()
  return M.accept_part(M.next_word)
end

function M.accept_line()
  return M.accept_part(M.next_line)
end

--- Ask the server now (an invoked request: no debounce, alternatives included), then show
--- the item ``select`` (1: the first; 2: the next alternative).
local function ask(bufnr, select)
  local client = codestral_client(bufnr)
  local state = completor(bufnr)
  if not client or not state then
    return false
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = INVOKED }
  client:request('textDocument/inlineCompletion', params, function(err, result, ctx)
    local now = completor(bufnr)
    if err or not result or not now or vim.api.nvim_get_current_buf() ~= bufnr then
      return
    end
    local items = result.items or result
    now.client_state[ctx.client_id] = now.client_state[ctx.client_id] or {}
    now.client_state[ctx.client_id].items = items
    now:select(math.min(select, math.max(#items, 1)), #items > 1)
  end, bufnr)
  return true
end

--- Accept the whole ghost text, if it still matches the buffer. Typed into within ~150 ms of
--- <Tab>, Neovim (this build) still held the item asked for before those keys and pasted it over
--- its old range: "return a + bret". Then nothing is inserted and the server is asked again
--- (the answer comes from its memory of the suggestion: no new call).
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      local text = M.pending_text(item, bufnr)
      if text == nil then
        ask(bufnr, 1)
        return
      end
      if text ~= '' then
        insert_at_cursor(bufnr, text)
      end
      tell_server(item, bufnr, false)
    end,
  })
end

--- Show a suggestion now, alternatives included (shown as 1/3 …).
function M.trigger()
  return ask(vim.api.nvim_get_current_buf(), 1)
end

--- The next (count 1) or previous (count -1) alternative; the first press asks the server
--- for alternatives, which automatic suggestions never pay for.
function M.cycle(count)
  local bufnr = vim.api.nvim_get_current_buf()
  local state = completor(bufnr)
  if state and state.current and state:count_items() > 1 then
    vim.lsp.inline_completion.select({ bufnr = bufnr, count = count })
    return true
  end
  return ask(bufnr, count > 0 and 2 or -1)
end

--- Hide the ghost text until the next keystroke.
function M.dismiss()
  local state = completor(vim.api.nvim_get_current_buf())
  if state and state.current then
    state:abort()
    return true
  end
  return false
end

--- Neovim 0.12 asks for ghost text 200 ms after the last key, and leaving insert mode cancels
--- the requests on their way but not that timer: typing and pressing <Esc> within 200 ms sent
--- a request from normal mode, and its answer stayed on screen there as ghost text (an API
--- call for nothing, too). Stop the timer when insert mode ends.
function M.stop_asking_on_leave(bufnr)
  vim.api.nvim_create_autocmd('InsertLeave', {
    buffer = bufnr,
    group = vim.api.nvim_create_augroup('codestral_leave_' .. bufnr, { clear = true }),
    callback = function()
      local state = completor(bufnr)
      if state and type(state.reset_timer) == 'function' then
        state:reset_timer()
      end
    end,
  })
end

--- Default insert-mode keys (copilot.vim's): each falls back to the key itself when there is
--- nothing to act on, so <M-Right> still moves the cursor without ghost text.
M.default_keys = {
  accept_word = '<M-Right>',
  accept_line = '<M-C-Right>',
  next = '<M-]>',
  prev = '<M-[>',
  trigger = '<M-\\>',
  dismiss = '<C-]>',
}

local ACTIONS = {
  accept_word = M.accept_word,
  accept_line = M.accept_line,
  next = function()
    return M.cycle(1)
  end,
  prev = function()
    return M.cycle(-1)
  end,
  trigger = M.trigger,
  dismiss = M.dismiss,
}

--- Map ``keys`` (a table like M.default_keys; a false entry maps nothing) in ``bufnr``.
function M.map_keys(bufnr, keys)
  for name, action in pairs(ACTIONS) do
    local lhs = keys[name]
    if lhs then
      vim.keymap.set('i', lhs, function()
        if action() then
          return ''
        end
        return vim.api.nvim_replace_termcodes(lhs, true, false, true)
      end, { buffer = bufnr, expr = true, replace_keycodes = false, desc = 'Codestral: ' .. name:gsub('_', ' ') })
    end
  end
end

return M
