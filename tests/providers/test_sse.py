"""The kinds' event-stream reader: the WHATWG rules the providers' streams rely on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from providers.kinds import sse


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def read(*items: str) -> list[sse.Event]:
    return [event async for event in sse.events(lines(*items))]


async def test_events_end_at_blank_lines_with_their_names() -> None:
    events = await read("event: ping", "data: {}", "", "data: [DONE]", "")
    assert events == [sse.Event("ping", "{}"), sse.Event("", "[DONE]")]


async def test_data_lines_join_with_newlines_and_one_space_is_dropped() -> None:
    assert await read("data:  two spaces", "data:none", "") == [sse.Event("", " two spaces\nnone")]


async def test_comments_ids_and_empty_events_are_skipped() -> None:
    events = await read(": keep-alive", "", "id: 7", "retry: 100", "", "event: x", "", "data: a", "")
    assert events == [sse.Event("", "a")]


async def test_an_event_cut_off_by_the_end_of_the_stream_still_counts() -> None:
    assert await read("data: last") == [sse.Event("", "last")]


def test_event_data_must_be_a_json_object() -> None:
    assert sse.Event("", '{"a": 1}').json() == {"a": 1}
    with pytest.raises(ValueError, match="not a JSON object"):
        sse.Event("", "[1]").json()
    with pytest.raises(json.JSONDecodeError):
        sse.Event("", "{broken").json()


def test_error_messages_are_read_as_the_sdks_read_them() -> None:
    assert sse.error_message({"error": {"message": "slow down"}}, "fallback") == "slow down"
    assert sse.error_message({"error": "text"}, "fallback") == "fallback"
    assert sse.error_message([], "fallback") == "fallback"
