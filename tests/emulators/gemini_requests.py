"""What the Gemini API refuses in a request body, in its own words: unknown fields, no
contents, a role other than user/model, function declarations with a bad name, function
call and response turns out of order or of unequal counts, embedding batches too large or
naming another model (tests/emulators/gemini_api.py answers with these)."""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.script import HttpError

BATCH_LIMIT = 100

REQUEST_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "generationConfig",
        "safetySettings",
        "tools",
        "toolConfig",
        "cachedContent",
    }
)
GENERATION_FIELDS = frozenset(
    {
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
        "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
        "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "mediaResolution",
    }
)  # fmt: skip


def _either_case(*names: str) -> frozenset[str]:
    """Field names as the API reads them: lowerCamelCase or the proto's snake_case (google-genai
    sends some of a tool's fields, `parameters_json_schema`, in the latter)."""
    return frozenset(names) | {"".join(f"_{c.lower()}" if c.isupper() else c for c in name) for name in names}


TOOL_FIELDS = _either_case(
    "functionDeclarations",
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "fileSearch",
)
DECLARATION_FIELDS = _either_case(
    "name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"
)
FUNCTION_CALLING_MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")
FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")


def bad_request(message: str) -> HttpError:
    return HttpError(400, "INVALID_ARGUMENT", message)


def _unknown_field(body: dict[str, Any], known: frozenset[str], where: str = "") -> HttpError | None:
    for name in body:
        if name not in known:
            at = f" at '{where}'" if where else ""
            return bad_request(
                f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
            )
    return None


def validate_generate(body: Any) -> HttpError | None:
    """The first problem the real API would report for a generateContent body, if any."""
    if not isinstance(body, dict):
        return bad_request("Invalid JSON payload received. Expected an object.")
    problem = _unknown_field(body, REQUEST_FIELDS)
    if problem is not None:
        return problem
    generation = body.get("generationConfig")
    if isinstance(generation, dict):
        problem = _unknown_field(generation, GENERATION_FIELDS, "generation_config")
        if problem is not None:
            return problem
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return bad_request("* GenerateContentRequest.contents: contents is not specified\n")
    for content in contents:
        if not isinstance(content, dict) or not content.get("parts"):
            return bad_request("* GenerateContentRequest.contents: contents.parts must not be empty.\n")
        if content.get("role", "user") not in ("user", "model"):
            return bad_request("Please use a valid role: user, model.")
    return (
        _tools_problem(body.get("tools"))
        or _tool_config_problem(body.get("toolConfig"))
        or _turns_problem(contents)
    )


def _tools_problem(tools: Any) -> HttpError | None:
    for index, tool in enumerate(tools or ()):
        if not isinstance(tool, dict):
            return bad_request(f"Invalid JSON payload received. Invalid value at 'tools[{index}]'.")
        problem = _unknown_field(tool, TOOL_FIELDS, f"tools[{index}]")
        if problem is not None:
            return problem
        declarations = tool.get("functionDeclarations") or tool.get("function_declarations") or ()
        for number, declaration in enumerate(declarations):
            where = f"tools[{index}].function_declarations[{number}]"
            if not isinstance(declaration, dict):
                return bad_request(f"Invalid JSON payload received. Invalid value at '{where}'.")
            problem = _unknown_field(declaration, DECLARATION_FIELDS, where)
            if problem is not None:
                return problem
            if not FUNCTION_NAME.match(str(declaration.get("name") or "")):
                return bad_request(
                    f"* GenerateContentRequest.{where}.name: Invalid function name. Must start with a "
                    "letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons "
                    "and dashes, with a maximum length of 64.\n"
                )
    return None


def _tool_config_problem(config: Any) -> HttpError | None:
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(calling, dict):
        return None
    mode = calling.get("mode", "AUTO")
    if mode not in FUNCTION_CALLING_MODES:
        return bad_request(
            "Invalid value at 'tool_config.function_calling_config.mode' "
            f'(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "{mode}"'
        )
    if calling.get("allowedFunctionNames") and mode not in ("ANY", "VALIDATED"):
        return bad_request(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
            "allowed_function_names should only be set when the Mode is ANY or VALIDATED.\n"
        )
    return None


def _parts(content: Any, kind: str) -> list[Any]:
    return [part[kind] for part in content.get("parts") or () if isinstance(part, dict) and kind in part]


def _turns_problem(contents: list[Any]) -> HttpError | None:
    """A function call turn after a user turn or a function response turn; a function
    response turn right after a function call turn, with as many responses as calls."""
    for index, content in enumerate(contents):
        previous = contents[index - 1] if index > 0 else None
        calls = _parts(content, "functionCall")
        responses = _parts(content, "functionResponse")
        if calls and (previous is None or previous.get("role", "user") != "user"):
            return bad_request(
                "Please ensure that function call turn comes immediately after a user turn or after a "
                "function response turn."
            )
        if not responses:
            continue
        asked = _parts(previous, "functionCall") if previous is not None else []
        if not asked:
            return bad_request(
                "Please ensure that function response turn comes immediately after a function call turn."
            )
        if len(asked) != len(responses):
            return bad_request(
                "Please ensure that the number of function response parts is equal to the number of function "
                "call parts of the function call turn."
            )
        for number, response in enumerate(responses):
            if not isinstance(response, dict) or not response.get("name"):
                return bad_request(
                    f"* GenerateContentRequest.contents[{index}].parts[{number}].function_response.name: "
                    "Name cannot be empty.\n"
                )
    return None


def validate_embeddings(requests: Any, model: str, *, batch: bool) -> HttpError | None:
    if not isinstance(requests, list) or not requests:
        return bad_request("* BatchEmbedContentsRequest.requests: requests is not specified\n")
    if len(requests) > BATCH_LIMIT:
        return bad_request(
            f"* BatchEmbedContentsRequest.requests: at most {BATCH_LIMIT} requests can be in one batch\n"
        )
    for request in requests:
        if not isinstance(request, dict) or not isinstance(request.get("content"), dict):
            return bad_request("* EmbedContentRequest.content: content is not specified\n")
        named = request.get("model")
        if batch and named != f"models/{model}":
            return bad_request(
                f"Model name in the request ({named}) does not match the model in the URL (models/{model})."
            )
    return None
