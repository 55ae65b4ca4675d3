"""POST /api/v1/generate/code: a generation queued from requirements or an interview."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from codegen.models import Generation
from tests.api.generation.conftest import bearer
from tests.codegen.fixtures import REQUIREMENTS, Message
from tests.conftest import TenantUsers
from tests.workflows.proposal_fixtures import complete_conversation, order_flow
from workflows import services as workflow_services

pytestmark = pytest.mark.django_db

URL = "/api/v1/generate/code"
SEED_REQUIREMENTS: dict[str, Any] = {
    "service_type": "vFirewall",
    "vendor": "Cisco",
    "features": ["traffic_filtering", "threat_detection"],
    "pricing_model": "monthly",
}


def post(key: str | None, body: Any) -> Any:
    headers = bearer(key) if key else {}
    return Client().post(URL, body, content_type="application/json", headers=headers)


def generations(tenant_users: TenantUsers) -> list[Generation]:
    return list(Generation.objects.for_tenant(tenant_users.tenant).order_by("pk"))


def test_it_queues_a_generation_from_the_seeds_requirements_and_answers_at_once(
    tenant_users: TenantUsers, key: str, sent: list[Message], django_capture_on_commit_callbacks: Any
) -> None:
    body = {
        "conversation_id": None,
        "requirements": SEED_REQUIREMENTS,
        "options": {
            "language": "python",
            "framework": "fastapi",
            "include_tests": True,
            "include_docs": False,
        },
        "mode": "template",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post(key, body)

    assert response.status_code == 202
    [generation] = generations(tenant_users)
    assert response.json() == {
        "generation_id": generation.pk,
        "status": "queued",
        "mode": "template",
        "target": "python-fastapi",
        "status_url": f"/api/v1/generate/{generation.pk}",
        "events_url": f"/api/v1/generate/{generation.pk}/ws",
        "quota": {"limit": None, "used": 1, "left": None},
    }
    assert sent == [(generation.pk, generation.run_token)], "the job is sent once the row is committed"
    assert generation.title == "vFirewall service"
    assert generation.requirements["requirements"]["pricing_model"] == {
        "label": "Pricing model",
        "value": "monthly",
    }
    assert generation.requirements["requirements"]["features"]["value"] == [
        "traffic_filtering",
        "threat_detection",
    ]
    assert (generation.include_tests, generation.include_docs, generation.include_deployment) == (
        True,
        False,
        True,
    )
    assert generation.created_by is None


def test_an_interviews_download_is_taken_as_it_is_and_a_title_names_it(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    response = post(key, {"requirements": REQUIREMENTS, "title": "Orders API", "workflow": order_flow()})
    assert response.status_code == 202
    [generation] = generations(tenant_users)
    assert generation.title == "Orders API"
    assert generation.requirements["requirements"] == REQUIREMENTS["requirements"]
    assert generation.workflow_document == order_flow()


def test_without_a_model_the_mode_is_template_and_asking_for_the_model_is_refused(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    assert post(key, {"requirements": SEED_REQUIREMENTS}).json()["mode"] == "template"

    refused = post(key, {"requirements": SEED_REQUIREMENTS, "mode": "model"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "model_unavailable"
    assert len(generations(tenant_users)) == 1


def test_a_finished_interview_of_the_tenant_gives_the_requirements(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    conversation = complete_conversation(tenant_users, title="Order fulfilment")
    response = post(key, {"conversation_id": conversation.pk, "requirements": {"ignored": True}})
    assert response.status_code == 202
    [generation] = generations(tenant_users)
    assert generation.conversation_id == conversation.pk
    assert "ignored" not in generation.requirements["requirements"]


def test_another_tenants_interview_or_workflow_version_is_404(
    tenant_users: TenantUsers, key: str, other_key: str, sent: list[Message]
) -> None:
    conversation = complete_conversation(tenant_users)
    workflow = workflow_services.workflow_create(
        tenant=tenant_users.tenant, actor=tenant_users.member, name="Orders", document=order_flow()
    )
    version = workflow_services.workflow_publish(workflow=workflow, actor=tenant_users.member, note="")

    response = post(other_key, {"conversation_id": conversation.pk})
    assert response.status_code == 404
    assert response.json()["error"] == "conversation_not_found"
    response = post(other_key, {"requirements": SEED_REQUIREMENTS, "workflow_version_id": version.pk})
    assert response.status_code == 404
    assert response.json()["error"] == "workflow_version_not_found"
    assert not Generation.objects.for_tenant(tenant_users.other_tenant).exists()

    own = post(key, {"requirements": SEED_REQUIREMENTS, "workflow_version_id": version.pk})
    assert own.status_code == 202
    assert generations(tenant_users)[0].workflow_version_id == version.pk


def test_an_unfinished_interview_is_409(tenant_users: TenantUsers, key: str, sent: list[Message]) -> None:
    conversation = complete_conversation(tenant_users)
    type(conversation).objects.for_tenant(tenant_users.tenant).filter(pk=conversation.pk).update(
        status="gathering"
    )
    response = post(key, {"conversation_id": conversation.pk})
    assert response.status_code == 409
    assert response.json()["error"] == "not_complete"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requirements": "a firewall"}, "requirements"),
        ({"requirements": ["a firewall"]}, "requirements"),
        ({"conversation_id": "12"}, "conversation_id"),
        ({"requirements": SEED_REQUIREMENTS, "options": {"include_tests": "yes"}}, "options.include_tests"),
        ({"requirements": SEED_REQUIREMENTS, "options": []}, "options"),
        ({"requirements": SEED_REQUIREMENTS, "mode": "turbo"}, "mode"),
        ({"requirements": SEED_REQUIREMENTS, "title": ""}, "title"),
        ({"requirements": SEED_REQUIREMENTS, "workflow": "flow.json"}, "workflow"),
        ({}, "requirements"),
        ({"requirements": {}}, "requirements"),
        ({"requirements": SEED_REQUIREMENTS, "options": {"framework": "rails"}}, "options.framework"),
        ({"requirements": SEED_REQUIREMENTS, "options": {"target": "cobol"}}, "options.target"),
        ({"requirements": SEED_REQUIREMENTS, "workflow": order_flow(), "workflow_version_id": 1}, "workflow"),
    ],
)
def test_a_wrong_body_is_400_naming_the_field(
    tenant_users: TenantUsers, key: str, sent: list[Message], body: dict[str, Any], field: str
) -> None:
    response = post(key, body)
    assert response.status_code == 400
    error = response.json()
    assert error["error"] in {"invalid_request", "unknown_target"}
    assert error["message"].startswith(f"{field}:"), error
    assert generations(tenant_users) == []


def test_a_body_that_is_not_json_is_400(key: str) -> None:
    response = Client().post(URL, "{oops", content_type="application/json", headers=bearer(key))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_requirements_over_the_limit_are_refused(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    response = post(key, {"requirements": {"notes": "x" * 250_000}})
    assert response.status_code == 400
    assert response.json()["message"] == "requirements: The requirements are over 200000 bytes."
    assert generations(tenant_users) == []


def test_over_the_plans_generations_it_is_429_with_the_quota(
    tenant_users: TenantUsers, key: str, sent: list[Message]
) -> None:
    tenant_users.tenant.plan = "free"
    tenant_users.tenant.save(update_fields=["plan"])
    first = post(key, {"requirements": SEED_REQUIREMENTS})
    assert first.status_code == 202
    assert first.json()["quota"] == {"limit": 1, "used": 1, "left": 0}

    response = post(key, {"requirements": SEED_REQUIREMENTS})

    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "quota_exceeded"
    assert "Free plan includes 1 generation a month" in body["message"]
    assert body["details"]["plan"] == "free"
    assert (body["details"]["limit"], body["details"]["used"]) == (1, 1)
    assert body["details"]["resets_on"].endswith("-01")
    assert len(generations(tenant_users)) == 1


def test_keys_without_the_scope_or_of_nobody_are_refused(gateway_key: str, sent: list[Message]) -> None:
    missing = post(None, {"requirements": SEED_REQUIREMENTS})
    assert missing.status_code == 401
    assert missing.json()["error"] == "missing_api_key"
    wrong = post("sce_abcdefgh_" + "x" * 43, {"requirements": SEED_REQUIREMENTS})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_api_key"
    unscoped = post(gateway_key, {"requirements": SEED_REQUIREMENTS})
    assert unscoped.status_code == 403
    assert unscoped.json()["error"] == "scope_not_granted"
    assert sent == []


def test_a_signed_in_session_is_no_key(tenant_users: TenantUsers, sent: list[Message]) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    response = client.post(URL, {"requirements": SEED_REQUIREMENTS}, content_type="application/json")
    assert response.status_code == 401
