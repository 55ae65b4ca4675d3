"""Generating a workflow where no model can write one (the starter workflow), and what a
failed generation offers: retry, a hint, the starter."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conversations.models import Conversation
from providers import services as provider_services
from providers.interface import Task
from providers.models import ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError
from tests.emulators.server import EmulatorServer
from tests.workflows.proposal_fixtures import (
    anthropic,
    anthropic_emulator,
    anthropic_emulator_server,
    conversation,
    draft,
    fast_gateway,
    forget_proposal_frames,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
    run_tasks_inline,
)
from workflows import tasks
from workflows.models import Workflow, WorkflowProposal
from workflows.proposals import services as proposal_services
from workflows.proposals.starter import STARTER_PROVIDER

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "conversation", "draft", "fast_gateway",
    "forget_proposal_frames", "fresh_gateway_state", "model_prices", "openai_emulator",
    "openai_emulator_server", "platform", "run_tasks_inline",
]  # fmt: skip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("run_tasks_inline")]

State = WorkflowProposal.State
TEMPLATE_NOTICE = (
    "A starter workflow built from your answers without a model: edit it, or add a provider that can "
    "write workflows for a tailored one."
)


def generate_url(conversation: Conversation, *, starter: bool = False) -> str:
    name = "workflows:workflow_generate_starter" if starter else "workflows:workflow_generate"
    return reverse(name, kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk})


def proposal_url(proposal_id: int, action: str = "") -> str:
    name = f"workflows:workflow_proposal_{action}" if action else "workflows:workflow_proposal"
    return reverse(name, kwargs={"tenant_slug": "acme", "proposal_id": proposal_id})


def proposals(tenant_users: TenantUsers) -> list[WorkflowProposal]:
    return list(WorkflowProposal.objects.for_tenant(tenant_users.tenant).order_by("pk"))


def text_of(html: str) -> str:
    """What a reader sees: the page's words without its tags."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The proposal tasks sent to Celery, instead of being sent."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.run_workflow_proposal, "delay", lambda *args: sent.append(args))
    return sent


def test_without_a_fit_provider_one_click_gives_the_starter_workflow_without_a_model(
    tenant_users: TenantUsers, conversation: Conversation, enqueued: list[tuple[Any, ...]]
) -> None:
    """No provider keys: only the embedded model, which is not fit to write workflows."""
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(generate_url(conversation), headers={"HX-Request": "true"})

    [proposal] = proposals(tenant_users)
    assert response["HX-Redirect"] == proposal_url(proposal.pk)
    assert (proposal.state, proposal.provider, proposal.attempts) == (State.READY, STARTER_PROVIDER, 0)
    assert enqueued == [], "no job: nothing waits for a model"
    assert not ProviderLog.objects.for_tenant(tenant_users.tenant).exists(), "no model was called"
    assert proposal.error_findings == []
    document = proposal.document
    assert document is not None
    assert document["name"] == "Order fulfilment"
    labels = [node["label"] for node in document["nodes"]]
    assert labels[0] == "Start: A webhook call"
    assert labels[1:4] == ["Check the order's stock", "Charge the card", "Send a confirmation email"]
    assert labels[-1] == "Finish: report the outcome"

    page = client.get(proposal_url(proposal.pk)).content.decode()
    assert TEMPLATE_NOTICE in text_of(page)
    assert 'data-testid="proposal-made-by"' in page
    providers = reverse("providers:provider_list", kwargs={"tenant_slug": "acme"})
    assert f'href="{providers}#add-heading"' in page
    assert "Anthropic or OpenAI key" in page
    assert "Built the starter workflow from your answers, without a model." in page
    assert "Open it in the editor as a new draft" in page


def test_the_starter_proposal_is_accepted_and_edited_like_any(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    client.post(generate_url(conversation))
    [proposal] = proposals(tenant_users)

    response = client.post(proposal_url(proposal.pk, "accept"))

    workflow = Workflow.objects.for_tenant(tenant_users.tenant).get()
    editor = reverse("workflows:workflow_detail", kwargs={"tenant_slug": "acme", "workflow_id": workflow.pk})
    assert response["Location"] == editor
    assert workflow.source_conversation_id == conversation.pk
    assert proposal.document is not None
    assert [node["id"] for node in workflow.document["nodes"]] == [
        node["id"] for node in proposal.document["nodes"]
    ]
    assert client.get(editor).status_code == 200


def test_a_provider_declared_unfit_for_workflows_also_gives_the_starter(
    tenant_users: TenantUsers, conversation: Conversation, anthropic_emulator: EmulatorServer
) -> None:
    """The tenant's only provider for workflows is declared fit for extraction only (a small model)."""
    provider_services.credential_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="small-model",
        kind="anthropic",
        api_key="sk-ant-small-0123456789",
        default_model="tiny",
        base_url=anthropic_emulator.base_url,
        capabilities=["extraction"],
    )
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.WORKFLOW, targets=[{"provider": "small-model"}]
    )

    tenant_users.client_for(tenant_users.member).post(generate_url(conversation))

    [proposal] = proposals(tenant_users)
    assert (proposal.state, proposal.provider) == (State.READY, STARTER_PROVIDER)
    assert anthropic_emulator.requests == []


