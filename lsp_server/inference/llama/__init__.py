"""The embedded engine: llama-cpp-python in-process, stoppable at any token.

engine.py loads the model and lays out its prompts; decode.py runs the
token loop (healing.py, detour.py steer it); cache.py keeps what it can of
the KV cache between prompts; patches.py holds every change Hearth makes
to llama-cpp-python's internals.
"""
