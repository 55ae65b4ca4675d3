"""Redis out of reach (a closed loopback port stands in for it): the conversation page says
live updates are unavailable instead of failing, socket handshakes are refused with a code,
and an answer is stored or visibly refused, never dropped."""

from __future__ import annotations

import json
import socket as network
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings

from conversations import selectors
from conversations.interview import frames
from conversations.models import Conversation, Message
from core.close_codes import CLOSE_UNAVAILABLE
from tests.conftest import TenantUsers
from tests.conversations.test_consumer import NOTICE, QUESTION, READY, path_of
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import frames_until, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def closed_redis_url() -> Iterator[str]:
    """A Redis URL nothing listens on: every connection is refused at once. The port stays
    bound (never listening) meanwhile, so no other process can take it."""
    with network.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"redis://127.0.0.1:{held.getsockname()[1]}/0"


@pytest.fixture
def redis_down(closed_redis_url: str) -> Iterator[None]:
    """Frames, turn locks and the gateway's counters out of reach (core.redis follows
    REDIS_URL); the channel layer's connections made before stay up."""
    with override_settings(REDIS_URL=closed_redis_url):
        yield


def channel_layer_down(closed_redis_url: str) -> Any:
    """Everything on Redis out of reach, the channel layer too: sockets cannot even subscribe."""
    layer: dict[str, Any] = dict(settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"] = {**layer["CONFIG"], "hosts": [closed_redis_url]}
    return override_settings(REDIS_URL=closed_redis_url, CHANNEL_LAYERS={"default": layer})


async def _messages(conversation: Conversation) -> list[Message]:
    return await database_sync_to_async(lambda: list(selectors.messages_of(conversation)))()


def test_the_conversation_page_says_live_updates_are_unavailable(
    tenant_users: TenantUsers, conversation: Conversation, redis_down: None
) -> None:
    response = tenant_users.client_for(tenant_users.member).get(f"/t/acme/services/{conversation.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="live-unavailable"' in body
    assert "Live updates are unavailable right now" in body
    assert "ws-connect" not in body, "no socket that could not work"


def test_an_answer_edited_during_the_outage_is_stored_and_the_page_reloads(
    tenant_users: TenantUsers, conversation: Conversation, closed_redis_url: str
) -> None:
    def answer(value: str) -> None:
        Conversation.objects.for_tenant(tenant_users.tenant).filter(pk=conversation.pk).update(
            answers={"service_type": value}
        )

    answer("vRouter")
    client = tenant_users.client_for(tenant_users.member)
    with override_settings(REDIS_URL=closed_redis_url):
        response = client.post(
            f"/t/acme/services/{conversation.pk}/answers/service_type/", {"value": "vFirewall"}
        )
    assert response.status_code == 302
    saved = Conversation.objects.for_tenant(tenant_users.tenant).get(pk=conversation.pk)
    assert saved.answers["service_type"] == "vFirewall"


async def test_a_socket_handshake_is_refused_cleanly(
    tenant_users: TenantUsers, conversation: Conversation, closed_redis_url: str
) -> None:
    with channel_layer_down(closed_redis_url):
        try:
            socket, connected, code = await open_socket(tenant_users.member, path_of(conversation, since=0))
            assert (connected, code) == (False, CLOSE_UNAVAILABLE)
            await socket.disconnect()
        finally:
            layer = get_channel_layer()
            assert layer is not None
            await layer.flush()  # stop the refused layer's receiver


async def test_an_answer_sent_during_the_outage_is_refused_on_the_socket(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, closed_redis_url: str
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)
    with override_settings(REDIS_URL=closed_redis_url):
        await socket.send_to(text_data=json.dumps({"action": "text", "text": "A virtual router"}))
        [flash] = await frames_until(socket, NOTICE)
    assert "your answer was not sent" in flash
    assert [m.role for m in await _messages(conversation)] == [Message.Role.ASSISTANT], "nothing stored"
    await socket.disconnect()


async def test_an_answer_stored_before_the_outage_hit_says_so(
    tenant_users: TenantUsers,
    conversation: Conversation,
    anthropic: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)

    async def unreachable(*args: Any, **kwargs: Any) -> int:
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(frames, "publish", unreachable)  # Redis goes away once the answer is in
    await socket.send_to(
        text_data=json.dumps({"action": "answer", "field": "service_type", "value": "vRouter"})
    )
    [flash] = await frames_until(socket, NOTICE)
    assert "Your answer was saved" in flash
    messages = await _messages(conversation)
    assert [m.text for m in messages if m.role == Message.Role.USER] == ["vRouter"]
    await socket.disconnect()
