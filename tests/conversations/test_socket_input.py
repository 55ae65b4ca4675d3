"""What a page sends up the conversation socket is read safely: too long, too deep, badly
encoded or wrongly typed messages get a notice on that socket, which stays usable, and
nothing is stored."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from conversations import selectors
from conversations.models import Conversation, Message
from tests.conftest import TenantUsers
from tests.conversations.test_consumer import NOTICE, QUESTION, QUESTION_DONE, READY, SEQ, path_of
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import frames_until, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def nested(depth: int) -> str:
    """A text action whose text is an array nested `depth` deep."""
    return '{"action": "text", "text": ' + "[" * depth + "]" * depth + "}"


BAD_MESSAGES = {
    # The chip action had no length limit: a 600,000-character value was stored.
    "chip-over-the-answer-limit": (
        json.dumps({"action": "answer", "field": "service_type", "value": "x" * 5000}),
        "Answers are limited to 4000 characters; this one has 5000.",
    ),
    "options-over-the-answer-limit": (
        json.dumps({"action": "answer", "field": "features", "value": ["y" * 1500] * 3}),
        "Answers are limited to 4000 characters",
    ),
    "far-too-long": (
        json.dumps({"action": "answer", "field": "service_type", "value": "x" * 600_000}),
        "That message is too long (600,",
    ),
    # Python's parser raised RecursionError: the socket closed with 1011 and a traceback.
    "nested-100000-deep": (nested(100_000), "That message is too long"),
    "nested-20000-deep": (nested(20_000), "could not be read"),
    "nested-deeper-than-a-page-sends": (nested(9), "nested too deeply"),
    # A lone surrogate crashed the turn storing it, and the answer vanished without a word.
    "lone-surrogate": ('{"action": "text", "text": "\\ud800 my answer"}', "could not be read"),
    "nul-character": (json.dumps({"action": "text", "text": "my\x00answer"}), "NUL character"),
    "text-of-the-wrong-type": (json.dumps({"action": "text", "text": 42}), "could not be read (text:"),
    "value-of-the-wrong-type": (
        json.dumps({"action": "answer", "field": "service_type", "value": {"a": 1}}),
        "could not be read (value",
    ),
    "infinite-number": ('{"action": "answer", "field": "service_type", "value": 1e999}', "out of range"),
    "not-an-object": ("[1, 2]", "could not be read"),
    "unknown-action": (json.dumps({"action": ["text"]}), "Unknown action."),
}


@pytest.mark.parametrize("name", list(BAD_MESSAGES))
async def test_a_bad_message_gets_a_notice_and_the_socket_stays_usable(
    name: str, tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    message, notice = BAD_MESSAGES[name]
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)

    await socket.send_to(text_data=message)
    [flash] = await frames_until(socket, NOTICE)
    assert notice in flash
    assert not SEQ.search(flash), "a notice to this socket alone, not a numbered frame"
    messages = await database_sync_to_async(lambda: list(selectors.messages_of(conversation)))()
    assert [m.role for m in messages] == [Message.Role.ASSISTANT], "nothing was stored"

    # The same socket still takes a good answer.
    anthropic.push(Reply("Which vendor do you prefer?\n\nWhy: it sets the features."))
    await socket.send_to(
        text_data=json.dumps({"action": "answer", "field": "service_type", "value": "vRouter"})
    )
    frames = await frames_until(socket, "Which vendor")
    frames += await frames_until(socket, QUESTION_DONE)
    assert "vRouter" in "".join(frames)
    await socket.disconnect()


async def test_a_binary_message_gets_a_notice(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(QUESTION))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until(socket, READY)
    await socket.send_to(bytes_data=b'{"action": "retry"}')
    [flash] = await frames_until(socket, NOTICE)
    assert "could not be read" in flash
    await socket.disconnect()
