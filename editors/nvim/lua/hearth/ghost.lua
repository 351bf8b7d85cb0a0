-- Ghost text for Neovim 0.11, which has no LSP inline completion of its own.
--
-- As the user types in insert mode, asks the server for
-- `textDocument/inlineCompletion` (after a short debounce, cancelling the
-- previous request), and shows the first item as virtual text at the cursor
-- and virtual lines below it. An answer for a buffer or a cursor that has
-- moved on since is dropped. Accepting applies the item's edit (its range may
-- cover closers the editor auto-inserted, which it replaces); accepting a
-- word or a line inserts that much and asks again, which the server answers
-- at once from the rest of the suggestion. The cycle keys ask again,
-- explicitly, for the server's alternatives (it sends them only then: while
-- typing the first comes alone, sooner), and show "(2/3)" at the line's end.
local M = {}

local config = require('hearth.config')

M.namespace = vim.api.nvim_create_namespace('hearth_ghost')
M.count_namespace = vim.api.nvim_create_namespace('hearth_ghost_count')
local HIGHLIGHT = 'HearthGhostText'
local COUNT_HIGHLIGHT = 'HearthGhostCount'
local INVOKED, AUTOMATIC = 1, 2 -- InlineCompletionTriggerKind

---@class hearth.Shown
---@field items table[]     the server's items
---@field index integer     the one shown
---@field row integer       0-based cursor row it was asked at
---@field col integer       0-based byte column
---@field tick integer      the buffer's changedtick then
---@field encoding string   the client's position encoding
---@field complete boolean  asked for explicitly: the server's alternatives are among the items

---@class hearth.BufferState
---@field timer uv.uv_timer_t|nil
---@field request { client: vim.lsp.Client, id: integer }|nil
---@field shown hearth.Shown|nil
---@field tick integer|nil  changedtick seen by the last TextChangedI
---@field dismissed integer|nil  changedtick at which the user dismissed

---@type table<integer, hearth.BufferState>
local buffers = {}

local function state(bufnr)
  buffers[bufnr] = buffers[bufnr] or {}
  return buffers[bufnr]
end

---@return vim.lsp.Client|nil
local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'hearth' })[1]
end

local function item_text(item)
  local text = item.insertText
  if type(text) == 'table' then -- a StringValue (snippet): shown as its plain text
    text = text.value
  end
  return text or ''
end

