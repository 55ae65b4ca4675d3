"""The "Generate service" page: the requirements, the options, the quota; starting one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from codegen.models import Generation
from conversations.models import Conversation
from providers import services as provider_services
from providers.interface import Task
from tenants.models import Tenant
from tests.codegen.fixtures import Message, sent
from tests.codegen.views.builders import create, forget_generation_frames
from tests.conftest import TenantUsers
from tests.workflows.proposal_fixtures import complete_conversation, order_flow
from workflows import services as workflow_services

__all__ = ["forget_generation_frames", "sent"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(tenant_users: TenantUsers) -> Conversation:
    return complete_conversation(tenant_users)


def new_url(conversation: Conversation, slug: str = "acme") -> str:
    return reverse("codegen:generation_new", kwargs={"tenant_slug": slug, "conversation_id": conversation.pk})


def only_generation(tenant_users: TenantUsers) -> Generation:
    return Generation.objects.for_tenant(tenant_users.tenant).get()


def form(**fields: str) -> dict[str, str]:
    return {
        "target": "python-fastapi",
        "include_tests": "on",
        "include_docs": "on",
        "mode": "template",
        **fields,
    }


def test_it_shows_the_requirements_options_and_quota(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    response = tenant_users.client_for(tenant_users.member).get(new_url(conversation))
    assert response.status_code == 200
    body = response.content.decode()
    assert "charge the card" in body
    assert 'data-testid="generate"' in body
    assert '<option value="python-fastapi" selected>' in body
    assert "1 of 1 generation left this month (Free plan)." in body
    # No provider that can write code: templates are the default, the model is offered disabled.
    assert 'value="template" checked' in body
    assert 'value="model" disabled' in body
    assert 'data-testid="generate-no-model"' in body


def test_the_conversation_page_offers_generating_a_service(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    url = reverse(
        "conversations:conversation_detail",
        kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk},
    )
    body = tenant_users.client_for(tenant_users.member).get(url).content.decode()
    assert f'href="{new_url(conversation)}">Generate service</a>' in body


def test_a_viewer_sees_the_page_without_the_form_and_cannot_post(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    client = tenant_users.client_for(tenant_users.viewer)
    body = client.get(new_url(conversation)).content.decode()
    assert "charge the card" in body
    assert 'data-testid="generate-form"' not in body
    assert client.post(new_url(conversation), form()).status_code == 403
    assert not Generation.objects.for_tenant(tenant_users.tenant).exists()
    assert sent == []


def test_an_outsider_gets_404(tenant_users: TenantUsers, conversation: Conversation) -> None:
    client = tenant_users.client_for(tenant_users.outsider)
    assert client.get(new_url(conversation)).status_code == 404
    assert client.get(new_url(conversation, slug="globex")).status_code == 404
    assert client.post(new_url(conversation, slug="globex"), form()).status_code == 404


def test_posting_starts_a_generation_with_the_options_and_opens_its_page(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    response = tenant_users.client_for(tenant_users.member).post(new_url(conversation), form())
    generation = only_generation(tenant_users)
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/generations/{generation.pk}/"
    assert (generation.conversation_id, generation.mode, generation.target) == (
        conversation.pk,
        "template",
        "python-fastapi",
    )
    assert (generation.include_tests, generation.include_docs, generation.include_deployment) == (
        True,
        True,
        False,
    )
    assert generation.created_by == tenant_users.member
    assert sent == [(generation.pk, generation.run_token)]


def test_a_published_workflow_version_can_be_chosen(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    workflow = workflow_services.workflow_create(
        tenant=tenant_users.tenant, actor=tenant_users.member, name="Orders", document=order_flow()
    )
    version = workflow_services.workflow_publish(workflow=workflow, actor=tenant_users.member, note="")
    client = tenant_users.client_for(tenant_users.member)
    assert (
        f'<option value="{version.pk}">Orders · version 1</option>'
        in client.get(new_url(conversation)).content.decode()
    )

    client.post(new_url(conversation), form(workflow_version=str(version.pk)))

    generation = only_generation(tenant_users)
    assert generation.workflow_version_id == version.pk
    assert generation.workflow_document is not None


def test_over_the_quota_the_form_comes_back_with_the_reason(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    client.post(new_url(conversation), form())  # the free plan's one generation this month
    page = client.get(new_url(conversation)).content.decode()
    assert "0 of 1 generation left this month: more from" in page
    assert 'data-testid="generate" disabled' in page

    response = client.post(new_url(conversation), form())

    assert response.status_code == 409
    body = response.content.decode()
    assert "The Free plan includes 1 generation a month, and it has been used." in body
    assert Generation.objects.for_tenant(tenant_users.tenant).count() == 1
    assert len(sent) == 1


def test_an_incomplete_interview_is_refused(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    Conversation.objects.for_tenant(tenant_users.tenant).filter(pk=conversation.pk).update(status="gathering")
    client = tenant_users.client_for(tenant_users.member)
    assert 'data-testid="generate-incomplete"' in client.get(new_url(conversation)).content.decode()
    response = client.post(new_url(conversation), form())
    assert response.status_code == 409
    assert "The interview is not complete yet" in response.content.decode()
    assert sent == []


def test_the_model_mode_needs_a_capable_model(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    response = tenant_users.client_for(tenant_users.member).post(new_url(conversation), form(mode="model"))
    assert response.status_code == 422
    assert "No AI model that can write code is set up" in response.content.decode()
    assert sent == []


def test_with_a_capable_model_routed_the_model_mode_is_the_default(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    provider_services.credential_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="team-anthropic",
        kind="anthropic",
        api_key="sk-ant-views-0123456789",
        default_model="claude-sonnet-5-5",
        base_url="http://127.0.0.1:9",  # never called: only the route is read
    )
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.CODEGEN, targets=[{"provider": "team-anthropic"}]
    )
    client = tenant_users.client_for(tenant_users.member)
    body = client.get(new_url(conversation)).content.decode()
    assert 'value="model" checked' in body
    assert 'data-testid="generate-no-model"' not in body

    client.post(new_url(conversation), form(mode="model"))

    assert only_generation(tenant_users).mode == Generation.Mode.MODEL


def test_earlier_generations_of_the_interview_are_listed(
    tenant_users: TenantUsers, conversation: Conversation
) -> None:
    generation = create(tenant_users, conversation=conversation)
    Tenant.objects.filter(pk=tenant_users.tenant.pk).update(plan="enterprise")
    body = tenant_users.client_for(tenant_users.member).get(new_url(conversation)).content.decode()
    assert 'data-testid="earlier-generations"' in body
    assert f'href="/t/acme/generations/{generation.pk}/"' in body
    assert "Unlimited generations on the Enterprise plan." in body
