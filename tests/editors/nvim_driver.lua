-- Drives a headless Neovim that loaded editors/nvim the way editors/README.md says, like a user:
-- type in insert mode, wait for the ghost text, press <Tab>, run a code action from the plugin's
-- keymap, run :checkhealth codestral. Results go to $CODESTRAL_TEST_RESULT as JSON; every wait is
-- bounded and the whole run has a watchdog, so a silent editor fails instead of hanging.
local result_file = assert(vim.env.CODESTRAL_TEST_RESULT)
local source_file = assert(vim.env.CODESTRAL_TEST_FILE)
local result = { steps = {} }
local popup_scenario
local unicode_scenario

local function finish(ok, err)
  result.ok = ok
  result.error = err
  result.pum = vim.fn.pumvisible()
  result.complete_info = vim.fn.complete_info()
  result.completeopt = vim.o.completeopt
  result.buffer = vim.api.nvim_buf_is_valid(result.bufnr or -1)
      and vim.api.nvim_buf_get_lines(result.bufnr, 0, -1, false)
    or nil
  local f = assert(io.open(result_file, 'w'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd('qall!')
end

vim.defer_fn(function()
  finish(false, 'watchdog: the scenario did not finish in 40 s')
end, 40000)

local co
local function resume()
  local ok, err = coroutine.resume(co)
  if not ok then
    finish(false, tostring(err))
  end
end

--- Poll cond() every 20 ms (returning to the event loop in between, so keys and LSP messages are
--- processed) until it holds, or fail after timeout_ms.
local function wait_until(what, cond, timeout_ms)
  local deadline = vim.uv.now() + (timeout_ms or 10000)
  while true do
    local value = cond()
    if value then
      table.insert(result.steps, what)
      return value
    end
    if vim.uv.now() > deadline then
      error('timed out waiting for ' .. what, 0)
    end
    vim.defer_fn(resume, 20)
    coroutine.yield()
  end
end

local function ghost_text(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return nil
  end
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
    local parts = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      parts[#parts + 1] = chunk[1]
    end
    for _, line in ipairs(mark[4].virt_lines or {}) do
      for _, chunk in ipairs(line) do
        parts[#parts + 1] = chunk[1]
      end
    end
    local text = table.concat(parts)
    if text ~= '' then
      return { row = mark[2], col = mark[3], text = text }
    end
  end
end

--- Neovim 0.11's path (setup({ inline = false }) here): items in the popup menu as you type,
--- <C-y> accepts. Line 2 is "    "; type "ret" at its end.
popup_scenario = function(bufnr)
  result.inline_enabled = vim.lsp.inline_completion.is_enabled({ bufnr = bufnr })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
  vim.api.nvim_input('ret')
  result.menu = wait_until('completion menu shown', function()
    -- (pumvisible() stays 0 without a UI attached; the items are what the menu would show.)
    local words = {}
    for _, item in ipairs(vim.fn.complete_info({ 'items' }).items) do
      words[#words + 1] = item.word
    end
    return #words > 0 and words
  end)
  if vim.fn.complete_info({ 'selected' }).selected < 0 then
    vim.api.nvim_input('<C-n>')
  end
  vim.api.nvim_input('<C-y>')
  result.accepted_line = wait_until('item accepted', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
    return line ~= '    ret' and vim.fn.complete_info({ 'mode' }).mode == '' and line
  end)
  finish(true)
end

--- Accept ghost text after multi-byte text (utf-8 columns) and a multi-line block.
--- Line 2 is "    s = 'é' + " (type "t"); line 4 is "        " after the opener on line 3.
unicode_scenario = function(bufnr)
  local function accept(what, row, typed)
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    vim.api.nvim_input('A')
    wait_until(what .. ': insert mode', function()
      return vim.api.nvim_get_mode().mode == 'i'
    end)
    if typed then
      vim.api.nvim_input(typed)
    end
    local ghost = wait_until(what .. ': ghost text', function()
      return ghost_text(bufnr)
    end)
    local before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    vim.api.nvim_input('<Tab>')
    wait_until(what .. ': accepted', function()
      return not vim.deep_equal(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), before)
    end)
    vim.api.nvim_input('<Esc>')
    wait_until(what .. ': normal mode', function()
      return vim.api.nvim_get_mode().mode == 'n'
    end)
    return ghost.text
  end
  result.ghost_unicode = accept('unicode', 2, 't')
  result.ghost_block = accept('block', 4, nil)
  finish(true)
end

co = coroutine.create(function()
  vim.cmd.edit(vim.fn.fnameescape(source_file))
  local bufnr = vim.api.nvim_get_current_buf()
  result.bufnr = bufnr
  result.filetype = vim.bo[bufnr].filetype
  local client = wait_until('client attached', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
  end)
  result.offset_encoding = client.offset_encoding
  if vim.env.CODESTRAL_TEST_SCENARIO == 'popup' then
    return popup_scenario(bufnr)
  end
  if vim.env.CODESTRAL_TEST_SCENARIO == 'unicode' then
    return unicode_scenario(bufnr)
  end
  result.inline_enabled = vim.lsp.inline_completion.is_enabled({ bufnr = bufnr })
  result.tab_mapping = vim.fn.maparg('<Tab>', 'i', false, true).desc

  -- Insert mode at the end of line 2 ("    return "), then type "a".
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
  vim.api.nvim_input('a')
  wait_until('typed', function()
    return vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1] == '    return a'
  end)
  result.ghost = wait_until('ghost text shown', function()
    local ghost = ghost_text(bufnr)
    return ghost and ghost.text:find('b', 1, true) and ghost
  end)

  vim.api.nvim_input('<Tab>')
  result.accepted_line = wait_until('completion accepted', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
    return line ~= '    return a' and line
  end)
  result.cursor_after_accept = vim.api.nvim_win_get_cursor(0)
  result.mode_after_accept = vim.api.nvim_get_mode().mode

  vim.api.nvim_input('<Esc>')
  wait_until('normal mode', function()
    return vim.api.nvim_get_mode().mode == 'n'
  end)

  -- The plugin's code-action keymap, with the choice made by a vim.ui.select stand-in.
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  result.offered = nil
  vim.ui.select = function(items, opts, on_choice)
    local titles = {}
    local chosen
    for i, item in ipairs(items) do
      local title = item.action and item.action.title or tostring(item)
      titles[#titles + 1] = title
      if title:find('Refactor', 1, true) then
        chosen = chosen or i
      end
    end
    result.offered = titles
    if chosen then
      on_choice(items[chosen], chosen)
    else
      on_choice(nil, nil)
    end
  end
  local lines_before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  vim.api.nvim_input(vim.g.mapleader or '\\')
  vim.api.nvim_input('cc')
  wait_until('code actions listed', function()
    return result.offered
  end)
  local has_refactor = false
  for _, title in ipairs(result.offered) do
    has_refactor = has_refactor or title:find('Refactor', 1, true) ~= nil
  end
  if has_refactor then
    wait_until('code action applied', function()
      return not vim.deep_equal(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), lines_before)
    end, 20000)
  end
  result.buffer_after_action = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)

  -- No ghost text shown: <Tab> is a normal <Tab>. (The fake answers nothing at this line.)
  local last = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_win_set_cursor(0, { last, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode again', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
  vim.api.nvim_input('<Tab>x<Esc>')
  result.tab_fallback_line = wait_until('plain tab typed', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1]
    return vim.api.nvim_get_mode().mode == 'n' and line:sub(-1) == 'x' and line
  end)

  vim.cmd('checkhealth codestral')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(true)
end)

vim.schedule(resume)
