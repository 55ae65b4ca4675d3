"""The AI pages of workflows: generate, enhance, the proposal page, accept and reject."""

from __future__ import annotations

import copy
import re

import pytest
from django.test import Client
from django.urls import reverse

from conversations.models import Conversation
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError
from tests.emulators.server import EmulatorServer
from tests.workflows.proposal_fixtures import (
    anthropic,
    anthropic_emulator,
    anthropic_emulator_server,
    conversation,
    cyclic_flow,
    draft,
    fast_gateway,
    forget_proposal_frames,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    order_flow,
    platform,
    reply_of,
    run_tasks_inline,
    with_approval,
)
from workflows import services as workflow_services
from workflows.models import Workflow, WorkflowChange, WorkflowProposal

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "conversation", "draft", "fast_gateway",
    "forget_proposal_frames", "fresh_gateway_state", "model_prices", "openai_emulator",
    "openai_emulator_server", "platform", "run_tasks_inline",
]  # fmt: skip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("run_tasks_inline")]

State = WorkflowProposal.State


def generate_url(conversation: Conversation) -> str:
    return reverse(
        "workflows:workflow_generate", kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk}
    )


def proposal_url(proposal_id: int, action: str = "") -> str:
    name = f"workflows:workflow_proposal_{action}" if action else "workflows:workflow_proposal"
    return reverse(name, kwargs={"tenant_slug": "acme", "proposal_id": proposal_id})


def editor_url(workflow_id: int) -> str:
    return reverse("workflows:workflow_detail", kwargs={"tenant_slug": "acme", "workflow_id": workflow_id})


def only_proposal(tenant_users: TenantUsers) -> WorkflowProposal:
    return WorkflowProposal.objects.for_tenant(tenant_users.tenant).get()


def start_generating(
    client: Client, conversation: Conversation, tenant_users: TenantUsers
) -> WorkflowProposal:
    response = client.post(generate_url(conversation))
    proposal = only_proposal(tenant_users)
    assert response.status_code == 302
    assert response["Location"] == proposal_url(proposal.pk)
    return proposal


def conversation_url(conversation: Conversation) -> str:
    return reverse(
        "conversations:conversation_detail",
        kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk},
    )


def test_the_finished_interview_offers_generating_as_one_button_that_posts(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    body = tenant_users.client_for(tenant_users.member).get(conversation_url(conversation)).content.decode()

    form = re.search(
        r'<form class="inline" method="post" action="([^"]+)" hx-post="([^"]+)">(.*?)</form>', body
    )
    assert form is not None, "a button, not a link to a page with a second button"
    assert form.group(1) == form.group(2) == generate_url(conversation)
    assert "csrfmiddlewaretoken" in form.group(3)
    assert ">Generate workflow</button>" in form.group(3)
    assert f'href="{generate_url(conversation)}"' not in body


def test_one_click_from_the_interview_creates_the_proposal_and_lands_on_it(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow()))
    client = tenant_users.client_for(tenant_users.member)

    # As the conversation page's button sends it: through htmx, which follows HX-Redirect.
    response = client.post(generate_url(conversation), headers={"HX-Request": "true"})

    proposal = only_proposal(tenant_users)
    assert response.status_code == 200
    assert response["HX-Redirect"] == proposal_url(proposal.pk)
    assert (proposal.conversation_id, proposal.created_by) == (conversation.pk, tenant_users.member)
    assert proposal.state == State.READY, "the model's workflow (the task ran inline)"
    assert len(anthropic.requests) == 1
    page = client.get(proposal_url(proposal.pk)).content.decode()
    assert 'data-testid="proposal-valid"' in page
    assert 'data-testid="proposal-starter"' not in page


