"""A turn whose process died mid-stream (daphne killed): its lock's heartbeat stops, and the
pages following the conversation show the question as failed, with its retry button, once
the lock has expired (TURN_LOCK_SECONDS), without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from conversations import selectors, services
from conversations.interview import lock
from conversations.interview.frames import publish
from conversations.models import Conversation, Message
from core.redis import async_redis
from tests.conftest import TenantUsers
from tests.conversations.test_consumer import path_of
from tests.frames import frames_until, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

RETRY = 'data-testid="retry"'


@pytest.fixture
def short_lock(settings: Any) -> None:
    settings.TURN_LOCK_SECONDS = 0.3


async def a_turn_that_dies(conversation: Conversation) -> Message:
    """What a turn leaves when its process is killed mid-stream: its lock, no longer renewed,
    and its question streaming."""
    await async_redis().set(lock.lock_key(conversation.pk), "dead-owner", px=lock.lock_milliseconds())
    question = await database_sync_to_async(services.message_add)(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        field_key="service_type",
        state=Message.State.STREAMING,
    )
    seq = await publish(conversation, "conversations/frames/message_added.html", {"message": question})
    await database_sync_to_async(services.question_started)(message=question, seq=seq)
    return question


async def _question(conversation: Conversation) -> Message:
    def read() -> Message:
        question = selectors.current_question(conversation)
        assert question is not None
        return question

    return await database_sync_to_async(read)()


@pytest.mark.parametrize("role", ["member", "viewer"])
async def test_a_page_that_reconnects_shows_the_dead_turn_failed_with_its_retry_button(
    role: str, tenant_users: TenantUsers, conversation: Conversation, short_lock: None
) -> None:
    question = await a_turn_that_dies(conversation)
    socket, connected, _ = await open_socket(getattr(tenant_users, role), path_of(conversation, since=0))
    assert connected
    frames = await frames_until(socket, RETRY)
    assert f'id="message-{question.pk}"' in frames[-1]
    assert 'data-state="failed"' in frames[-1]
    failed = await _question(conversation)
    assert (failed.pk, failed.state, failed.error) == (question.pk, Message.State.FAILED, "interrupted")
    await socket.disconnect()


async def test_an_open_page_shows_a_turn_that_dies_under_it_failed(
    tenant_users: TenantUsers, conversation: Conversation, short_lock: None
) -> None:
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    question = await a_turn_that_dies(conversation)  # started after the page connected
    frames = await frames_until(socket, RETRY)
    assert f'id="message-{question.pk}"' in frames[-1]
    assert (await _question(conversation)).state == Message.State.FAILED
    await socket.disconnect()


async def test_a_turn_that_runs_is_left_alone(
    tenant_users: TenantUsers, conversation: Conversation, short_lock: None
) -> None:
    """A live turn's heartbeat keeps its lock: pages following it do not fail its question."""
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    async with lock.turn_lock(conversation.pk) as held:
        assert held
        question = await database_sync_to_async(services.message_add)(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            field_key="service_type",
            state=Message.State.STREAMING,
        )
        await publish(conversation, "conversations/frames/message_added.html", {"message": question})
        await frames_until(socket, f'id="message-{question.pk}"')
        # Several lifetimes of the lock: renewed all along, never taken for dead.
        assert await socket.receive_nothing(timeout=4 * lock.lock_milliseconds() / 1000)
        assert await lock.turn_running(conversation.pk)
        assert (await _question(conversation)).state == Message.State.STREAMING
    await socket.disconnect()
