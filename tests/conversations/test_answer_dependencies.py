"""Changing an earlier answer: what was given in its light is cleared and asked again, the
chat says which, and the same answer again clears nothing. Through the service, the page's
edit form and its socket, and the turn engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from conversations import selectors, services
from conversations.blueprints.builtin import BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import Blueprint
from conversations.interview import turn
from conversations.models import Conversation, Message
from tests.conftest import TenantUsers
from tests.conversations.test_consumer import path_of
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import open_socket

FIREWALL: dict[str, Any] = {
    "service_type": "vFirewall",
    "vendor": "Fortinet",
    "features": ["Stateful filtering", "Intrusion prevention"],
    "pricing_model": "Per user",
    "api_docs": "FortiOS REST API",
    "authentication": "API keys",
    "logging_monitoring": ["Syslog"],
}
QUESTION_DONE = 'data-role="assistant" data-state="done"'


def started(
    users: TenantUsers, answers: dict[str, Any], blueprint: Blueprint = NETWORK_SERVICE
) -> Conversation:
    conversation = services.conversation_create(tenant=users.tenant, owner=users.member, blueprint=blueprint)
    return services.answers_apply(conversation=conversation, values=answers)


def saved(conversation: Conversation) -> Conversation:
    return Conversation.objects.for_tenant(conversation.tenant).get(pk=conversation.pk)


def next_key(conversation: Conversation) -> str | None:
    field = conversation.schema().next_field(conversation.answers)
    return field.key if field else None


@pytest.mark.django_db
def test_changing_the_network_function_clears_the_features_and_asks_them_again(
    tenant_users: TenantUsers,
) -> None:
    conversation = started(tenant_users, FIREWALL)
    assert conversation.status == "complete"

    conversation, notice = services.answer_edit(
        conversation=conversation, key="service_type", value="vRouter"
    )

    assert saved(conversation).answers == {
        "service_type": "vRouter",
        "pricing_model": "Per user",
        "authentication": "API keys",
        "logging_monitoring": ["Syslog"],
    }
    assert saved(conversation).status == "gathering"
    assert next_key(conversation) == "vendor"
    assert notice.text == (
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
    )
    assert (notice.role, notice.field_key, notice.values) == (
        "notice",
        "service_type",
        {"service_type": "vRouter"},
    )
    # The vendor answered again, the features are the next open question: asked again.
    conversation = services.answers_apply(conversation=conversation, values={"vendor": "Cisco"})
    assert next_key(conversation) == "features"


@pytest.mark.django_db
def test_changing_the_vendor_clears_the_management_api_and_keeps_the_features(
    tenant_users: TenantUsers,
) -> None:
    conversation = started(tenant_users, FIREWALL)

    conversation, notice = services.answer_edit(
        conversation=conversation, key="vendor", value="Palo Alto Networks"
    )

    answers = saved(conversation).answers
    assert "api_docs" not in answers, "FortiOS REST API was given for Fortinet"
    assert answers["vendor"] == "Palo Alto Networks"
    assert answers["features"] == FIREWALL["features"]
    assert next_key(conversation) == "api_docs"
    assert notice.text == "Because you changed Vendor, I will ask again: API and integration docs."


@pytest.mark.django_db
def test_an_answer_whose_condition_fails_is_said_to_be_removed(tenant_users: TenantUsers) -> None:
    conversation = started(tenant_users, {**FIREWALL, "service_type": "vVPN", "vpn_protocols": ["WireGuard"]})

    conversation, notice = services.answer_edit(
        conversation=conversation, key="service_type", value="vRouter"
    )

    assert "vpn_protocols" not in saved(conversation).answers
    assert notice.text == (
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
        " VPN protocols no longer applies, so its answer was removed."
    )


@pytest.mark.django_db
def test_an_answer_nothing_is_based_on_changes_alone(tenant_users: TenantUsers) -> None:
    conversation = started(tenant_users, FIREWALL)

    conversation, notice = services.answer_edit(
        conversation=conversation, key="pricing_model", value="Per user"
    )
    conversation, notice = services.answer_edit(
        conversation=conversation, key="authentication", value="mTLS certificates"
    )

    assert saved(conversation).answers == {**FIREWALL, "authentication": "mTLS certificates"}
    assert saved(conversation).status == "complete"
    assert notice.text == "Changed Authentication; no other answer depended on it."


@pytest.mark.django_db
def test_an_answer_that_only_ends_a_condition_says_what_was_removed(tenant_users: TenantUsers) -> None:
    answers = {"trigger": "A webhook call", "steps": "Approve, then ship.", "human_approvals": True,
               "approval_details": "A manager, within a day."}  # fmt: skip
    conversation = started(tenant_users, answers, BUSINESS_PROCESS)

    conversation, notice = services.answer_edit(conversation=conversation, key="human_approvals", value=False)

    assert "approval_details" not in saved(conversation).answers
    assert (
        notice.text
        == "Changed Human approvals. Approval details no longer applies, so its answer was removed."
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("service_type", "vFirewall"), ("features", ["Intrusion prevention", "Stateful filtering"])],
    ids=["same value", "same options in another order"],
)
@pytest.mark.django_db
def test_the_same_answer_again_clears_nothing(key: str, value: Any, tenant_users: TenantUsers) -> None:
    conversation = started(tenant_users, FIREWALL)
    before = saved(conversation)

    conversation, notice = services.answer_edit(conversation=conversation, key=key, value=value)

    after = saved(conversation)
    assert (after.answers, after.status, after.last_activity_at) == (
        FIREWALL,
        "complete",
        before.last_activity_at,
    )
    label = NETWORK_SERVICE.labels([key])[0]
    assert notice.text == f"{label} is unchanged, so no other answer was cleared."
    assert notice.field_key == "", "nothing to ask again"


@pytest.mark.django_db
def test_a_tenants_own_dependencies_are_followed(tenant_users: TenantUsers) -> None:
    fields = [
        field.model_copy(update={"based_on": ["pricing_model"]}) if field.key == "authentication" else field
        for field in NETWORK_SERVICE.fields
    ]
    conversation = started(tenant_users, FIREWALL, NETWORK_SERVICE.model_copy(update={"fields": fields}))

    conversation, notice = services.answer_edit(
        conversation=conversation, key="pricing_model", value="Per throughput tier"
    )

    assert "authentication" not in saved(conversation).answers
    assert notice.text == "Because you changed Pricing model, I will ask again: Authentication."


@pytest.mark.django_db
def test_the_edit_form_says_what_a_change_clears(tenant_users: TenantUsers) -> None:
    conversation = started(tenant_users, FIREWALL)
    client = tenant_users.client_for(tenant_users.member)

    def form(key: str) -> str:
        url = reverse(
            "conversations:answer_edit",
            kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk, "key": key},
        )
        response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200
        return response.content.decode()

    assert (
        "Changing it clears: Vendor, Features, API and integration docs (asked again if still relevant)."
        in form("service_type")
    )
    assert "Changing it clears: API and integration docs" in form("vendor")
    assert "No other answer depends on this one." in form("authentication")


async def frames_until_match(socket: WebsocketCommunicator, done: Callable[[str], bool]) -> list[str]:
    """Everything the socket sends until a frame for which `done` holds."""
    received: list[str] = []
    while not received or not done(received[-1]):
        received.append(str(await socket.receive_from(timeout=15)))
    return received


@pytest.mark.django_db(transaction=True)
async def test_an_answer_changed_on_the_page_has_its_dependents_asked_again_over_the_socket(
    tenant_users: TenantUsers, anthropic: EmulatorServer
) -> None:
    answers = {
        key: value for key, value in FIREWALL.items() if key not in ("authentication", "logging_monitoring")
    }
    conversation = await database_sync_to_async(started)(tenant_users, answers)
    anthropic.push(Reply("How should customers authenticate to the service?\n\nWhy: it shapes the gateway."))
    socket, connected, _ = await open_socket(tenant_users.member, path_of(conversation, since=0))
    assert connected
    await frames_until_match(socket, lambda frame: QUESTION_DONE in frame)

    anthropic.push(
        Reply("Which vendor should the router run on?\n\nWhy: vendors make different routers."),
        Reply(json.dumps({"options": ["Cisco", "Juniper", "MikroTik"]})),
    )
    client = await database_sync_to_async(tenant_users.client_for)(tenant_users.member)
    url = reverse(
        "conversations:answer_edit",
        kwargs={"tenant_slug": "acme", "conversation_id": conversation.pk, "key": "service_type"},
    )
    response = await sync_to_async(client.post)(url, {"value": "vRouter"}, headers={"HX-Request": "true"})
    assert response.status_code == 204

    frames = await frames_until_match(
        socket, lambda frame: QUESTION_DONE in frame and "Which vendor" in frame
    )
    shown = "".join(frames)
    assert (
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
        in shown
    )
    current = await database_sync_to_async(saved)(conversation)
    assert set(current.answers) == {"service_type", "pricing_model"}
    question = await database_sync_to_async(selectors.current_question)(current)
    assert question is not None
    assert (question.field_key, question.options) == ("vendor", ["Cisco", "Juniper", "MikroTik"])
    # Then the composer: its chips are the vendors proposed for a router.
    await frames_until_match(socket, lambda frame: 'data-testid="chips"' in frame and "MikroTik" in frame)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_open_question_given_in_the_light_of_a_changed_answer_is_asked_again(
    tenant_users: TenantUsers, anthropic: EmulatorServer
) -> None:
    conversation = await database_sync_to_async(started)(
        tenant_users, {"service_type": "vFirewall", "pricing_model": "Per user"}
    )
    tenant_id, user_id = tenant_users.tenant.pk, tenant_users.member.pk

    async def questions() -> list[Message]:
        messages = await database_sync_to_async(lambda: list(selectors.messages_of(conversation)))()
        return [message for message in messages if message.role == Message.Role.ASSISTANT]

    anthropic.push(
        Reply("Which vendor should the firewall run on?\n\nWhy: vendors make different firewalls.")
    )
    await turn.ensure_progress(tenant_id, conversation.pk, user_id=user_id)
    assert [question.field_key for question in await questions()] == ["vendor"]

    # An answer the open question does not depend on: it stays as it was asked.
    await database_sync_to_async(services.answer_edit)(
        conversation=conversation, key="pricing_model", value="Per instance per month"
    )
    await turn.ensure_progress(tenant_id, conversation.pk, user_id=user_id)
    assert len(await questions()) == 1

    # The network function it was asked in the light of: asked again, for a router.
    anthropic.push(Reply("Which vendor should the router run on?\n\nWhy: vendors make different routers."))
    await database_sync_to_async(services.answer_edit)(
        conversation=conversation, key="service_type", value="vRouter"
    )
    await turn.ensure_progress(tenant_id, conversation.pk, user_id=user_id)
    asked = await questions()
    assert [question.field_key for question in asked] == ["vendor", "vendor"]
    assert asked[-1].text.startswith("Which vendor should the router run on?")
    await turn.ensure_progress(tenant_id, conversation.pk, user_id=user_id)
    assert len(await questions()) == 2, "asked again once"
