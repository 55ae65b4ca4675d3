"""AI workflow proposals in a real Chromium against daphne and a real Celery worker: generate
a workflow from a finished interview in one click, follow it over the socket, accept it; then
enhance it."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from playwright.sync_api import expect

from conversations import services as conversation_services
from conversations.blueprints.builtin import BUSINESS_PROCESS
from providers.interface import Task
from tenants.models import Tenant, User
from tests.browser.test_conversation_journeys import sign_up, team_anthropic
from tests.emulators.fixtures import anthropic_emulator, anthropic_emulator_server
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import model_prices
from tests.workflows.proposal_fixtures import ANSWERS, cyclic_flow, order_flow, reply_of, with_approval
from workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["anthropic_emulator", "anthropic_emulator_server", "model_prices"]


def test_generate_a_workflow_from_requirements_accept_it_then_enhance_it(
    people: Any,
    live_server_url: str,
    celery_worker_process: subprocess.Popen[bytes],
    anthropic_emulator: EmulatorServer,
    model_prices: None,
) -> None:
    nadia = people("nadia")
    page = nadia.page
    sign_up(page, "Edge Networks", "nadia@edge.test")
    tenant = Tenant.objects.get(name="Edge Networks")
    team_anthropic(tenant, anthropic_emulator, Task.WORKFLOW)
    conversation = conversation_services.conversation_create(
        tenant=tenant,
        owner=User.objects.get(email="nadia@edge.test"),
        blueprint=BUSINESS_PROCESS,
        title="Order fulfilment",
    )
    conversation_services.answers_apply(conversation=conversation, values=dict(ANSWERS))

    # The finished interview offers generating; the first answer has a cycle, the second not.
    anthropic_emulator.push(
        Reply(reply_of(cyclic_flow()).text, tokens=30, token_latency=0.02),
        Reply(reply_of(order_flow()).text, tokens=30, token_latency=0.02),
    )
    # One click: the finished interview's button starts generating and opens the proposal.
    page.goto(f"/t/{tenant.slug}/services/{conversation.pk}/")
    page.get_by_role("button", name="Generate workflow").click()
    expect(page).to_have_url(re.compile(rf"/t/{tenant.slug}/workflows/proposals/\d+/$"))

    expect(page.get_by_test_id("proposal-valid")).to_be_visible(timeout=60_000)
    events = page.get_by_test_id("proposal-events")
    expect(events).to_contain_text("the validator found 1 error")
    expect(events).to_contain_text("Attempt 2 of 3 started: waiting for the model's first words.")
    expect(events).to_contain_text("Attempt 2: team-anthropic · claude-sonnet-5-5 is answering")
    expect(events).to_contain_text("Ready after 2 attempts.")
    expect(page.get_by_test_id("proposal-state")).to_have_text("Ready")
    expect(page.get_by_test_id("diff")).to_contain_text("Check_Stock")
    nadia.shot("01-generated")

    page.get_by_test_id("proposal-accept").click()
    workflow = Workflow.objects.for_tenant(tenant).get()
    expect(page).to_have_url(f"{live_server_url}/t/{tenant.slug}/workflows/{workflow.pk}/")
    assert workflow.source_conversation_id == conversation.pk

    # Enhance it: the proposal adds an approval; applying it is one change of the draft.
    anthropic_emulator.push(Reply(reply_of(with_approval(workflow.document)).text, tokens=30))
    page.get_by_label("Enhance with AI").fill("Add a manager approval before confirming.")
    page.get_by_test_id("enhance").click()
    expect(page.get_by_test_id("proposal-instruction")).to_contain_text("manager approval")
    expect(page.get_by_test_id("proposal-accept")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("diff")).to_contain_text("Approve")
    nadia.shot("02-enhancement")
    page.get_by_test_id("proposal-accept").click()
    expect(page).to_have_url(f"{live_server_url}/t/{tenant.slug}/workflows/{workflow.pk}/")
    workflow.refresh_from_db()
    assert "approve" in {node["id"] for node in workflow.document["nodes"]}
