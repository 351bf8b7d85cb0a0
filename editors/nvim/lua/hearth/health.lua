-- :checkhealth hearth
local M = {}

local DOCTOR_TIMEOUT_MS = 120000 -- assembling a built-in model the first time takes a while

-- `hearth doctor` prints a line a check, "MARK  label  finding" (marks: ok, warn,
-- FAIL, -- when skipped; two spaces or more after the label), and under a warn or
-- a FAIL indented lines: the server's last words, then "fix: ...".
local function parse_doctor(output)
  local checks = {}
  for line in vim.gsplit(output, '\n', { trimempty = true }) do
    local mark, label, finding = line:match('^(%S+)%s+(.-)%s%s+(.*)$')
    local more = line:match('^%s+(.*)$')
    if mark then
      table.insert(checks, { mark = mark, label = label, finding = finding, advice = {} })
    elseif more and #checks > 0 then
      table.insert(checks[#checks].advice, (more:gsub('^fix: ', '')))
    end
  end
  return checks
end

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
      'Install it: `pipx install /path/to/hearth[model]` (puts `hearth` on PATH), or `make run` in a Hearth checkout (it makes .venv/bin/hearth)',
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
  local report = { ok = health.ok, warn = health.warn, FAIL = health.error }
  local failed = false
  for _, check in ipairs(parse_doctor(result.stdout or '')) do
    if check.mark == 'FAIL' and (check.label == 'model' or check.label == 'file') then
      table.insert(
        check.advice,
        "In Neovim: require('hearth').setup({ settings = { model = { path = '/path/to/model.gguf' } } })"
      )
    end
    local show = report[check.mark] or health.info
    show(check.label .. ': ' .. check.finding, check.advice)
    failed = failed or check.mark == 'FAIL'
  end
  if result.code ~= 0 and not failed then
    local stderr = vim.trim(result.stderr or '')
    health.error('`hearth doctor` ended with code ' .. result.code .. ': ' .. stderr)
  end
end

return M
