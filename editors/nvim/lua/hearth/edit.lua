-- Edits by instruction: `:'<,'>Hearth edit <instruction>` (or the edit key)
-- asks Hearth to rewrite the selected lines, or the function around the
-- cursor, as the instruction says. The server proposes the edit without
-- applying it; this shows it in the buffer (the old lines marked, the new
-- ones as virtual lines below them) until the user accepts it, applied as
-- one undo step, or rejects it. Editing the buffer drops a proposal: it was
-- made for the text as it was. `:Hearth fixfailure` sends a failure (a
-- register, or the quickfix list) to `hearth.fixFailure` and shows its fix
-- the same way, in the file where the failure happened.
local M = {}

local config = require('hearth.config')

M.namespace = vim.api.nvim_create_namespace('hearth_edit')
M.pending = {} -- bufnr -> { edit, client_id, tick }

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'hearth' })[1]
end

local function key_name(name)
  return config.options.keymaps[name] or (':Hearth ' .. name:gsub('edit_', ''))
end

--- Drop the proposal shown in `bufnr`, if any.
function M.clear(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  M.pending[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

--- The lines of `text` (an edit's new text, each line ending in a break).
local function lines_of(text)
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

--- Show one text edit: its old lines marked as removed, its new lines as
--- virtual lines after them (before the line where a pure insertion goes).
local function show_edit(bufnr, edit)
  local count = vim.api.nvim_buf_line_count(bufnr)
  local first, after = edit.range.start.line, edit.range['end'].line
  if edit.range['end'].character > 0 then
    after = after + 1 -- the file's last line, without a line break
  end
  for row = first, math.min(after, count) - 1 do
    vim.api.nvim_buf_set_extmark(bufnr, M.namespace, row, 0, { line_hl_group = 'HearthEditRemoved' })
  end
  local virt_lines = {}
  for _, line in ipairs(lines_of(edit.newText)) do
    local shown = line:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop))
    table.insert(virt_lines, { { shown, 'HearthEditAdded' } })
  end
  if #virt_lines == 0 then
    return
  end
  if after > first then
    vim.api.nvim_buf_set_extmark(bufnr, M.namespace, math.min(after, count) - 1, 0, { virt_lines = virt_lines })
  elseif first < count then
    vim.api.nvim_buf_set_extmark(bufnr, M.namespace, first, 0, { virt_lines = virt_lines, virt_lines_above = true })
  else
    vim.api.nvim_buf_set_extmark(bufnr, M.namespace, count - 1, 0, { virt_lines = virt_lines })
  end
end

local function show(bufnr, client, result)
  M.clear(bufnr)
  local change = result.edit.documentChanges[1]
  for _, edit in ipairs(change.edits) do
    show_edit(bufnr, edit)
  end
  local hint = string.format(
    ' Hearth: %s accept, %s reject',
    key_name('edit_accept'),
    key_name('edit_reject')
  )
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, result.lines[1], 0, {
    virt_text = { { hint, 'HearthEditHint' } },
    virt_text_pos = 'eol',
  })
  M.pending[bufnr] = { edit = result.edit, client_id = client.id, tick = vim.b[bufnr].changedtick }
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    buffer = bufnr,
    once = true,
    callback = function()
      M.clear(bufnr)
    end,
  })
end

--- Ask for an edit of rows `first`..`last` (0-based, inclusive) of the
--- current buffer; with no rows, of the function around the cursor.
function M.ask(instruction, first, last)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_for(bufnr)
  if not client then
    vim.notify('Hearth is not running for this buffer', vim.log.levels.WARN)
    return
  end
  if not instruction or vim.trim(instruction) == '' then
    vim.ui.input({ prompt = 'Hearth edit: ' }, function(input)
      if input and vim.trim(input) ~= '' then
        M.ask(input, first, last)
      end
    end)
    return
  end
  local range
  if first then
    range = { start = { line = first, character = 0 }, ['end'] = { line = last + 1, character = 0 } }
  else
    local row = vim.api.nvim_win_get_cursor(0)[1] - 1
    range = { start = { line = row, character = 0 }, ['end'] = { line = row, character = 0 } }
  end
  M.clear(bufnr)
  local tick = vim.b[bufnr].changedtick
  vim.notify('Hearth: editing…', vim.log.levels.INFO)
  local params = {
    command = 'hearth.edit',
    arguments = { vim.uri_from_bufnr(bufnr), range, instruction },
  }
  client:request('workspace/executeCommand', params, function(err, result)
    if err then
      vim.notify('Hearth: ' .. err.message, vim.log.levels.ERROR)
    elseif result and result.edit and vim.api.nvim_buf_is_valid(bufnr) then
      if vim.b[bufnr].changedtick ~= tick then
        vim.notify('Hearth: the buffer changed while the edit was written; ask again', vim.log.levels.WARN)
      else
        show(bufnr, client, result)
      end
    end -- no edit: the server said why (window/showMessage)
  end, bufnr)
end

--- The text of a failure: the quickfix list's entries (source 'quickfix'),
--- else register `source` (the unnamed register by default).
local function failure_text(source)
  if source == 'quickfix' then
    local lines = {}
    for _, item in ipairs(vim.fn.getqflist()) do
      local name = item.bufnr > 0 and vim.api.nvim_buf_get_name(item.bufnr) or ''
      table.insert(lines, string.format('%s:%d: %s', name, item.lnum, item.text))
    end
    return table.concat(lines, '\n')
  end
  return vim.fn.getreg(source ~= '' and source or '"')
end

--- Ask Hearth to fix a failure (a traceback, test output, a panic) where it
--- happened: the file of its innermost frame in the workspace is opened and
--- the fix shown there, to accept or reject.
function M.fix_failure(source)
  local client = client_for(vim.api.nvim_get_current_buf()) or vim.lsp.get_clients({ name = 'hearth' })[1]
  if not client then
    vim.notify('Hearth is not running', vim.log.levels.WARN)
    return
  end
  local text = failure_text(source or '')
  if vim.trim(text) == '' then
    vim.notify('Hearth: no failure there (yank it, or fill the quickfix list)', vim.log.levels.INFO)
    return
  end
  vim.notify('Hearth: fixing the failure…', vim.log.levels.INFO)
  local params = { command = 'hearth.fixFailure', arguments = { text } }
  client:request('workspace/executeCommand', params, function(err, result)
    if err then
      vim.notify('Hearth: ' .. err.message, vim.log.levels.ERROR)
    elseif result and result.edit then
      vim.cmd.edit(vim.fn.fnameescape(vim.uri_to_fname(result.uri)))
      vim.api.nvim_win_set_cursor(0, { result.line + 1, 0 })
      show(vim.api.nvim_get_current_buf(), client, result)
    end -- no edit: the server said why (window/showMessage)
  end)
end

--- Apply the proposal shown in the current buffer, as one undo step.
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  local pending = M.pending[bufnr]
  if not pending then
    vim.notify('Hearth: no edit proposed in this buffer', vim.log.levels.INFO)
    return
  end
  M.clear(bufnr)
  local client = vim.lsp.get_client_by_id(pending.client_id)
  if not client or vim.b[bufnr].changedtick ~= pending.tick then
    vim.notify('Hearth: the buffer changed since the edit was proposed; ask again', vim.log.levels.WARN)
    return
  end
  vim.lsp.util.apply_workspace_edit(pending.edit, client.offset_encoding)
end

--- Drop the proposal shown in the current buffer; the buffer is left as it was.
function M.reject()
  M.clear(0)
end

return M
