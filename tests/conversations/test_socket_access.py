"""The conversation socket once access has changed: nothing is answered, stored or asked of a
model on behalf of someone who may no longer, even when the access event was lost."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conversations import selectors
from conversations.models import Conversation, Message
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants import services as tenant_services
from tenants.models import Membership, Role
from tests.conftest import TenantUsers
from tests.conversations.test_consumer import QUESTION, READY, path_of
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import frames_until
from tests.tenants.test_consumers import (
    ORIGIN,
    connect,
    signed_in,
    silence_access_events,
    until_closed,
)

pytestmark = pytest.mark.django_db(transaction=True)

RELOAD = "data-reload"
ANSWER = json.dumps({"action": "answer", "field": "service_type", "value": "vRouter", "HEADERS": {}})


def _member_and_owner(tenant_users: TenantUsers) -> tuple[Membership, Membership]:
    members = Membership.objects.for_tenant(tenant_users.tenant)
    return members.get(user=tenant_users.member), members.get(user=tenant_users.owner)


def _remove(tenant_users: TenantUsers, client: Client) -> None:
    member, owner = _member_and_owner(tenant_users)
    tenant_services.membership_remove(actor=owner, membership=member)


def _demote(tenant_users: TenantUsers, client: Client) -> None:
    member, owner = _member_and_owner(tenant_users)
    tenant_services.membership_change_role(actor=owner, membership=member, role=Role.VIEWER)


def _log_out(tenant_users: TenantUsers, client: Client) -> None:
    assert client.post("/accounts/logout/").status_code == 302


def _suspend(tenant_users: TenantUsers, client: Client) -> None:
    tenant_services.tenant_suspend(tenant=tenant_users.tenant)


# The change, and the code the socket closes with (None: a plain close after the reload frame,
# the page then showing the viewer's version of the conversation).
CHANGES: dict[str, tuple[Callable[[TenantUsers, Client], None], int | None]] = {
    "removed": (_remove, CLOSE_FORBIDDEN),
    "demoted-to-viewer": (_demote, None),
    "logged-out": (_log_out, CLOSE_UNAUTHENTICATED),
    "tenant-suspended": (_suspend, CLOSE_FORBIDDEN),
}


async def _user_messages(conversation: Conversation) -> list[Message]:
    return await database_sync_to_async(
        lambda: [m for m in selectors.messages_of(conversation) if m.role == Message.Role.USER]
    )()


@pytest.mark.parametrize("change", list(CHANGES))
async def test_the_open_page_reloads_and_its_socket_closes_when_access_changes(
    change: str, tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    client, cookie = await database_sync_to_async(signed_in)(tenant_users.member)
    socket, connected, _ = await connect(path_of(conversation, since=0), ORIGIN, cookie)
    assert connected
    await frames_until(socket, READY)
    apply, code = CHANGES[change]
    await database_sync_to_async(apply)(tenant_users, client)
    texts, closed_with = await until_closed(socket)
    assert closed_with == code
    assert texts, "the page is told to reload"
    assert RELOAD in texts[-1]
    await socket.disconnect()


@pytest.mark.parametrize("change", list(CHANGES))
async def test_an_answer_after_access_changed_is_not_taken_even_if_the_event_was_lost(
    change: str,
    tenant_users: TenantUsers,
    conversation: Conversation,
    anthropic: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anthropic.push(Reply(QUESTION))
    client, cookie = await database_sync_to_async(signed_in)(tenant_users.member)
    socket, connected, _ = await connect(path_of(conversation, since=0), ORIGIN, cookie)
    assert connected
    await frames_until(socket, READY)
    calls = len(anthropic.requests)
    silence_access_events(monkeypatch)
    apply, code = CHANGES[change]
    await database_sync_to_async(apply)(tenant_users, client)

    await socket.send_to(text_data=ANSWER)
    texts, closed_with = await until_closed(socket)
    assert closed_with == code
    assert RELOAD in texts[-1]
    assert await _user_messages(conversation) == [], "the answer was not stored"
    assert len(anthropic.requests) == calls, "no model was called for it"
    await socket.disconnect()


async def test_a_viewer_promoted_to_member_gets_the_page_that_answers(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    _client, cookie = await database_sync_to_async(signed_in)(tenant_users.viewer)
    socket, connected, _ = await connect(path_of(conversation, since=0), ORIGIN, cookie)
    assert connected

    def promote() -> None:
        members = Membership.objects.for_tenant(tenant_users.tenant)
        tenant_services.membership_change_role(
            actor=members.get(user=tenant_users.owner),
            membership=members.get(user=tenant_users.viewer),
            role=Role.MEMBER,
        )

    await database_sync_to_async(promote)()
    texts, code = await until_closed(socket)
    assert code is None
    assert RELOAD in texts[-1]
    await socket.disconnect()
