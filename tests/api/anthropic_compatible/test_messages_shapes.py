"""The Anthropic-compatible routes' refusals and token counts, in process (no provider is
called): what each bad request is told, in Anthropic's error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from api import services as api_services

pytestmark = pytest.mark.django_db

HELLO = [{"role": "user", "content": "Say hello in French."}]
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def post(path: str, body: Any, key: api_services.IssuedApiKey | None, **headers: str) -> Any:
    if key is not None:
        headers["x-api-key"] = key.plaintext
    return Client().post(
        path,
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers={"anthropic-version": "2023-06-01", **headers},
    )


def refusal(response: Any, status: int, error_type: str) -> str:
    """The message of an Anthropic-shaped error with `status` and `error_type`."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "error"}
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == error_type
    message: str = body["error"]["message"]
    return message


def test_a_missing_key_is_401(issued: api_services.IssuedApiKey) -> None:
    message = refusal(post("/v1/messages", {"model": "auto"}, None), 401, "authentication_error")
    assert "x-api-key" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": "64"}, "max_tokens: Input should be a valid integer"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"model": 4}, "model: Input should be a valid string"),
        ({"messages": []}, "messages: List should have at least 1 item after validation, not 0"),
        ({"system": 7}, "system: Input should be a string or a list of text blocks"),
        ({"temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
        ({"stream": "yes"}, "stream: Input should be a valid boolean"),
        (
            {"messages": [{"role": "system", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        ({"messages": [{"role": "user"}]}, "messages.0.content: Field required"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]},
            "messages.0.content: block 0 needs 'text' as a string",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
            "messages.0.content: block 0 is of type 'image'; this gateway takes text, tool_use and "
            "tool_result blocks only (images and documents are not supported yet)",
        ),
        (
            {"system": [{"type": "tool_result", "tool_use_id": "t1"}]},
            "system: block 0 is of type 'tool_result'; only text blocks are taken here",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}]},
            "messages.0.content.0.tool_use_id: 't1' answers no tool_use block of an earlier assistant turn",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}
                ]
            },
            "messages.0.content: block 0 is a tool_use block, which only assistant turns carry",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}]},
            "messages.0.content: block 0 is a tool_result block, which only user turns carry",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f"}]}]},
            "messages.0.content: block 0 needs 'input' as an object",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t1",
                                "content": [{"type": "image", "source": {}}],
                            }
                        ],
                    }
                ]
            },
            "messages.0.content: block 0's content: block 0 is of type 'image'; "
            "only text blocks are taken here",
        ),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]},
            "tools.0: 'web_search_20250305' is a server tool, which this gateway does not offer; define your "
            "own tool with name, description and input_schema",
        ),
        (
            {"tools": [{"name": "get weather", "input_schema": {"type": "object"}}]},
            "tools.0.name: String should match pattern '^[A-Za-z0-9_-]{1,64}$'",
        ),
        ({"tools": [{"name": "get_weather"}]}, "tools.0.input_schema: Field required"),
        (
            {"tools": [{"name": "get_weather", "input_schema": {"type": "string"}}]},
            "tools.0.input_schema: must be a JSON Schema of type 'object' "
            "(the arguments are one JSON object)",
        ),
        (
            {"tools": [{"name": "f", "input_schema": {"type": "object", "required": "city"}}]},
            "tools.0.input_schema: is not a valid JSON Schema: 'city' is not of type 'array'",
        ),
        (
            {"tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool"}},
            "tool_choice: 'name' is required with type 'tool', and taken with no other type",
        ),
        (
            {
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "sometimes"},
            },
            "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'",
        ),
        (
            {
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "tool", "name": "g"},
            },
            "tool_choice.name: 'g' is not the name of one of 'tools'",
        ),
        ({"frequency_penalty": 1}, "frequency_penalty: Extra inputs are not permitted"),
        (
            {"stop_sequences": ["\n\nHuman:"]},
            "stop_sequences: this gateway does not support stop sequences yet; send the request without it.",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 1024}},
            "thinking: this gateway does not support extended thinking yet; send the request without it.",
        ),
    ],
)
def test_a_bad_request_is_400_naming_the_field(
    issued: api_services.IssuedApiKey, change: dict[str, Any], message: str
) -> None:
    body = {"model": "auto", "max_tokens": 64, "messages": HELLO} | change
    body = {name: value for name, value in body.items() if value is not None}
    assert refusal(post("/v1/messages", body, issued), 400, "invalid_request_error") == message


