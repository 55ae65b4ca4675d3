"""`transform`: build a JSON value from a template whose strings hold `{{path}}` placeholders.

The placeholders are the DSL's own and render as the interpreter renders input mappings
(workflows.dsl.evaluation): a string that is exactly one placeholder becomes the
value itself (an object stays an object), anything else becomes text with each value inserted
(text as it is, null as nothing, other values as JSON), and a path that leads nowhere is null.
Object keys are kept as written; only values are rendered.
"""

from __future__ import annotations

import json
from typing import Any

from runs.activities.arguments import Arguments
from runs.activities.spec import ActivityContext, ArgumentSpec, BuiltinSpec
from workflows.dsl.evaluation import render_text
from workflows.dsl.expressions import MAX_DEPTH, ExpressionError
from workflows.dsl.json_values import nested_deeper_than

ARGUMENTS = (
    ArgumentSpec(
        "template",
        "any",
        True,
        "A JSON value; its strings may hold {{path}} placeholders, read from `data`.",
    ),
    ArgumentSpec(
        "data", "object", False, "The values the placeholders read (`{{order.id}}` reads data.order.id)."
    ),
)


async def transform(arguments: dict[str, Any], context: ActivityContext) -> Any:
    """The template with every string rendered against `data`."""
    given = Arguments("transform", arguments, ARGUMENTS)
    template = _template_of(given.value("template"))
    data = given.value("data", {})
    if not isinstance(data, dict):
        raise given.invalid("data", "must be an object")
    if nested_deeper_than(template, MAX_DEPTH):
        raise given.invalid("template", f"is nested more than {MAX_DEPTH} levels deep")
    try:
        return _render_value(template, data)
    except ExpressionError as error:
        raise given.invalid("template", f"has a bad placeholder: {error}") from None


def _render_value(value: Any, data: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render_text(value, data)
    if isinstance(value, dict):
        return {key: _render_value(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_value(item, data) for item in value]
    return value


def _template_of(value: Any) -> Any:
    """An input mapping gives text: text holding a JSON object or array is that value (its
    placeholders were already filled in by the mapping, or are filled in here from `data`)."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


TRANSFORM = BuiltinSpec(
    name="transform",
    run=transform,
    summary="Builds a JSON value from a template, filling its {{path}} placeholders from `data`.",
    arguments=ARGUMENTS,
    returns="The template with each string rendered; a string that is one placeholder gives the value.",
)
