"""The conversation socket: who may open it, what it sends, resuming, several tabs."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from channels.db import database_sync_to_async

from conversations import selectors, services, streams
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.models import Conversation, Message
from core import frame_sockets
from core.close_codes import CLOSE_CLOSED, CLOSE_NOT_FOUND
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import frames_until, keep_without_sending, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Which kind of network service would you like to offer?\n\nWhy: it decides the vendors."
SEQ = re.compile(r'id="conversation-seq" data-seq="(\d+)"')
DELTA = re.compile(r'-live" hx-swap-oob="beforeend">(.*?)</span>', re.S)


def path_of(conversation: Conversation, since: int | None = None) -> str:
    query = "" if since is None else f"?since={since}"
    return f"/ws/t/{conversation.tenant.slug}/conversations/{conversation.pk}/{query}"


def numbers(frames: list[str]) -> list[int]:
    return [int(match.group(1)) for frame in frames if (match := SEQ.search(frame))]


def text_of(frames: list[str]) -> str:
    return "".join(match.group(1) for frame in frames for match in DELTA.finditer(frame))


# Sent when a question has finished streaming: its done state replaces the live one.
QUESTION_DONE = 'data-state="done"'
# The last frame of a turn: the composer offers answering again.
READY = 'data-testid="message-form"'
# A notice to one socket (the panel's refresh clears the notice area, with no text).
NOTICE = 'role="status"'


async def test_a_member_sees_the_first_question_stream_in_numbered_frames(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION, tokens=10, token_latency=0.01))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    frames = await frames_until(socket, QUESTION_DONE)
    assert numbers(frames) == list(range(1, len(frames) + 1))
    assert text_of(frames) == QUESTION
    await socket.disconnect()


async def test_reconnecting_with_the_last_number_continues_without_gaps_or_repeats(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION, tokens=20, token_latency=0.03))
    first, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    seen = [str(await first.receive_from(timeout=5)) for _ in range(3)]
    await first.disconnect()  # the page reloads mid-answer

    second, connected, _ = await open_socket(tenant_users.member, path_of(conversation, numbers(seen)[-1]))
    assert connected
    rest = await frames_until(second, QUESTION_DONE)
    assert numbers(seen + rest) == list(range(1, len(seen) + len(rest) + 1))
    assert text_of(seen + rest) == QUESTION
    await second.disconnect()


async def test_two_tabs_see_the_same_stream(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION, tokens=20, token_latency=0.02))
    member, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    owner, connected, _ = await open_socket(tenant_users.owner, path_of(conversation, since=0))
    assert connected
    member_frames = await frames_until(member, QUESTION_DONE)
    owner_frames = await frames_until(owner, QUESTION_DONE)
    assert member_frames == owner_frames
    assert len(anthropic.requests) == 1, "the second tab joins the turn, it does not start another"
    await member.disconnect()
    await owner.disconnect()


async def test_an_answer_sent_over_the_socket_moves_the_interview_on(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, QUESTION_DONE)
    anthropic.push(Reply("Which vendor do you prefer?\n\nWhy: it sets the features."))
    await socket.send_to(
        text_data=json.dumps({"action": "answer", "field": "service_type", "value": "vRouter"})
    )
    frames = await frames_until(socket, "Which vendor")
    frames += await frames_until(socket, QUESTION_DONE)
    assert "vRouter" in "".join(frames)
    saved = await database_sync_to_async(selectors.conversation_for_turn)(
        conversation.tenant_id, conversation.pk
    )
    assert saved is not None
    assert saved.answers == {"service_type": "vRouter"}
    await socket.disconnect()


@pytest.mark.parametrize(
    ("text", "notice"),
    [("   ", "Write an answer first."), ("x" * 4001, "Answers are limited to 4000 characters")],
    ids=["empty", "oversized"],
)
async def test_empty_and_oversized_messages_are_refused_and_nothing_is_stored(
    text: str, notice: str, tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)
    await socket.send_to(text_data=json.dumps({"action": "text", "text": text}))
    [flash] = await frames_until(socket, NOTICE)
    assert notice in flash
    assert not SEQ.search(flash), "a notice to one socket is not a numbered frame"
    messages = await database_sync_to_async(lambda: list(selectors.messages_of(conversation)))()
    assert [message.role for message in messages] == [Message.Role.ASSISTANT]
    await socket.disconnect()


async def test_a_viewer_follows_but_cannot_answer(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    await socket.send_to(
        text_data=json.dumps({"action": "answer", "field": "service_type", "value": "vRouter"})
    )
    [flash] = await frames_until(socket, NOTICE)
    assert "cannot" in flash or "not answer" in flash
    await asyncio.sleep(0.2)
    assert anthropic.requests == [], "a viewer's socket starts no turn"
    await socket.disconnect()


async def test_a_conversation_of_another_tenant_is_not_found(
    tenant_users: TenantUsers, anthropic: EmulatorServer
) -> None:
    theirs = await database_sync_to_async(services.conversation_create)(
        tenant=tenant_users.other_tenant, owner=tenant_users.outsider, blueprint=NETWORK_SERVICE
    )
    # A member of acme asks for globex's conversation under acme's slug.
    path = f"/ws/t/acme/conversations/{theirs.pk}/"
    socket, connected, code = await open_socket(tenant_users.member, path)
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()
    socket, connected, code = await open_socket(tenant_users.member, "/ws/t/acme/conversations/999999/")
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()


async def test_a_complete_conversation_socket_is_refused(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    def complete() -> None:
        values = {
            "service_type": "vFirewall",
            "vendor": "Fortinet",
            "features": ["Stateful inspection"],
            "pricing_model": "Per user",
            "api_docs": "https://example.test/api",
            "authentication": "OAuth 2.0",
            "logging_monitoring": "Syslog",
        }
        services.answers_apply(conversation=conversation, values=values)

    await database_sync_to_async(complete)()
    refreshed = await database_sync_to_async(selectors.conversation_for_turn)(
        conversation.tenant_id, conversation.pk
    )
    assert refreshed is not None
    assert refreshed.is_complete
    socket, connected, code = await open_socket(tenant_users.member, path_of(conversation))
    assert (connected, code) == (False, CLOSE_CLOSED)
    await socket.disconnect()


async def test_unreadable_and_unknown_actions_get_a_notice(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)
    for payload, notice in [
        ("{not json", "could not be read"),
        ("[1, 2]", "could not be read"),
        (json.dumps({"action": "explode"}), "Unknown action."),
        (json.dumps({"action": "answer", "value": {"a": 1}}), "could not be read"),
    ]:
        await socket.send_to(text_data=payload)
        [flash] = await frames_until(socket, NOTICE)
        assert notice in flash
    await socket.disconnect()


async def test_a_frame_that_missed_a_new_socket_is_sent_from_the_kept_ones_soon_after(
    tenant_users: TenantUsers, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frame a socket's subscription was not yet in place for (here: kept, never sent
    live) reaches it anyway, although no later frame shows the gap."""
    monkeypatch.setattr(frame_sockets, "RECHECK_SECONDS", 0.2)
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    seq = await keep_without_sending(streams.CONVERSATIONS, conversation.pk, "<p>missed</p>")
    frame = str(await socket.receive_from(timeout=5))
    assert frame == streams.stamp(seq, "<p>missed</p>")
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_live_frames_do_not_wait_for_the_database_thread(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    """Frames reach sockets while the one database thread is busy (turns' queries): channels
    would otherwise call into that thread before handing each frame to its socket."""
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    busy = asyncio.ensure_future(database_sync_to_async(time.sleep)(2.0))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    seq = (await streams.publish(conversation.pk, "<p>live</p>")).seq
    frame = str(await socket.receive_from(timeout=5))
    waited = time.monotonic() - started
    assert frame == streams.stamp(seq, "<p>live</p>")
    assert waited < 1.0, f"the frame waited {waited:.2f} s for the database thread"
    await busy
    await socket.disconnect()


async def test_a_frame_missed_later_on_arrives_at_the_next_periodic_look(
    tenant_users: TenantUsers, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame the live channel dropped well after connecting (a Redis reconnect) reaches the
    socket at its next look at the kept frames, without a later frame to show the gap."""
    monkeypatch.setattr(frame_sockets, "RECHECK_SECONDS", 0.1)
    monkeypatch.setattr(frame_sockets, "RECHECK_EVERY_SECONDS", 0.3)
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(conversation, since=0))
    assert connected
    await asyncio.sleep(0.5)  # past the look after connecting
    seq = await keep_without_sending(streams.CONVERSATIONS, conversation.pk, "<p>dropped</p>")
    frame = str(await socket.receive_from(timeout=5))
    assert frame == streams.stamp(seq, "<p>dropped</p>")
    assert await socket.receive_nothing(timeout=0.7), "each frame is sent once"
    await socket.disconnect()
