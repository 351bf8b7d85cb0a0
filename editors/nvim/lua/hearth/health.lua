-- :checkhealth hearth
local M = {}

local DOCTOR_TIMEOUT_MS = 120000 -- assembling a built-in model the first time takes a while

function M.check()
  local health = vim.health
  local config = require('hearth.config')
  health.start('Hearth')
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('Neovim 0.11 or newer is needed (vim.lsp.config)')
    return
  end
  health.ok('Neovim ' .. tostring(vim.version()))
  if vim.lsp.inline_completion then
    health.info("ghost text: Neovim's own inline completion")
  else
    health.info("ghost text: Hearth's renderer (Neovim 0.12 has its own)")
  end

  local cmd = config.cmd()
  if vim.fn.executable(cmd[1]) == 0 then
    health.error('server not found: ' .. cmd[1], {
      'Run `make run` in a Hearth checkout (it makes .venv/bin/hearth), or `pip install hearth-lsp`',
      "Or give the command: require('hearth').setup({ cmd = { '/path/to/hearth' } })",
    })
    return
  end
  local version = vim.system(vim.list_extend(vim.deepcopy(cmd), { '--version' }), { text = true })
    :wait()
  if version.code ~= 0 then
    health.error('`' .. cmd[1] .. ' --version` failed: ' .. (version.stderr or ''))
    return
  end
  health.ok('server: ' .. cmd[1] .. ' (' .. vim.trim(version.stdout) .. ')')

  local engine = config.options.settings.engine
  if engine and engine.kind == 'remote' then
    -- No local model to check: the server says when the remote one does not answer.
    health.ok(
      'engine: remote, '
        .. (engine.url or 'http://127.0.0.1:8080')
        .. ' ('
        .. (engine.api or 'llamacpp')
        .. ')'
    )
    return
  end

  local doctor = vim.list_extend(vim.deepcopy(cmd), { 'doctor' })
  local model = config.options.settings.model and config.options.settings.model.path
  if model then
    vim.list_extend(doctor, { '--model', model })
  end
  local result = vim.system(doctor, { text = true }):wait(DOCTOR_TIMEOUT_MS)
  if result.code ~= 0 then
    health.error('no model: ' .. vim.trim(result.stderr or ''), {
      'Install the built-in models with `make run` in the Hearth checkout',
      "or set one: require('hearth').setup({ settings = { model = { path = '/path/to/model.gguf' } } })",
    })
    return
  end
  for line in vim.gsplit(vim.trim(result.stdout), '\n') do
    health.ok(line)
  end
end

return M
