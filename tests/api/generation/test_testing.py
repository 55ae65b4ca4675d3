"""POST /api/v1/testing/execute and GET /api/v1/testing/{id}/results."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from codegen.models import Generation, TestRun
from tests.api.generation.conftest import bearer
from tests.codegen.fixtures import Message
from tests.codegen.views.builders import RESULTS, State, add_test_run, completed, create, set_state
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

EXECUTE = "/api/v1/testing/execute"


def execute(key: str, body: Any) -> Any:
    return Client().post(EXECUTE, body, content_type="application/json", headers=bearer(key))


def results(key: str, execution_id: str) -> Any:
    return Client().get(f"/api/v1/testing/{execution_id}/results", headers=bearer(key))


def test_it_queues_the_tests_of_a_finished_generation_with_the_next_runs_id(
    tenant_users: TenantUsers, key: str, sent: list[Message], django_capture_on_commit_callbacks: Any
) -> None:
    generation = completed(tenant_users)

    with django_capture_on_commit_callbacks(execute=True):
        response = execute(
            key, {"generation_id": generation.pk, "test_type": "all", "environment": "sandbox"}
        )

    assert response.status_code == 202
    assert response.json() == {
        "test_execution_id": f"{generation.pk}-2",
        "generation_id": generation.pk,
        "status": "queued",
        "progress": 0,
        "tests": [{"name": "test_health", "status": "pending"}, {"name": "test_create", "status": "pending"}],
        "results_url": f"/api/v1/testing/{generation.pk}-2/results",
    }
    queued = Generation.objects.for_tenant(tenant_users.tenant).get(pk=generation.pk)
    assert (queued.state, queued.action) == ("queued", "tests")
    assert sent == [(generation.pk, queued.run_token)]

    pending = results(key, f"{generation.pk}-2").json()
    assert (pending["status"], pending["outcome"], pending["results"]) == ("queued", None, [])

    add_test_run(generation, [("test_health", "tests.test_api", "passed")], outcome=TestRun.Outcome.PASSED)
    set_state(generation, State.COMPLETED)
    done = results(key, f"{generation.pk}-2").json()
    assert (done["status"], done["outcome"]) == ("completed", "passed")
    assert done["summary"]["total"] == 1


def test_the_results_of_a_run_in_the_seeds_shape(tenant_users: TenantUsers, key: str) -> None:
    generation = completed(tenant_users)
    add_test_run(
        generation, [*RESULTS, ("test_boom", "tests.test_api", "error"), ("test_later", "x", "skipped")]
    )

    body = results(key, f"{generation.pk}-2").json()

    assert body["execution_id"] == f"{generation.pk}-2"
    assert (body["status"], body["outcome"], body["exit_code"]) == ("completed", "failed", 1)
    assert body["summary"] == {
        "total": 4,
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "duration": 0.048,
    }
    assert body["results"][1] == {
        "test_name": "test_create",
        "classname": "tests.test_api",
        "status": "failed",
        "duration": 0.012,
        "message": "assert 500 == 201",
    }
    first = results(key, f"{generation.pk}-1").json()
    assert first["summary"]["total"] == 2


def test_a_run_in_progress_and_one_left_unfinished(tenant_users: TenantUsers, key: str) -> None:
    generation = set_state(create(tenant_users), State.TESTING)
    add_test_run(generation, [], outcome=TestRun.Outcome.RUNNING)
    assert results(key, f"{generation.pk}-1").json()["status"] == "running"
    set_state(generation, State.CANCELLED)
    assert results(key, f"{generation.pk}-1").json()["status"] == "cancelled"
    set_state(generation, State.FAILED)
    assert results(key, f"{generation.pk}-1").json()["status"] == "interrupted"


def test_a_generation_still_running_or_without_tests_is_409(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    running = set_state(create(tenant_users), State.GENERATING)
    response = execute(key, {"generation_id": running.pk})
    assert response.status_code == 409
    assert response.json()["error"] == "not_allowed"
    assert "still generating files" in response.json()["message"]

    without_tests = set_state(create(tenant_users, include_tests=False), State.COMPLETED)
    response = execute(key, {"generation_id": without_tests.pk})
    assert response.status_code == 409
    assert "no tests" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"generation_id": "7"}, "generation_id"),
        ({}, "generation_id"),
        ({"generation_id": 7, "test_type": "unit"}, "test_type"),
        ({"generation_id": 7, "environment": "docker"}, "environment"),
    ],
)
def test_a_wrong_body_is_400_naming_the_field(key: str, body: dict[str, Any], field: str) -> None:
    response = execute(key, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_unknown_and_foreign_ids_are_404(tenant_users: TenantUsers, key: str, other_key: str) -> None:
    generation = completed(tenant_users)
    foreign = execute(other_key, {"generation_id": generation.pk})
    assert foreign.status_code == 404
    assert foreign.json()["error"] == "generation_not_found"
    assert execute(key, {"generation_id": generation.pk + 1000}).status_code == 404

    assert results(key, f"{generation.pk}-1").status_code == 200
    for execution_id in (
        f"{generation.pk}-3",
        f"{generation.pk + 1000}-1",
        "abc",
        f"{generation.pk}-0",
        "1-1-1",
    ):
        response = results(key, execution_id)
        assert response.status_code == 404, execution_id
        assert response.json()["error"] == "execution_not_found"
    foreign_results = results(other_key, f"{generation.pk}-1")
    assert foreign_results.status_code == 404
    assert "test_health" not in foreign_results.content.decode()


def test_keys_are_checked(tenant_users: TenantUsers, gateway_key: str) -> None:
    generation = completed(tenant_users)
    assert execute(gateway_key, {"generation_id": generation.pk}).status_code == 403
    assert results(gateway_key, f"{generation.pk}-1").status_code == 403
    assert Client().get(f"/api/v1/testing/{generation.pk}-1/results").status_code == 401
