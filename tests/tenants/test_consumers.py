from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from config.routing import websocket_urlpatterns
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants import services
from tenants.models import Membership, Role, Tenant, User
from tests.conftest import TenantUsers
from tests.test_isolation_walk import OBJECT_KWARGS, PARAMETER

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def session_cookie(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


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
    ]
