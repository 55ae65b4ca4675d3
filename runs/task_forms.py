"""The form of a human task, read from its JSON Schema: which inputs to draw, and how the text a
browser sends back becomes a typed answer.

No Django here (only the DSL's rules for JSON values): the inbox view gives the posted values
as a mapping of name -> list of strings (`dict(request.POST.lists())`) and renders the fields
it is given. The answer is checked against the whole schema by `runs.services.form_problems`
afterwards; this module only reports what cannot be typed at all (a number that is not one,
JSON that does not parse, values a run cannot hold) and required fields left empty, each on
its own field.

Inputs by schema: a string is a text input (`format` email or date: those inputs; `enum`: a
select; a `maxLength` over LONG_TEXT: a textarea); a number or integer a number input; a
boolean a checkbox; an array of enum values checkboxes; anything else (objects, other arrays,
no type) a JSON textarea. A schema that is not an object with properties is answered as one
JSON object. Fields come in the order of the schema's `x-order` list, else required first, then by name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from referencing.exceptions import Unresolvable

from workflows.dsl.documents import MAX_DOCUMENT_DEPTH
from workflows.dsl.json_values import json_value_problem

LONG_TEXT = 200  # a string allowed more characters than this gets a textarea
# An answer travels in the run's history (Temporal refuses payloads past 2 MB) and its output.
MAX_ANSWER_BYTES = 256_000
FIELD_PREFIX = "answer."  # keeps the form's names apart from the comment and the buttons
WHOLE_ANSWER = ""  # the name of the single JSON field of a schema without properties

# The kinds of input; the template draws one per kind.
TEXT = "text"
EMAIL = "email"
DATE = "date"
TEXTAREA = "textarea"
SELECT = "select"
NUMBER = "number"
INTEGER = "integer"
CHECKBOX = "checkbox"
CHECKBOXES = "checkboxes"
JSON = "json"


@dataclass(frozen=True)
class Choice:
    """One option of a select or a set of checkboxes; `key` is what the browser sends back
    (the option's position, so values of any JSON type come back exactly)."""

    key: str
    label: str
    value: Any


@dataclass(frozen=True)
class TaskField:
    """One input of a task's form."""

    name: str  # the property's name in the answer; WHOLE_ANSWER for the whole-answer field
    kind: str
    label: str
    help: str = ""
    required: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None

    @property
    def input_name(self) -> str:
        """The name of the input in the posted form."""
        return FIELD_PREFIX + self.name

    @property
    def step(self) -> str:
        return "1" if self.kind == INTEGER else "any"

    def initial(self) -> str | bool | list[str]:
        """What the input shows before anything is typed: the schema's default, if any."""
        return self.shown(self.default)

    def shown(self, value: Any) -> str | bool | list[str]:
        """`value` (of the answer's type) as the input shows it."""
        if self.kind == CHECKBOX:
            return value is True
        if self.kind == CHECKBOXES:
            chosen = value if isinstance(value, list) else []
            return [choice.key for choice in self.choices if choice.value in chosen]
        if self.kind == SELECT:
            return next((choice.key for choice in self.choices if choice.value == value), "")
        if value is None:
            return ""
        if self.kind == JSON:
            return json.dumps(value, indent=2, ensure_ascii=False)
        return str(value)


@dataclass
class ReadAnswer:
    """The typed answer read from a posted form, what each input held (to show it again),
    and what could not be read, by field name."""

    answer: dict[str, Any] = field(default_factory=dict)
    entered: dict[str, str | bool | list[str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def task_fields(schema: Any) -> list[TaskField]:
    """The inputs for `schema`, in the order of its properties; none without a schema."""
    if schema is None or schema == {} or schema is True:
        return []
    if not isinstance(schema, Mapping):
        return [_whole_answer_field(None)]
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return [_whole_answer_field(schema)]
    required = schema.get("required")
    required_names = (
        [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    )
    return [
        _field(name, properties[name], required=name in required_names)
        for name in _in_order(schema, [str(name) for name in properties], required_names)
    ]


def _in_order(schema: Mapping[str, Any], names: list[str], required: list[str]) -> list[str]:
    """The properties in the order to ask for them. The order they were written in does not
    survive the trip (Temporal's payloads and PostgreSQL's jsonb sort an object's keys), so
    `x-order` (a list of names) decides; without it, the required ones come first, in the
    order `required` lists them; the others follow by name."""
    stated = schema.get("x-order")
    first = stated if isinstance(stated, list) else required
    leading = list(dict.fromkeys(name for name in first if isinstance(name, str) and name in names))
    # The rest by name: the stored schema's own key order is not kept (PostgreSQL's jsonb
    # sorts keys by length), so the same form reads the same on every database.
    return leading + sorted(name for name in names if name not in leading)


def _whole_answer_field(schema: Mapping[str, Any] | None) -> TaskField:
    return TaskField(
        name=WHOLE_ANSWER,
        kind=JSON,
        label=_text(schema, "title") or "Answer",
        help=_text(schema, "description") or 'A JSON object, e.g. {"approved": true}.',
        default=schema.get("default") if schema is not None else None,
    )


def _field(name: str, schema: Any, *, required: bool) -> TaskField:
    if not isinstance(schema, Mapping):
        return TaskField(name=name, kind=JSON, label=_humane(name), required=required)
    common: dict[str, Any] = {
        "name": name,
        "label": _text(schema, "title") or _humane(name),
        "help": _text(schema, "description"),
        "required": required,
        "default": schema.get("default"),
    }
    kind = _single_type(schema.get("type"))
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and kind != "array":
        return TaskField(kind=SELECT, choices=_choices(enum), **common)
    if kind == "string":
        max_length = schema.get("maxLength")
        max_length = max_length if isinstance(max_length, int) and max_length > 0 else None
        text_kind = {"email": EMAIL, "date": DATE}.get(str(schema.get("format", "")), TEXT)
        if text_kind == TEXT and max_length is not None and max_length > LONG_TEXT:
            text_kind = TEXTAREA
        return TaskField(kind=text_kind, max_length=max_length, **common)
    if kind in ("number", "integer"):
        return TaskField(
            kind=INTEGER if kind == "integer" else NUMBER,
            minimum=_number(schema.get("minimum")),
            maximum=_number(schema.get("maximum")),
            **common,
        )
    if kind == "boolean":
        return TaskField(kind=CHECKBOX, **common)
    items = schema.get("items")
    if (
        kind == "array"
        and isinstance(items, Mapping)
        and isinstance(items.get("enum"), list)
        and items["enum"]
    ):
        return TaskField(kind=CHECKBOXES, choices=_choices(items["enum"]), **common)
    return TaskField(kind=JSON, **common)


def _single_type(declared: Any) -> str | None:
    """The one type a property has; ["string", "null"] counts as a string."""
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        named = [kind for kind in declared if kind != "null"]
        if len(named) == 1 and isinstance(named[0], str):
            return named[0]
    return None


def _choices(values: list[Any]) -> tuple[Choice, ...]:
    return tuple(
        Choice(key=str(index), label=value if isinstance(value, str) else json.dumps(value), value=value)
        for index, value in enumerate(values)
    )


def _text(schema: Mapping[str, Any] | None, key: str) -> str:
    value = schema.get(key) if schema is not None else None
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _humane(name: str) -> str:
    """A label from a property name: `due_date` -> "Due date"."""
    words = name.replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else "Answer"


# Reading a posted form ---------------------------------------------------------------------


def read_answer(
    fields: Sequence[TaskField], posted: Mapping[str, Sequence[str]], *, check_required: bool = True
) -> ReadAnswer:
    """The answer typed from `posted`: an empty input leaves its property out (a checkbox
    is false when unticked); with `check_required`, a required one left empty is a problem."""
    read = ReadAnswer()
    for task_field in fields:
        values = list(posted.get(task_field.input_name, []))
        first = values[0] if values else ""
        if task_field.kind == CHECKBOX:
            read.entered[task_field.name] = bool(values)
            read.answer[task_field.name] = bool(values)
            continue
        if task_field.kind == CHECKBOXES:
            keys = {choice.key for choice in task_field.choices}
            chosen = [value for value in values if value in keys]
            read.entered[task_field.name] = chosen
            if len(chosen) != len(values):
                read.problems[task_field.name] = "Choose from the options shown."
            elif chosen or not task_field.required:
                read.answer[task_field.name] = [
                    choice.value for choice in task_field.choices if choice.key in chosen
                ]
            elif check_required:
                read.problems[task_field.name] = "Choose at least one."
            continue
        read.entered[task_field.name] = first
        if not first.strip():
            if task_field.required and check_required:
                read.problems[task_field.name] = "This field is required."
            continue
        try:
            value = _typed(task_field, first)
        except ValueError as problem:
            read.problems[task_field.name] = str(problem)
            continue
        if task_field.name == WHOLE_ANSWER:
            read.answer.update(value)
        else:
            read.answer[task_field.name] = value
    if len(json.dumps(read.answer, ensure_ascii=False).encode()) > MAX_ANSWER_BYTES and fields:
        # Said on the input holding the most text: the one to shorten.
        longest = max(fields, key=lambda each: len(str(read.entered.get(each.name, ""))))
        read.problems.setdefault(
            longest.name, f"Too long: an answer may be {MAX_ANSWER_BYTES // 1000} kB in all."
        )
    return read


def _typed(task_field: TaskField, text: str) -> Any:
    if task_field.kind == SELECT:
        chosen = next((choice for choice in task_field.choices if choice.key == text), None)
        if chosen is None:
            raise ValueError("Choose one of the options shown.")
        return chosen.value
    if task_field.kind == INTEGER:
        return _held(_integer(text))
    if task_field.kind == NUMBER:
        return _held(_decimal(text))
    if task_field.kind == JSON:
        try:
            value = json.loads(text, parse_constant=_not_json)
        except RecursionError:
            raise ValueError(
                f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels of objects and lists."
            ) from None
        except json.JSONDecodeError as error:
            raise ValueError(
                f"This is not JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from None
        except ValueError as error:
            raise ValueError(f"This is not JSON: {error}.") from None
        if task_field.name == WHOLE_ANSWER and not isinstance(value, dict):
            raise ValueError("Enter a JSON object, in braces: {…}.")
        return _held(value)
    # Browsers send line breaks as CRLF; the answer keeps them as the person typed them.
    return text.replace("\r\n", "\n")


def _not_json(name: str) -> Any:
    # json.loads would read NaN and Infinity, which are not JSON.
    raise ValueError(f"{name} is not a JSON value")


def _held(value: Any) -> Any:
    """`value`, if the run can hold it: plain JSON, nested no deeper than a workflow document,
    numbers a float64 holds (the answer also reaches Go workers)."""
    problem = json_value_problem(value, MAX_DOCUMENT_DEPTH)
    if problem is not None:
        raise ValueError(f"The value {problem}.")
    return value


def _integer(text: str) -> int:
    number = _decimal(text, message="Enter a whole number.")
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError("Enter a whole number.")
        return int(number)
    return number


def _decimal(text: str, *, message: str = "Enter a number.") -> int | float:
    cleaned = text.strip()
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        raise ValueError(message) from None
    if not math.isfinite(number):
        raise ValueError(message)
    return number


def problems_by_field(
    fields: Sequence[TaskField], problems: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Problems keyed by JSON path ("limit", "items.0") put on the field they are about; the
    rest (about the answer as a whole) are returned as a list."""
    names = {task_field.name for task_field in fields}
    on_fields: dict[str, str] = {}
    general: list[str] = []
    for where, message in problems.items():
        head = where.split(".", 1)[0]
        if where in names:
            on_fields.setdefault(where, message)
        elif head in names and head != WHOLE_ANSWER:
            on_fields.setdefault(head, message)
        elif WHOLE_ANSWER in names:
            on_fields.setdefault(WHOLE_ANSWER, message)
        else:
            general.append(message)
    return on_fields, general


def schema_fault(schema: Any, answer: Mapping[str, Any]) -> str:
    """Why `schema` cannot check `answer` ("" when it can): it is not valid JSON Schema, or
    checking trips over it (a `$ref` that leads nowhere). A workflow's author wrote the schema;
    nothing has checked it before a task is answered."""
    if not isinstance(schema, Mapping) or not schema:
        return ""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        for _problem in jsonschema.Draft202012Validator(schema).iter_errors(dict(answer)):
            pass
    except jsonschema.SchemaError as error:
        return error.message[:300]
    except (Unresolvable, TypeError, re.error) as error:
        return str(error)[:300]
    return ""
