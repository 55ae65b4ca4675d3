"""Walk every WebSocket of the public API (the routes under /api/) with every kind of key.

As the HTTP walk does (test_api_isolation_walk): keys that cannot act and keys without the
socket's scope are refused at the handshake; a key with the scope is let in; tenant B's key
asking for tenant A's object (in the path, or in a request sent on the socket) is answered
exactly as for one that does not exist. Sockets are walked as soon as config.routing routes
them; one SOCKETS cannot open fails the walk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from api import services as key_services
from api.models import ApiKey, Scope
from config.asgi import application
from config.routing import websocket_urlpatterns
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tenants import services as tenant_services
from tests.api.walk.objects import MISSING, Objects, Owned
from tests.conftest import TenantUsers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inference_tasks")]

API_SOCKETS = sorted(
    str(pattern.pattern) for pattern in websocket_urlpatterns if str(pattern.pattern).startswith("api/")
)


@dataclass(frozen=True)
class SocketExample:
    """How the walk opens one socket, from the objects it addresses.

    `request`: a message the socket takes once open (None: it takes none); `owned_in` says
    where the socket addresses a tenant's object ("path" or "request"). A refused handshake
    closes with a code naming why (4401, 4403, 4404) on every socket.
    """

    scope: Scope
    path: Callable[[Objects], str]
    owned_in: str
    request: Callable[[Objects], dict[str, Any]] | None = None


SOCKETS: dict[str, SocketExample] = {
    "api/v1/ws": SocketExample(
        Scope.GATEWAY,
        lambda o: "/api/v1/ws",
        owned_in="request",
        request=lambda o: {"prompt": "Hello", "model": o.model},
    ),
    "api/v1/generate/<int:generation_id>/ws": SocketExample(
        Scope.GENERATIONS, lambda o: f"/api/v1/generate/{o.generation_id}/ws", owned_in="path"
    ),
}


def example_of(route: str) -> SocketExample:
    if route not in SOCKETS:
        pytest.fail(f"the API socket {route} is not walked: teach SOCKETS in {__name__} to open it")
    return SOCKETS[route]


async def open_socket(path: str, headers: dict[str, str]) -> tuple[WebsocketCommunicator, bool, Any]:
    socket = WebsocketCommunicator(
        application, path, headers=[(name.encode(), value.encode()) for name, value in headers.items()]
    )
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


async def refused_with(path: str, headers: dict[str, str]) -> Any:
    socket, connected, code = await open_socket(path, headers)
    await socket.disconnect()
    assert not connected, f"{path} let {sorted(headers)} in"
    return code


async def reply_to(socket: WebsocketCommunicator, request: dict[str, Any]) -> dict[str, Any]:
    await socket.send_to(text_data=json.dumps(request))
    reply: dict[str, Any] = json.loads(await socket.receive_from(timeout=5))
    return reply


def keys(tenant_users: TenantUsers, scope: Scope) -> dict[str, key_services.IssuedApiKey]:
    """A's keys that cannot act, one without `scope`, and one with every scope."""
    every = list(Scope.values)
    made = {
        name: key_services.api_key_create(tenant=tenant_users.tenant, actor=None, name=name, scopes=scopes)
        for name, scopes in (
            ("revoked", every),
            ("expired", every),
            ("lacking", [value for value in every if value != scope]),
            ("every", every),
        )
    }
    key_services.api_key_revoke(key=made["revoked"].key, actor=None)
    # Time passing: the key's day has ended (no service sets a key's expiry after the fact).
    ApiKey.objects.for_tenant(tenant_users.tenant).filter(pk=made["expired"].key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return made


def test_the_walk_covers_every_api_socket() -> None:
    assert set(API_SOCKETS) == set(SOCKETS)
    assert "api/v1/ws" in API_SOCKETS


@pytest.mark.parametrize("route", API_SOCKETS)
async def test_keys_that_cannot_act_or_lack_the_scope_are_refused_at_the_handshake(
    route: str, tenant_users: TenantUsers
) -> None:
    example = example_of(route)
    objects = await database_sync_to_async(Owned)(tenant_users)
    path = await database_sync_to_async(example.path)(objects)
    made = await database_sync_to_async(keys)(tenant_users, example.scope)
    unusable = ["not-a-key", "sce_walkwalk_" + "x" * 43, made["revoked"].plaintext, made["expired"].plaintext]
    attempts: list[tuple[str, dict[str, str], int]] = [(path, {}, CLOSE_UNAUTHENTICATED)]
    for plaintext in unusable:
        attempts += [
            (path, {"authorization": f"Bearer {plaintext}"}, CLOSE_UNAUTHENTICATED),
            (path, {"x-api-key": plaintext}, CLOSE_UNAUTHENTICATED),
            (f"{path}?api_key={plaintext}", {}, CLOSE_UNAUTHENTICATED),
        ]
    lacking = made["lacking"].plaintext
    attempts += [
        (path, {"x-api-key": lacking}, CLOSE_FORBIDDEN),
        (f"{path}?api_key={lacking}", {}, CLOSE_FORBIDDEN),
    ]
    for url, headers, code in attempts:
        refused = await refused_with(url, headers)
        assert refused == code, f"{url} with {sorted(headers)} closed with {refused}"

    await database_sync_to_async(tenant_services.tenant_suspend)(tenant=tenant_users.tenant, reason="walk")
    refused = await refused_with(path, {"x-api-key": made["every"].plaintext})
    assert refused == CLOSE_FORBIDDEN, f"{path} of a suspended tenant closed with {refused}"


@pytest.mark.parametrize("route", API_SOCKETS)
async def test_a_key_with_the_scope_opens_it_on_its_own_objects(
    route: str, tenant_users: TenantUsers
) -> None:
    example = example_of(route)
    objects = await database_sync_to_async(Owned)(tenant_users)
    path = await database_sync_to_async(example.path)(objects)
    scoped = await database_sync_to_async(key_services.api_key_create)(
        tenant=tenant_users.tenant, actor=None, name="walk", scopes=[example.scope]
    )
    for headers, url in (({"x-api-key": scoped.plaintext}, path), ({}, f"{path}?api_key={scoped.plaintext}")):
        socket, connected, code = await open_socket(url, headers)
        assert connected, f"{url} refused its own tenant's key with {code}"
        if example.request is not None:
            request = await database_sync_to_async(example.request)(objects)
            reply = await reply_to(socket, request)
            assert reply["type"] == "ack", reply
        await socket.disconnect()


@pytest.mark.parametrize("route", API_SOCKETS)
async def test_another_tenants_object_answers_as_a_missing_one(route: str, tenant_users: TenantUsers) -> None:
    example = example_of(route)
    objects = await database_sync_to_async(Owned)(tenant_users)
    outsider = await database_sync_to_async(key_services.api_key_create)(
        tenant=tenant_users.other_tenant, actor=None, name="walk", scopes=list(Scope.values)
    )
    headers = {"x-api-key": outsider.plaintext}
    foreign_path = await database_sync_to_async(example.path)(objects)
    if example.owned_in == "path":
        foreign = await refused_with(foreign_path, headers)
        missing = await refused_with(example.path(MISSING), headers)
        assert foreign == missing == CLOSE_NOT_FOUND, f"{foreign_path}: {foreign}, a missing one: {missing}"
        return
    assert example.request is not None
    socket, connected, _ = await open_socket(foreign_path, headers)
    assert connected
    foreign_reply = await reply_to(socket, await database_sync_to_async(example.request)(objects))
    missing_reply = await reply_to(socket, example.request(MISSING))
    await socket.disconnect()
    assert foreign_reply["type"] == "error", foreign_reply
    text = json.dumps(foreign_reply)
    assert text == await database_sync_to_async(objects.as_foreign)(json.dumps(missing_reply))
    markers = await database_sync_to_async(objects.markers)()
    assert not [marker for marker in markers if marker in text], text
