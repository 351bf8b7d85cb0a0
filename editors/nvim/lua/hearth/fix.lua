-- Hearth's fix for the diagnostics at the cursor, whichever source reported
-- them. Neovim's own vim.lsp.buf.code_action() passes each server only its
-- own diagnostics; this passes Hearth every diagnostic on the cursor's line
-- (vim.diagnostic, every namespace: other servers', linters', Hearth's), so
-- that "Hearth: fix" is offered on ruff's or Pyright's errors too.
local M = {}

local severity = vim.diagnostic.severity
local LSP_SEVERITY = {
  [severity.ERROR] = 1,
  [severity.WARN] = 2,
  [severity.INFO] = 3,
  [severity.HINT] = 4,
}

--- `col` (a byte index into line `row`) in the server's position encoding.
local function character(bufnr, row, col, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  return vim.str_utfindex(line, encoding, math.min(col, #line), false)
end

--- The diagnostics on line `row` (0-based) of `bufnr`, as LSP diagnostics.
function M.diagnostics_on(bufnr, row, encoding)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = row })) do
    local lsp = d.user_data and d.user_data.lsp
    if lsp then
      table.insert(found, lsp) -- a server's own, as it sent it
    else
      local end_row = d.end_lnum or d.lnum
      table.insert(found, {
        range = {
          start = { line = d.lnum, character = character(bufnr, d.lnum, d.col, encoding) },
          ['end'] = { line = end_row, character = character(bufnr, end_row, d.end_col or d.col, encoding) },
        },
        severity = LSP_SEVERITY[d.severity],
        message = d.message,
        source = d.source,
        code = d.code,
      })
    end
  end
  return found
end

--- Offer Hearth's fixes for the diagnostics on the cursor's line; with one,
--- it is applied at once (the model writes it first: seconds).
function M.at_cursor()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'hearth' })[1]
  if not client then
    vim.notify('Hearth is not running for this buffer', vim.log.levels.WARN)
    return
  end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local diagnostics = M.diagnostics_on(bufnr, row, client.offset_encoding)
  if #diagnostics == 0 then
    vim.notify('Hearth: no diagnostic on this line to fix', vim.log.levels.INFO)
    return
  end
  local width = #(vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or '')
  vim.lsp.buf.code_action({
    context = { diagnostics = diagnostics, only = { 'quickfix' }, triggerKind = 1 },
    filter = function(action)
      return vim.startswith(action.title, 'Hearth: fix')
    end,
    apply = true,
    range = { start = { row + 1, 0 }, ['end'] = { row + 1, width } },
  })
end

return M
