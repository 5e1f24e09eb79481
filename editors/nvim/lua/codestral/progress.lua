--- Code actions (Refactor, Explain, ...) take seconds, a minute with a slow API: show how they
--- go and let the user stop them. The server reports each one as a cancellable `$/progress`;
--- Neovim only stores those (LspProgress), so without this a hung API meant 100 s of silence.
---
--- Shown in the command line (one line, never a hit-enter prompt) and in the statusline
--- component; `:Codestral cancel` stops every running action (the server closes its stream).
local M = {}

--- Running actions by progress token: { client_id, title, message }.
M.active = {}

local function echo(text)
  local room = math.max(20, vim.o.columns - 12)
  if vim.fn.strdisplaywidth(text) > room then
    text = vim.fn.strcharpart(text, 0, room - 1) .. '…'
  end
  vim.api.nvim_echo({ { text } }, true, {})
end

--- LspProgress autocmd callback: keep codestral's progress, say how it goes.
function M.on_progress(args)
  local data = args.data or {}
  local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
  local params = data.params
  if not (client and client.name == 'codestral' and params and type(params.value) == 'table') then
    return
  end
  local token, value = params.token, params.value
  if value.kind == 'begin' then
    M.active[token] = { client_id = client.id, title = value.title or 'Codestral', message = value.message }
    echo(('%s… :Codestral cancel stops it'):format(M.active[token].title))
  elseif value.kind == 'report' and M.active[token] then
    M.active[token].message = value.message
  elseif value.kind == 'end' then
    local running = M.active[token]
    M.active[token] = nil
    if running then
      -- Always say how it ended: echoing nothing for "done" left "… :Codestral cancel stops
      -- it" on the command line after the edit was in.
      local ended = (value.message == nil or value.message == 'done') and ' done' or (': ' .. value.message)
      echo(running.title .. ended)
    end
  end
  pcall(vim.cmd.redrawstatus)
end

--- The client ``client_id`` stopped: its actions stopped with it.
function M.client_gone(client_id)
  for token, running in pairs(M.active) do
    if running.client_id == client_id then
      M.active[token] = nil
    end
  end
end

--- The running action for a statusline ("Codestral: Refactor / Improve … 400 characters
--- received"), or nil.
function M.statusline()
  for _, running in pairs(M.active) do
    return ('%s … %s'):format(running.title, running.message or '')
  end
end

--- Stop every running action; returns how many were asked to stop.
function M.cancel()
  local count = 0
  for token, running in pairs(M.active) do
    local client = vim.lsp.get_client_by_id(running.client_id)
    if client then
      client:notify('window/workDoneProgress/cancel', { token = token })
      count = count + 1
    end
  end
  if count == 0 then
    echo('Codestral: no action is running')
  end
  return count
end

function M.setup()
  vim.api.nvim_create_autocmd('LspProgress', {
    group = vim.api.nvim_create_augroup('codestral.progress', { clear = true }),
    callback = M.on_progress,
  })
end

return M
