"""POST /v1/embeddings: float and base64 vectors, `dimensions`, and refusals naming the field."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from django.test import Client

from api import services
from api.openai_compatible.schemas import CreateEmbeddingResponse, OpenAIError
from providers.models import LogState, ProviderLog
from tests.emulators.script import HttpError
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)


def embed(headers: dict[str, Any], **body: Any) -> Any:
    body = {"model": "text-embedding-3-small", "input": "hello", **body}
    return Client().post("/v1/embeddings", json.dumps(body), content_type="application/json", headers=headers)


def test_it_embeds_a_list_as_floats(
    team_openai: EmulatorServer, bearer: dict[str, Any], issued: services.IssuedApiKey
) -> None:
    response = embed(bearer, input=["first text", "second text"])
    assert response.status_code == 200, response.content
    body = response.json()
    CreateEmbeddingResponse.model_validate(body)
    assert body["model"] == "text-embedding-3-small"
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(len(item["embedding"]) == 1536 for item in body["data"])
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    sent = team_openai.requests_to("embeddings")[0].body
    assert (sent["model"], sent["input"]) == ("text-embedding-3-small", ["first text", "second text"])
    log = ProviderLog.objects.for_tenant(issued.key.tenant).get()
    assert (log.request_id, log.state) == (response["x-request-id"], LogState.COMPLETED)


def test_base64_is_little_endian_float32_of_the_same_vector(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    floats = embed(bearer).json()["data"][0]["embedding"]
    encoded = embed(bearer, encoding_format="base64").json()["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(floats, abs=1e-6)


def test_dimensions_shorten_a_text_embedding_3_vector_to_unit_length(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    vector = embed(bearer, dimensions=256).json()["data"][0]["embedding"]
    assert len(vector) == 256
    assert math.sqrt(sum(value * value for value in vector)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            {"model": "team-openai/my-fixed-size-model", "dimensions": 64},
            "dimensions",
            "unsupported_parameter",
        ),
        ({"dimensions": 5000}, "dimensions", "invalid_value"),
        ({"input": [1, 2, 3]}, "input", "invalid_request"),
        ({"input": [[1, 2], [3]]}, "input", "invalid_request"),
        ({"input": ""}, "input", "invalid_request"),
        ({"input": []}, "input", "invalid_request"),
        ({"input": ["ok", 5]}, "input", "invalid_request"),
        ({"encoding_format": "int8"}, "encoding_format", "invalid_request"),
        ({"model": "nobody/nothing"}, "model", "model_not_found"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    team_openai: EmulatorServer, bearer: dict[str, Any], body: dict[str, Any], param: str, code: str
) -> None:
    response = embed(bearer, **body)
    assert 400 <= response.status_code < 500
    OpenAIError.model_validate(response.json())
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_token_arrays_are_refused_with_the_reason(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    assert "token arrays" in embed(bearer, input=[1, 2, 3]).json()["error"]["message"]


def test_a_provider_failure_is_its_status(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    team_openai.push(HttpError(400, message="bad input"), endpoint="embeddings")
    response = embed(bearer)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
