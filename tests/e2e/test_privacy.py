"""Privacy: the embedded engine never touches the network, and code stays out
of the log unless the user asks for it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.conftest import patient_settings, server_env
from tests.e2e.helpers import open_document, stats, suggest
from tests.e2e.test_hover import PYTHON as SAMPLE
from tests.e2e.test_hover import hover, markdown

pytestmark = pytest.mark.model

# The server, with every use of the network recorded (and refused) by an audit
# hook installed before Hearth is imported. Local socket pairs (asyncio's
# self-pipe) are not the network.
NO_NETWORK = """
import os, socket, sys

def no_network(event, args):
    remote = event == "socket.__new__" and args[1] in (socket.AF_INET, socket.AF_INET6)
    if remote or event in ("socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        with open(os.environ["HEARTH_TEST_NETWORK_LOG"], "a") as out:
            out.write(f"{event} {args!r}\\n")
        raise PermissionError(f"network use refused: {event}")

sys.addaudithook(no_network)
from lsp_server.cli import main
sys.exit(main(sys.argv[1:]))
"""
# Written only if something went out.
NETWORK_LOG = Path(tempfile.gettempdir()) / f"hearth-network-{os.getpid()}.log"
SERVER_LOG = Path(tempfile.gettempdir()) / f"hearth-privacy-{os.getpid()}.log"
SECRET = "hunter2_secret_token_7f3a"


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-c", NO_NETWORK, "--log-file", str(SERVER_LOG)],
        server_env=server_env(HEARTH_TEST_NETWORK_LOG=str(NETWORK_LOG), HEARTH_LOG_LEVEL="debug"),
    )
)
async def guarded(lsp_client: LanguageClient) -> Any:
    NETWORK_LOG.unlink(missing_ok=True)
    SERVER_LOG.unlink(missing_ok=True)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            initialization_options=patient_settings(),
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_a_whole_session_without_the_network_and_without_code_in_the_log(
    guarded: LanguageClient,
) -> None:
    text = f'API_KEY = "{SECRET}"\n\n\ndef greet(name):\n    \n'
    open_document(guarded, "file:///work/greet.py", text)
    items = await suggest(guarded, "file:///work/greet.py", types.Position(line=4, character=4))
    assert items, "suggestions work with the network refused"
    open_document(guarded, SAMPLE.uri, SAMPLE.text, SAMPLE.language)
    assert "· Hearth" in markdown(await hover(guarded, SAMPLE, SAMPLE.call()))
    assert (await stats(guarded))["finished"] >= 2
    assert not NETWORK_LOG.exists(), NETWORK_LOG.read_text()
    log = SERVER_LOG.read_text()
    assert "inline file:///work/greet.py" in log, "the log has the timings"
    assert SECRET not in log, "code from the document reached the log"
    assert "shipping_cost(" not in log
