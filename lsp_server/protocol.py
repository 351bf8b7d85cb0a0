"""The LSP protocol as Hearth speaks it: pygls's, with two things changed.

pygls keeps no copy of the open documents here: Hearth keeps its own
(documents.py), and pygls's, updated first, also rewrote the positions of the
very changes it then handed on (pygls 2: a character past the end of a line
became the line's last character but one), so that Hearth's copy drifted from
the editor's; it also cost a second copy of every document.

And JSON-RPC's rules for the envelope hold, which pygls leaves to chance: a
message it cannot structure was logged and left unanswered (an editor waits
for ever), and a method that is not a string failed inside it. Every object of
a message is kept as it is while json.loads reads it; the whole message is
then checked, and structured, in handle_message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

Handlers = Iterator[tuple[Callable[..., Any], tuple[Any, ...], None]]
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
_ERRORS = {
    PARSE_ERROR: "Parse error: the message is not JSON",
    INVALID_REQUEST: "Invalid Request: not a JSON-RPC 2.0 message",
    INVALID_PARAMS: "Invalid params: they do not fit the method",
}


def _valid_id(msg_id: Any) -> bool:
    """A JSON-RPC request id: a string or an integer (JSON's true is neither)."""
    return isinstance(msg_id, str) or (isinstance(msg_id, int) and not isinstance(msg_id, bool))


def _well_formed(message: dict[str, Any]) -> bool:
    """A JSON-RPC 2.0 request, notification or answer, by its envelope."""
    if message.get("jsonrpc") != "2.0":
        return False
    if "id" in message and message["id"] is not None and not _valid_id(message["id"]):
        return False
    if "method" in message:
        return isinstance(message["method"], str) and (
            message.get("params") is None or isinstance(message["params"], dict | list)
        )
    return "id" in message and ("result" in message or "error" in message)


class HearthProtocol(LanguageServerProtocol):
    """pygls's LanguageServerProtocol, with the two changes above."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        """json.loads's hook, called for every object of a message: kept as is."""
        return data

    def handle_message(self, message: Any) -> None:
        """Answer what is not a JSON-RPC 2.0 message, structure what is, and
        hand it on; a request whose params do not fit its method gets InvalidParams."""
        if not isinstance(message, dict) or not _well_formed(message):
            request = isinstance(message, dict) and isinstance(message.get("method"), str)
            msg_id = message.get("id") if request else None
            self.answer_error(msg_id if _valid_id(msg_id) else None, INVALID_REQUEST)
            return
        if "method" in message:
            message.setdefault("params", None)  # optional in JSON-RPC; pygls wants it
            if "id" in message and self._notification(message["method"]):
                # A notification's method, sent with an id: a request nobody takes.
                msg_id = message["id"]
                self.answer_error(msg_id if _valid_id(msg_id) else None, INVALID_REQUEST)
                return
        try:
            structured = super().structure_message(message)
        except JsonRpcException:
            if "method" in message and "id" in message:
                self.answer_error(message["id"], INVALID_PARAMS)
            return  # pygls logged why
        super().handle_message(structured)

    def _notification(self, method: str) -> bool:
        """Whether LSP defines `method` as a notification (it has no id)."""
        kind = self.get_message_type(method)
        return kind is not None and "id" not in attrs.fields_dict(kind)

    def answer_error(self, msg_id: int | str | None, code: int) -> None:
        """An error answer; `msg_id` None where the message's id could not be read."""
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": _ERRORS[code]}}
        )

    def _user_handlers(self, method: str, params: Any) -> Handlers:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Handlers:
        yield from self._user_handlers(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Handlers:
        yield from self._user_handlers(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Handlers:
        yield from self._user_handlers(types.TEXT_DOCUMENT_DID_CLOSE, params)
