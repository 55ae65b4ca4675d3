"""The frames a turn publishes: templates rendered for every open page of the conversation
(numbered and kept by conversations.streams), the page's state, and passing notices."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from conversations import pages, streams
from conversations.models import Conversation
from core.db import database_sync_to_async


async def publish(conversation: Conversation, template: str, context: dict[str, Any]) -> int:
    """Render a frame template with the conversation and publish it; its number."""
    html = render_to_string(template, {"conversation": conversation, **context})
    return (await streams.publish(conversation.pk, html)).seq


def state_html(context: dict[str, Any], **extra: Any) -> str:
    """The state frame (answers panel, progress and composer) for a page state."""
    return render_to_string("conversations/frames/state.html", {**context, **extra})


async def publish_state(conversation: Conversation, **extra: Any) -> int:
    """Publish the answers panel, progress and composer as the database has them now."""
    context = await database_sync_to_async(pages.page_state)(conversation)
    return (await streams.publish(conversation.pk, state_html(context, **extra))).seq


async def publish_flash(conversation_id: int, text: str) -> None:
    """A passing notice (not stored): something the sender should know now."""
    await streams.publish(
        conversation_id, render_to_string("conversations/frames/flash.html", {"text": text})
    )