def test_the_old_confirm_page_shows_the_conversation_instead(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    response = tenant_users.client_for(tenant_users.viewer).get(generate_url(conversation))
    outsider = tenant_users.client_for(tenant_users.outsider).get(generate_url(conversation))

    assert response.status_code == 302
    assert response["Location"] == conversation_url(conversation)
    assert outsider.status_code == 404
    assert not WorkflowProposal.objects.for_tenant(tenant_users.tenant).exists()


def test_viewers_and_outsiders_cannot_start_generating(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    starter_url = reverse(
        "workflows:workflow_generate_starter",
        kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk},
    )
    viewer = tenant_users.client_for(tenant_users.viewer)
    outsider = tenant_users.client_for(tenant_users.outsider)

    assert viewer.post(generate_url(conversation)).status_code == 403
    assert viewer.post(starter_url).status_code == 403
    assert outsider.post(generate_url(conversation)).status_code == 404
    assert outsider.post(starter_url).status_code == 404
    assert not WorkflowProposal.objects.for_tenant(tenant_users.tenant).exists()


def test_an_incomplete_conversation_is_refused_with_a_clear_message(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    Conversation.objects.for_tenant(tenant_users.tenant).filter(pk=conversation.pk).update(status="gathering")
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(generate_url(conversation))
    through_htmx = client.post(generate_url(conversation), headers={"HX-Request": "true"})

    assert response.status_code == 409
    assert "The interview is not complete yet" in response.content.decode()
    assert through_htmx.status_code == 409
    assert through_htmx["HX-Redirect"] == conversation_url(conversation)
    shown = client.get(conversation_url(conversation)).content.decode()
    assert "The interview is not complete yet" in shown, "the message waits on the page it sends back to"
    assert not WorkflowProposal.objects.for_tenant(tenant_users.tenant).exists()


def test_generating_then_accepting_creates_a_draft_linked_to_the_conversation(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow()))
    client = tenant_users.client_for(tenant_users.member)

    proposal = start_generating(client, conversation, tenant_users)

    assert proposal.state == State.READY
    page = client.get(proposal_url(proposal.pk)).content.decode()
    assert "ws-connect" not in page, "a finished proposal renders from the database, without a socket"
    assert 'data-testid="proposal-valid"' in page
    assert page.count('data-testid="diff-change" data-kind="added"') == 6, "3 nodes, 2 edges, 1 variable"
    assert 'data-testid="proposal-accept"' in page
    assert "Ready after 1 attempt." in page

    response = client.post(proposal_url(proposal.pk, "accept"))

    workflow = Workflow.objects.for_tenant(tenant_users.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == editor_url(workflow.pk)
    assert workflow.source_conversation_id == conversation.pk
    assert str(workflow.uuid) == proposal.base_document["id"]
    assert [node["id"] for node in workflow.document["nodes"]] == ["check_stock", "charge", "confirm"]
    assert workflow.created_by == tenant_users.member
    accepted = only_proposal(tenant_users)
    assert (accepted.state, accepted.workflow_id, accepted.decided_by) == (
        State.ACCEPTED,
        workflow.pk,
        tenant_users.member,
    )
    again = client.post(proposal_url(proposal.pk, "accept"))
    assert again.status_code == 409
    assert "only a ready one can be accepted" in again.content.decode()
    assert Workflow.objects.for_tenant(tenant_users.tenant).count() == 1


def test_a_proposal_with_errors_left_says_it_can_still_be_accepted_into_a_draft(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(cyclic_flow()), reply_of(cyclic_flow()), reply_of(cyclic_flow()))
    client = tenant_users.client_for(tenant_users.member)
    proposal = start_generating(client, conversation, tenant_users)

    page = client.get(proposal_url(proposal.pk)).content.decode()

    assert "still has 1 error after 3 attempts" in page
    assert "a draft may be invalid" in page
    assert 'data-code="cyclic_graph"' in page
    assert 'data-testid="proposal-accept"' in page
    assert client.post(proposal_url(proposal.pk, "accept")).status_code == 302
    assert Workflow.objects.for_tenant(tenant_users.tenant).count() == 1


def test_a_failed_proposal_shows_the_reason_and_offers_nothing_to_accept(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(HttpError(500), HttpError(500), HttpError(500))
    client = tenant_users.client_for(tenant_users.member)
    proposal = start_generating(client, conversation, tenant_users)

    page = client.get(proposal_url(proposal.pk)).content.decode()

    assert proposal.state == State.FAILED
    assert 'data-testid="proposal-error"' in page
    assert "the provider failed" in page
    assert "server_error" in page
    assert 'data-testid="proposal-accept"' not in page
    assert client.post(proposal_url(proposal.pk, "accept")).status_code == 409


def test_labels_from_a_compromised_model_are_escaped_on_the_page(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    hostile = order_flow()
    hostile["nodes"][0]["label"] = '<script>alert("pwned")</script>'
    hostile["nodes"][1]["config"]["onload"] = "<img src=x onerror=alert(1)>"
    anthropic.push(reply_of(hostile))
    client = tenant_users.client_for(tenant_users.member)
    proposal = start_generating(client, conversation, tenant_users)

    page = client.get(proposal_url(proposal.pk)).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "onerror" not in page, "unknown fields are dropped, not shown"
    assert 'data-code="unknown_field"' in page


def test_enhancing_validates_the_instruction_at_the_edge(tenant_users: TenantUsers, draft: Workflow) -> None:
    url = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    client = tenant_users.client_for(tenant_users.member)

    empty = client.post(url, {"instruction": "   "})
    too_long = client.post(url, {"instruction": "x" * 4001})

    assert empty.status_code == 422
    assert "Describe the change you want." in empty.content.decode()
    assert too_long.status_code == 422
    assert "limited to 4000 characters" in too_long.content.decode()
    assert not WorkflowProposal.objects.for_tenant(tenant_users.tenant).exists()
    assert client.get(url).status_code == 405


def test_an_enhancement_is_applied_as_one_undoable_change(
    tenant_users: TenantUsers, draft: Workflow, anthropic: EmulatorServer
) -> None:
    before = copy.deepcopy(draft.document)
    anthropic.push(reply_of(with_approval(draft.document)))
    client = tenant_users.client_for(tenant_users.member)
    url = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})

    response = client.post(url, {"instruction": "Add a manager approval before confirming."})

    proposal = only_proposal(tenant_users)
    assert response["Location"] == proposal_url(proposal.pk)
    page = client.get(proposal_url(proposal.pk)).content.decode()
    assert "Add a manager approval before confirming." in page
    assert 'data-key="approve"' in page
    assert "Apply to the draft" in page

    accepted = client.post(proposal_url(proposal.pk, "accept"))

    assert accepted["Location"] == editor_url(draft.pk)
    workflow = Workflow.objects.for_tenant(tenant_users.tenant).get(pk=draft.pk)
    assert "approve" in {node["id"] for node in workflow.document["nodes"]}
    change = WorkflowChange.objects.for_tenant(tenant_users.tenant).get(workflow=workflow)
    assert change.summary == "Enhanced with AI: Add a manager approval before confirming."
    workflow_services.workflow_undo(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.document == before


def test_accepting_is_refused_when_the_draft_changed_since_the_proposal(
    tenant_users: TenantUsers, draft: Workflow, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(with_approval(draft.document)))
    client = tenant_users.client_for(tenant_users.member)
    url = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    client.post(url, {"instruction": "Add a manager approval."})
    proposal = only_proposal(tenant_users)
    edited = workflow_services.workflow_rename(workflow=draft, actor=tenant_users.owner, name="Orders v2")

    response = client.post(proposal_url(proposal.pk, "accept"))

    assert response.status_code == 409
    assert "The draft has changed since this proposal was made" in response.content.decode()
    workflow = Workflow.objects.for_tenant(tenant_users.tenant).get(pk=draft.pk)
    assert workflow.document == edited.document
    assert only_proposal(tenant_users).state == State.READY, "it can still be rejected"


def test_a_publish_alone_does_not_make_the_proposal_stale(
    tenant_users: TenantUsers, draft: Workflow, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(with_approval(draft.document)))
    client = tenant_users.client_for(tenant_users.member)
    url = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    client.post(url, {"instruction": "Add a manager approval."})
    workflow_services.workflow_publish(workflow=draft, actor=tenant_users.owner)

    assert client.post(proposal_url(only_proposal(tenant_users).pk, "accept")).status_code == 302


def test_rejecting_leaves_the_draft_as_it_was(
    tenant_users: TenantUsers, draft: Workflow, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(with_approval(draft.document)))
    client = tenant_users.client_for(tenant_users.member)
    url = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    client.post(url, {"instruction": "Add a manager approval."})
    proposal = only_proposal(tenant_users)

    response = client.post(proposal_url(proposal.pk, "reject"))

    assert response["Location"] == proposal_url(proposal.pk)
    assert only_proposal(tenant_users).state == State.REJECTED
    assert Workflow.objects.for_tenant(tenant_users.tenant).get(pk=draft.pk).document == draft.document
    page = client.get(proposal_url(proposal.pk)).content.decode()
    assert 'data-testid="proposal-decision"' in page
    assert "Rejected" in page
    assert 'data-testid="proposal-accept"' not in page


def test_viewers_review_proposals_but_cannot_decide_them(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow()))
    proposal = start_generating(tenant_users.client_for(tenant_users.member), conversation, tenant_users)
    viewer = tenant_users.client_for(tenant_users.viewer)

    page = viewer.get(proposal_url(proposal.pk)).content.decode()

    assert 'data-testid="diff"' in page
    assert 'data-testid="proposal-accept"' not in page
    assert "Your role can review this proposal" in page
    assert viewer.post(proposal_url(proposal.pk, "accept")).status_code == 403
    assert viewer.post(proposal_url(proposal.pk, "reject")).status_code == 403
    assert only_proposal(tenant_users).state == State.READY


def test_the_buttons_a_frame_announces_are_fetched_for_the_reader(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    anthropic.push(reply_of(order_flow()))
    proposal = start_generating(tenant_users.client_for(tenant_users.member), conversation, tenant_users)
    headers = {"HX-Request": "true", "HX-Target": "proposal-actions"}

    member = tenant_users.client_for(tenant_users.member).get(proposal_url(proposal.pk), headers=headers)
    viewer = tenant_users.client_for(tenant_users.viewer).get(proposal_url(proposal.pk), headers=headers)

    member_html, viewer_html = member.content.decode(), viewer.content.decode()
    assert member_html.lstrip().startswith('<div id="proposal-actions"')
    assert "csrfmiddlewaretoken" in member_html
    assert 'data-testid="proposal-accept"' in member_html
    assert 'data-testid="proposal-accept"' not in viewer_html


def test_a_running_proposals_page_follows_its_socket(tenant_users: TenantUsers, draft: Workflow) -> None:
    proposal = WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.ENHANCE,
        workflow=draft,
        instruction="Add a timer.",
        base_document=draft.document,
        state=State.RUNNING,
        attempts=2,
        provider="anthropic",
        model="claude-sonnet-5-5",
    )

    page = tenant_users.client_for(tenant_users.viewer).get(proposal_url(proposal.pk)).content.decode()

    assert f'ws-connect="/ws/t/acme/workflows/proposals/{proposal.pk}/?since=0"' in page
    assert 'id="proposal-seq" data-seq="0"' in page
    assert "attempt 2 of 3" in page
    assert "anthropic · claude-sonnet-5-5" in page
    assert 'data-testid="proposal-waiting"' in page


def test_the_editor_offers_enhancing_to_members_only(tenant_users: TenantUsers, draft: Workflow) -> None:
    member_page = tenant_users.client_for(tenant_users.member).get(editor_url(draft.pk)).content.decode()
    viewer_page = tenant_users.client_for(tenant_users.viewer).get(editor_url(draft.pk)).content.decode()
    action = reverse("workflows:workflow_enhance", kwargs={"tenant_slug": "acme", "workflow_id": draft.pk})
    assert f'action="{action}"' in member_page
    assert 'data-testid="enhance-form"' not in viewer_page
