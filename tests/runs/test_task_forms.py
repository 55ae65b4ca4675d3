"""A human task's form from its JSON Schema, and the posted text typed back by it."""

from __future__ import annotations

from typing import Any

from runs.task_forms import (
    CHECKBOX,
    CHECKBOXES,
    DATE,
    EMAIL,
    INTEGER,
    JSON,
    NUMBER,
    SELECT,
    TEXT,
    TEXTAREA,
    WHOLE_ANSWER,
    TaskField,
    problems_by_field,
    read_answer,
    schema_fault,
    task_fields,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["decision", "limit"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "escalate"], "title": "Decision"},
        "limit": {"type": "number", "minimum": 0, "maximum": 5000, "description": "In euros."},
        "seats": {"type": "integer"},
        "contact": {"type": "string", "format": "email"},
        "start_on": {"type": "string", "format": "date"},
        "reason": {"type": "string", "maxLength": 2000},
        "code": {"type": "string", "maxLength": 20},
        "urgent": {"type": "boolean", "default": True},
        "regions": {"type": "array", "items": {"enum": ["eu", "us", 3]}},
        "extra": {"type": "object"},
        "note": {"type": ["string", "null"]},
    },
}


def by_name(schema: Any = SCHEMA) -> dict[str, TaskField]:
    return {field.name: field for field in task_fields(schema)}


def post(**values: str | list[str]) -> dict[str, list[str]]:
    """A posted form as `dict(request.POST.lists())` gives it."""
    return {f"answer.{name}": value if isinstance(value, list) else [value] for name, value in values.items()}


def test_it_draws_one_input_per_property_by_type_and_format() -> None:
    fields = by_name()
    required = ["decision", "limit"]
    assert list(fields) == required + sorted(set(SCHEMA["properties"]) - set(required))
    kinds = {name: field.kind for name, field in fields.items()}
    assert kinds == {
        "decision": SELECT,
        "limit": NUMBER,
        "seats": INTEGER,
        "contact": EMAIL,
        "start_on": DATE,
        "reason": TEXTAREA,
        "code": TEXT,
        "urgent": CHECKBOX,
        "regions": CHECKBOXES,
        "extra": JSON,
        "note": TEXT,
    }


def test_it_labels_fields_from_titles_or_names_and_marks_required_ones() -> None:
    fields = by_name()
    assert fields["decision"].label == "Decision"
    assert fields["start_on"].label == "Start on"
    assert fields["limit"].help == "In euros."
    assert (fields["limit"].minimum, fields["limit"].maximum) == (0, 5000)
    assert fields["code"].max_length == 20
    assert [name for name, field in fields.items() if field.required] == ["decision", "limit"]
    assert fields["limit"].input_name == "answer.limit"


def test_defaults_are_shown_before_anything_is_typed() -> None:
    fields = by_name()
    assert fields["urgent"].initial() is True
    assert fields["limit"].initial() == ""
    assert (
        by_name({"type": "object", "properties": {"tags": {"type": "array", "default": ["a"]}}})[
            "tags"
        ].initial()
        == '[\n  "a"\n]'
    )


def test_no_schema_means_no_fields_and_other_schemas_one_json_answer() -> None:
    assert task_fields(None) == []
    assert task_fields({}) == []
    (whole,) = task_fields({"type": "object", "title": "Verdict"})
    assert (whole.name, whole.kind, whole.label) == (WHOLE_ANSWER, JSON, "Verdict")
    (odd,) = task_fields(["not", "a", "schema"])
    assert odd.kind == JSON


def test_a_property_that_is_not_a_schema_gets_a_json_input() -> None:
    fields = by_name({"type": "object", "properties": {"anything": True, "list": {"type": "array"}}})
    assert fields["anything"].kind == JSON
    assert fields["list"].kind == JSON


def test_it_types_what_was_posted() -> None:
    read = read_answer(
        task_fields(SCHEMA),
        post(
            decision="1",
            limit="250.5",
            seats="3",
            contact="ada@example.com",
            start_on="2030-01-31",
            reason="line one\r\nline two",
            urgent="on",
            regions=["0", "2"],
            extra='{"po": 12}',
            note="",
        ),
    )
    assert read.problems == {}
    assert read.answer == {
        "decision": "escalate",
        "limit": 250.5,
        "seats": 3,
        "contact": "ada@example.com",
        "start_on": "2030-01-31",
        "reason": "line one\nline two",
        "urgent": True,
        "regions": ["eu", 3],
        "extra": {"po": 12},
    }


def test_unticked_boxes_are_false_or_empty_and_empty_inputs_are_left_out() -> None:
    read = read_answer(task_fields(SCHEMA), post(decision="0", limit="10", seats="", code="  "))
    assert read.problems == {}
    assert read.answer == {"decision": "approve", "limit": 10, "urgent": False, "regions": []}


def test_a_required_set_of_checkboxes_needs_one_ticked() -> None:
    schema = {
        "type": "object",
        "required": ["days"],
        "properties": {"days": {"type": "array", "items": {"enum": ["mon", "tue"]}}},
    }
    fields = task_fields(schema)
    assert read_answer(fields, {}).problems == {"days": "Choose at least one."}
    assert read_answer(fields, post(days=["1"])).answer == {"days": ["tue"]}


def test_text_that_cannot_be_typed_is_a_problem_on_its_field_and_is_kept() -> None:
    read = read_answer(
        task_fields(SCHEMA),
        post(decision="9", limit="lots", seats="2.5", extra="{po: 12}", regions=["0", "7"]),
    )
    assert read.problems["decision"] == "Choose one of the options shown."
    assert read.problems["limit"] == "Enter a number."
    assert read.problems["seats"] == "Enter a whole number."
    assert read.problems["extra"].startswith("This is not JSON:")
    assert read.problems["regions"] == "Choose from the options shown."
    assert read.entered["limit"] == "lots"
    assert read.entered["extra"] == "{po: 12}"
    assert "limit" not in read.answer


