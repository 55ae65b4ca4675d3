"""No provider keys, only the embedded model (not fit to write workflows): a business user
finishes an interview, generates a workflow in one click, gets the starter workflow built
from the answers (said to be a template), and opens it in the editor. Real Chromium, daphne."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from conversations import services as conversation_services
from conversations.blueprints.builtin import BUSINESS_PROCESS
from providers.models import ProviderLog
from tenants.models import Tenant, User
from tests.browser.test_conversation_journeys import sign_up
from tests.workflows.proposal_fixtures import ANSWERS
from workflows.models import Workflow, WorkflowProposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def shots(person: Any, page: Page, step: str) -> None:
    """The page at desktop and phone widths."""
    for name, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        person.shot(f"{step}-{name}")
    page.set_viewport_size(DESKTOP)


def test_offline_one_click_gives_the_starter_workflow_which_opens_in_the_editor(
    people: Any, live_server_url: str
) -> None:
    nadia = people("nadia")
    page = nadia.page
    page.set_viewport_size(DESKTOP)
    sign_up(page, "Offline Logistics", "nadia@offline-logistics.test")
    tenant = Tenant.objects.get(name="Offline Logistics")
    conversation = conversation_services.conversation_create(
        tenant=tenant,
        owner=User.objects.get(email="nadia@offline-logistics.test"),
        blueprint=BUSINESS_PROCESS,
        title="Order fulfilment",
    )
    # Every answer but the last, which is given on the page.
    answers = {key: value for key, value in ANSWERS.items() if key != "error_handling"}
    answers |= {"human_approvals": True, "approval_details": "A manager approves orders over 1000 EUR."}
    conversation_services.answers_apply(conversation=conversation, values=answers)

    page.goto(f"/t/{tenant.slug}/services/{conversation.pk}/")
    page.get_by_test_id("chips").get_by_role("button", name="Stop and alert").click(timeout=60_000)
    # The finished interview's panel comes in a frame, its button with it.
    expect(page.get_by_test_id("complete")).to_be_visible(timeout=60_000)
    generate = page.get_by_role("button", name="Generate workflow")
    expect(generate).to_be_visible()
    shots(nadia, page, "01-interview-complete")

    generate.click()

    expect(page).to_have_url(re.compile(rf"/t/{tenant.slug}/workflows/proposals/\d+/$"))
    notice = page.get_by_test_id("proposal-starter")
    expect(notice).to_contain_text(
        "A starter workflow built from your answers without a model: edit it, or add a provider that can "
        "write workflows for a tailored one."
    )
    expect(notice.get_by_role("link", name="Providers")).to_have_attribute(
        "href", f"/t/{tenant.slug}/providers/#add-heading"
    )
    expect(page.get_by_test_id("proposal-state")).to_have_text("Ready")
    expect(page.get_by_test_id("proposal-made-by")).to_have_text("starter template · no model")
    expect(page.get_by_test_id("proposal-valid")).to_be_visible()
    expect(page.get_by_test_id("diff")).to_contain_text("Ask for approval")
    proposal = WorkflowProposal.objects.for_tenant(tenant).get()
    assert not ProviderLog.objects.for_tenant(tenant).filter(task="workflow").exists(), "no model was asked"
    shots(nadia, page, "02-starter-proposal")

    page.get_by_role("button", name="Open it in the editor as a new draft").click()

    workflow = Workflow.objects.for_tenant(tenant).get()
    expect(page).to_have_url(f"{live_server_url}/t/{tenant.slug}/workflows/{workflow.pk}/")
    expect(page.get_by_role("heading", name="Order fulfilment")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Start: A webhook call")
    expect(page.locator("body")).to_contain_text("Check the order's stock")
    assert workflow.source_conversation_id == conversation.pk
    assert proposal.document is not None
    assert len(workflow.document["nodes"]) == len(proposal.document["nodes"])
    shots(nadia, page, "03-editor")


def test_a_timed_out_generation_offers_a_retry_a_hint_and_the_starter(
    people: Any, live_server_url: str
) -> None:
    """The embedded model's timeout as it was reported (issue 14): one clear sentence, the
    code apart, and the ways on."""
    nadia = people("nadia")
    page = nadia.page
    page.set_viewport_size(DESKTOP)
    sign_up(page, "Slow Logistics", "nadia@slow-logistics.test")
    tenant = Tenant.objects.get(name="Slow Logistics")
    conversation = conversation_services.conversation_create(
        tenant=tenant,
        owner=User.objects.get(email="nadia@slow-logistics.test"),
        blueprint=BUSINESS_PROCESS,
        title="Order fulfilment",
    )
    conversation_services.answers_apply(conversation=conversation, values=dict(ANSWERS))
    now = timezone.now()
    failed = WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document={},
        state=WorkflowProposal.State.FAILED,
        provider="embedded",
        model="smollm2-135m-instruct",
        attempts=1,
        error_code="timeout",
        error_message="the embedded model's generation exceeded the 60 s timeout",
        created_by=User.objects.get(email="nadia@slow-logistics.test"),
        started_at=now,
        finished_at=now,
    )

    page.goto(f"/t/{tenant.slug}/workflows/proposals/{failed.pk}/")

    error = page.get_by_test_id("proposal-error")
    expect(error).to_contain_text("No workflow was generated: the provider did not answer in time.")
    expect(error).to_contain_text("The embedded model's generation exceeded the 60 s timeout.")
    expect(error).not_to_contain_text("timeout timeout")
    expect(page.get_by_test_id("proposal-hint")).to_have_text(
        "The model took longer than it is given to answer: retry, or use the starter workflow built from "
        "your answers, and edit it."
    )
    expect(page.get_by_test_id("proposal-retry")).to_be_visible()
    shots(nadia, page, "01-timed-out")

    page.get_by_test_id("proposal-use-starter").click()

    expect(page.get_by_test_id("proposal-starter")).to_be_visible()
    expect(page.get_by_test_id("proposal-outline")).to_contain_text("Check the order's stock")
    assert WorkflowProposal.objects.for_tenant(tenant).count() == 2
