-- Hearth's options for Neovim: the defaults, the user's overrides, and the
-- LSP client configuration they make.
local M = {}

---@class hearth.Keymaps
---@field accept string|false        accept the whole suggestion
---@field accept_word string|false   accept its next word
---@field accept_line string|false   accept up to the end of its first line
---@field next string|false          show the next suggestion
---@field prev string|false          show the previous suggestion
---@field dismiss string|false       hide it until the next edit
---@field suggest string|false       ask for a suggestion now
---@field fix string|false           normal mode: Hearth's fix for the diagnostics on the cursor's line
---@field edit string|false          normal mode: edit the function here by an instruction; visual: the selected lines
---@field edit_accept string|false   normal mode: apply the edit shown (one undo step)
---@field edit_reject string|false   normal mode: drop the edit shown

---@class hearth.Options
---@field cmd string[]|nil           the server command; nil: found by `find_cmd`
---@field filetypes string[]
---@field root_markers string[]
---@field settings table             Hearth's settings (docs/settings.md), e.g. { completion = { maxTokens = 64 } }
---@field ghost_text { enabled: boolean, debounce_ms: integer, builtin: boolean|'auto' }
---@field keymaps hearth.Keymaps

---@type hearth.Options
M.defaults = {
  cmd = nil,
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'rust',
    'go',
    'c',
    'cpp',
    'java',
  },
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod' },
  settings = {},
  ghost_text = {
    enabled = true,
    -- The server waits for a burst of keys to end too; this only spares it
    -- requests that the next key would cancel anyway.
    debounce_ms = 40,
    -- Neovim 0.12's own LSP inline completion when it has one ('auto'), else
    -- Hearth's renderer.
    builtin = 'auto',
  },
  keymaps = {
    accept = '<Tab>',
    accept_word = '<C-Right>',
    accept_line = '<C-Down>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
    suggest = '<M-\\>',
    fix = '<leader>hf',
    edit = '<leader>he',
    edit_accept = '<leader>hy',
    edit_reject = '<leader>hn',
  },
}

---@type hearth.Options
M.options = vim.deepcopy(M.defaults)

--- The server command: `hearth` from PATH. An opened folder is not trusted:
--- the working directory's own `.venv/bin/hearth` (Hearth's checkout, or a
--- project that installed it) runs only once the user has trusted that file,
--- as Neovim asks for an exrc file (`vim.secure.read`: allow, deny, or ignore
--- for now; `:trust` too). Without an answer (a headless Neovim), PATH's.
---@return string[]
function M.find_cmd()
  local local_venv = vim.fs.joinpath(vim.fn.getcwd(), '.venv', 'bin', 'hearth')
  if vim.fn.executable(local_venv) == 1 and vim.secure.read(local_venv) ~= nil then
    return { local_venv }
  end
  local on_path = vim.fn.exepath('hearth')
  return { on_path ~= '' and on_path or 'hearth' }
end

-- What `find_cmd` found, once: its question is asked once a setup.
local found_cmd = nil ---@type string[]|nil

---@param opts hearth.Options|nil
---@return hearth.Options
function M.set(opts)
  found_cmd = nil
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, not merge: a user's filetypes are the whole list.
  for _, key in ipairs({ 'filetypes', 'root_markers', 'cmd' }) do
    if opts and opts[key] then
      M.options[key] = opts[key]
    end
  end
  return M.options
end

---@return string[]
function M.cmd()
  if M.options.cmd then
    return M.options.cmd
  end
  found_cmd = found_cmd or M.find_cmd()
  return found_cmd
end

--- The client configuration for `vim.lsp.config('hearth', ...)`.
---@return vim.lsp.Config
function M.lsp_config()
  local options = M.options
  return {
    cmd = M.cmd(),
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    -- Both ways the server reads settings: at start, and when it asks for
    -- the `hearth` section (again on :lua vim.lsp.config changes).
    init_options = options.settings,
    settings = { hearth = options.settings },
    -- These settings are the user's own (setup's, or a project file Neovim
    -- asked the user to trust): the server may take the model and the
    -- engine from them when it asks (docs/settings.md, "Whose settings").
    capabilities = { experimental = { hearthUserSettings = true } },
  }
end

return M
