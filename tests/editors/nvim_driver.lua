-- Drives a headless Neovim that loaded editors/nvim the way editors/README.md says, like a user:
-- type in insert mode, wait for the ghost text, press <Tab>, run a code action from the plugin's
-- keymap, run :checkhealth codestral. Results go to $CODESTRAL_TEST_RESULT as JSON; every wait is
-- bounded and the whole run has a watchdog, so a silent editor fails instead of hanging.
local result_file = assert(vim.env.CODESTRAL_TEST_RESULT)
local source_file = assert(vim.env.CODESTRAL_TEST_FILE)
local result -- h.result, below
local popup_scenario
local unicode_scenario
local enter_scenario
local outage_scenario
local progress_scenario
local stale_accept_scenario
local recovery_scenario
local pacing_scenario
local leave_scenario
local visual_action_scenario
local killed_scenario
local action_done_scenario
local write_tests_scenario
local hidden_buffer_scenario
local health_scenario

local harness = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'nvim_harness.lua'))
local h = harness.new({
  result_file = result_file,
  watchdog_ms = 80000,
  describe = function(result)
    result.pum = vim.fn.pumvisible()
    result.complete_info = vim.fn.complete_info()
    result.completeopt = vim.o.completeopt
    result.buffer = vim.api.nvim_buf_is_valid(result.bufnr or -1)
        and vim.api.nvim_buf_get_lines(result.bufnr, 0, -1, false)
      or nil
  end,
})
local finish, wait_until = h.finish, h.wait_until
result = h.result

--- The ghost text with the lines below it ({ row, col, text }), or nil.
local function ghost_text(bufnr)
  local ghost = harness.ghost_text(bufnr)
  return ghost and { row = ghost.row, col = ghost.col, text = ghost.all }
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

--- Errors Neovim reported so far (autocmd callbacks failing on a keystroke end up here).
local function errors()
  local out = {}
  local messages = vim.api.nvim_exec2('messages', { output = true }).output
  for line in vim.gsplit(messages, '\n') do
    if line:find('E5108') or line:find('Error') or line:find('Invalid') then
      out[#out + 1] = line
    end
  end
  if vim.v.errmsg ~= '' then
    out[#out + 1] = 'errmsg: ' .. vim.v.errmsg
  end
  return out
end

--- A vim.ui.select stand-in: the user picks the Refactor action.
--- A vim.ui.select that picks the code action whose title holds ``title``.
local function picking(title)
  return function(items, _, on_choice)
    for i, item in ipairs(items) do
      if item.action and item.action.title:find(title, 1, true) then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
end
local pick_refactor = picking('Refactor')

--- Press the plugin's code-action key (<leader>cc), as a user does.
local function press_action_key()
  vim.api.nvim_input(vim.g.mapleader or '\\')
  vim.api.nvim_input('cc')
end

--- Press it and wait until the picked action's progress shows.
local function start_action()
  press_action_key()
  wait_until('progress shown', function()
    return next(require('codestral.progress').active) ~= nil
  end)
end

--- Type one key and wait until Neovim has processed it (the buffer or cursor changed).
local function type_key(bufnr, key)
  local before = { vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), vim.api.nvim_win_get_cursor(0) }
  vim.api.nvim_input(key)
  wait_until('typed ' .. key, function()
    local now = { vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), vim.api.nvim_win_get_cursor(0) }
    return not vim.deep_equal(now, before)
  end)
end

--- Issue 11 item 9: ghost text shown on an auto-indented blank line, then <CR> strips the
--- indentation under it. Line 1 is "def add(a, b):"; "o" opens line 2 indented.
enter_scenario = function(bufnr)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.v.errmsg = ''
  vim.api.nvim_input('o')
  result.first_ghost = wait_until('ghost text on the indented line', function()
    local ghost = ghost_text(bufnr)
    return vim.api.nvim_get_mode().mode == 'i' and ghost and ghost.text:find('return', 1, true) and ghost
  end, 30000) -- the first answer of a fresh server, on a loaded machine
  result.indented = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
  type_key(bufnr, '<CR>')
  result.after_enter = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  type_key(bufnr, 'r')
  type_key(bufnr, 'e')
  result.second_ghost = wait_until('ghost text after the new line', function()
    local ghost = ghost_text(bufnr)
    return ghost and ghost.row == 2 and ghost.text:find('turn a + b', 1, true) and ghost
  end)
  result.errors = errors()
  vim.api.nvim_input('<Tab>')
  result.accepted_line = wait_until('accepted', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, 2, 3, false)[1]
    return line ~= '    re' and line
  end)
  result.errors = errors()
  finish(true)
