"""The access log of the daphne SCE runs never writes an API key or a webhook token."""

from __future__ import annotations

import io

import pytest

from core.daphne_server import RedactingAccessLog, redact


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        ("/api/v1/stream/5?api_key=sce_abc_SECRET", "/api/v1/stream/5?api_key=[redacted]"),
        ("/api/v1/ws?last_event_id=3&API_KEY=sce_x&b=1", "/api/v1/ws?last_event_id=3&API_KEY=[redacted]&b=1"),
        ("/x?access_token=abc;token=def", "/x?access_token=[redacted];token=[redacted]"),
        ("/hooks/runs/whk_SECRET", "/hooks/runs/[redacted]"),
        ("/hooks/runs/whk_SECRET?x=1", "/hooks/runs/[redacted]?x=1"),
        ("/t/acme/?page=2&monkey=3", "/t/acme/?page=2&monkey=3"),
    ],
)
def test_secrets_in_a_uri_are_redacted(uri: str, logged: str) -> None:
    assert redact(uri) == logged


def test_the_access_log_writes_the_redacted_uri() -> None:
    stream = io.StringIO()
    log = RedactingAccessLog(stream)
    details = {"client": "127.0.0.1:5", "method": "GET", "path": "/api/v1/stream/5?api_key=sce_a_SECRET"}
    log("http", "complete", {**details, "status": 200, "size": 10})
    log("websocket", "connecting", {"client": "127.0.0.1:5", "path": "/api/v1/ws?api_key=sce_a_SECRET"})
    written = stream.getvalue()
    assert "SECRET" not in written
    assert written.count("api_key=[redacted]") == 2
