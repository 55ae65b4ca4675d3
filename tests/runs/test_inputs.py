"""A run's inputs read against the workflow's variables: typed values and values typed as text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runs.inputs import MAX_INPUT_BYTES, RunInputError, parse_run_inputs
from workflows.dsl.documents import MAX_DOCUMENT_DEPTH


def variable(
    name: str, variable_type: str, *, required: bool = True, default: Any = None, description: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "variable_type": variable_type,
        "required": required,
        "default_value": default,
        "description": description,
    }


VARIABLES = [
    variable("amount", "number"),
    variable("approved", "boolean"),
    variable("customer", "string"),
    variable("order", "object"),
    variable("lines", "array"),
]


def problems_of(
    variables: list[dict[str, Any]], values: dict[str, Any], *, as_text: bool = False
) -> dict[str, str]:
    with pytest.raises(RunInputError) as refused:
        parse_run_inputs(variables, values, as_text=as_text)
    return refused.value.problems


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_it_takes_typed_values_of_every_type() -> None:
    values = {
        "amount": 12.5,
        "approved": False,
        "customer": "Ada",
        "order": {"id": 7, "items": [1, 2]},
        "lines": [],
    }
    assert parse_run_inputs(VARIABLES, values) == values


def test_it_reads_values_typed_as_text() -> None:
    text = {
        "amount": " -3e2 ",
        "approved": "Yes",
        "customer": "  Ada  ",
        "order": '{"id": 7}',
        "lines": '[1, "two"]',
    }
    assert parse_run_inputs(VARIABLES, text, as_text=True) == {
        "amount": -300.0,
        "approved": True,
        "customer": "  Ada  ",
        "order": {"id": 7},
        "lines": [1, "two"],
    }


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("+12", 12), ("-0", 0), ("1.5", 1.5), (".5", 0.5), ("7.", 7.0), ("2E3", 2000.0)],
)
def test_numbers_typed_as_text(text: str, number: float) -> None:
    parsed = parse_run_inputs([variable("amount", "number")], {"amount": text}, as_text=True)
    assert parsed == {"amount": number}
    assert type(parsed["amount"]) is type(number)


@pytest.mark.parametrize(
    "text", ["abc", "nan", "inf", "-Infinity", "1e400", "9" * 400, "1_000", "0x10", "1,5", "1 2"]
)
def test_text_that_is_not_a_finite_number_is_refused(text: str) -> None:
    problem = problems_of([variable("amount", "number")], {"amount": text}, as_text=True)["amount"]
    assert problem.startswith("A number is needed")
    assert "“" in problem


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_true_or_false_typed_as_text(text: str, value: bool) -> None:
    assert parse_run_inputs([variable("approved", "boolean")], {"approved": text}, as_text=True) == {
        "approved": value
    }


def test_it_says_which_words_mean_true_or_false() -> None:
    problems = problems_of([variable("approved", "boolean")], {"approved": "maybe"}, as_text=True)
    assert problems == {"approved": "True or false is needed (true/false, yes/no or 1/0), got “maybe”."}


@pytest.mark.parametrize(
    ("variable_type", "text", "problem"),
    [
        ("object", "[1]", "A JSON object is needed, got a list."),
        ("object", '"text"', "A JSON object is needed, got “text”."),
        ("array", '{"a": 1}', "A JSON list is needed, got an object."),
        ("array", "[NaN]", "This is not JSON: NaN is not a JSON value."),
        (
            "object",
            "{bad",
            "This is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1).",
        ),
        ("array", "[1e400]", "The value has a number that is not finite."),
        ("array", "[" * MAX_DOCUMENT_DEPTH + "]" * MAX_DOCUMENT_DEPTH + "x", "This is not JSON: Extra data"),
        ("array", "[" * 100_000 + "]" * 100_000, f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels"),
        (
            "array",
            json.dumps(nested(MAX_DOCUMENT_DEPTH + 1)),
            f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels",
        ),
    ],
)
def test_json_typed_as_text_is_checked(variable_type: str, text: str, problem: str) -> None:
    problems = problems_of([variable("value", variable_type)], {"value": text}, as_text=True)
    assert problems["value"].startswith(problem)


def test_json_as_deep_as_a_document_may_be_is_taken() -> None:
    deepest = nested(MAX_DOCUMENT_DEPTH)
    assert parse_run_inputs([variable("value", "array")], {"value": deepest}) == {"value": deepest}
    assert parse_run_inputs([variable("value", "array")], {"value": json.dumps(deepest)}, as_text=True) == {
        "value": deepest
    }


@pytest.mark.parametrize(
    ("variable_type", "value", "problem"),
    [
        ("number", "12", "A number is needed, got “12”."),
        ("number", True, "A number is needed, got true."),
        ("number", float("nan"), "A number is needed, got nan."),
        ("number", float("inf"), "A number is needed that is not too large, got inf."),
        ("number", 10**400, "A number is needed that is not too large, got a number of many digits."),
        ("number", [1], "A number is needed, got a list."),
        ("boolean", 1, "True or false is needed, got 1."),
        ("boolean", "true", "True or false is needed, got “true”."),
        ("string", 5, "Text is needed, got 5."),
        ("string", {"a": 1}, "Text is needed, got an object."),
        ("object", [], "A JSON object is needed, got a list."),
        ("array", {}, "A JSON list is needed, got an object."),
        ("array", {1, 2}, "A JSON list is needed, got a set."),
        ("object", {"a": float("nan")}, "The value has a number that is not finite."),
        ("object", {1: "a"}, "The value has an object key that is not a string."),
        ("array", [b"bytes"], "The value holds a bytes, which is not JSON."),
        ("array", nested(MAX_DOCUMENT_DEPTH + 1), f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels"),
        ("array", nested(100_000), f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels"),
    ],
)
def test_typed_values_of_the_wrong_type_are_refused(variable_type: str, value: Any, problem: str) -> None:
    # Values that are not text are checked as typed also when text is read by type.
    for as_text in (False,) if isinstance(value, str) else (False, True):
        problems = problems_of([variable("value", variable_type)], {"value": value}, as_text=as_text)
        assert problems["value"].startswith(problem)


def test_unknown_names_are_refused() -> None:
    problems = problems_of([variable("amount", "number", required=False)], {"amout": 5, "x" * 100: 1})
    assert problems == {
        "amout": "This workflow has no input named “amout”.",
        "x" * 100: f"This workflow has no input named “{'x' * 39}…”.",
    }


@pytest.mark.parametrize("missing", [{}, {"amount": None}, {"amount": ""}, {"amount": "  "}])
def test_a_required_variable_needs_a_value(missing: dict[str, Any]) -> None:
    for as_text in (False, True):
        assert problems_of([variable("amount", "number")], missing, as_text=as_text) == {
            "amount": "A value is needed."
        }


def test_a_required_variable_is_not_filled_from_its_default() -> None:
    # As in the generated Go workflow, which reads a default only for an optional variable.
    problems = problems_of([variable("amount", "number", default=5)], {})
    assert problems == {"amount": "A value is needed."}


def test_an_optional_variable_takes_its_default_or_stays_unset() -> None:
    default = {"priority": "low", "tags": ["a"]}
    variables = [
        variable("options", "object", required=False, default=default),
        variable("note", "string", required=False),
        variable("count", "number", required=False, default=0),
    ]
    for values in (
        {},
        {"options": None, "note": None, "count": None},
        {"options": " ", "note": "", "count": ""},
    ):
        parsed = parse_run_inputs(variables, values, as_text=True)
        assert parsed == {"options": default, "count": 0}
    parsed = parse_run_inputs(variables, {})
    parsed["options"]["tags"].append("b")
    assert default == {"priority": "low", "tags": ["a"]}  # the document's default is a copy, untouched
    assert parse_run_inputs(variables, {"note": "hi", "count": 3}) == {
        "options": default,
        "note": "hi",
        "count": 3,
    }


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RunInputError) as refused:
        parse_run_inputs(VARIABLES, {"amount": "abc", "order": "[]", "extra": 1}, as_text=True)
    error = refused.value
    assert isinstance(error, ValueError)
    assert error.problems == {
        "extra": "This workflow has no input named “extra”.",
        "amount": "A number is needed, got “abc”.",
        "approved": "A value is needed.",
        "customer": "A value is needed.",
        "order": "A JSON object is needed, got a list.",
        "lines": "A value is needed.",
    }
    assert error.message == (
        "extra: this workflow has no input named “extra”. amount: a number is needed, got “abc”. "
        "approved: a value is needed. customer: a value is needed. "
        "order: a JSON object is needed, got a list. lines: a value is needed."
    )
    assert str(error) == error.message


def test_a_long_value_is_shown_cut_short() -> None:
    problem = problems_of([variable("amount", "number")], {"amount": "a" * 1000}, as_text=True)["amount"]
    assert problem == f"A number is needed, got “{'a' * 39}…”."


def test_inputs_up_to_a_megabyte_are_taken() -> None:
    variables = [variable("text", "string"), variable("lines", "array")]
    lines = ["x" * 98] * 4_900  # 100 bytes of JSON each, with its comma
    text = "é" * ((MAX_INPUT_BYTES - len(json.dumps(lines)) - 2) // 2)
    assert parse_run_inputs(variables, {"text": text, "lines": lines}) == {"text": text, "lines": lines}


@pytest.mark.parametrize("as_text", [False, True])
def test_more_than_a_megabyte_of_inputs_is_refused_naming_the_largest(as_text: bool) -> None:
    variables = [variable("text", "string"), variable("lines", "array"), variable("other", "string")]
    lines = ["x" * 98] * 5_000
    given = {"text": "y" * 600_000, "lines": json.dumps(lines) if as_text else lines, "other": 5, "extra": 1}
    problems = problems_of(variables, given, as_text=as_text)
    assert problems == {
        "extra": "This workflow has no input named “extra”.",
        "text": "Too large: the inputs together may be at most 1 MB, and they come to 1.1 MB.",
    }


@settings(database=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False) | st.integers(min_value=-(10**300), max_value=10**300)
)
def test_any_finite_number_reads_back_from_its_text(number: float) -> None:
    parsed = parse_run_inputs([variable("amount", "number")], {"amount": repr(number)}, as_text=True)
    assert parsed == {"amount": number}
    assert parse_run_inputs([variable("amount", "number")], {"amount": number}) == {"amount": number}