--- Hide the ghost text (the suggestion is forgotten).
function M.clear(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  vim.api.nvim_buf_clear_namespace(bufnr, M.count_namespace, 0, -1)
  state(bufnr).shown = nil
end

local function cancel(bufnr)
  local s = state(bufnr)
  if s.timer then
    s.timer:stop()
  end
  if s.request then
    pcall(s.request.client.cancel_request, s.request.client, s.request.id)
    s.request = nil
  end
end

--- The byte column on `line` of a position `character` in `encoding` units.
local function byte_col(line, character, encoding)
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and col or #line
end

local function render(bufnr)
  local shown = state(bufnr).shown
  if not shown then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  vim.api.nvim_buf_clear_namespace(bufnr, M.count_namespace, 0, -1)
  local item = shown.items[shown.index]
  local lines = vim.split(item_text(item), '\n', { plain = true })
  local first = lines[1]
  if #lines == 1 and item.range then
    -- The item replaces closers after the cursor (`)` the editor auto-paired):
    -- show only what comes before them, and the line then reads as it will.
    local line = vim.api.nvim_buf_get_lines(bufnr, shown.row, shown.row + 1, false)[1] or ''
    local stop = byte_col(line, item.range['end'].character, shown.encoding)
    local replaced = line:sub(shown.col + 1, stop)
    if replaced ~= '' and first:sub(-#replaced) == replaced then
      first = first:sub(1, #first - #replaced)
    end
  end
  local mark = {
    virt_text = { { first, HIGHLIGHT } },
    virt_text_pos = 'inline',
    hl_mode = 'combine',
    priority = 200,
  }
  if #lines > 1 then
    mark.virt_lines = vim.tbl_map(function(rest)
      return { { rest, HIGHLIGHT } }
    end, vim.list_slice(lines, 2))
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, shown.row, shown.col, mark)
  if #shown.items > 1 then
    -- Which of the alternatives this is, as Copilot shows it: at the line's end.
    vim.api.nvim_buf_set_extmark(bufnr, M.count_namespace, shown.row, 0, {
      virt_text = { { string.format(' (%d/%d)', shown.index, #shown.items), COUNT_HIGHLIGHT } },
      virt_text_pos = 'eol',
      hl_mode = 'combine',
    })
  end
end

local function cursor_now(bufnr)
  if vim.api.nvim_get_current_buf() ~= bufnr then
    return nil
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  return row - 1, col
end

--- Ask the server for a suggestion at the cursor now.
---@param bufnr integer
---@param trigger integer InlineCompletionTriggerKind
---@param step integer|nil  cycling: show the item this far from the one shown now
local function request(bufnr, trigger, step)
  local client = client_for(bufnr)
  if not client or not vim.api.nvim_get_mode().mode:match('^i') then
    return
  end
  cancel(bufnr)
  local s = state(bufnr)
  local row, col = cursor_now(bufnr)
  if not row then
    return
  end
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local was = s.shown and item_text(s.shown.items[s.shown.index]) -- stays shown meanwhile
  local encoding = client.offset_encoding
  local params = vim.lsp.util.make_position_params(0, encoding)
  params.context = { triggerKind = trigger }
  local ok, id
  ok, id = client:request('textDocument/inlineCompletion', params, function(err, result)
    if s.request and s.request.id == id then
      s.request = nil
    end
    if err or not result or not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    local now_row, now_col = cursor_now(bufnr)
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or now_row ~= row or now_col ~= col then
      return -- the user moved on: this answer is for a text that is gone
    end
    local items = result.items or result
    if #items == 0 or item_text(items[1]) == '' then
      M.clear(bufnr)
      return
    end
    local index = 1
    if step then
      for i, item in ipairs(items) do
        if item_text(item) == was then
          index = (i - 1 + step) % #items + 1
          break
        end
      end
    end
    s.shown = {
      items = items,
      index = index,
      row = row,
      col = col,
      tick = tick,
      encoding = encoding,
      complete = trigger == INVOKED,
    }
    render(bufnr)
  end, bufnr)
  if ok then
    s.request = { client = client, id = id }
  end
end

local function schedule(bufnr)
  local s = state(bufnr)
  s.timer = s.timer or vim.uv.new_timer()
  s.timer:stop()
  s.timer:start(
    config.options.ghost_text.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if vim.api.nvim_buf_is_valid(bufnr) then
        request(bufnr, AUTOMATIC)
      end
    end)
  )
end

--- The current buffer and the suggestion shown in it (nil when none is).
---@return integer, hearth.Shown|nil
local function current()
  local bufnr = vim.api.nvim_get_current_buf()
  return bufnr, state(bufnr).shown
end

--- Whether a suggestion is showing in the current buffer.
function M.visible()
  local _, shown = current()
  return shown ~= nil
end

--- The shown suggestion's text, or nil.
function M.text()
  local _, shown = current()
  return shown and item_text(shown.items[shown.index]) or nil
end

--- What `kind` takes of `text`: all of it, its next word (with the blanks
--- before it), or up to the end of its first line (its newline too when the
--- first line is already typed).
local function part_of(text, kind)
  if kind == 'word' then
    return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text
  elseif kind == 'line' then
    local line = text:match('^[^\n]*')
    return line ~= '' and line or text:match('^\n[^\n]*') or text
  end
  return text
end

--- Accept the shown suggestion, or part of it. False when none is shown.
---@param kind 'all'|'word'|'line'|nil
function M.accept(kind)
  local bufnr, shown = current()
  if not shown then
    return false
  end
  local item = shown.items[shown.index]
  local text = item_text(item)
  local part = part_of(text, kind or 'all')
  local line = vim.api.nvim_buf_get_lines(bufnr, shown.row, shown.row + 1, false)[1] or ''
  local start = { line = shown.row, character = vim.str_utfindex(line, shown.encoding, shown.col, false) }
  local range = { start = start, ['end'] = start }
  if part == text and item.range then
    range = item.range -- the whole item replaces what its range covers
  end
  M.clear(bufnr)
  cancel(bufnr)
  vim.lsp.util.apply_text_edits({ { range = range, newText = part } }, bufnr, shown.encoding)
  local lines = vim.split(part, '\n', { plain = true })
  local row = shown.row + #lines - 1
  local col = #lines == 1 and shown.col + #part or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  return true
end

--- Show the next (`step` 1) or previous (-1) of the server's suggestions.
--- The first press asks the server for its alternatives.
function M.cycle(step)
  local bufnr, shown = current()
  if not shown then
    request(bufnr, INVOKED)
    return
  end
  if not shown.complete then
    request(bufnr, INVOKED, step)
    return
  end
  shown.index = (shown.index - 1 + step) % #shown.items + 1
  render(bufnr)
end

--- Hide the suggestion until the next edit.
function M.dismiss()
  local bufnr = vim.api.nvim_get_current_buf()
  cancel(bufnr)
  M.clear(bufnr)
  state(bufnr).dismissed = vim.api.nvim_buf_get_changedtick(bufnr)
end

--- Ask for a suggestion now, even after a dismiss.
function M.suggest()
  local bufnr = vim.api.nvim_get_current_buf()
  state(bufnr).dismissed = nil
  request(bufnr, INVOKED)
end

local function on_text_changed(bufnr)
  local s = state(bufnr)
  s.tick = vim.api.nvim_buf_get_changedtick(bufnr)
  s.dismissed = nil
  M.clear(bufnr)
  schedule(bufnr)
end

local function on_cursor_moved(bufnr)
  local s = state(bufnr)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  if s.tick ~= tick then
    return -- the move that comes with typing: TextChangedI follows and asks
  end
  if s.shown and s.shown.tick == tick then
    local row, col = cursor_now(bufnr)
    if row == s.shown.row and col == s.shown.col then
      return -- the cursor came back where the suggestion is
    end
  end
  M.clear(bufnr)
  if s.dismissed ~= tick then
    schedule(bufnr)
  end
end

--- Follow `bufnr`'s typing with ghost text.
function M.attach(bufnr)
  local group = vim.api.nvim_create_augroup('hearth_ghost_' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_text_changed(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd('CursorMovedI', {
    group = group,
    buffer = bufnr,
    callback = function()
      on_cursor_moved(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      cancel(bufnr)
      M.clear(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group,
    buffer = bufnr,
    callback = function()
      cancel(bufnr)
      local s = buffers[bufnr]
      if s and s.timer then
        s.timer:close()
      end
      buffers[bufnr] = nil
      pcall(vim.api.nvim_del_augroup_by_id, group)
    end,
  })
end

function M.detach(bufnr)
  cancel(bufnr)
  M.clear(bufnr)
  pcall(vim.api.nvim_del_augroup_by_name, 'hearth_ghost_' .. bufnr)
end

return M
