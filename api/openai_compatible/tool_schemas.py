"""The tool-calling parts of the Chat Completions bodies: the functions offered, the choice
among them, the calls a reply asks for (whole, or in streamed pieces)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from api.tool_checks import TOOL_NAME_PATTERN, arguments_schema_problem

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


class FunctionDefinition(Schema):
    """A function the model may ask the caller to run."""

    name: str = Field(pattern=TOOL_NAME_PATTERN, examples=["get_weather"])
    description: str | None = Field(default=None, examples=["The current weather in a city."])
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="The arguments, as a JSON Schema of `type: object`; none (or `{}`): no arguments.",
        examples=[WEATHER_PARAMETERS],
    )
    strict: bool | None = Field(default=None, description="Accepted; the provider's own default applies.")

    @field_validator("parameters")
    @classmethod
    def parameters_are_an_object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problem = arguments_schema_problem(value) if value else None
        if problem is not None:
            raise PydanticCustomError("tool_schema", problem)
        return value


class FunctionTool(Schema):
    """A tool: SCE takes functions (`type: function`)."""

    type: Literal["function"]
    function: FunctionDefinition


class FunctionName(Schema):
    name: str = Field(examples=["get_weather"])


class NamedToolChoice(Schema):
    """Call this function."""

    type: Literal["function"]
    function: FunctionName


def _tool_choice(value: Any) -> Any:
    """One message for any wrong `tool_choice`, at `tool_choice`, rather than one per member
    of the union."""
    if value is None or value in ("auto", "none", "required"):
        return value
    function = value.get("function") if isinstance(value, dict) else None
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(function, dict)
        and isinstance(function.get("name"), str)
    ):
        return value
    raise PydanticCustomError(
        "tool_choice",
        'must be \'auto\', \'none\', \'required\' or {"type": "function", "function": {"name": ...}}',
    )


ToolChoiceParam = Annotated[
    Literal["auto", "none", "required"] | NamedToolChoice | None, BeforeValidator(_tool_choice)
]


class FunctionCall(Schema):
    name: str = Field(examples=["get_weather"])
    arguments: str = Field(
        description="The arguments as the model wrote them: JSON text, to be parsed by the caller.",
        examples=['{"city": "Lyon"}'],
    )


class ToolCallObject(Schema):
    """A call the model asked for (in a reply), or one it asked for earlier (in `messages`)."""

    id: str = Field(min_length=1, examples=["call_7d3f0a9c2b1e4d5f"])
    type: Literal["function"]
    function: FunctionCall


class FunctionCallDelta(Schema):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(Schema):
    """A piece of a streamed tool call: the first piece of call `index` carries its `id`,
    `type` and `function.name`; every piece may carry a fragment of `function.arguments`."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCallDelta
