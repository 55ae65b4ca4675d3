"""Every operation of the public API, read from the API itself, and how the walk calls each.

The operations come from the Ninja API's OpenAPI document (api.public_api), and every URL
the API routes must be one of them or listed in PUBLIC: a route added later is walked as
soon as it exists, and the walk fails until EXAMPLES learns how to call it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.test import Client

from api.models import Scope
from api.public_api import public_api
from tests.api.walk.objects import FILE_PATH, Objects, subflow_of
from tests.codegen.fixtures import REQUIREMENTS
from tests.workflows.proposal_fixtures import order_flow

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# Routes that take no key, each with the reason.
PUBLIC: dict[str, str] = {
    "GET /health": "load balancers and uptime checks ask it without a key; it names no tenant",
    "GET /api/v1/openapi.json": "the API's description, which clients read before they hold a key",
    "GET /api/v1/docs": "the same description as a page for people",
}
# Ninja routes its root too, only to name the API's base (it answers 404): the portal's home
# is routed before it, so no call reaches it (test_ninjas_root_is_not_reached).
NINJA_ROOT = "/"
# Routes behind a token of their own rather than a tenant's key.
TOKEN_PROTECTED: dict[str, str] = {
    "GET /metrics": "operators' Prometheus scrapers send METRICS_TOKEN",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the OpenAPI path, `{name}` for each parameter
    keyed: bool  # behind a tenant's API key
    query_key: str | None  # the query parameter that may carry the key instead of a header

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def operations() -> list[Operation]:
    """Every operation of the public API's OpenAPI document."""
    schema = public_api.get_openapi_schema()
    schemes = schema.get("components", {}).get("securitySchemes", {})
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            names = {name for requirement in operation.get("security") or [] for name in requirement}
            query = [schemes[name]["name"] for name in sorted(names) if schemes[name].get("in") == "query"]
            found.append(Operation(method.upper(), path, bool(names), query[0] if query else None))
    return found


def routed_paths() -> set[str]:
    """The path of every URL the API routes, in the OpenAPI document's notation."""
    patterns, _app, _namespace = public_api.urls
    return {"/" + PARAMETER.sub(r"{\1}", str(pattern.pattern)) for pattern in patterns}


