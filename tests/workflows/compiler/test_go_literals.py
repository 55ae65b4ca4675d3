"""Go string literals, comment text and identifiers made from untrusted text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.workflows.go_tools import go_unquote
from workflows.compiler.go_literals import comment_text, go_float, go_string, go_value
from workflows.compiler.identifiers import IdentifierAllocator, pascal_case


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("`raw`", '"`raw`"'),
        ("line\nbreak\r\ttab", '"line\\nbreak\\r\\ttab"'),
        ("\x00\x07\x1b\x7f", '"\\x00\\a\\x1b\\x7f"'),
        ("café ☺ 😈", '"café ☺ 😈"'),
        ("rtl \u202e override", '"rtl \\u202e override"'),
        ("zero\u200bwidth\ufeffbom", '"zero\\u200bwidth\\ufeffbom"'),
        ("nbsp\u00a0line\u2028sep", '"nbsp\\u00a0line\\u2028sep"'),
        ("private \U000f0000", '"private \\U000f0000"'),
        ("lone \ud800 surrogate", '"lone \\ufffd surrogate"'),
        ("*/ /* // ${x}", '"*/ /* // ${x}"'),
    ],
)
def test_strings_are_quoted_like_strconv_quote(text: str, literal: str) -> None:
    assert go_string(text) == literal


@given(st.text())
def test_any_text_round_trips_through_a_go_literal(text: str) -> None:
    literal = go_string(text)
    assert "\n" not in literal
    assert "\r" not in literal
    expected = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in text)
    assert go_unquote(literal) == expected


@given(st.text())
def test_comment_text_is_one_line_of_printable_ascii(text: str) -> None:
    comment = comment_text(text)
    assert all(" " <= char <= "~" for char in comment)
    assert len(comment) <= 60 * 10 + 2  # at worst every character escaped as \U00000000


def test_long_comment_text_is_cut() -> None:
    assert comment_text("x" * 100) == '"' + "x" * 57 + '..."'


def test_json_values_become_go_literals() -> None:
    value = {"b": [1, 2.5, True, None, "x"], "a": {}}
    assert go_value(value) == (
        'map[string]interface{}{"a": map[string]interface{}{}, "b": []interface{}{1.0, 2.5, true, nil, "x"}}'
    )
    assert go_float(10**20) == "1e+20"
    assert go_float(-0.5) == "-0.5"


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        ("order approval", "OrderApproval"),
        ("order_id", "OrderID"),
        ("send-http-request", "SendHTTPRequest"),
        ("Café crème", "CafeCreme"),
        ("订单", ""),
        ('x"); os.Exit(1) //', "XOsExit1"),
    ],
)
def test_pascal_case_keeps_only_ascii_words(text: str, identifier: str) -> None:
    assert pascal_case(text) == identifier


def test_the_allocator_avoids_collisions_keywords_and_leading_digits() -> None:
    allocator = IdentifierAllocator(reserved=["Metadata"])
    names = [allocator.allocate(text) for text in ("a-b", "a_b", "a b", "metadata", "9 lives", "", "订单")]
    assert names == ["AB", "AB2", "AB3", "Metadata2", "X9Lives", "X", "X2"]
    # Go keywords and predeclared names are taken from the start.
    assert IdentifierAllocator().allocate("", fallback="func") == "func2"
    assert IdentifierAllocator().allocate("", fallback="string") == "string2"
    assert IdentifierAllocator(reserved=["stepX"]).allocate("x", prefix="step") == "stepX2"


@given(st.lists(st.text(), max_size=20))
def test_allocated_identifiers_are_valid_and_distinct(texts: list[str]) -> None:
    allocator = IdentifierAllocator()
    names = [allocator.allocate(text, prefix="step") for text in texts]
    assert len(set(names)) == len(names)
    for name in names:
        assert name.isascii()
        assert name.isidentifier()