end

--- Issue 11 item 2: the API rejects the key. The message must not raise "Press ENTER" (it
--- would eat the next key): one line that fits, shown once the user leaves insert mode.
outage_scenario = function(bufnr)
  local codestral = require('codestral')
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
  type_key(bufnr, 'a')
  wait_until('the server told the outage', function()
    return codestral.state.last_error
  end)
  type_key(bufnr, 'b') -- the next key is typed, not eaten by a prompt
  result.mode_after_message = vim.api.nvim_get_mode()
  vim.api.nvim_input('<Esc>')
  result.messages = wait_until('message shown', function()
    local out = vim.api.nvim_exec2('messages', { output = true }).output
    return out:find('[Cc]odestral:') and vim.split(out, '\n')
  end)
  result.columns = vim.o.columns
  result.last_line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
  vim.cmd('checkhealth codestral')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(true)
end

--- Issue 11 item 6: a code action shows its progress (command line, statusline) and
--- :Codestral cancel stops it. The fake streams its answer slowly.
progress_scenario = function(bufnr)
  local progress = require('codestral.progress')
  local codestral = require('codestral')
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.ui.select = pick_refactor
  local before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  start_action()
  result.statusline = wait_until('characters received', function()
    local line = codestral.statusline()
    return line:find('received', 1, true) and line
  end)
  result.echoed = vim.api.nvim_exec2('messages', { output = true }).output
  vim.cmd('Codestral cancel')
  wait_until('progress ended', function()
    return next(progress.active) == nil
  end)
  result.statusline_after = codestral.statusline()
  result.unchanged = vim.deep_equal(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), before)
  finish(true)
end

--- Issue 11 item 7: keys typed into the ghost text, then <Tab> before Neovim asked again. The
--- shown item is stale: it must not be pasted over its old range ("return a + bret").
stale_accept_scenario = function(bufnr)
  wait_until('server initialized', function()
    local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
    return client and client.initialized
  end)
  result.complhint = vim.api.nvim_get_hl(0, { name = 'ComplHint', link = false })
  result.termguicolors = vim.o.termguicolors
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A')
  wait_until('first ghost text', function()
    local ghost = ghost_text(bufnr)
    return vim.api.nvim_get_mode().mode == 'i' and ghost and ghost.text:find('a + b', 1, true)
  end, 30000) -- the first answer of a fresh server, on a loaded machine
  vim.api.nvim_input('ret<Tab>')
  result.after_tab = wait_until('keys typed, tab handled', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
    return line ~= '    return ' and line
  end)
  wait_until('fresh ghost text', function()
    local ghost = ghost_text(bufnr)
    return ghost and ghost.text:find('urn_value', 1, true)
  end)
  vim.api.nvim_input('<Tab>')
  result.accepted_line = wait_until('accepted', function()
    local line = vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1]
    return line:find('value', 1, true) and line
  end)
  finish(true)
end

