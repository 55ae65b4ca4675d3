"""The functions a public API client offers its model, checked the same way on the OpenAI-
and the Anthropic-compatible routes before any provider is called.

A schema a provider would refuse is better refused here, naming the client's field, than
as a provider's 400 that names a field of the provider's own request.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

# Both OpenAI and Anthropic take names of letters, digits, `_` and `-`; OpenAI's cap is the
# lower one, and a tool may be forwarded to either kind of provider.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def arguments_schema_problem(schema: dict[str, Any]) -> str | None:
    """What is wrong with a tool's JSON Schema of arguments, or None.

    Providers take arguments as one JSON object, so the schema must say `type: object`; it
    must also be a valid JSON Schema (of its own `$schema` draft, 2020-12 by default).
    """
    if schema.get("type") != "object":
        return "must be a JSON Schema of type 'object' (the arguments are one JSON object)"
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except SchemaError as error:
        return f"is not a valid JSON Schema: {error.message}"
    return None
