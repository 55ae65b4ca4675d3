"""POST /v1/chat/completions through the test client: the request as the provider receives
it, the reply's shape, and every refusal in OpenAI's error shape naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from api import services
from api.openai_compatible.schemas import ChatCompletion, OpenAIError
from providers.models import LogState, ProviderLog
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/v1/chat/completions"


def post(headers: dict[str, Any], body: dict[str, Any]) -> Any:
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)


def hello(**extra: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": "Say hello"}], **extra}


def error_of(response: Any) -> dict[str, Any]:
    """The OpenAI error object of a refusal, checked against the documented shape."""
    OpenAIError.model_validate(response.json())
    error: dict[str, Any] = response.json()["error"]
    return error


def test_it_answers_in_openai_shape_with_the_gateway_request_id(
    team_openai: EmulatorServer, bearer: dict[str, Any], issued: services.IssuedApiKey
) -> None:
    team_openai.push(Reply("Bonjour tout le monde", input_tokens=12, output_tokens=4))
    response = post(
        bearer,
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Say"}, {"type": "text", "text": "hello"}],
                },
                {"role": "assistant", "content": "Which language?"},
                {"role": "user", "content": "French"},
            ],
            "max_completion_tokens": 50,
            "temperature": 0.3,
            "user": "someone",  # harmless extras are ignored, as OpenAI does
            "seed": 7,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    ChatCompletion.model_validate(body)
    request_id = response["x-request-id"]
    assert body["id"] == f"chatcmpl-{request_id}"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Bonjour tout le monde", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}

    sent = team_openai.requests_to("completions")[0].body
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief.\n\nAnswer in French."},
        {"role": "user", "content": "Say\nhello"},
        {"role": "assistant", "content": "Which language?"},
        {"role": "user", "content": "French"},
    ]
    assert (sent["max_tokens"], sent["temperature"]) == (50, 0.3)
    log = ProviderLog.objects.for_tenant(issued.key.tenant).get()
    assert (log.request_id, log.state, log.task) == (request_id, LogState.COMPLETED, "api")
    assert log.links == {"api_key": issued.key.prefix}


def test_max_tokens_defaults_and_is_taken(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    assert post(bearer, hello()).status_code == 200
    assert post(bearer, hello(max_tokens=20)).status_code == 200
    sent = [request.body["max_tokens"] for request in team_openai.requests_to("completions")]
    assert sent == [4096, 20]


def test_a_json_schema_response_format_reaches_the_provider(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    response = post(
        bearer,
        hello(response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}),
    )
    assert response.status_code == 200, response.content
    assert set(json.loads(response.json()["choices"][0]["message"]["content"])) == {"city"}
    sent = team_openai.requests_to("completions")[0].body["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}


def test_json_object_asks_for_any_json_object(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    response = post(bearer, hello(response_format={"type": "json_object"}))
    assert response.status_code == 200, response.content
    assert isinstance(json.loads(response.json()["choices"][0]["message"]["content"]), dict)
    sent = team_openai.requests_to("completions")[0].body["response_format"]
    assert sent["json_schema"]["schema"] == {"type": "object"}


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"functions": [{"name": "f"}]}, "functions", "unsupported_parameter"),
        ({"function_call": {"name": "f"}}, "function_call", "unsupported_parameter"),
        ({"n": 2}, "n", "unsupported_parameter"),
        ({"stop": ["\n"]}, "stop", "unsupported_parameter"),
        ({"logprobs": True}, "logprobs", "unsupported_parameter"),
        ({"modalities": ["text", "audio"]}, "modalities", "unsupported_parameter"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages.0.content.0.type",
            "unsupported_content",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "function", "content": "42", "name": "f"},
                ]
            },
            "messages.1.role",
            "unsupported_parameter",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "content": "42", "tool_call_id": "call_never_made"},
                ]
            },
            "messages.1.tool_call_id",
            "invalid_value",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required", "n": 2},
            "n",
            "unsupported_parameter",
        ),
        ({"messages": [{"role": "system", "content": "Be brief."}]}, "messages", "invalid_request"),
        ({"messages": [{"role": "user"}]}, "messages.0.content", "invalid_request"),
    ],
)
def test_what_the_gateway_cannot_do_is_refused_naming_the_field(
    team_openai: EmulatorServer, bearer: dict[str, Any], extra: dict[str, Any], param: str, code: str
) -> None:
    response = post(bearer, hello(**extra))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert team_openai.requests == [], "nothing was sent upstream"


def test_the_deprecated_functions_are_refused_pointing_to_tools(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    response = post(bearer, hello(functions=[{"name": "f"}], function_call="auto"))
    assert "send 'tools'" in error_of(response)["message"]


def test_harmless_empty_tool_fields_are_accepted(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    response = post(bearer, hello(tools=[], tool_choice="none", n=1, stop=None, logprobs=False))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        (hello(messages=[]), "messages"),
        (hello(messages="hi"), "messages"),
        (hello(messages=[{"role": "user", "content": 5}]), "messages.0.content"),
        (hello(messages=[{"role": "user", "content": [{"text": "no type"}]}]), "messages.0.content"),
        (hello(messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]), "messages.0.content"),
        (hello(messages=[{"role": "robot", "content": "hi"}]), "messages.0.role"),
        (hello(max_tokens="many"), "max_tokens"),
        (hello(max_tokens=0), "max_tokens"),
        (hello(temperature=3), "temperature"),
        (hello(stream="yes please"), "stream"),
        (hello(tools={"type": "function"}), "tools"),
        (hello(tools=[{"type": "custom", "custom": {"name": "f"}}]), "tools.0.type"),
        (hello(tools=[{"type": "function", "function": {"name": "has spaces"}}]), "tools.0.function.name"),
        (hello(tools=[{"type": "function", "function": {}}]), "tools.0.function.name"),
        (
            hello(tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]),
            "tools.0.function.parameters",
        ),
        (
            hello(
                tools=[
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "object", "properties": {"a": {"type": "colour"}}},
                        },
                    }
                ]
            ),
            "tools.0.function.parameters",
        ),
        (hello(tool_choice="sometimes"), "tool_choice"),
        (hello(tool_choice={"type": "function", "function": {}}), "tool_choice"),
        (hello(parallel_tool_calls="maybe"), "parallel_tool_calls"),
        (
            hello(messages=[{"role": "assistant", "tool_calls": [{"id": "c"}]}]),
            "messages.0.tool_calls.0.type",
        ),
        (
            hello(
                messages=[
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}
                        ],
                    }
                ]
            ),
            "messages.0.tool_calls.0.function.arguments",
        ),
        (hello(response_format={"type": "xml"}), "response_format.type"),
        (hello(response_format={"type": "json_schema"}), "response_format"),
        (
            hello(
                response_format={"type": "json_schema", "json_schema": {"name": "has spaces", "schema": {}}}
            ),
            "response_format.json_schema.name",
        ),
    ],
)
def test_wrong_types_are_400_naming_the_field(
    team_openai: EmulatorServer, bearer: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    response = post(bearer, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == param, error
    assert error["message"].startswith(f"{param}: ")


def test_an_unknown_model_is_404(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    response = post(bearer, hello(model="gpt-99"))
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["param"]) == ("model_not_found", "model")


def test_a_prompt_over_the_context_window_is_400(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    team_openai.push(
        HttpError(400, code="context_length_exceeded", message="This model's maximum context length")
    )
    response = post(bearer, hello())
    assert response.status_code == 400
    assert error_of(response)["code"] == "context_length_exceeded"


def test_a_failing_provider_is_502_after_the_gateway_retries(
    team_openai: EmulatorServer, bearer: dict[str, Any], fast_gateway: Any, issued: services.IssuedApiKey
) -> None:
    team_openai.push(*[HttpError(500)] * fast_gateway.GATEWAY_MAX_ATTEMPTS)
    response = post(bearer, hello())
    assert response.status_code == 502
    assert error_of(response)["code"] == "server_error"
    assert len(team_openai.requests) == fast_gateway.GATEWAY_MAX_ATTEMPTS
    # The id a caller quotes for the failure leads to its log rows.
    assert response["x-request-id"].startswith("req_")
    logs = ProviderLog.objects.for_tenant(issued.key.tenant)
    assert set(logs.values_list("request_id", flat=True)) == {response["x-request-id"]}


def test_a_stream_failing_before_its_first_token_is_an_http_error(
    team_openai: EmulatorServer, bearer: dict[str, Any], fast_gateway: Any
) -> None:
    team_openai.push(*[HttpError(503)] * fast_gateway.GATEWAY_MAX_ATTEMPTS)
    response = post(bearer, hello(stream=True))
    # Overloaded: Anthropic's 529 is OpenAI's 503, which its clients retry.
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "overloaded"


def test_a_body_that_is_not_json_is_400_in_openai_shape(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    response = Client().post(URL, b"{not json", content_type="application/json", headers=bearer)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
