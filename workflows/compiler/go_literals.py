"""Go literals and comment text built from untrusted strings and JSON values.

Every user string reaches the Go file through `go_string` (the equivalent of Go's
`strconv.Quote`) or, inside comments, `comment_text` (`strconv.QuoteToASCII`, shortened), so
no quote, backtick, newline, `*/` or bidirectional control can end a literal or a comment
early or make the code read differently from what it does.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}
# Everything but printable ASCII without `"` and `\`: the characters that may need escaping.
_SPECIAL = re.compile(r"[^ !#-\[\]-~]")
_NOT_PRINTABLE_ASCII = re.compile(r"[^ -~]")
_COMMENT_LENGTH = 60


def _is_printable(char: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols (and ASCII space).

    Format characters such as U+202E (right-to-left override) are not printable, so they are
    escaped and cannot reorder how the code is displayed.
    """
    return unicodedata.category(char)[0] in "LMNPS"


def _escape(char: str, ascii_only: bool) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:
        # A lone surrogate (possible in JSON's \ud800) is no Unicode character; Go would
        # reject "\ud800", so it becomes the replacement character, as in Go's own decoding.
        return "\\ufffd"
    if not ascii_only and _is_printable(char):
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def go_string(text: str) -> str:
    """A Go interpreted string literal holding `text` (like strconv.Quote)."""
    return _short_go_string(text) if len(text) <= _CACHED_LENGTH else _go_string(text)


# Node ids, keys and names recur many times in one file: quoting them once is cheaper. Only
# short strings are kept, which bounds the cache's memory.
_CACHED_LENGTH = 64


@functools.lru_cache(maxsize=65536)
def _short_go_string(text: str) -> str:
    return _go_string(text)


def _go_string(text: str) -> str:
    return '"' + _SPECIAL.sub(lambda match: _escape(match.group(0), ascii_only=False), text) + '"'


def go_ascii_string(text: str) -> str:
    """A Go string literal in printable ASCII only (like strconv.QuoteToASCII)."""
    return '"' + _SPECIAL.sub(lambda match: _escape(match.group(0), ascii_only=True), text) + '"'


def comment_text(text: str) -> str:
    """User text for a `//` comment: quoted in printable ASCII, cut to 60 characters."""
    if len(text) > _COMMENT_LENGTH:
        text = text[: _COMMENT_LENGTH - 3] + "..."
    return _comment_text(text)


@functools.lru_cache(maxsize=65536)
def _comment_text(text: str) -> str:
    quoted = go_ascii_string(text)
    if _NOT_PRINTABLE_ASCII.search(quoted):  # cannot happen; comments must stay on one line
        raise ValueError("comment text escaped to non-printable characters")
    return quoted


def go_float(number: float) -> str:
    """A Go float constant (Python's repr always has a `.` or an exponent)."""
    return repr(float(number))


def go_value(value: Any) -> str:
    """A Go expression of type interface{} for a JSON value (maps with sorted keys)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, int | float):
        return go_float(value)
    if isinstance(value, list):
        return "[]interface{}{" + ", ".join(go_value(item) for item in value) + "}"
    if isinstance(value, dict):
        items = (f"{go_string(key)}: {go_value(value[key])}" for key in sorted(value))
        return "map[string]interface{}{" + ", ".join(items) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def seconds(count: int, *, argument: bool = False) -> str:
    """A time.Duration of `count` seconds; gofmt drops the spaces among several arguments."""
    return f"{count}*time.Second" if argument else f"{count} * time.Second"


def milliseconds(count: int) -> str:
    """A time.Duration of `count` milliseconds, as a composite literal value."""
    return f"{count} * time.Millisecond"
