"""Reading what a page sends up a socket: bounded, depth-safe, well-encoded, typed."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, StrictStr

from core.socket_messages import MAX_DEPTH, MessageRefused, read_action, read_object


class Greeting(BaseModel):
    name: StrictStr


def test_an_object_is_read() -> None:
    assert read_object('{"action": "text", "text": "hi", "values": [1, 2.5, true, null]}') == {
        "action": "text",
        "text": "hi",
        "values": [1, 2.5, True, None],
    }


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (None, "could not be read"),  # a binary frame
        ("x" * 70_000, "too long (70,000 characters; at most 65,536)"),
        ("{not json", "could not be read"),
        ("[1, 2]", "could not be read"),
        ('"a string"', "could not be read"),
        ("[" * 30_000 + "]" * 30_000, "could not be read"),  # Python's own parser: RecursionError
        (json.dumps({"a": "\ud800"}), "could not be read"),  # an escaped lone surrogate
        ('{"a": "\ud800"}', "could not be read"),  # a raw one (no UTF-8 decoder lets it through)
        (json.dumps({"a": "x\x00y"}), "NUL character"),
        ('{"a": [1e999]}', "out of range"),
        ('{"a": NaN}', "could not be read"),
        (json.dumps({"a": [[[[[[[[[]]]]]]]]]}), "nested too deeply"),
    ],
)
def test_a_bad_message_is_refused_with_a_reason(message: str | None, reason: str) -> None:
    with pytest.raises(MessageRefused) as refused:
        read_object(message)
    assert reason in str(refused.value)


def test_the_deepest_allowed_message_is_read() -> None:
    value: object = []
    for _ in range(MAX_DEPTH - 2):
        value = [value]
    assert read_object(json.dumps({"a": value})) == {"a": value}


def test_an_action_is_checked_against_its_model() -> None:
    assert read_action({"name": "Ada", "HEADERS": {}}, Greeting) == Greeting(name="Ada")
    with pytest.raises(MessageRefused, match=r"could not be read \(name: Input should be a valid string\)"):
        read_action({"name": 7}, Greeting)
    with pytest.raises(MessageRefused, match=r"\(name: Field required\)"):
        read_action({}, Greeting)
