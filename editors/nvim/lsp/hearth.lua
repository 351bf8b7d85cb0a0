-- Hearth for Neovim 0.11+'s `vim.lsp.enable('hearth')`, with this plugin on
-- 'runtimepath'. `require('hearth').setup(opts)` changes the options (and
-- adds the ghost text); without it, the defaults of lua/hearth/config.lua.
return require('hearth.config').lsp_config()