# --- How to call each keyed operation -----------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One call of an operation, built from the objects it addresses (tenant A's, or ids
    that exist nowhere).

    `owned`: the call addresses a tenant's object (by id in the path or the body, or by name
    as a model or a blueprint), so another tenant's must answer as a missing one does, with
    `missing_status` (404, or 400 for a subflow a workflow names).
    """

    scope: Scope
    path: Callable[[Objects], str]
    body: Callable[[Objects], dict[str, Any]] | None = None
    owned: bool = False
    missing_status: int = 404


def _chat(objects: Objects) -> dict[str, Any]:
    return {"model": objects.model, "messages": [{"role": "user", "content": "Hello"}]}


def _message(objects: Objects) -> dict[str, Any]:
    return {**_chat(objects), "max_tokens": 16}


GATEWAY, WORKFLOWS, GENERATIONS = Scope.GATEWAY, Scope.WORKFLOWS, Scope.GENERATIONS

EXAMPLES: dict[str, tuple[Example, ...]] = {
    # OpenAI- and Anthropic-compatible: a model is named by the provider that serves it.
    "POST /v1/chat/completions": (Example(GATEWAY, lambda o: "/v1/chat/completions", _chat, owned=True),),
    "GET /v1/models": (Example(GATEWAY, lambda o: "/v1/models"),),
    "GET /v1/models/{model}": (Example(GATEWAY, lambda o: f"/v1/models/{o.model}", owned=True),),
    "POST /v1/embeddings": (
        Example(
            GATEWAY, lambda o: "/v1/embeddings", lambda o: {"model": o.model, "input": "Hello"}, owned=True
        ),
    ),
    "POST /v1/messages": (Example(GATEWAY, lambda o: "/v1/messages", _message, owned=True),),
    "POST /v1/messages/count_tokens": (
        Example(GATEWAY, lambda o: "/v1/messages/count_tokens", _chat, owned=True),
    ),
    # Inference (seed 004).
    "POST /api/v1/infer": (
        Example(
            GATEWAY, lambda o: "/api/v1/infer", lambda o: {"prompt": "Hello", "model": o.model}, owned=True
        ),
    ),
    "GET /api/v1/status/{request_id}": (
        Example(GATEWAY, lambda o: f"/api/v1/status/{o.request_id}", owned=True),
    ),
    "GET /api/v1/result/{request_id}": (
        Example(GATEWAY, lambda o: f"/api/v1/result/{o.request_id}", owned=True),
    ),
    # After the request's last event (its error): A's own stream answers 204 at once.
    "GET /api/v1/stream/{request_id}": (
        Example(GATEWAY, lambda o: f"/api/v1/stream/{o.request_id}?last_event_id=1", owned=True),
    ),
    # Compiler (seed 000): a subflow must be one of the key's organization's workflows.
    "POST /api/v1/validate": (
        Example(WORKFLOWS, lambda o: "/api/v1/validate", lambda o: {"workflow": subflow_of(o)}, True, 400),
    ),
    "POST /api/v1/compile": (
        Example(WORKFLOWS, lambda o: "/api/v1/compile", lambda o: {"workflow": subflow_of(o)}, True, 400),
    ),
    "POST /api/v1/generate/workflow": (
        Example(WORKFLOWS, lambda o: "/api/v1/generate/workflow", lambda o: {"prompt": "Check the stock."}),
    ),
    "POST /api/v1/enhance/workflow": (
        Example(
            WORKFLOWS,
            lambda o: "/api/v1/enhance/workflow",
            lambda o: {"workflow_dsl": order_flow(), "enhancement_prompt": "Add an approval."},
        ),
    ),
    "POST /api/v1/generate/service": (
        Example(
            WORKFLOWS,
            lambda o: "/api/v1/generate/service",
            lambda o: {"blueprint": o.blueprint, "prompt": "A firewall for the branch offices."},
            owned=True,
        ),
    ),
    "GET /api/v1/jobs/{job_id}": (Example(WORKFLOWS, lambda o: f"/api/v1/jobs/{o.job_id}", owned=True),),
    # Generation and testing (seed 002).
    "POST /api/v1/generate/code": (
        Example(
            GENERATIONS,
            lambda o: "/api/v1/generate/code",
            lambda o: {"conversation_id": o.conversation_id},
            owned=True,
        ),
        Example(
            GENERATIONS,
            lambda o: "/api/v1/generate/code",
            lambda o: {"requirements": REQUIREMENTS, "workflow_version_id": o.workflow_version_id},
            owned=True,
        ),
    ),
    "GET /api/v1/generate/{generation_id}": (
        Example(GENERATIONS, lambda o: f"/api/v1/generate/{o.generation_id}", owned=True),
    ),
    "GET /api/v1/generate/{generation_id}/files/{file_path}": (
        Example(GENERATIONS, lambda o: f"/api/v1/generate/{o.generation_id}/files/{FILE_PATH}", owned=True),
    ),
    "GET /api/v1/generate/{generation_id}/archive": (
        Example(GENERATIONS, lambda o: f"/api/v1/generate/{o.generation_id}/archive", owned=True),
    ),
    "POST /api/v1/testing/execute": (
        Example(
            GENERATIONS,
            lambda o: "/api/v1/testing/execute",
            lambda o: {"generation_id": o.generation_id},
            owned=True,
        ),
    ),
    "GET /api/v1/testing/{execution_id}/results": (
        Example(GENERATIONS, lambda o: f"/api/v1/testing/{o.execution_id}/results", owned=True),
    ),
}


def call(
    client: Client,
    operation: Operation,
    example: Example,
    objects: Objects,
    *,
    headers: dict[str, str] | None = None,
    query_key: str | None = None,
) -> Response:
    """The example's request, made with `headers` (and the key in the query, if given)."""
    url = example.path(objects)
    if query_key is not None:
        assert operation.query_key is not None, f"{operation.name} takes no key in its query"
        url += ("&" if "?" in url else "?") + f"{operation.query_key}={query_key}"
    body = example.body(objects) if example.body is not None else None
    data = json.dumps(body) if body is not None else ""
    return client.generic(
        operation.method, url, data=data, content_type="application/json", headers=headers or {}
    )


# --- The shape of an error -----------------------------------------------------------------

# The types each family's clients are told for the answers the walk provokes (the API's own
# tables are not used: the walk checks them).
ANTHROPIC_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}
OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
}


def family_of(path: str) -> str:
    """Whose clients call `path`, and so which error body they parse."""
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1/"):
        return "openai"
    return "sce"


def assert_error_shape(path: str, response: Response, code: str | None = None) -> None:
    """The error body the family of `path` expects, with `code` when the family names one
    (Anthropic's names none)."""
    status = response.status_code
    assert response["Content-Type"].startswith("application/json"), f"{path} -> {response['Content-Type']}"
    body = json.loads(response.content)
    family = family_of(path)
    if family == "anthropic":
        assert set(body) == {"type", "error"}, body
        assert body["type"] == "error", body
        assert set(body["error"]) == {"type", "message"}, body
        if status in ANTHROPIC_TYPES:
            assert body["error"]["type"] == ANTHROPIC_TYPES[status], body
        assert body["error"]["message"], body
    elif family == "openai":
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
        if status in OPENAI_TYPES:
            assert body["error"]["type"] == OPENAI_TYPES[status], body
        assert body["error"]["type"], body
        assert body["error"]["message"], body
        if code is not None:
            assert body["error"]["code"] == code, body
    else:
        assert {"error", "message"} <= set(body) <= {"error", "message", "details"}, body
        assert body["message"], body
        if code is not None:
            assert body["error"] == code, body
