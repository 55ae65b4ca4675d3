"""The generation API in the OpenAPI document: every operation summarised, its answers and
request bodies described with examples, and the part of the document that is ours valid."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate

from api.public_api import public_api

OPERATIONS = {
    ("post", "/api/v1/generate/code"): 202,
    ("get", "/api/v1/generate/{generation_id}"): 200,
    ("get", "/api/v1/generate/{generation_id}/files/{file_path}"): 200,
    ("get", "/api/v1/generate/{generation_id}/archive"): 200,
    ("post", "/api/v1/testing/execute"): 202,
    ("get", "/api/v1/testing/{execution_id}/results"): 200,
}


def document() -> dict[str, Any]:
    """The document as /api/v1/openapi.json serves it (JSON: statuses as strings)."""
    schema: dict[str, Any] = json.loads(json.dumps(public_api.get_openapi_schema()))
    return schema


def test_every_operation_has_a_summary_its_answers_and_the_key_it_needs() -> None:
    paths = document()["paths"]
    for (method, path), success in OPERATIONS.items():
        operation = paths[path][method]
        assert operation["summary"], path
        assert {str(success), "401", "403", "404"} <= set(operation["responses"]), path
        assert operation["security"], path
        for status, response in operation["responses"].items():
            assert response.get("content"), (path, status)


def test_the_request_bodies_carry_examples() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["GenerateCodeRequest"]["examples"][0]["requirements"]["service_type"] == "vFirewall"
    assert schemas["ExecuteTestsRequest"]["properties"]["generation_id"]["examples"] == [42]
    assert schemas["GenerationStatus"]["properties"]["status"]["examples"] == ["completed"]


def test_our_part_of_the_document_is_valid_openapi() -> None:
    full = document()
    ours = {
        **full,
        "paths": {path: item for path, item in full["paths"].items() if path in {p for _m, p in OPERATIONS}},
    }
    validate(ours)