def test_numbers_that_are_not_finite_are_refused_and_whole_floats_are_integers() -> None:
    fields = task_fields(SCHEMA)
    assert read_answer(fields, post(decision="0", limit="nan")).problems == {"limit": "Enter a number."}
    assert read_answer(fields, post(decision="0", limit="inf")).problems == {"limit": "Enter a number."}
    assert read_answer(fields, post(decision="0", limit="1", seats="4.0")).answer["seats"] == 4


def test_required_fields_left_empty_are_problems_unless_not_checked() -> None:
    fields = task_fields(SCHEMA)
    read = read_answer(fields, post(decision="", limit=""))
    assert read.problems == {"decision": "This field is required.", "limit": "This field is required."}
    assert read_answer(fields, post(decision=""), check_required=False).problems == {}


def test_the_whole_answer_field_must_be_a_json_object() -> None:
    fields = task_fields({"type": "object"})
    assert read_answer(fields, {"answer.": ['{"ok": true}']}).answer == {"ok": True}
    assert read_answer(fields, {"answer.": ["[1]"]}).problems == {
        WHOLE_ANSWER: "Enter a JSON object, in braces: {…}."
    }


def test_an_answer_is_shown_again_in_its_inputs() -> None:
    fields = by_name()
    assert fields["decision"].shown("escalate") == "1"
    assert fields["regions"].shown(["eu", 3]) == ["0", "2"]
    assert fields["urgent"].shown(False) is False
    assert fields["extra"].shown({"a": 1}) == '{\n  "a": 1\n}'
    assert fields["limit"].shown(None) == ""


def test_schema_problems_are_put_on_the_field_they_are_about() -> None:
    fields = task_fields(SCHEMA)
    on_fields, general = problems_by_field(
        fields,
        {
            "limit": "-1 is less than the minimum of 0",
            "extra.po": "'x' is not of type 'integer'",
            "answer": "bad",
        },
    )
    assert on_fields == {"limit": "-1 is less than the minimum of 0", "extra": "'x' is not of type 'integer'"}
    assert general == ["bad"]
    whole_only, rest = problems_by_field(
        task_fields({"type": "object"}), {"answer": "'ok' is a required property"}
    )
    assert whole_only == {WHOLE_ANSWER: "'ok' is a required property"}
    assert rest == []


def test_required_fields_come_first_since_the_order_of_keys_is_not_kept() -> None:
    # As Temporal's payloads and PostgreSQL's jsonb hand it back: keys sorted.
    schema = {
        "type": "object",
        "required": ["limit", "decision"],
        "properties": {
            "contact": {"type": "string"},
            "decision": {"type": "string"},
            "limit": {"type": "number"},
        },
    }
    assert [field.name for field in task_fields(schema)] == ["limit", "decision", "contact"]


def test_x_order_puts_the_fields_in_the_order_it_lists() -> None:
    schema = {
        "type": "object",
        "required": ["limit"],
        "x-order": ["reason", "nowhere", ["odd"], "limit", "reason"],
        "properties": {
            "contact": {"type": "string"},
            "limit": {"type": "number"},
            "reason": {"type": "string"},
        },
    }
    assert [field.name for field in task_fields(schema)] == ["reason", "limit", "contact"]


def test_a_schema_that_cannot_check_answers_says_why() -> None:
    assert schema_fault(SCHEMA, {"limit": 3}) == ""
    assert schema_fault(None, {}) == ""
    wrong_type = {"type": "object", "properties": {"limit": {"type": "number", "minimum": "5"}}}
    assert schema_fault(wrong_type, {}) == "'5' is not of type 'number'"
    bad_pattern = {"type": "object", "properties": {"code": {"type": "string", "pattern": "("}}}
    assert schema_fault(bad_pattern, {}) == "'(' is not a 'regex'"
    nowhere = {"type": "object", "properties": {"code": {"$ref": "#/$defs/missing"}}}
    assert schema_fault(nowhere, {}) == "", "nothing to follow the reference for"
    assert "missing" in schema_fault(nowhere, {"code": "x"})


def test_values_a_run_cannot_hold_are_refused_on_their_field() -> None:
    fields = task_fields(SCHEMA)
    deep = "[" * 100_000 + "]" * 100_000
    read = read_answer(fields, post(decision="0", limit="1" + "0" * 400, extra=deep, seats="9" * 5000))
    assert read.problems["limit"] == "The value has a number too large for a float64."
    assert read.problems["seats"] == "Enter a whole number.", "too long for Python to read"
    assert read.problems["extra"].startswith("Nested too deeply")
    assert read_answer(fields, post(decision="0", limit="1", extra="[NaN]")).problems == {
        "extra": "This is not JSON: NaN is not a JSON value."
    }
    nested = "[" * 200 + "]" * 200
    assert read_answer(fields, post(decision="0", limit="1", extra=nested)).problems["extra"] == (
        "The value is nested more than 128 levels deep."
    )


def test_an_answer_too_large_for_the_run_is_refused_on_its_longest_input() -> None:
    read = read_answer(task_fields(SCHEMA), post(decision="0", limit="1", reason="x" * 300_000, code="short"))
    assert read.problems == {"reason": "Too long: an answer may be 256 kB in all."}
    assert read.entered["reason"] == "x" * 300_000
