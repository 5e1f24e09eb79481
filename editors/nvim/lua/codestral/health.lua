--- :checkhealth codestral: the server binary, the key, the client and the last error.
local M = {}

local PLATFORM_HOSTS = { ['api.mistral.ai'] = true, ['api.eu.mistral.ai'] = true, ['api.us.mistral.ai'] = true }

local function host_of(base)
  local authority = base and base:match('^%a[%w+.-]*://([^/?#]*)')
  authority = authority and authority:gsub('^.*@', '')
  return authority and (authority:match('^%[([^%]]*)%]') or authority:match('^[^:]*')):lower()
end

--- The key the server will send, by the rules of codestral_ls/endpoint.py (README "Teams and
--- gateways"): 'ok' | 'info' | 'error', the line, the advice (errors); and the endpoint. cmd_env wins
--- over Neovim's own environment, as it does for the server.
local function key_check(settings, cmd_env)
  local function env(name)
    local value = cmd_env[name] or vim.env[name]
    return value ~= '' and value or nil
  end
  local function key(name)
    return env(name) and ('%s is set%s (its value is not shown)'):format(name, cmd_env[name] and ' in cmd_env' or '')
  end
  local setting_key = (settings.apiKey or settings.api_key) and 'key given in the apiKey setting'
  local base = settings.apiBase or settings.api_base or env('CODESTRAL_API_BASE')
  local default = not base
  if default then
    local only_mistral = env('MISTRAL_API_KEY') and not env('CODESTRAL_API_KEY') and not setting_key
    base = only_mistral and 'https://api.mistral.ai/v1' or 'https://codestral.mistral.ai/v1'
  end
  local host = host_of(base) or ''
  local endpoint = base .. (default and ' (default)' or '')
  if PLATFORM_HOSTS[host] or host == 'codestral.mistral.ai' then
    local wanted = PLATFORM_HOSTS[host] and 'MISTRAL_API_KEY' or 'CODESTRAL_API_KEY'
    local found = setting_key or key(wanted)
    if found then
      return 'ok', found, nil, endpoint
    end
    local line = default and 'no key: neither CODESTRAL_API_KEY nor MISTRAL_API_KEY is set'
      or ('no key for %s: %s is not set'):format(host, wanted)
    return 'error', line, { ('export %s=... in the shell that starts Neovim'):format(wanted) }, endpoint
  end
  -- Any other host (a gateway, a self-hosted server) gets its own key, or none; a Mistral key
  -- only if the user's environment trusts it (loopback, CODESTRAL_ALLOWED_HOSTS, CODESTRAL_API_BASE).
  local own = (settings.selfHostedApiKey or settings.self_hosted_api_key) and 'key given in the selfHostedApiKey setting'
    or key('CODESTRAL_SELF_HOSTED_API_KEY')
  local mistral = setting_key or key('CODESTRAL_API_KEY') or key('MISTRAL_API_KEY')
  local trusted = vim.tbl_contains({ 'localhost', 'localhost.localdomain', '::1' }, host)
    or host:match('^127%.%d+%.%d+%.%d+$')
    or host == host_of(env('CODESTRAL_API_BASE'))
  for allowed in (env('CODESTRAL_ALLOWED_HOSTS') or ''):gmatch('[^,]+') do
    trusted = trusted or vim.trim(allowed):lower() == host
  end
  if own or (trusted and mistral) then
    return 'ok', own or mistral, nil, endpoint
  elseif mistral then
    return 'info', ('no key sent to %s: your Mistral key goes to an apiBase from settings only on loopback '
      .. 'and CODESTRAL_ALLOWED_HOSTS (if it asks for a key: list it there, or set CODESTRAL_SELF_HOSTED_API_KEY)')
      :format(host), nil, endpoint
  end
  return 'ok', ('no key sent to %s (a self-hosted server or gateway may need none; if it asks for one: '
    .. 'CODESTRAL_SELF_HOSTED_API_KEY)'):format(host), nil, endpoint
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
  local settings = opts.settings or {}
  local instead = (settings.apiKey or settings.api_key) and 'CODESTRAL_API_KEY'
    or (settings.selfHostedApiKey or settings.self_hosted_api_key) and 'CODESTRAL_SELF_HOSTED_API_KEY'
  if instead then
    health.warn(('a key is set in setup() settings; prefer the environment (%s)'):format(instead))
  end
  local level, line, advice, endpoint = key_check(settings, opts.cmd_env or {})
  -- A running server has told its own verdict (codestral/status): it outranks this reading of
  -- its rules, which cannot see every environment the server may have been given.
  local now = require('codestral.status').current
  local told = #vim.lsp.get_clients({ name = 'codestral' }) > 0 and now
    and not vim.tbl_contains({ 'disabled', 'stopped' }, now.state) and now
  if told and told.state == 'no-key' then
    health.error(told.message)
  elseif told and level == 'error' then
    health.ok('the server has a key (' .. told.message .. ')')
  else
    health[level](line, advice)
  end
  health.info('endpoint: ' .. endpoint)

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
