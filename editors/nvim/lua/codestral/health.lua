--- :checkhealth codestral: the server binary, the key, the client and the last error.
local M = {}

local function key_source()
  for _, name in ipairs({ 'CODESTRAL_API_KEY', 'MISTRAL_API_KEY' }) do
    local value = vim.env[name]
    if value and value ~= '' then
      return name
    end
  end
end

function M.check()
  local health = vim.health
  local codestral = require('codestral')
  local opts = codestral.state.config

  health.start('codestral: setup')
  if not opts then
    health.error("require('codestral').setup() has not run", { "Add require('codestral').setup({}) to your config" })
    return
  end
  health.info(('Neovim %s: %s'):format(
    tostring(vim.version()),
    vim.lsp.inline_completion and 'ghost text (vim.lsp.inline_completion)'
      or (vim.lsp.completion and 'completion popup (vim.lsp.completion)' or 'omnifunc (<C-x><C-o>)')
  ))

  health.start('codestral: server')
  local binary = opts.cmd[1]
  local path = vim.fn.exepath(binary)
  if path == '' then
    health.error(('%s not found on PATH'):format(binary), { 'pipx install . (or uv tool install .) in a clone of codestral-ls', 'or set cmd = { "/path/to/codestral-ls" } in setup()' })
  else
    local out = vim.fn.system({ path, '--version' })
    if vim.v.shell_error == 0 then
      health.ok(('%s (%s)'):format(path, vim.trim(out)))
    else
      health.error(('%s --version failed: %s'):format(path, vim.trim(out)))
    end
  end

  health.start('codestral: key')
  local env = opts.cmd_env or {}
  local settings = opts.settings or {}
  if settings.apiKey or settings.api_key or settings.selfHostedApiKey then
    health.warn('a key is set in setup() settings; prefer the environment (CODESTRAL_API_KEY)')
  elseif env.CODESTRAL_API_KEY or env.MISTRAL_API_KEY then
    health.ok('key given in cmd_env')
  elseif key_source() then
    health.ok(key_source() .. ' is set (its value is not shown)')
  else
    health.error('no key: neither CODESTRAL_API_KEY nor MISTRAL_API_KEY is set',
      { 'export CODESTRAL_API_KEY=... in the shell that starts Neovim' })
  end
  local base = settings.apiBase or env.CODESTRAL_API_BASE or vim.env.CODESTRAL_API_BASE
  health.info('endpoint: ' .. (base or 'https://codestral.mistral.ai/v1 (default)'))

  health.start('codestral: client')
  local clients = vim.lsp.get_clients({ name = 'codestral' })
  if #clients == 0 then
    health.warn('codestral-ls is not running (open a file of a configured filetype)')
  else
    for _, client in ipairs(clients) do
      health.ok(('client %d running, %d buffer(s), position encoding %s'):format(
        client.id, vim.tbl_count(client.attached_buffers), client.offset_encoding))
    end
  end
  -- The current state first (codestral/status): after an outage ends, completions come back
  -- by themselves, and an old error must not read as the present one.
  local now = require('codestral.status').current
  local healthy = now and (now.state == 'idle' or now.state == 'waiting')
  if now then
    local line = ('now: %s (%s)'):format(now.state, now.message or '')
    if healthy then
      health.ok(line)
    else
      health.warn(line)
    end
  end
  local details = codestral.state.last_detail and { codestral.state.last_detail } or nil
  if codestral.state.last_error and healthy then
    health.info('earlier (recovered since): ' .. codestral.state.last_error)
  elseif codestral.state.last_error then
    health.warn('last error: ' .. codestral.state.last_error, details)
  else
    health.ok('no error reported by the server')
  end
end

return M
