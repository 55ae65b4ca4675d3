"""Seed 000's AI gateway routes as background jobs: generate and enhance a workflow, generate
a service definition, and `GET /api/v1/jobs/{id}`; the model is the Anthropic wire emulator,
the proposal task runs inline (on commit), as in the portal's proposal tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from api.compiler.schemas import WORKFLOW_EXAMPLE
from conversations import services as conversation_services
from conversations.blueprints.builtin import BUSINESS_PROCESS
from tests.api.compiler.conftest import bearer
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer
from tests.workflows.proposal_fixtures import (
    complete_conversation,
    cyclic_flow,
    order_flow,
    reply_of,
    with_approval,
)
from workflows.models import WorkflowProposal
from workflows.proposals import services as proposal_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("run_tasks_inline")]


def post(path: str, body: Any, key: str | None) -> Any:
    headers = bearer(key) if key else {}
    return Client().post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def get(path: str, key: str | None) -> Any:
    return Client().get(path, headers=bearer(key) if key else {})


def finished_job(response: Any, key: str) -> dict[str, Any]:
    assert response.status_code == 202, response.json()
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["status_url"] == f"/api/v1/jobs/{accepted['job_id']}"
    status = get(accepted["status_url"], key)
    assert status.status_code == 200
    body: dict[str, Any] = status.json()
    assert body["job_id"] == accepted["job_id"]
    assert body["kind"] == accepted["kind"]
    return body


def test_a_workflow_generated_from_a_prompt_comes_back_validated_and_explained(
    tenant_users: TenantUsers, key: str, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow(), tokens=8))
    response = post(
        "/api/v1/generate/workflow",
        {
            "prompt": "Check stock, charge the card, confirm.",
            "context": {"shop": "web"},
            "tenant_id": "ignored",
        },
        key,
    )
    job = finished_job(response, key)
    assert job["kind"] == "generate_workflow"
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    assert result["status"] == "success"
    document = result["workflow_dsl"]
    assert [node["id"] for node in document["nodes"]] == ["check_stock", "charge", "confirm"]
    proposal = WorkflowProposal.objects.for_tenant(tenant_users.tenant).get(pk=job["job_id"])
    assert document["id"] == proposal.base_document["id"], "the identity is the job's, never the model's"
    assert document["name"] == "Check stock, charge the card, confirm."
    assert result["explanation"].startswith("A workflow of 3 steps: “Check_Stock” (activity)")
    assert "It starts at “Check_Stock” (activity)." in result["explanation"]
    assert result["tokens_used"] > 0
    assert result["model_used"].startswith("anthropic/")
    assert result["generated_code"] is None
    # The prompt and context reached the model as data, in a user message.
    sent = anthropic.requests[0].body
    user_text = json.dumps(sent["messages"])
    assert "Check stock, charge the card, confirm." in user_text
    assert '\\"shop\\": \\"web\\"' in user_text
    assert proposal.api_key == key[:12]
    assert proposal.created_by is None


def test_a_workflow_with_warnings_comes_with_suggestions(key: str, anthropic: EmulatorServer) -> None:
    document = order_flow()
    document["nodes"][0]["timeout_seconds"] = None
    anthropic.push(reply_of(document))
    job = finished_job(post("/api/v1/generate/workflow", {"prompt": "Orders"}, key), key)
    assert job["result"]["status"] == "success"
    assert job["result"]["suggestions"] == [
        "Consider: node 'check_stock': the activity has no timeout_seconds; it gets 5 minutes"
    ]
    assert [finding["code"] for finding in job["result"]["findings"]] == ["missing_timeout"]


def test_a_model_that_keeps_failing_fails_the_job_with_its_reason(
    key: str, anthropic: EmulatorServer
) -> None:
    anthropic.push(HttpError(500), HttpError(500), HttpError(500))
    job = finished_job(post("/api/v1/generate/workflow", {"prompt": "Orders"}, key), key)
    assert job["status"] == "failed"
    assert job["result"] is None
    assert job["error"]["error"] == "server_error"


def test_a_workflow_still_wrong_after_every_attempt_is_returned_as_invalid(
    key: str, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(cyclic_flow()), reply_of(cyclic_flow()), reply_of(cyclic_flow()))
    job = finished_job(post("/api/v1/generate/workflow", {"prompt": "Orders"}, key), key)
    assert job["status"] == "completed"
    assert job["attempts"] == 3
    result = job["result"]
    assert result["status"] == "invalid"
    assert result["suggestions"][0].startswith("Fix: the workflow loops:")
    assert "cyclic_graph" in {finding["code"] for finding in result["findings"]}


def test_an_enhanced_document_says_what_changed(key: str, anthropic: EmulatorServer) -> None:
    before = order_flow()
    anthropic.push(reply_of(with_approval(before)))
    response = post(
        "/api/v1/enhance/workflow",
        {"workflow_dsl": before, "enhancement_prompt": "A manager approves before we confirm."},
        key,
    )
    job = finished_job(response, key)
    assert job["kind"] == "enhance_workflow"
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    assert "approve" in [node["id"] for node in result["workflow_dsl"]["nodes"]]
    assert result["explanation"].startswith("Added: step “Approve (human_task)”")
    assert "Removed: edge “charge → confirm”." in result["explanation"]
    sent = json.dumps(anthropic.requests[0].body["messages"])
    assert "A manager approves before we confirm." in sent


def test_enhancing_something_that_is_no_workflow_is_refused_at_once(
    key: str, anthropic: EmulatorServer
) -> None:
    response = post(
        "/api/v1/enhance/workflow", {"workflow_dsl": {"nodes": "many"}, "enhancement_prompt": "Better"}, key
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_document"
    assert anthropic.requests == []


def test_a_service_definition_fills_the_blueprints_requirements(
    tenant_users: TenantUsers, key: str, anthropic: EmulatorServer
) -> None:
    reply = {
        "title": "Order intake",
        "requirements": {
            "trigger": "A webhook call",
            "steps": "Check stock, then charge the card.",
            "integrations": ["Salesforce", "Not an option"],
            "human_approvals": "maybe",  # not a yes/no: left out
        },
    }
    anthropic.push(Reply(json.dumps(reply)))
    response = post(
        "/api/v1/generate/service",
        {
            "prompt": "Orders arrive by webhook; check stock, then charge.",
            "blueprint": "builtin:business-process",
        },
        key,
    )
    job = finished_job(response, key)
    assert job["kind"] == "generate_service"
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    definition = result["service_definition"]
    assert definition["title"] == "Order intake"
    assert definition["blueprint"] == BUSINESS_PROCESS.name
    requirements = definition["requirements"]
    assert requirements["trigger"] == {"label": "Trigger", "value": "A webhook call"}
    assert "human_approvals" not in requirements
    assert result["workflow_dsl"] is None
    # Required, and not said; "Approval details" and "Compensation" apply only after answers
    # the description does not give.
    assert result["suggestions"] == [
        f"Say it in the prompt and ask again, or fill it in before generating code: {label}"
        for label in ("AI actions", "Human approvals", "Error handling")
    ]
    assert result["explanation"].startswith(f"A “{BUSINESS_PROCESS.name}” definition of “Order intake”:")
    sent = anthropic.requests[0].body
    assert "Orders arrive by webhook" in json.dumps(sent["messages"])
    schema = sent["output_config"]["format"]["schema"]
    assert schema["required"] == ["title", "requirements"]
    assert set(schema["properties"]["requirements"]["properties"]) == {
        field.key for field in BUSINESS_PROCESS.fields
    }


def test_an_unknown_or_foreign_blueprint_is_404(
    tenant_users: TenantUsers, key: str, anthropic: EmulatorServer
) -> None:
    theirs = conversation_services.blueprint_copy(
        tenant=tenant_users.other_tenant, actor=tenant_users.outsider, source=BUSINESS_PROCESS, name="Theirs"
    )
    for ref in ("builtin:nothing", f"tenant:{theirs.pk}"):
        response = post("/api/v1/generate/service", {"prompt": "Orders", "blueprint": ref}, key)
        assert response.status_code == 404
        assert response.json()["error"] == "blueprint_not_found"
        assert "builtin:business-process" in response.json()["details"]["blueprints"]


def test_without_a_model_that_can_write_the_job_is_refused(key: str) -> None:
    # No provider set up: the embedded model is not fit to write a workflow.
    for path, body in (
        ("/api/v1/generate/workflow", {"prompt": "Orders"}),
        ("/api/v1/enhance/workflow", {"workflow_dsl": order_flow(), "enhancement_prompt": "Better"}),
        ("/api/v1/generate/service", {"prompt": "Orders"}),
    ):
        response = post(path, body, key)
        assert response.status_code == 409, path
        assert response.json()["error"] == "model_unavailable"


def test_another_organizations_job_and_the_portals_proposals_are_404(
    tenant_users: TenantUsers, key: str, other_key: str, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow()), reply_of(order_flow()))
    job_id = post("/api/v1/generate/workflow", {"prompt": "Orders"}, key).json()["job_id"]
    assert get(f"/api/v1/jobs/{job_id}", key).status_code == 200
    response = get(f"/api/v1/jobs/{job_id}", other_key)
    assert response.status_code == 404
    assert response.json()["error"] == "job_not_found"
    portal = proposal_services.proposal_create_generate(
        tenant=tenant_users.tenant,
        actor=tenant_users.member,
        conversation=complete_conversation(tenant_users),
    )
    assert get(f"/api/v1/jobs/{portal.pk}", key).status_code == 404
    assert get("/api/v1/jobs/999999", key).status_code == 404


def test_wrong_types_are_400_naming_the_field(key: str) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/generate/workflow", {"prompt": 5}, "prompt"),
        ("/api/v1/generate/workflow", {"prompt": ""}, "prompt"),
        ("/api/v1/generate/workflow", {"prompt": "Orders", "temperature": 5}, "temperature"),
        ("/api/v1/generate/workflow", {"prompt": "Orders", "context": [1]}, "context"),
        ("/api/v1/enhance/workflow", {"workflow_dsl": WORKFLOW_EXAMPLE}, "enhancement_prompt"),
        ("/api/v1/generate/service", {"prompt": "Orders", "blueprint": 3}, "blueprint"),
    ]
    for path, body, field in cases:
        response = post(path, body, key)
        assert response.status_code == 400, (path, body)
        assert response.json()["details"][0]["field"] == field
    job = get("/api/v1/jobs/not-a-number", key)
    assert job.status_code == 400
    assert job.json()["details"][0]["field"] == "job_id"


def test_a_context_too_large_is_refused(key: str) -> None:
    response = post("/api/v1/generate/workflow", {"prompt": "Orders", "context": {"x": "y" * 30_000}}, key)
    assert response.status_code == 400
    assert response.json()["error"] == "context_too_large"


def test_without_a_key_401_and_without_the_scope_403(gateway_key: str) -> None:
    requests = [
        ("post", "/api/v1/generate/workflow", {"prompt": "Orders"}),
        ("post", "/api/v1/enhance/workflow", {"workflow_dsl": WORKFLOW_EXAMPLE, "enhancement_prompt": "x"}),
        ("post", "/api/v1/generate/service", {"prompt": "Orders"}),
        ("get", "/api/v1/jobs/1", None),
    ]
    for method, path, body in requests:
        for key, status in ((None, 401), (gateway_key, 403)):
            response = post(path, body, key) if method == "post" else get(path, key)
            assert response.status_code == status, (path, key)
    assert not WorkflowProposal.objects.dangerously_unscoped().exists()


def test_a_service_definitions_proposal_has_no_portal_page(
    tenant_users: TenantUsers, key: str, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply(json.dumps({"title": "T", "requirements": {}})))
    job_id = post("/api/v1/generate/service", {"prompt": "Orders"}, key).json()["job_id"]
    page = reverse("workflows:workflow_proposal", kwargs={"tenant_slug": "acme", "proposal_id": job_id})
    assert tenant_users.client_for(tenant_users.member).get(page).status_code == 404
