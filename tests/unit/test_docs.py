"""The docs hold together: every relative link leads somewhere, every setting named exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsp_server.settings import Settings, to_wire

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "editors" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files(page: Path) -> None:
    for target in _LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{page.name} links to {target}: no such heading"


_FENCE = re.compile(r"^ *```.*?^ *```", re.MULTILINE | re.DOTALL)
_SECTIONS = "|".join(to_wire(Settings()))
# `completion.maxTokens` or `hearth.completion.maxTokens`; not a file such as `engine.md`
_SETTING = re.compile(rf"`(?:hearth\.)?((?:{_SECTIONS})\.[A-Za-z]+)`")
_FILE_SUFFIXES = {"md", "py", "json", "lua", "txt", "toml", "scm"}


@pytest.mark.parametrize(
    "page", [*PAGES, ROOT / "editors" / "nvim" / "doc" / "hearth.txt"], ids=lambda p: p.name
)
def test_every_setting_named_exists(page: Path) -> None:
    """A renamed or removed setting leaves no stale name in the documentation."""
    settings = {f"{section}.{key}" for section, keys in to_wire(Settings()).items() for key in keys}
    for name in _SETTING.findall(_FENCE.sub("", page.read_text())):
        if name.rsplit(".", 1)[1] not in _FILE_SUFFIXES:
            assert name in settings, f"{page.name} names the setting {name}, which does not exist"
