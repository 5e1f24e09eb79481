-- A scripted typing session in a real (headless) Neovim with the shipped editors/nvim plugin:
-- keys go in through nvim_input() one at a time with human gaps, as typed keys do; at each
-- pause the ghost text is watched (every 5 ms) until the pause ends; some pauses end with
-- <Tab>, accepting it. The plan (text, gaps, pauses) comes from bench/editor.py as JSON in
-- $CODESTRAL_BENCH_PLAN; what happened goes to $CODESTRAL_BENCH_RESULT as JSON.
local plan = vim.json.decode(assert(io.open(assert(vim.env.CODESTRAL_BENCH_PLAN))):read('*a'))
local result_file = assert(vim.env.CODESTRAL_BENCH_RESULT)
-- The editor tests' harness (bounded waits, watchdog, result file), polling every 5 ms here.
local harness_file = vim.fs.joinpath(
  vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), '..', 'tests', 'editors', 'nvim_harness.lua'
)
local harness = dofile(vim.fs.normalize(harness_file))
local h = harness.new({
  result_file = result_file,
  watchdog_ms = plan.watchdog_ms,
  poll_ms = 5,
  steps = false,
  describe = function(result)
    result.buffer = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  end,
})
local result, finish, sleep, wait_until = h.result, h.finish, h.sleep, h.wait_until
result.pauses, result.accepts, result.keys = {}, {}, 0

local function now_ms()
  return vim.uv.hrtime() / 1e6
end

--- The ghost text Neovim shows on the cursor's line, or nil.
local function ghost_text(bufnr)
  local shown = harness.ghost_text(bufnr)
  return shown and shown.text ~= '' and shown.text or nil
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end

--- What the user still has to type on this line (the fake answers exactly that).
local function rest_of_line(pos)
  local stop = plan.target:find('\n', pos, true) or (#plan.target + 1)
  return plan.target:sub(pos, stop - 1)
end

local function key_for(ch)
  if ch == '\n' then
    return '<CR>'
  elseif ch == '<' then
    return '<lt>'
  end
  return ch
end

h.run(function()
  vim.cmd.edit(vim.fn.fnameescape(plan.file))
  local bufnr = vim.api.nvim_get_current_buf()
  -- Typed text must land as typed: no automatic indentation or wrapping.
  vim.bo[bufnr].autoindent = false
  vim.bo[bufnr].smartindent = false
  vim.bo[bufnr].indentexpr = ''
  vim.bo[bufnr].textwidth = 0
  local client = wait_until('client attached', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'codestral' })[1]
  end, 30000)
  -- The session measures typing, not start-up (bench/startup.py does): begin once the server
  -- has answered a first request.
  local started = now_ms()
  h.server_ready(client, bufnr)
  result.ready_ms = now_ms() - started
  local prefix = buffer_text(bufnr)
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
  vim.api.nvim_input('A')
  wait_until('insert mode', function()
    return vim.api.nvim_get_mode().mode == 'i'
  end)

  local pos = 1 -- next character of plan.target to type
  while pos <= #plan.target do
    local action = plan.steps[pos] -- what follows this character: a gap or a pause
    local ch = plan.target:sub(pos, pos)
    vim.api.nvim_input(key_for(ch))
    local typed_at = now_ms()
    result.keys = result.keys + 1
    pos = pos + 1
    local typed = plan.target:sub(1, pos - 1)
    wait_until('key applied', function()
      return buffer_text(bufnr) == prefix .. typed
    end, 5000)
    if action.pause then
      local expected = rest_of_line(pos)
      local pause = { after_key = result.keys, expected = expected, ms = action.pause }
      local ends = typed_at + action.pause
      while now_ms() < ends do
        local ghost = ghost_text(bufnr)
        pause.seen = ghost or pause.seen
        if ghost and expected ~= '' and ghost == expected then
          pause.ghost_ms = pause.ghost_ms or (now_ms() - typed_at)
        end
        sleep(5)
      end
      if action.accept and pause.ghost_ms and ghost_text(bufnr) == expected then
        vim.api.nvim_input('<Tab>')
        local after = wait_until('accepted', function()
          local text = buffer_text(bufnr)
          return text ~= prefix .. typed and text
        end, 5000)
        local accepted = after:sub(#prefix + #typed + 1)
        table.insert(result.accepts, {
          after_key = result.keys,
          text = accepted,
          correct = accepted == expected,
        })
        pause.accepted = true
        pos = pos + #accepted
      end
      table.insert(result.pauses, pause)
    else
      sleep(action.gap)
    end
  end
  vim.api.nvim_input('<Esc>')
  wait_until('normal mode', function()
    return vim.api.nvim_get_mode().mode == 'n'
  end)
  result.typed_text_correct = buffer_text(bufnr) == prefix .. plan.target
  finish(true)
end)
