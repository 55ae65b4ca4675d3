from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from config.routing import websocket_urlpatterns
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants import events, services
from tenants.models import Membership, Role, Tenant, User
from tests.conftest import TenantUsers
from tests.test_isolation_walk import OBJECT_KWARGS, PARAMETER

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def signed_in(user: User) -> tuple[Client, tuple[bytes, bytes]]:
    """A client signed in as `user`, and its session's cookie header (for its sockets)."""
    client = Client()
    client.force_login(user)
    return client, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def session_cookie(user: User) -> tuple[bytes, bytes]:
    return signed_in(user)[1]


async def until_closed(socket: WebsocketCommunicator, wait: float = 10) -> tuple[list[str], int | None]:
    """What the socket sends until the server closes it: the texts, and the close code."""
    texts: list[str] = []
    try:
        async with asyncio.timeout(wait):
            while True:
                output = await socket.receive_output(timeout=wait)
                if output["type"] == "websocket.close":
                    return texts, output.get("code")
                texts.append(str(output.get("text")))
    except TimeoutError:
        raise AssertionError(f"the socket was not closed; it sent: {texts}") from None


async def connect(path: str, *headers: tuple[bytes, bytes]) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(application, path, headers=[HOST, *headers])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_an_unauthenticated_socket_is_refused(tenant_users: TenantUsers) -> None:
    communicator, connected, code = await connect("/ws/t/acme/events/", ORIGIN)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused_even_for_a_member(tenant_users: TenantUsers) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.owner)
    communicator, connected, _code = await connect(
        "/ws/t/acme/events/", (b"origin", b"https://evil.example"), cookie
    )
    assert not connected
    await communicator.disconnect()


def tenant_socket_paths() -> list[str]:
    paths = []
    for pattern in websocket_urlpatterns:
        route = str(pattern.pattern)
        if "<slug:tenant_slug>" in route:
            paths.append("/" + route.replace("<slug:tenant_slug>", "acme"))
    return paths


def with_objects(path: str, tenant: Tenant) -> str:
    """The path with each object keyword replaced by a real object of the tenant."""
    return PARAMETER.sub(lambda match: str(OBJECT_KWARGS[match.group(1)](tenant)), path)


@pytest.mark.parametrize("path", tenant_socket_paths())
async def test_outsiders_cannot_open_any_tenant_socket(path: str, tenant_users: TenantUsers) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.outsider)
    path = await database_sync_to_async(with_objects)(path, tenant_users.tenant)
    communicator, connected, code = await connect(path, ORIGIN, cookie)
    assert not connected
    assert code == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_a_suspended_tenants_socket_is_refused(tenant_users: TenantUsers) -> None:
    await database_sync_to_async(services.tenant_suspend)(tenant=tenant_users.tenant)
    cookie = await database_sync_to_async(session_cookie)(tenant_users.owner)
    communicator, connected, code = await connect("/ws/t/acme/events/", ORIGIN, cookie)
    assert not connected
    assert code == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_members_receive_the_new_member_list_when_someone_joins(tenant_users: TenantUsers) -> None:
    owner_cookie = await database_sync_to_async(session_cookie)(tenant_users.owner)
    viewer_cookie = await database_sync_to_async(session_cookie)(tenant_users.viewer)
    owner_socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, owner_cookie)
    assert connected
    viewer_socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, viewer_cookie)
    assert connected

    def invite_and_accept() -> None:
        owner = Membership.objects.for_tenant(tenant_users.tenant).get(user=tenant_users.owner)
        issued = services.invitation_create(actor=owner, email="outsider@globex.test", role=Role.MEMBER)
        services.invitation_accept(invitation=issued.invitation, user=tenant_users.outsider)

    await database_sync_to_async(invite_and_accept)()

    owner_view = str(await owner_socket.receive_from(timeout=5))
    viewer_view = str(await viewer_socket.receive_from(timeout=5))
    for html in (owner_view, viewer_view):
        assert html.lstrip().startswith('<tbody id="member-rows">')
        assert "outsider@globex.test" in html
        assert html.count('data-testid="member-row"') == 5
    assert "Remove" in owner_view, "an owner's fragment offers the owner's actions"
    assert "Remove" not in viewer_view, "a viewer's fragment does not"
    await owner_socket.disconnect()
    await viewer_socket.disconnect()


