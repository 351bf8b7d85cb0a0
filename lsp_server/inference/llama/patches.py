"""Every patch of llama-cpp-python's internals, in one place.

Written against llama-cpp-python 0.3.16 to 0.3.36 (pyproject allows
>=0.3.16,<0.4). Each patch replaces a name llama-cpp-python looks up at
call time; a release that renames it, or stops looking it up, makes the
patch silently do nothing. tests/unit/test_llama_patches.py checks, without
a model, that each name is still there and still used; each patch below
names the test of its effect too.

decode.py and cache.py also reach past the public API (`Llama._ctx`,
`_batch`, `_sampler`, `input_ids`, `n_tokens`), without patching anything:
tests/engine/test_engine.py exercises them on the real model.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Iterator
from typing import Any

llama_log = logging.getLogger("llama.cpp")


class NoRedirect:
    """Stands in for llama-cpp-python's `suppress_stdout_stderr`, which silences
    llama.cpp by pointing file descriptors 1 and 2 at /dev/null while a model
    loads. In a language server stdout is the LSP channel, written from the
    event loop thread at the same time: every message sent during a load was
    lost (seen here: a response vanished and the client waited forever).

    Patched in: llama_cpp.llama, llama_cpp._internals, llama_cpp.llama_chat_format
    (each imports the name from llama_cpp._utils), 0.3.x. Breaks:
    tests/unit/test_llama_patches.py::test_output_is_not_redirected, and the
    messages sent while a model loads (tests/e2e/test_server.py::
    test_model_load_reports_progress)."""

    def __init__(self, disable: bool = True) -> None:
        pass

    def __enter__(self) -> NoRedirect:
        return self

    def __exit__(self, *_: object) -> None:
        pass


# ggml_log_level: NONE, DEBUG, INFO, WARN, ERROR, CONT (continues the previous line).
_LLAMA_LEVELS = {
    0: logging.DEBUG,
    1: logging.DEBUG,
    2: logging.DEBUG,
    3: logging.WARNING,
    4: logging.ERROR,
}
_log_callback: Any = None  # kept referenced: llama.cpp holds a pointer to it
_last_level = logging.DEBUG


def prepare_llama_cpp() -> Any:
    """Import llama_cpp with its output routed to our log instead of file descriptors.

    `llama_log_set` with a ctypes callback, 0.3.x: without it llama.cpp
    writes its own log to stderr. Breaks: tests/unit/test_llama_patches.py::
    test_output_is_not_redirected (the names); nothing else fails when the
    log goes to stderr instead, it is only noise in the editor's log."""
    global _log_callback
    import llama_cpp
    import llama_cpp._internals
    import llama_cpp.llama
    import llama_cpp.llama_chat_format

    if _log_callback is None:
        for module in (llama_cpp.llama, llama_cpp._internals, llama_cpp.llama_chat_format):
            module.suppress_stdout_stderr = NoRedirect  # type: ignore[attr-defined]

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def to_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            global _last_level
            _last_level = _LLAMA_LEVELS.get(level, _last_level)
            message = text.decode("utf-8", errors="replace").rstrip()
            if message:
                llama_log.log(_last_level, "%s", message)

        _log_callback = to_log
        llama_cpp.llama_log_set(to_log, ctypes.c_void_p(0))
    return llama_cpp


_LOADING = threading.Lock()


@contextlib.contextmanager
def weights_in_place() -> Iterator[None]:
    """Models load with llama.cpp's weight repacking off (`use_extra_bufts`,
    which llama-cpp-python does not expose). Repacking copies the weights into
    the layout of llama.cpp's CPU kernels: the default model then took 1.93 GB
    instead of 1.34 GB, and again per context, since the copy is not shared;
    measured on two cores it read prompts slower (60 vs 80 tokens/s) and wrote
    at most 10% faster.

    Patches `llama_cpp.llama_cpp.llama_model_default_params`, which
    `Llama.__init__` calls, 0.3.x. Breaks: tests/unit/test_llama_patches.py::
    test_weights_are_used_in_place; the memory it saves shows in
    tests/e2e/test_storm.py's resident size."""
    from llama_cpp import llama_cpp as api

    default = api.llama_model_default_params

    def in_place() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    with _LOADING:  # the patch is process-wide: one load at a time
        api.llama_model_default_params = in_place
        try:
            yield
        finally:
            api.llama_model_default_params = default


class _Borrowed:
    """Another Llama's model, which that Llama frees: closing this does nothing."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def model_of(llm: Any) -> Iterator[None]:
    """The next Llama made takes `llm`'s model instead of loading the file
    again. Loading it again would map the weights a second time: the same
    memory, but counted twice in the resident size (a 1.2 GB process for the
    small model), and a file deleted since could not be loaded at all.

    Patches `llama_cpp._internals.LlamaModel`, which `Llama.__init__`
    constructs, 0.3.x. Breaks: tests/unit/test_llama_patches.py::
    test_a_second_context_borrows_the_model, and hovers after the model
    file is deleted (tests/e2e/test_faults.py::
    test_a_deleted_model_file_is_said_once_and_the_loaded_model_goes_on)."""
    from llama_cpp import _internals

    load = _internals.LlamaModel

    def borrow(**_: Any) -> _Borrowed:
        return _Borrowed(llm._model)

    with _LOADING:  # the patch is process-wide: one load at a time
        _internals.LlamaModel = borrow  # type: ignore[assignment,misc]
        try:
            yield
        finally:
            _internals.LlamaModel = load  # type: ignore[misc]
