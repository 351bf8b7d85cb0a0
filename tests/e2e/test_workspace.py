"""Code from outside the workspace folders never reaches the model for
another document: not an open file elsewhere, not one reached through a
symlink or a `..` in its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import patient_settings
from tests.e2e.helpers import open_document, stats, wait_until

pytestmark = pytest.mark.model

CALLER = "from rates import {name}\n\nprint({name}(2.0))\n"


def definition(name: str) -> str:
    return f"def {name}(amount: float) -> float:\n    return amount * 0.21\n"


async def explained(client: LanguageClient, folder: Path, name: str) -> bool:
    """Whether a hover over a call of `name`, from a file in `folder`, explains it."""
    uri = (folder / f"use_{name}.py").as_uri()
    text = CALLER.format(name=name)
    open_document(client, uri, text)
    at = types.Position(line=2, character=text.splitlines()[2].index(name) + 1)
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    return result is not None


async def test_only_documents_inside_the_workspace_lend_code_to_others(
    raw: LanguageClient, tmp_path: Path
) -> None:
    workspace, outside = tmp_path / "project", tmp_path / "elsewhere"
    workspace.mkdir()
    outside.mkdir()
    await raw.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=patient_settings(),
        )
    )
    await wait_until(lambda: _ready(raw))

    # Each defining document is open in the editor, as a user may have it.
    (outside / "rates.py").write_text(definition("vat_outside"))
    open_document(raw, (outside / "rates.py").as_uri(), definition("vat_outside"))
    (outside / "linked.py").write_text(definition("vat_linked"))
    (workspace / "linked.py").symlink_to(outside / "linked.py")
    open_document(raw, (workspace / "linked.py").as_uri(), definition("vat_linked"))
    dotted = f"{workspace.as_uri()}/../elsewhere/dotted.py"
    open_document(raw, dotted, definition("vat_dotted"))
    open_document(raw, (workspace / "rates.py").as_uri(), definition("vat_inside"))

    for name in ("vat_outside", "vat_linked", "vat_dotted"):
        assert not await explained(raw, workspace, name), name
    assert (await stats(raw))["started"] == 0, "the model never saw them"
    assert await explained(raw, workspace, "vat_inside")


async def _ready(client: LanguageClient) -> bool:
    return bool((await stats(client))["modelState"] == "ready")
