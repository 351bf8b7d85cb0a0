-- Hearth for Neovim: the language server through Neovim's own LSP client
-- (hover, code actions and the rest come from it), plus ghost text for
-- inline completions.
local M = {}

local config = require('hearth.config')

local function builtin_inline_completion()
  local builtin = config.options.ghost_text.builtin
  if builtin == 'auto' then
    return vim.lsp.inline_completion ~= nil
  end
  return builtin and vim.lsp.inline_completion ~= nil
end

local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'n', false)
end

--- Insert-mode keymaps for `bufnr`. A key whose action has nothing to do
--- (accept with no suggestion shown) does what it did before: <Tab> still
--- indents.
local function set_keymaps(bufnr, actions)
  for name, action in pairs(actions) do
    local lhs = config.options.keymaps[name]
    if lhs then
      vim.keymap.set('i', lhs, function()
        if action() == false then
          feed(lhs)
        end
      end, { buffer = bufnr, desc = 'Hearth: ' .. name:gsub('_', ' ') })
    end
  end
end

local function ghost_actions()
  local ghost = require('hearth.ghost')
  return {
    accept = function()
      return ghost.accept('all')
    end,
    accept_word = function()
      return ghost.accept('word')
    end,
    accept_line = function()
      return ghost.accept('line')
    end,
    next = function()
      ghost.cycle(1)
    end,
    prev = function()
      ghost.cycle(-1)
    end,
    dismiss = function()
      if not ghost.visible() then
        return false
      end
      ghost.dismiss()
    end,
    suggest = ghost.suggest,
  }
end

-- Neovim 0.12+: its own inline completion shows the ghost text; accepting
-- a word or a line is not in its API, so those keys are left alone.
local function builtin_actions()
  local inline = vim.lsp.inline_completion
  return {
    accept = function()
      return inline.get() -- false when nothing is shown
    end,
    next = function()
      inline.select({ count = 1 })
    end,
    prev = function()
      inline.select({ count = -1 })
    end,
  }
end

local function on_attach(client, bufnr)
  if client.name ~= 'hearth' then
    return
  end
  local keymaps = config.options.keymaps
  if keymaps.fix then
    vim.keymap.set('n', keymaps.fix, function()
      require('hearth.fix').at_cursor()
    end, { buffer = bufnr, desc = 'Hearth: fix the diagnostics on this line' })
  end
  if keymaps.edit then
    vim.keymap.set('n', keymaps.edit, function()
      require('hearth.edit').ask(nil)
    end, { buffer = bufnr, desc = 'Hearth: edit the function here by an instruction' })
    vim.keymap.set('x', keymaps.edit, function()
      local first, last = vim.fn.line('v'), vim.fn.line('.')
      vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<Esc>', true, false, true), 'nx', false)
      require('hearth.edit').ask(nil, math.min(first, last) - 1, math.max(first, last) - 1)
    end, { buffer = bufnr, desc = 'Hearth: edit the selected lines by an instruction' })
  end
  if keymaps.edit_accept then
    vim.keymap.set('n', keymaps.edit_accept, function()
      require('hearth.edit').accept()
    end, { buffer = bufnr, desc = 'Hearth: accept the proposed edit' })
  end
  if keymaps.edit_reject then
    vim.keymap.set('n', keymaps.edit_reject, function()
      require('hearth.edit').reject()
    end, { buffer = bufnr, desc = 'Hearth: reject the proposed edit' })
  end
  if not config.options.ghost_text.enabled then
    return
  end
  if builtin_inline_completion() then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    set_keymaps(bufnr, builtin_actions())
  else
    require('hearth.ghost').attach(bufnr)
    set_keymaps(bufnr, ghost_actions())
  end
end

--- Configure and enable the `hearth` language server.
---@param opts hearth.Options|nil  see lua/hearth/config.lua and :help hearth
function M.setup(opts)
  config.set(opts)
  vim.api.nvim_set_hl(0, 'HearthGhostText', { link = 'Comment', default = true })
  vim.api.nvim_set_hl(0, 'HearthGhostCount', { link = 'NonText', default = true })
  vim.api.nvim_set_hl(0, 'HearthEditRemoved', { link = 'DiffDelete', default = true })
  vim.api.nvim_set_hl(0, 'HearthEditAdded', { link = 'DiffAdd', default = true })
  vim.api.nvim_set_hl(0, 'HearthEditHint', { link = 'Comment', default = true })
  vim.lsp.config('hearth', config.lsp_config())
  local group = vim.api.nvim_create_augroup('hearth', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client then
        on_attach(client, args.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'hearth' and not builtin_inline_completion() then
        require('hearth.ghost').detach(args.buf)
      end
    end,
  })
  vim.api.nvim_create_user_command('Hearth', function(command)
    local action, rest = command.fargs[1], table.concat(command.fargs, ' ', 2)
    if action == 'fix' then
      require('hearth.fix').at_cursor()
    elseif action == 'edit' then
      local first = command.range > 0 and command.line1 - 1 or nil
      require('hearth.edit').ask(rest, first, command.range > 0 and command.line2 - 1 or nil)
    elseif action == 'fixfailure' then
      require('hearth.edit').fix_failure(command.fargs[2])
    elseif action == 'accept' then
      require('hearth.edit').accept()
    elseif action == 'reject' then
      require('hearth.edit').reject()
    else
      vim.notify(
        'Hearth: unknown command ' .. (action or '') .. ' (try :Hearth fix, edit, fixfailure, accept or reject)',
        vim.log.levels.ERROR
      )
    end
  end, {
    nargs = '+',
    range = true,
    complete = function(_, line)
      if line:match('^%S*Hearth%s+%S*$') then
        return { 'fix', 'edit', 'fixfailure', 'accept', 'reject' }
      end
      return {}
    end,
    desc = 'Hearth: fix (the cursor line), edit <instruction>, fixfailure [register|quickfix], accept, reject',
  })
  vim.lsp.enable('hearth')
end

return M