async def test_a_removed_member_is_disconnected(tenant_users: TenantUsers) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, cookie)
    assert connected

    def remove_member() -> None:
        members = Membership.objects.for_tenant(tenant_users.tenant)
        services.membership_remove(
            actor=members.get(user=tenant_users.owner), membership=members.get(user=tenant_users.member)
        )

    await database_sync_to_async(remove_member)()
    closed = await socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    await socket.disconnect()


def test_the_walk_finds_the_tenant_sockets() -> None:
    assert tenant_socket_paths() == [
        "/ws/t/acme/events/",
        "/ws/t/acme/providers/try/",
        "/ws/t/acme/conversations/<int:conversation_id>/",
        "/ws/t/acme/workflows/proposals/<int:proposal_id>/",
        "/ws/t/acme/generations/<int:generation_id>/",
        "/ws/t/acme/runs/<int:run_id>/",
    ]


# --- Access that ends while a socket is open (every kind of socket: tests/test_socket_isolation_walk.py)


def silence_access_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events lost on their way (a subscription reconnecting): nothing reaches the sockets."""
    monkeypatch.setattr(events, "_send", lambda group, event: None)


async def test_a_logout_closes_the_sockets_of_that_session_only(tenant_users: TenantUsers) -> None:
    leaving, leaving_cookie = await database_sync_to_async(signed_in)(tenant_users.member)
    _staying, staying_cookie = await database_sync_to_async(signed_in)(tenant_users.member)
    leaving_socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, leaving_cookie)
    assert connected
    staying_socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, staying_cookie)
    assert connected

    response = await database_sync_to_async(leaving.post)("/accounts/logout/")
    assert response.status_code == 302

    assert await until_closed(leaving_socket) == ([], CLOSE_UNAUTHENTICATED)
    assert await staying_socket.receive_nothing(timeout=0.5), "the other browser stays signed in"
    await leaving_socket.disconnect()
    await staying_socket.disconnect()


async def test_a_suspension_closes_the_socket_of_every_member(tenant_users: TenantUsers) -> None:
    sockets = []
    for user in (tenant_users.owner, tenant_users.viewer):
        cookie = await database_sync_to_async(session_cookie)(user)
        socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, cookie)
        assert connected
        sockets.append(socket)
    await database_sync_to_async(services.tenant_suspend)(tenant=tenant_users.tenant, reason="unpaid")
    for socket in sockets:
        assert await until_closed(socket) == ([], CLOSE_FORBIDDEN)
        await socket.disconnect()


async def test_an_idle_socket_whose_access_event_was_lost_closes_at_its_next_look(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    silence_access_events(monkeypatch)
    settings.SOCKET_ACCESS_RECHECK_SECONDS = 0.2
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, cookie)
    assert connected

    def remove_member() -> None:
        members = Membership.objects.for_tenant(tenant_users.tenant)
        services.membership_remove(
            actor=members.get(user=tenant_users.owner), membership=members.get(user=tenant_users.member)
        )

    await database_sync_to_async(remove_member)()
    assert await until_closed(socket) == ([], CLOSE_FORBIDDEN)
    await socket.disconnect()


async def test_a_password_change_ends_other_sessions_sockets_at_their_next_message(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No event is sent for it: the session hash no longer matches when access is read again."""
    silence_access_events(monkeypatch)
    cookie = await database_sync_to_async(session_cookie)(tenant_users.admin)
    socket, connected, _ = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
    assert connected

    def change_password() -> None:
        user = User.objects.get(pk=tenant_users.admin.pk)
        user.set_password("a new password, long enough")
        user.save(update_fields=["password"])

    await database_sync_to_async(change_password)()
    await socket.send_to(text_data='{"provider": "anthropic", "prompt": "Say hello"}')
    assert await until_closed(socket) == ([], CLOSE_UNAUTHENTICATED)
    await socket.disconnect()


async def test_a_socket_that_takes_no_input_drops_it_unread(tenant_users: TenantUsers) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    socket, connected, _ = await connect("/ws/t/acme/events/", ORIGIN, cookie)
    assert connected
    await socket.send_to(text_data="[" * 50_000)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_to(bytes_data=b"\x00")
    assert await socket.receive_nothing(timeout=0.3), "still open, nothing sent back"
    await socket.disconnect()
