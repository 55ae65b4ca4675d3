"""`WS /api/v1/ws` over a real socket to daphne (the `websockets` client), with a Celery worker
and the Anthropic emulator answering: seed 004's protocol, the key in the handshake, and no
origin check for the API's sockets while the portal's stay strict."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from api import services as key_services
from api.models import Scope
from tests.api.inference.conftest import team_anthropic
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

Issued = key_services.IssuedApiKey


@pytest.fixture
def served(
    issued: Issued,
    anthropic_emulator: EmulatorServer,
    model_prices: None,
    live_server_url: str,
    celery_worker_process: subprocess.Popen[bytes],
) -> EmulatorServer:
    team_anthropic(issued.key.tenant, anthropic_emulator)
    return anthropic_emulator


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/api/v1/ws" + query


def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=30))
    return message


def until_end(socket: ClientConnection) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = receive(socket)
        messages.append(message)
        if message["type"] in ("result", "error"):
            return messages


def test_a_request_is_acked_streamed_token_by_token_and_answered(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    served.push(Reply("Hello from the socket", token_latency=0.01))
    with connect(ws_url(live_server_url), additional_headers={"x-api-key": issued.plaintext}) as socket:
        socket.send(json.dumps({"prompt": "Hello!", "metadata": {"user": "alice"}, "stream": True}))
        ack = receive(socket)
        assert (ack["type"], ack["status"]) == ("ack", "pending")
        messages = until_end(socket)
    tokens = [message for message in messages if message["type"] == "token"]
    assert [token["chunk"] for token in tokens] == [0, 1, 2, 3]
    assert all(token["request_id"] == ack["request_id"] for token in tokens)
    result = messages[-1]
    assert (result["type"], result["status"], result["result"]) == (
        "result",
        "completed",
        "Hello from the socket",
    )
    assert (result["request_id"], result["session_id"]) == (ack["request_id"], ack["session_id"])


def test_without_stream_only_the_result_comes_and_the_key_may_come_in_the_query(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    """A browser's WebSocket sends no headers and its page's Origin: the key in the query."""
    served.push(Reply("Quiet answer", token_latency=0.01))
    url = ws_url(live_server_url, f"?api_key={issued.plaintext}")
    with connect(url, origin=Origin("https://elsewhere.example")) as socket:
        socket.send(json.dumps({"prompt": "Hello!", "stream": False}))
        assert receive(socket)["type"] == "ack"
        messages = until_end(socket)
    assert [message["type"] for message in messages] == ["result"]
    assert messages[0]["result"] == "Quiet answer"


def test_a_failed_request_ends_with_an_error_message(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    from tests.emulators.script import HttpError

    served.push(HttpError(400, message="bad prompt"))
    with connect(ws_url(live_server_url), additional_headers={"x-api-key": issued.plaintext}) as socket:
        socket.send(json.dumps({"prompt": "Hello!"}))
        ack = receive(socket)
        messages = until_end(socket)
    assert messages[-1]["type"] == "error"
    assert (messages[-1]["request_id"], messages[-1]["error"]) == (ack["request_id"], "bad_request")


@pytest.mark.parametrize("key", [None, "sce_abcdefgh_wrongwrongwrongwrongwrong", "runs-only"])
def test_a_handshake_without_a_usable_key_is_refused(
    issued: Issued, tenant_users: TenantUsers, live_server_url: str, key: str | None
) -> None:
    if key == "runs-only":
        key = key_services.api_key_create(
            tenant=tenant_users.tenant, actor=tenant_users.owner, name="runs", scopes=[Scope.RUNS]
        ).plaintext
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(ws_url(live_server_url), additional_headers=headers),
    ):
        pass
    assert refused.value.response.status_code == 403


def test_bad_messages_are_answered_with_errors_and_the_socket_stays_open(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    served.push(Reply("Still here", token_latency=0.01))
    with connect(ws_url(live_server_url), additional_headers={"x-api-key": issued.plaintext}) as socket:
        socket.send("{not json")
        assert receive(socket) == {
            "type": "error",
            "request_id": None,
            "error": "invalid_json",
            "message": "The message is not valid JSON.",
        }
        socket.send(json.dumps({"prompt": "", "max_tokens": "lots"}))
        invalid = receive(socket)
        assert (invalid["type"], invalid["error"]) == ("error", "invalid_request")
        assert {detail["field"] for detail in invalid["details"]} == {"prompt", "max_tokens"}
        socket.send(json.dumps({"prompt": "Hi", "model": "nowhere/none"}))
        assert receive(socket)["error"] == "model_not_found"
        socket.send(json.dumps({"prompt": "Hi"}))
        assert receive(socket)["type"] == "ack"
        assert until_end(socket)[-1]["result"] == "Still here"


def test_a_key_revoked_while_connected_is_refused_at_its_next_request(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    with connect(ws_url(live_server_url), additional_headers={"x-api-key": issued.plaintext}) as socket:
        key_services.api_key_revoke(key=issued.key, actor=None)
        socket.send(json.dumps({"prompt": "Hi"}))
        assert receive(socket)["error"] == "revoked_api_key"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert served.requests == []


def test_the_portal_sockets_still_refuse_a_foreign_origin(
    tenant_users: TenantUsers, live_server_url: str
) -> None:
    url = live_server_url.replace("http://", "ws://") + "/ws/t/acme/events/"
    for origin in (None, Origin("https://elsewhere.example")):
        with pytest.raises(InvalidStatus) as refused, connect(url, origin=origin):
            pass
        assert refused.value.response.status_code == 403
