"""POST /api/v1/infer, GET /status and /result, and the stream's refusals, through Django's
test client: what is queued, what each caller is told, and what outsiders find (nothing)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from api import services as key_services
from api.inference import services
from api.inference.models import InferenceEvent, InferenceRequest
from api.models import Scope
from tests.api.inference.conftest import Message, headers
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

Issued = key_services.IssuedApiKey


def post(issued: Issued | None, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return Client().post(
        "/api/v1/infer",
        data,
        content_type="application/json",
        headers=headers(issued) if issued else {},
        **extra,
    )


def test_it_queues_the_request_and_answers_202_at_once(
    issued: Issued, sent: list[Message], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    body = {"prompt": "What is Rust?", "metadata": {"user": "alice", "priority": "high"}, "max_tokens": 64}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(issued, body)
    assert response.status_code == 202
    answer = response.json()
    request = InferenceRequest.objects.for_tenant(issued.key.tenant).get()
    assert answer["request_id"] == str(request.request_id)
    assert response["Location"] == f"/api/v1/status/{request.request_id}"
    assert (answer["status"], answer["result"], answer["error"]) == ("pending", None, None)
    assert uuid.UUID(answer["session_id"]), "a session of its own when none was sent"
    assert (request.prompt, request.metadata, request.max_tokens, request.model) == (
        "What is Rust?",
        {"user": "alice", "priority": "high"},
        64,
        "auto",
    )
    assert (request.api_key, request.key_prefix) == (issued.key, issued.key.prefix)
    assert sent == [(request.pk, request.run_token)], "one task, carrying the lease, once committed"


def test_a_session_id_sent_is_kept(issued: Issued, sent: list[Message]) -> None:
    response = post(issued, {"prompt": "Hi", "session_id": "optional-session-id"})
    assert response.json()["session_id"] == "optional-session-id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "Hi", "max_tokens": "many"}, "max_tokens"),
        ({"prompt": "Hi", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "Hi", "temperature": 3}, "temperature"),
        ({"prompt": "Hi", "metadata": ["not", "an", "object"]}, "metadata"),
        ({"prompt": "Hi", "metadata": {"blob": "x" * 20_000}}, "metadata"),
        ({"prompt": "Hi", "session_id": ""}, "session_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    issued: Issued, sent: list[Message], body: Any, field: str
) -> None:
    response = post(issued, body)
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "invalid_request"
    assert error["details"][0]["field"] == field
    assert not InferenceRequest.objects.for_tenant(issued.key.tenant).exists()
    assert sent == []


def test_a_body_that_is_not_json_is_400(issued: Issued) -> None:
    response = post(issued, "{prompt: oops")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_json")


def test_a_body_over_the_limit_is_413(issued: Issued, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(issued, {"prompt": "x" * 2000})
    assert (response.status_code, response.json()["error"]) == (413, "request_too_large")


def test_an_unknown_model_is_404_and_nothing_is_queued(issued: Issued, sent: list[Message]) -> None:
    response = post(issued, {"prompt": "Hi", "model": "no-such-provider/model-x"})
    assert (response.status_code, response.json()["error"]) == (404, "model_not_found")
    assert sent == []


def test_without_a_usable_key_it_is_401_and_without_the_scope_403(
    issued: Issued, tenant_users: TenantUsers
) -> None:
    assert post(None, {"prompt": "Hi"}).status_code == 401
    wrong = Client().post(
        "/api/v1/infer", {"prompt": "Hi"}, content_type="application/json", headers={"x-api-key": "sce_nope"}
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_api_key")
    runs_only = key_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="runs", scopes=[Scope.RUNS]
    )
    refused = post(runs_only, {"prompt": "Hi"})
    assert (refused.status_code, refused.json()["error"]) == (403, "scope_not_granted")


def submitted(issued: Issued) -> InferenceRequest:
    return services.inference_request_create(
        key=issued.key, prompt="What is Rust?", model="auto", max_tokens=64
    )


def test_a_pending_request_has_a_status_and_no_result_yet(issued: Issued, sent: list[Message]) -> None:
    request = submitted(issued)
    client = Client(headers=headers(issued))
    status = client.get(f"/api/v1/status/{request.request_id}")
    assert status.status_code == 200
    assert status.json()["status"] == "pending"
    assert status.json()["last_event_id"] == 0
    result = client.get(f"/api/v1/result/{request.request_id}")
    assert (result.status_code, result["Retry-After"]) == (202, "1")
    assert (result.json()["status"], result.json()["result"]) == ("pending", None)


def finish(request: InferenceRequest, text: str) -> None:
    """The request as a run that answered `text` in one token leaves it."""
    for seq, (kind, data) in enumerate([("start", {}), ("token", {"chunk": 0, "data": text})], start=1):
        InferenceEvent.objects.create(tenant=request.tenant, request=request, seq=seq, kind=kind, data=data)
    InferenceEvent.objects.create(tenant=request.tenant, request=request, seq=3, kind="complete", data={})
    request.status, request.result, request.finish_reason = "completed", text, "stop"
    request.input_tokens, request.output_tokens = 5, 1
    request.save()


def test_a_completed_request_has_its_result(issued: Issued, sent: list[Message]) -> None:
    request = submitted(issued)
    finish(request, "Rust is a language.")
    client = Client(headers=headers(issued))
    result = client.get(f"/api/v1/result/{request.request_id}")
    assert result.status_code == 200
    body = result.json()
    assert (body["status"], body["result"], body["error"]) == ("completed", "Rust is a language.", None)
    assert body["usage"] == {"input_tokens": 5, "output_tokens": 1}
    assert client.get(f"/api/v1/status/{request.request_id}").json()["last_event_id"] == 3


@pytest.mark.django_db(transaction=True)  # the stream is an async view: the database in another thread
def test_a_finished_stream_with_nothing_left_is_204(issued: Issued, sent: list[Message]) -> None:
    """204 is what tells a browser's EventSource to stop reconnecting."""
    request = submitted(issued)
    finish(request, "Done.")
    client = Client(headers=headers(issued))
    assert (
        client.get(f"/api/v1/stream/{request.request_id}", headers={"Last-Event-ID": "3"}).status_code == 204
    )
    via_query = Client().get(
        f"/api/v1/stream/{request.request_id}?api_key={issued.plaintext}&last_event_id=3"
    )
    assert via_query.status_code == 204


