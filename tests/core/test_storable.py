"""Text every column keeps: NUL characters and lone surrogates replaced, nothing else touched."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from core.storable import REPLACEMENT, StorableJSONEncoder, storable, storable_text


def test_only_what_no_column_takes_is_replaced() -> None:
    assert storable_text("plain «» ünïcode 🙂 \t\n\x7f") == "plain «» ünïcode 🙂 \t\n\x7f"
    assert storable_text("a\x00b\ud800c\udfffd") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}d"


def test_strings_are_replaced_at_every_depth_keys_included_and_the_original_is_left_alone() -> None:
    original: dict[str, Any] = {"k\x00": ["x\x00", {"deep": ("y\x00", 1, None, True, 2.5)}], "n": 3}
    assert storable(original) == {
        f"k{REPLACEMENT}": [f"x{REPLACEMENT}", {"deep": [f"y{REPLACEMENT}", 1, None, True, 2.5]}],
        "n": 3,
    }
    assert original["k\x00"][0] == "x\x00"


def test_nesting_beyond_the_recursion_limit_is_walked_without_recursion() -> None:
    value: list[object] = ["\x00"]
    for _ in range(5000):
        value = [value]
    walked = storable(value)
    for _ in range(5000):
        walked = walked[0]
    assert walked == [REPLACEMENT]


def test_the_encoder_keeps_djangos_types_and_writes_no_nul_escape() -> None:
    text = json.dumps(
        {"at": datetime.date(2026, 12, 5), "cost": Decimal("0.5"), "text": "a\x00b"}, cls=StorableJSONEncoder
    )
    assert "\\u0000" not in text
    assert json.loads(text) == {"at": "2026-12-05", "cost": "0.5", "text": f"a{REPLACEMENT}b"}
