"""The origin check in front of every socket (core.origins): the public API's sockets, under
/api/, take any Origin and never see a cookie; the portal's are as strict as ever."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync

from core.origins import SiteOriginValidator


def handshake(
    path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """What the app behind the validator was given (None: not called), and what was sent."""
    reached: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": path, "headers": headers, "scheme": "ws"}
    async_to_sync(SiteOriginValidator(app))(scope, receive, send)
    return (reached[0] if reached else None), sent


def test_an_api_socket_takes_any_origin_and_no_cookie() -> None:
    for origin in ([], [(b"origin", b"https://elsewhere.example")]):
        headers = [(b"host", b"testserver"), (b"cookie", b"sessionid=abc"), (b"x-api-key", b"k"), *origin]
        scope, sent = handshake("/api/v1/ws", headers)
        assert scope is not None
        assert sent == []
        assert scope["headers"] == [(b"host", b"testserver"), (b"x-api-key", b"k"), *origin]


def test_a_portal_socket_from_a_foreign_origin_is_still_refused() -> None:
    headers = [
        (b"host", b"testserver"),
        (b"cookie", b"sessionid=abc"),
        (b"origin", b"https://elsewhere.example"),
    ]
    for path in ("/ws/t/acme/events/", "//api/v1/ws", "/apiv1/ws"):
        scope, sent = handshake(path, headers)
        assert scope is None, path
        assert sent == [{"type": "websocket.close", "code": 4403}]
