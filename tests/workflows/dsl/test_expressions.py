"""The condition language and templates: what parses to what, and where errors are."""

from __future__ import annotations

import pytest

from workflows.compiler.go_expressions import go_condition, go_input_value, go_text
from workflows.dsl.expressions import (
    Comparison,
    ExpressionError,
    Literal,
    Logical,
    Not,
    Reference,
    parse_expression,
    parse_template,
    references,
)


def test_it_parses_comparisons_of_references_and_literals() -> None:
    assert parse_expression("order.total >= 100") == Comparison(
        ">=", Reference(("order", "total"), 0), Literal(100.0, 15), 12
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"it\\"s"', 'it"s'),
        ("'single \\' quote'", "single ' quote"),
        ('"tab\\tnew\\nline\\u263a\\/"', "tab\tnew\nline\u263a/"),
        ("-2.5e3", -2500.0),
        ("42", 42.0),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_it_parses_literals(text: str, value: object) -> None:
    parsed = parse_expression(text)
    assert isinstance(parsed, Literal)
    assert parsed.value == value


def test_and_binds_tighter_than_or_and_not_covers_a_comparison() -> None:
    parsed = parse_expression("a || !b == 1 && c")
    assert isinstance(parsed, Logical)
    assert parsed.operator == "||"
    assert isinstance(parsed.right, Logical)
    assert parsed.right.operator == "&&"
    negation = parsed.right.left
    assert isinstance(negation, Not)
    assert isinstance(negation.operand, Comparison)


def test_parentheses_group() -> None:
    parsed = parse_expression("(a || b) && c")
    assert isinstance(parsed, Logical)
    assert parsed.operator == "&&"
    assert isinstance(parsed.left, Logical)
    assert parsed.left.operator == "||"


def test_placeholders_are_references_too() -> None:
    parsed = parse_expression("{{ order.status }} == 'paid'")
    assert [reference.path for reference in references(parsed)] == [("order", "status")]


def test_references_are_listed_left_to_right() -> None:
    parsed = parse_expression("a && (b.c || !d) && e == f")
    assert [reference.root for reference in references(parsed)] == ["a", "b", "d", "e", "f"]


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("", "empty expression", 0),
        ("a ==", "expected a value, found end of expression", 4),
        ("a < b < c", "comparisons cannot be chained; use &&", 6),
        ("(a", "expected `)`", 2),
        ("a b", "unexpected 'b'", 2),
        ("a + 1", "unexpected character '+'", 2),
        ('"open', "unterminated string", 0),
        ('"bad \\q"', "invalid escape in string", 5),
        ("order.", "expected a name", 6),
        ("{{ order total }}", "expected a variable name and `}}` after `{{`", 0),
        ("1e400", "number out of range", 0),
        ("- x", "expected a number after `-`", 2),
        ("!" * 70 + "a", "expression nested too deeply", 64),
        ("(" * 70 + "a" + ")" * 70, "expression nested too deeply", 64),
        ("café == 1", "unexpected character 'é'", 3),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, reason: str, position: int) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_expression(text)
    assert (raised.value.reason, raised.value.position) == (reason, position)


def test_templates_split_into_text_and_references() -> None:
    assert parse_template("Dear {{ customer.name }}, you owe {{amount}}.") == (
        "Dear ",
        Reference(("customer", "name"), 5),
        ", you owe ",
        Reference(("amount",), 34),
        ".",
    )
    assert parse_template("") == ()
    assert parse_template("no placeholders } here {") == ("no placeholders } here {",)


def test_a_malformed_placeholder_is_an_error_at_its_position() -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_template("ok {{fine}} then {{ not fine }}")
    assert raised.value.position == 17


def test_conditions_compile_to_go_through_the_runtime_helpers() -> None:
    parsed = parse_expression('order.total > 100 && !(status == "closed" || flagged)')
    assert go_condition(parsed) == (
        'e.compare(">", e.lookup("order", "total"), 100.0) && '
        '!(e.compare("==", e.lookup("status"), "closed") || e.truthy(e.lookup("flagged")))'
    )
    assert go_condition(parse_expression("true")) == "true"
    assert go_condition(parse_expression("(a && b) == false")) == (
        'e.compare("==", (e.truthy(e.lookup("a")) && e.truthy(e.lookup("b"))), false)'
    )


def test_templates_compile_to_go_text() -> None:
    assert go_text(parse_template("Hi {{name}}!")) == 'e.text("Hi ", e.lookup("name"), "!")'
    assert go_text(parse_template("plain")) == '"plain"'
    assert go_text(parse_template("")) == '""'
    # A lone placeholder in an input mapping passes the value with its type.
    assert go_input_value(parse_template("{{ order }}")) == 'e.lookup("order")'
    assert go_input_value(parse_template("#{{ order }}")) == 'e.text("#", e.lookup("order"))'
