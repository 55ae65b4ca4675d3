"""The OpenAI-compatible operations in the public API's OpenAPI document."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from api.public_api import public_api

OPERATIONS = {
    ("/v1/chat/completions", "post"),
    ("/v1/models", "get"),
    ("/v1/models/{model}", "get"),
    ("/v1/embeddings", "post"),
}


def test_every_operation_is_documented_with_its_replies_and_errors() -> None:
    document = json.loads(json.dumps(public_api.get_openapi_schema()))
    for path, method in OPERATIONS:
        operation = document["paths"][path][method]
        assert operation["summary"].endswith("(OpenAI-compatible)")
        assert {"200", "400", "401", "403", "404", "429", "502"} <= set(operation["responses"])
        error = operation["responses"]["404"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/OpenAIError"}
    streamed = document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(streamed) == {"application/json", "text/event-stream"}
    assert streamed["text/event-stream"]["example"].endswith("data: [DONE]\n\n")
    # Valid OpenAPI 3.1, judged on these operations alone (others are other packages' concern).
    document["paths"] = {path: document["paths"][path] for path, _method in OPERATIONS}
    validate(document)
