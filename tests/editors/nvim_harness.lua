-- What every script that drives a headless Neovim like a user shares (the editor tests'
-- drivers, bench/nvim_typing.lua): a scenario runs as a coroutine that yields to the event loop
-- while it waits, so keys and LSP messages are processed; every wait is bounded, a watchdog ends
-- a silent run, and what was seen goes to a JSON file. Load it with dofile() and call new().
local M = {}

--- A harness writing ``result`` to ``opts.result_file`` when the scenario ends.
--- opts: result_file; watchdog_ms; poll_ms (default 20); describe(result, ok) to add fields
--- when finishing (default: the current buffer's lines); steps (default true: record each
--- wait's name in result.steps).
function M.new(opts)
  local h = { result = opts.steps == false and {} or { steps = {} } }
  local poll_ms = opts.poll_ms or 20
  local co

  function h.finish(ok, err)
    local result = h.result
    result.ok = ok
    result.error = err
    if opts.describe then
      opts.describe(result, ok)
    else
      result.buffer = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    end
    local f = assert(io.open(opts.result_file, 'w'))
    f:write(vim.json.encode(result))
    f:close()
    vim.cmd('qall!')
  end

  local function resume()
    local ok, err = coroutine.resume(co)
    if not ok then
      h.finish(false, tostring(err))
    end
  end

  --- Give the event loop ``ms`` milliseconds (inside the scenario only).
  function h.sleep(ms)
    vim.defer_fn(resume, ms)
    coroutine.yield()
  end

  --- Poll cond() until it returns a value, which is returned; fail after timeout_ms.
  function h.wait_until(what, cond, timeout_ms)
    local deadline = vim.uv.hrtime() / 1e6 + (timeout_ms or 10000)
    while true do
      local value = cond()
      if value then
        if h.result.steps then
          table.insert(h.result.steps, what)
        end
        return value
      end
      if vim.uv.hrtime() / 1e6 > deadline then
        error('timed out waiting for ' .. what, 0)
      end
      h.sleep(poll_ms)
    end
  end

  --- Wait until the server has answered a first request (it may still be loading after its
  --- early initialize answer): scenarios then measure what they test, not the start-up.
  function h.server_ready(client, bufnr)
    local ready = false
    client:request('codestral/stats', {}, function()
      ready = true
    end, bufnr)
    return h.wait_until('server ready', function()
      return ready
    end, 60000)
  end

  --- Run ``scenario`` (a function) as the coroutine, under the watchdog.
  function h.run(scenario)
    vim.defer_fn(function()
      h.finish(false, ('watchdog: the scenario did not finish in %d s'):format(opts.watchdog_ms / 1000))
    end, opts.watchdog_ms)
    co = coroutine.create(scenario)
    vim.schedule(resume)
  end

  return h
end

--- The ghost text Neovim shows in ``bufnr`` (its inline-completion extmarks), or nil:
--- { row, col, text = the line's text, all = with the lines below it }.
function M.ghost_text(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return nil
  end
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
    local parts = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      parts[#parts + 1] = chunk[1]
    end
    local text = table.concat(parts)
    for _, line in ipairs(mark[4].virt_lines or {}) do
      for _, chunk in ipairs(line) do
        parts[#parts + 1] = chunk[1]
      end
    end
    local all = table.concat(parts)
    if all ~= '' then
      return { row = mark[2], col = mark[3], text = text, all = all }
    end
  end
end

--- This file's folder, for the drivers next to it.
M.dir = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))

return M