@pytest.mark.django_db(transaction=True)  # the stream is an async view: the database in another thread
@pytest.mark.parametrize("value", ["x", "-1", "1.5"])
def test_a_last_event_id_that_is_no_id_is_400(issued: Issued, sent: list[Message], value: str) -> None:
    request = submitted(issued)
    response = Client(headers=headers(issued)).get(
        f"/api/v1/stream/{request.request_id}", headers={"Last-Event-ID": value}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_last_event_id")


@pytest.mark.django_db(transaction=True)  # the stream is an async view: the database in another thread
def test_another_tenants_request_is_not_found_anywhere(
    issued: Issued, outsider_key: Issued, sent: list[Message]
) -> None:
    request = submitted(issued)
    finish(request, "Acme's secret answer")
    outsider = Client(headers=headers(outsider_key))
    for route in ("status", "result", "stream"):
        response = outsider.get(f"/api/v1/{route}/{request.request_id}")
        assert response.status_code == 404, route
        assert response.json()["error"] == "not_found"
        assert "secret" not in response.content.decode()
    by_query = Client().get(f"/api/v1/stream/{request.request_id}?api_key={outsider_key.plaintext}")
    assert by_query.status_code == 404
    owner = Client(headers=headers(issued))
    for missing in (str(uuid.uuid4()), "not-an-id"):
        assert owner.get(f"/api/v1/status/{missing}").status_code == 404


def test_the_stream_takes_no_key_in_the_query_of_other_routes(issued: Issued, sent: list[Message]) -> None:
    """Only the stream (EventSource sends no headers) takes `?api_key=`."""
    request = submitted(issued)
    response = Client().get(f"/api/v1/status/{request.request_id}?api_key={issued.plaintext}")
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)  # the stream is an async view: the database in another thread
def test_a_wrong_key_in_the_query_is_401(issued: Issued, sent: list[Message]) -> None:
    request = submitted(issued)
    response = Client().get(f"/api/v1/stream/{request.request_id}?api_key={issued.plaintext}x")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_api_key")
