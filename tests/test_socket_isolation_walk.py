"""Walk every tenant socket with access changing while it is open.

Each socket under /ws/t/<tenant_slug>/ is opened by the tenant's admin (the strongest role a
socket asks for), then access changes the way it does in the portal. A socket must end up
as a fresh handshake would: closed when the admin is removed, logs out or the tenant is
suspended, and closed when demoted to viewer if a viewer may not open it. New sockets are
walked as soon as they are routed (tests.tenants.test_consumers.tenant_socket_paths).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants import services
from tenants.models import Membership, Role
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)
from tests.tenants.test_consumers import (
    ORIGIN,
    connect,
    session_cookie,
    signed_in,
    tenant_socket_paths,
    until_closed,
    with_objects,
)

__all__ = [
    "anthropic_emulator", "anthropic_emulator_server", "fast_gateway", "fresh_gateway_state",
    "model_prices", "openai_emulator", "openai_emulator_server", "platform",
]  # fmt: skip

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = tenant_socket_paths()


def _members(tenant_users: TenantUsers) -> tuple[Membership, Membership]:
    members = Membership.objects.for_tenant(tenant_users.tenant)
    return members.get(user=tenant_users.owner), members.get(user=tenant_users.admin)


def _remove(tenant_users: TenantUsers, client: Client) -> None:
    owner, admin = _members(tenant_users)
    services.membership_remove(actor=owner, membership=admin)


def _log_out(tenant_users: TenantUsers, client: Client) -> None:
    assert client.post("/accounts/logout/").status_code == 302


def _suspend(tenant_users: TenantUsers, client: Client) -> None:
    services.tenant_suspend(tenant=tenant_users.tenant, reason="walk")


ENDINGS: dict[str, tuple[Callable[[TenantUsers, Client], None], int]] = {
    "removed": (_remove, CLOSE_FORBIDDEN),
    "logged-out": (_log_out, CLOSE_UNAUTHENTICATED),
    "tenant-suspended": (_suspend, CLOSE_FORBIDDEN),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("path", PATHS)
async def test_an_open_socket_is_closed_when_access_ends(
    path: str, ending: str, tenant_users: TenantUsers, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    client, cookie = await database_sync_to_async(signed_in)(tenant_users.admin)
    url = await database_sync_to_async(with_objects)(path, tenant_users.tenant)
    socket, connected, _ = await connect(url, ORIGIN, cookie)
    assert connected
    change, code = ENDINGS[ending]
    await database_sync_to_async(change)(tenant_users, client)
    _texts, closed_with = await until_closed(socket)
    assert closed_with == code
    await socket.disconnect()


@pytest.mark.parametrize("path", PATHS)
async def test_a_socket_demoted_to_viewer_ends_as_a_viewers_handshake_would(
    path: str, tenant_users: TenantUsers, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    url = await database_sync_to_async(with_objects)(path, tenant_users.tenant)
    viewer_cookie = await database_sync_to_async(session_cookie)(tenant_users.viewer)
    fresh, viewer_admitted, viewer_code = await connect(url, ORIGIN, viewer_cookie)
    await fresh.disconnect()

    cookie = await database_sync_to_async(session_cookie)(tenant_users.admin)
    socket, connected, _ = await connect(url, ORIGIN, cookie)
    assert connected

    def demote() -> None:
        owner, admin = _members(tenant_users)
        services.membership_change_role(actor=owner, membership=admin, role=Role.VIEWER)

    await database_sync_to_async(demote)()
    if not viewer_admitted:
        _texts, code = await until_closed(socket)
        assert code == viewer_code == CLOSE_FORBIDDEN
    else:
        # A viewer may follow it: the socket stays, or has the page reload to show the
        # viewer's version of it; it is not refused.
        try:
            _texts, code = await until_closed(socket, wait=1)
        except AssertionError:
            code = None  # still open
        assert code not in (CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED)
    await socket.disconnect()
