"""LSP features: one module per feature, registered in server.py."""
