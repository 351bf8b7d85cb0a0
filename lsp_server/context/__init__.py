"""Reading code with tree-sitter: languages, queries, and the context around the cursor."""
