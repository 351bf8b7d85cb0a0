"""The patches of llama-cpp-python's internals (inference/llama/patches.py)
still reach what they patch: each replaces a name llama-cpp-python looks up
at call time, and a release that renames it, or stops looking it up, would
make the patch silently do nothing. No model needed."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import llama_cpp
import llama_cpp._internals
import llama_cpp.llama
import llama_cpp.llama_chat_format
from llama_cpp import llama_cpp as api

from lsp_server.inference.llama import patches


def test_output_is_not_redirected() -> None:
    patches.prepare_llama_cpp()
    for module in (llama_cpp.llama, llama_cpp._internals, llama_cpp.llama_chat_format):
        assert "suppress_stdout_stderr(" in inspect.getsource(module), module.__name__
        assert module.suppress_stdout_stderr is patches.NoRedirect, module.__name__


def test_weights_are_used_in_place() -> None:
    assert "use_extra_bufts" in {name for name, *_ in api.llama_model_params._fields_}
    assert "llama_cpp.llama_model_default_params()" in inspect.getsource(llama_cpp.Llama.__init__)
    with patches.weights_in_place():
        assert api.llama_model_default_params().use_extra_bufts is False
    assert api.llama_model_default_params().use_extra_bufts is True, "only while loading"


def test_a_second_context_borrows_the_model() -> None:
    # Llama.__init__ checks that the path exists, then makes its model here.
    assert "internals.LlamaModel(" in inspect.getsource(llama_cpp.Llama.__init__)
    load = llama_cpp._internals.LlamaModel
    owner = SimpleNamespace(_model=SimpleNamespace(vocab="the vocab"))  # a Llama, as far as needed
    with patches.model_of(owner):
        make: Any = llama_cpp._internals.LlamaModel  # the patch takes what Llama passes
        borrowed = make(path_model="/dev/null", params=None, verbose=False)
        assert borrowed.vocab == "the vocab"
        borrowed.close()  # the owner's to free: nothing happens
    assert llama_cpp._internals.LlamaModel is load