def test_a_body_that_is_not_json_is_400(issued: api_services.IssuedApiKey) -> None:
    message = refusal(post("/v1/messages", "{not json", issued), 400, "invalid_request_error")
    assert message == "The request body is not valid JSON."


def test_a_body_over_the_limit_is_413(issued: api_services.IssuedApiKey, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": "x" * 2000}]}
    refusal(post("/v1/messages", body, issued), 413, "request_too_large")


def test_an_unknown_model_is_404(issued: api_services.IssuedApiKey) -> None:
    body = {"model": "claude-unknown-9", "max_tokens": 64, "messages": HELLO}
    assert "'claude-unknown-9' does not exist" in refusal(
        post("/v1/messages", body, issued), 404, "not_found_error"
    )
    counted = post("/v1/messages/count_tokens", {"model": "claude-unknown-9", "messages": HELLO}, issued)
    refusal(counted, 404, "not_found_error")


def test_it_counts_input_tokens_without_max_tokens(issued: api_services.IssuedApiKey) -> None:
    body = {
        "model": "auto",
        "system": [{"type": "text", "text": "Be brief, be kind."}],  # 18 characters: 5 tokens
        "messages": [
            {"role": "user", "content": "Say hello in French."},  # 20 characters: 5 tokens, and 4 a message
            {"role": "assistant", "content": [{"type": "text", "text": "Bonjour"}]},  # 2, and 4
        ],
    }
    response = post("/v1/messages/count_tokens", body, issued)
    assert response.status_code == 200
    assert response.json() == {"input_tokens": 5 + (5 + 4) + (2 + 4)}


def test_tools_and_tool_turns_are_counted(issued: api_services.IssuedApiKey) -> None:
    def count(**extra: Any) -> int:
        response = post("/v1/messages/count_tokens", {"model": "auto", "messages": HELLO, **extra}, issued)
        assert response.status_code == 200, response.content
        tokens: int = response.json()["input_tokens"]
        return tokens

    tools = [{"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER}]
    turns = [
        *HELLO,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Lyon"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "21 °C"}]},
    ]
    alone = count()
    with_tools = count(tools=tools)
    assert with_tools > alone
    assert count(tools=tools, messages=turns) > with_tools


def test_counting_refuses_what_messages_refuses(issued: api_services.IssuedApiKey) -> None:
    tools = [{"name": "web_search", "type": "web_search_20250305"}]
    body = {"model": "auto", "messages": HELLO, "tools": tools}
    message = refusal(post("/v1/messages/count_tokens", body, issued), 400, "invalid_request_error")
    assert message.startswith("tools.0: 'web_search_20250305' is a server tool")
    refusal(
        post("/v1/messages/count_tokens", {"model": "auto", "messages": HELLO, "max_tokens": 5}, issued),
        400,
        "invalid_request_error",
    )


def test_the_openapi_document_describes_both_routes() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    create = document["paths"]["/v1/messages"]["post"]
    assert create["summary"] == "Create a message (Anthropic Messages API)"
    assert set(create["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert "event: message_stop" in create["responses"]["200"]["content"]["text/event-stream"]["example"]
    assert create["responses"]["529"]["description"].startswith("Overloaded")
    count = document["paths"]["/v1/messages/count_tokens"]["post"]
    assert count["summary"] == "Count a message's input tokens (Anthropic Messages API)"
    request = document["components"]["schemas"]["MessagesRequest"]
    assert {"model", "messages", "max_tokens"} <= set(request["required"])
    assert any("tools" in example for example in request["examples"])
    assert "no tool" not in json.dumps(create).lower()
    response = document["components"]["schemas"]["MessageResponse"]
    assert {"$ref": "#/components/schemas/ToolUseBlock"} in response["properties"]["content"]["items"][
        "anyOf"
    ]