--- Issue 11 item 10: after an outage ends, :checkhealth shows the current state, not the last
--- error. Explicit requests (the plugin's "ask now") go through the paused breaker.
recovery_scenario = function(bufnr)
  local codestral = require('codestral')
  local suggestion = require('codestral.suggestion')
  wait_until('server initialized', function()
    local found = vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
    return found and found.initialized
  end)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A') -- Neovim asks; the API refuses the key: told at once, completions pause
  wait_until('outage told', function()
    return codestral.state.last_error
  end)
  suggestion.trigger() -- asked again explicitly (through the pause): the API answers now
  wait_until('ghost text again', function()
    return ghost_text(bufnr)
  end)
  result.state = wait_until('status back to idle', function()
    local now = require('codestral.status').current
    return now and now.state == 'idle' and now.state
  end)
  vim.cmd('checkhealth codestral')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(true)
end

--- Issue 11 item 8: Neovim asks 200 ms after the last key by itself; the server (its debounce
--- set to 5 s here) must not wait again. Keys typed back to back into line 2 ("    return "),
--- then the ghost text; the server's counters say whether it held the request.
pacing_scenario = function(bufnr, client)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)
  for _, key in ipairs({ 'a', ' ', '*', ' ', 'b', ' ', '+', ' ', 'a' }) do
    type_key(bufnr, key)
  end
  result.ghost = wait_until('ghost text', function()
    return ghost_text(bufnr)
  end, 30000)
  local counters
  client:request('codestral/stats', {}, function(_, answer)
    counters = answer
  end, bufnr)
  result.stats = wait_until('server counters', function()
    return counters
  end)
  result.errors = errors()
  result.messages = vim.api.nvim_exec2('messages', { output = true }).output
  finish(true)
end

--- Neovim asks for ghost text 200 ms after a key; <Esc> sooner than that cancelled the requests
--- on their way but not the timer, which then asked from normal mode (ghost text stayed there).
--- "Aa<Esc>" in one input: InsertEnter starts the timer, and insert mode ends before it fires.
leave_scenario = function(bufnr, client)
  local outside_insert = 0
  local request = client.request
  client.request = function(self, method, ...)
    if method == 'textDocument/inlineCompletion' and not vim.api.nvim_get_mode().mode:match('^i') then
      outside_insert = outside_insert + 1
    end
    return request(self, method, ...)
  end
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('Aa<Esc>')
  wait_until('typed, then normal mode', function()
    return vim.api.nvim_get_mode().mode == 'n'
      and vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1] == '    return a'
  end)
  -- Neovim's 200 ms timer started before this one: its callback, if any, has run after it.
  h.sleep(250)
  result.asked_outside_insert = outside_insert
  result.ghost = ghost_text(bufnr) or vim.NIL
  finish(true)
end

