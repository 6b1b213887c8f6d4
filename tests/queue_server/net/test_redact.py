"""The websocket logs' filter (``queue_server.net.redact``): what websockets logs at
DEBUG, rewritten so no frame content, secret header or ticket id reaches a handler."""

from __future__ import annotations

import logging

import pytest
from websockets.frames import Frame, Opcode

from queue_server.net.redact import REDACTED, redact_path, wire_logger

TOKEN = "wk_0-xI4ddAzLdBfZi3BOcItJ2b36zBuGupZP-CrkOfTCA"


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture):
    logger = wire_logger("walkin.test.wire")
    caplog.set_level(logging.DEBUG, logger="walkin.test.wire")

    def log(message: str, *args: object) -> str:
        caplog.clear()
        logger.debug(message, *args)
        return caplog.records[0].getMessage()

    return log


def test_frames_are_logged_by_kind_and_length(logged) -> None:
    frame = Frame(Opcode.TEXT, f'{{"type":"hello","token":"{TOKEN}"}}'.encode())
    assert logged("> %s", frame) == f"> TEXT [{len(frame.data)} bytes]"


@pytest.mark.parametrize("header", ["Authorization", "cookie", "Set-Cookie"])
def test_secret_headers_are_redacted(logged, header: str) -> None:
    assert logged("< %s: %s", header, f"Bearer {TOKEN}") == f"< {header}: {REDACTED}"
    assert logged("< %s: %s", "Host", "127.0.0.1") == "< Host: 127.0.0.1"


def test_request_paths_lose_their_capabilities(logged) -> None:
    assert logged("< %s %s %s", "GET", "/t/1UEkWOKnTdOluqGy9NME0g", "HTTP/1.1") == (
        "< GET /t/… HTTP/1.1"
    )
    assert logged("> GET %s HTTP/1.1", f"/board?token={TOKEN}") == "> GET /board?token=… HTTP/1.1"
    assert redact_path("/board?x=1&token=abc#token=def") == "/board?x=…&token=…#…"
    assert redact_path("/ws") == "/ws"
