"""core.terminal.printable: what a command may write to a terminal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.terminal import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),  # ESC: colours, cursor moves
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC window title, ended by BEL
        ("a\x00b\x7f", "a\\x00b\\x7f"),  # NUL and DEL
        ("\x9b2J\x85", "\\x9b2J\\x85"),  # C1: CSI and NEL
        ("one\ntwo\rthree\tfour", "one\\ntwo\\rthree\\tfour"),  # no forged lines
        ("abc\u202egpj.exe", "abc\\u202egpj.exe"),  # right-to-left override
        ("\u2066x\u2069\u200f", "\\u2066x\\u2069\\u200f"),  # bidi isolate, right-to-left mark
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),  # invisible characters
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),  # Unicode line breaks
        ("no\u00a0break", "no\\xa0break"),  # spaces that do not look like one
        ("tag\U000e0041", "tag\\U000e0041"),  # tag characters hide text
        ("lone \ud800", "lone \\ud800"),  # a surrogate cannot even be encoded
    ],
)
def test_control_and_invisible_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_printable_text_is_unchanged() -> None:
    text = "Zürich 東京 ñandú 😀 C:\\path a-b_c {{x}} 'quoted' \"too\""
    assert printable(text) == text


def test_line_breaks_can_be_kept_for_multi_line_text_but_never_a_carriage_return() -> None:
    assert printable("one\n\ttwo\r\x1b[2K", keep_line_breaks=True) == "one\n\ttwo\\r\\x1b[2K"


def test_anything_is_shown_as_its_text() -> None:
    assert printable(None) == "None"
    assert printable(42) == "42"


@given(st.text())
def test_nothing_a_terminal_would_act_on_is_left(text: str) -> None:
    assert printable(text).isprintable()
    kept = printable(text, keep_line_breaks=True)
    assert all(character.isprintable() or character in "\n\t" for character in kept)
