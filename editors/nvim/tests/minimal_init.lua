-- A Neovim with nothing but Hearth, for the editor tests
-- (tests/editors/test_neovim.py starts `nvim --embed --headless -u` this file).
-- The environment says how to start the server: HEARTH_TEST_SERVER is a
-- JSON list (the command), HEARTH_TEST_SETTINGS a JSON object of settings.
local plugin = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
vim.opt.runtimepath = { plugin, vim.env.VIMRUNTIME }
vim.opt.packpath = {}
vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.expandtab = true
vim.o.shiftwidth = 4

local opts = { settings = vim.json.decode(vim.env.HEARTH_TEST_SETTINGS or '{}') }
if vim.env.HEARTH_TEST_SERVER then
  opts.cmd = vim.json.decode(vim.env.HEARTH_TEST_SERVER)
end
require('hearth').setup(opts)
