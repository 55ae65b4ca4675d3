"""Checks that a free-form value is plain JSON the generated Go code can hold."""

from __future__ import annotations

import math
from typing import TypeAlias

# Decoded JSON as `json.loads` gives it, before anything has said what shape it has.
JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

_FLOAT64_MAX = 1.7976931348623157e308


def json_value_problem(value: object, max_depth: int) -> str | None:
    """Whether the value is plain JSON that Go can hold: finite float64 numbers, bounded depth."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > max_depth:
            return f"is nested more than {max_depth} levels deep"
        if isinstance(current, dict):
            if not all(isinstance(key, str) for key in current):
                return "has an object key that is not a string"
            stack.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            stack.extend((item, depth + 1) for item in current)
        elif isinstance(current, bool) or current is None or isinstance(current, str):
            continue
        elif isinstance(current, int):
            if abs(current) > _FLOAT64_MAX:
                return "has a number too large for a float64"
        elif isinstance(current, float):
            if not math.isfinite(current):
                return "has a number that is not finite"
        else:
            return f"holds a {type(current).__name__}, which is not JSON"
    return None


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether objects and lists are nested in `value` more than `limit` levels deep (a
    scalar is 0 levels, `{}` one, `{"a": []}` two). Level by level, without recursion, so any
    depth is measured safely; stops as soon as the answer is known."""
    level: list[dict[object, object] | list[object]] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        inner: list[dict[object, object] | list[object]] = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, _CONTAINERS):  # a tuple: faster than `dict | list` here
                    inner.append(child)
        level = inner
    return False


_CONTAINERS = (dict, list)