--- A second file opened, then left hidden: typing in the first asks for the first only (a
--- tester saw every attached buffer asked for, at the current window's cursor).
hidden_buffer_scenario = function(bufnr, client)
  local other = vim.fs.joinpath(vim.fs.dirname(vim.api.nvim_buf_get_name(bufnr)), 'other.py')
  vim.fn.writefile({ 'OTHER = 1', '', 'def other_function():', '    return OTHER' }, other)
  vim.cmd.edit(vim.fn.fnameescape(other))
  local other_bufnr = vim.api.nvim_get_current_buf()
  wait_until('the client attached to the other file', function()
    return vim.lsp.get_clients({ bufnr = other_bufnr, name = 'codestral' })[1]
  end)
  vim.cmd.buffer(bufnr)
  local asked = {}
  local request = client.request
  client.request = function(self, method, params, ...)
    if method == 'textDocument/inlineCompletion' then
      asked[#asked + 1] = vim.fs.basename(params.textDocument.uri)
    end
    return request(self, method, params, ...)
  end
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.api.nvim_input('Aa')
  -- Both buffers' 200 ms timers start with InsertEnter: the other one's request, if any, left
  -- before this buffer's answer came back.
  result.ghost = wait_until('ghost text', function()
    return ghost_text(bufnr)
  end)
  result.asked = asked
  finish(true)
end

--- A code action picked from a selection: Neovim stayed in visual mode, and "-- VISUAL --"
--- covered the action's progress line and errors.
visual_action_scenario = function(bufnr)
  vim.ui.select = pick_refactor
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  vim.api.nvim_input('Vj')
  wait_until('a selection of two lines', function()
    return vim.api.nvim_get_mode().mode == 'V' and vim.api.nvim_win_get_cursor(0)[1] == 2
  end)
  start_action()
  result.mode_while_running = vim.api.nvim_get_mode().mode
  result.buffer_after_action = wait_until('the edit applied', function()
    local now = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    return not vim.deep_equal(now, before) and now
  end, 20000)
  finish(true)
end

--- Explain applied: the command line kept "Codestral: Explain… :Codestral cancel stops it"
--- (an end whose message is "done" echoed nothing). The last message is how it ended.
action_done_scenario = function(bufnr)
  local progress = require('codestral.progress')
  vim.ui.select = picking('Explain')
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  start_action()
  result.buffer_after_action = wait_until('the explanation applied', function()
    local now = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    return not vim.deep_equal(now, before) and next(progress.active) == nil and now
  end, 20000)
  local messages = vim.split(vim.api.nvim_exec2('messages', { output = true }).output, '\n')
  result.last_message = messages[#messages]
  finish(true)
end

--- "Write tests" on calc.py: the tests go to test_calc.py, which Neovim applied in a hidden,
--- unsaved buffer; the screen did not change and nothing said where they went.
write_tests_scenario = function(bufnr)
  vim.ui.select = picking('Write tests')
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  press_action_key()
  local tests = wait_until('the tests written', function()
    local found = vim.fn.bufnr('test_calc.py')
    return found > 0 and vim.api.nvim_buf_is_loaded(found)
      and table.concat(vim.api.nvim_buf_get_lines(found, 0, -1, false), '\n'):find('test_add', 1, true)
      and found
  end, 20000)
  result.tests_file = vim.api.nvim_buf_get_name(tests)
  result.told = wait_until('told where the tests went', function()
    local messages = vim.api.nvim_exec2('messages', { output = true }).output
    for line in vim.gsplit(messages, '\n') do
      if line:find('test_calc.py', 1, true) then
        return line
      end
    end
  end)
  result.windows = #vim.api.nvim_list_wins()
  result.current = vim.api.nvim_get_current_buf() == bufnr
  finish(true)
end

--- The server killed (kill -9): it exits by a signal with code 0, and the plugin kept its last
--- status ("Codestral", ready) and reported no error.
killed_scenario = function(bufnr)
  local codestral = require('codestral')
  local status = require('codestral.status')
  local servers = {}
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    local info = vim.api.nvim_get_proc(pid)
    if info and (info.name:find('codestral', 1, true) or info.name:find('python', 1, true)) then
      servers[#servers + 1] = pid
    end
  end
  result.servers = #servers
  result.statusline_before = codestral.statusline()
  -- Switched off for this buffer first: a dead server still outranks that.
  vim.cmd('Codestral disable buffer')
  result.statusline_off = wait_until('this buffer off', function()
    local line = codestral.statusline()
    return line ~= result.statusline_before and line
  end)
  for _, pid in ipairs(servers) do
    vim.uv.kill(pid, 'sigkill')
  end
  wait_until('the client gone', function()
    return #vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' }) == 0
  end)
  wait_until('the status told', function()
    return status.current and status.current.state == 'stopped'
  end)
  result.statusline = codestral.statusline()
  vim.cmd('checkhealth codestral')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(true)
end

--- :checkhealth codestral once the server told its state (codestral/status): its verdict on
--- the key and the endpoint.
health_scenario = function()
  result.status = wait_until('the status told', function()
    return require('codestral.status').current
  end)
  vim.cmd('checkhealth codestral')
  result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  finish(true)
end

h.run(function()
  vim.cmd.edit(vim.fn.fnameescape(source_file))
  local bufnr = vim.api.nvim_get_current_buf()
  result.bufnr = bufnr
  result.filetype = vim.bo[bufnr].filetype
  local client = wait_until('client attached', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
  end)
  result.offset_encoding = client.offset_encoding
  h.server_ready(client, bufnr)
  local scenarios = {
    popup = popup_scenario,
    unicode = unicode_scenario,
    recovery = recovery_scenario,
    progress = progress_scenario,
    stale_accept = stale_accept_scenario,
    outage = outage_scenario,
    pacing = pacing_scenario,
    enter = enter_scenario,
    leave = leave_scenario,
    hidden_buffer = hidden_buffer_scenario,
    visual_action = visual_action_scenario,
    killed = killed_scenario,
    action_done = action_done_scenario,
    write_tests = write_tests_scenario,
    health = health_scenario,
  }
  local scenario = scenarios[vim.env.CODESTRAL_TEST_SCENARIO]
  if scenario then
    return scenario(bufnr, client)
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
  press_action_key()
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