def test_a_run_asks_only_providers_fit_to_write_workflows(
    tenant_users: TenantUsers, conversation: Conversation, anthropic_emulator: EmulatorServer
) -> None:
    """A proposal queued while a fit provider was there, run once only an unfit one is left:
    the gateway refuses at once (generation says what it needs) and the page offers the starter."""
    provider_services.credential_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="small-model",
        kind="anthropic",
        api_key="sk-ant-small-0123456789",
        default_model="tiny",
        base_url=anthropic_emulator.base_url,
        capabilities=["extraction"],
    )
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.WORKFLOW, targets=[{"provider": "small-model"}]
    )
    base = {"id": "5b0f3c2e-8d4a-4f7e-9c1b-2a6d8e4f1c30", "name": "Order fulfilment", "version": 1}
    queued = WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document={**base, "nodes": [], "edges": [], "variables": [], "triggers": []},
        run_token="lease",
    )

    finished = proposal_services.proposal_run(proposal_id=queued.pk, lease="lease")

    assert finished is not None
    assert (finished.state, finished.error_code) == (State.FAILED, "not_capable")
    assert anthropic_emulator.requests == [], "the unfit model was never asked"
    page = tenant_users.client_for(tenant_users.member).get(proposal_url(finished.pk)).content.decode()
    assert "no provider here is fit to write workflows" in page
    assert 'data-testid="proposal-use-starter"' in page


def test_a_failed_generation_says_why_and_offers_a_retry_a_hint_and_the_starter(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(HttpError(500), HttpError(500), HttpError(500))
    client = tenant_users.client_for(tenant_users.member)
    client.post(generate_url(conversation))
    [failed] = proposals(tenant_users)
    assert failed.state == State.FAILED

    page = client.get(proposal_url(failed.pk)).content.decode()

    assert "No workflow was generated: the provider failed." in page
    assert 'data-testid="proposal-hint"' in page
    assert "Retry in a moment, or use the starter workflow built from your answers" in page
    retry = f'action="{generate_url(conversation)}"'
    use_starter = f'action="{generate_url(conversation, starter=True)}"'
    assert retry in page
    assert use_starter in page
    viewer_page = tenant_users.client_for(tenant_users.viewer).get(proposal_url(failed.pk)).content.decode()
    assert 'data-testid="proposal-retry"' not in viewer_page
    assert "Your role can see this proposal but not try it again." in viewer_page

    # The starter, asked for there, is ready at once and calls no model.
    response = client.post(generate_url(conversation, starter=True))

    starter = proposals(tenant_users)[-1]
    assert response["Location"] == proposal_url(starter.pk)
    assert (starter.state, starter.provider) == (State.READY, STARTER_PROVIDER)
    assert len(anthropic.requests) == 3, "only the failed run's attempts"

    # Retrying asks the model again, as a new proposal.
    anthropic.push(HttpError(500), HttpError(500), HttpError(500))
    client.post(generate_url(conversation))
    retried = proposals(tenant_users)[-1]
    assert (len(proposals(tenant_users)), retried.state, retried.error_code) == (
        3,
        State.FAILED,
        "server_error",
    )
    assert len(anthropic.requests) > 3, "the model was asked again"


def test_a_timed_out_model_reads_as_one_sentence_with_the_code_apart(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    timed_out = WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document={},
        state=State.FAILED,
        error_code="timeout",
        error_message="the embedded model's generation exceeded the 60 s timeout",
        provider="embedded",
        attempts=1,
    )
    client: Client = tenant_users.client_for(tenant_users.member)

    words = text_of(client.get(proposal_url(timed_out.pk)).content.decode())

    assert "timeout timeout" not in words
    assert "The embedded model's generation exceeded the 60 s timeout." in words
    assert "Error code: timeout" in words
    assert "Failed: the provider did not answer in time. The embedded model's" in words
    assert (
        "The model took longer than it is given to answer: retry, or use the starter workflow built "
        "from your answers, and edit it."
    ) in words
    assert "Retry" in words
    assert "Use the starter workflow" in words


def test_a_failed_enhancement_offers_the_same_instruction_again(
    tenant_users: TenantUsers, draft: Workflow
) -> None:
    failed = WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.ENHANCE,
        workflow=draft,
        instruction='Add an approval "now"',
        base_document={},
        state=State.FAILED,
        error_code="overloaded",
        error_message="the provider is overloaded",
    )

    page = tenant_users.client_for(tenant_users.member).get(proposal_url(failed.pk)).content.decode()

    enhance = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    assert f'action="{enhance}"' in page
    assert 'name="instruction" value="Add an approval &quot;now&quot;"' in page
    assert "make the change yourself in the editor" in page
    assert 'data-testid="proposal-use-starter"' not in page
