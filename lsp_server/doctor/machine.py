"""Checks of this machine: Python, and the llama.cpp build."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys

from lsp_server.doctor.findings import Finding

DISTRIBUTION = "hearth-lsp"


def check_python() -> Finding:
    found = f"{platform.python_version()} at {sys.executable}"
    needed = _required_python()
    if needed is None:
        return Finding("ok", found)
    text = f"{found} (Hearth needs {needed[0]}.{needed[1]}+)"
    if sys.version_info[:2] < needed:
        return Finding(
            "FAIL",
            text,
            f"install Python {needed[0]}.{needed[1]} or newer, and Hearth again with it "
            "(in a Hearth checkout: `make clean run PYTHON=python3.N`)",
        )
    return Finding("ok", text)


def _installed() -> importlib.metadata.Distribution | None:
    """Hearth's installed metadata: what pyproject.toml requires."""
    try:
        return importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        return None


def _required_python() -> tuple[int, int] | None:
    """The oldest Python Hearth allows."""
    installed = _installed()
    requirement = installed.metadata["Requires-Python"] if installed else None
    found = re.search(r">=\s*(\d+)\.(\d+)", requirement or "")
    return (int(found[1]), int(found[2])) if found else None


def _llama_cpp_requirement() -> str:
    """llama-cpp-python with the versions Hearth allows, as pip takes it."""
    installed = _installed()
    requires = (installed.requires or []) if installed else []
    pinned = (r for r in requires if r.startswith("llama-cpp-python") and ";" not in r)
    return next(pinned, "llama-cpp-python")


def check_llama_cpp() -> Finding:
    # A build for another CPU or Python fails as its native library loads.
    try:
        import llama_cpp
    except (ImportError, OSError, RuntimeError) as error:
        return Finding(
            "FAIL",
            f"llama-cpp-python does not load: {error}",
            f"reinstall it: `pip install --force-reinstall --no-cache-dir "
            f"'{_llama_cpp_requirement()}'` (in a Hearth checkout, `make clean run` "
            "rebuilds it for this CPU)",
        )
    features = _features_on(llama_cpp.llama_print_system_info().decode(errors="replace"))
    gpu = "yes" if llama_cpp.llama_supports_gpu_offload() else "no, this build runs on the CPU"
    return Finding(
        "ok", f"llama-cpp-python {llama_cpp.__version__}; {features}; GPU offload: {gpu}"
    )


def _features_on(info: str) -> str:
    """llama.cpp's system info, 'CPU : SSE3 = 1 | AVX512 = 0 | REPACK = 1 | ', as
    the features that are on, by backend: 'CPU: SSE3 REPACK'."""
    backends: dict[str, list[str]] = {}
    backend = ""
    for item in info.split("|"):
        name, _, value = item.partition(" = ")
        if " : " in name:
            backend, name = (part.strip() for part in name.split(" : ", 1))
            backends[backend] = []
        if value.strip() == "1":
            backends.setdefault(backend, []).append(name.strip())
    return "; ".join(f"{name}: {' '.join(on)}" for name, on in backends.items())
