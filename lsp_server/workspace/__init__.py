"""The workspace index: the definitions and imports of the project's files, for prompts."""
