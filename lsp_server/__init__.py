"""Hearth: a private coding partner that runs a local model behind the Language Server Protocol."""

__version__ = "0.1.0"
