"""Services pages: the list, starting a service, the interview page, answer edits, the download."""

from __future__ import annotations

import json
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from conversations import selectors, services, streams
from conversations.blueprints.builtin import BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import SKIPPED
from conversations.models import Conversation, Message
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

VPN_ANSWERS: dict[str, object] = {
    "service_type": "vVPN",
    "vendor": "Fortinet",
    "vpn_protocols": ["WireGuard"],
    "features": NETWORK_SERVICE.fields[3].options[:2],
    "pricing_model": NETWORK_SERVICE.fields[4].options[0],
    "api_docs": SKIPPED,
    "authentication": NETWORK_SERVICE.fields[6].options[0],
    "logging_monitoring": NETWORK_SERVICE.fields[7].options[0],
}


def start(users: TenantUsers, title: str = "", answers: dict[str, object] | None = None) -> Conversation:
    conversation = services.conversation_create(
        tenant=users.tenant, owner=users.member, blueprint=NETWORK_SERVICE, title=title
    )
    if answers:
        conversation = services.answers_apply(conversation=conversation, values=answers)
    return conversation


def url(name: str, conversation: Conversation | None = None, **kwargs: object) -> str:
    if conversation is not None:
        kwargs["conversation_id"] = conversation.pk
    name = name if ":" in name else f"conversations:{name}"
    return reverse(name, kwargs={"tenant_slug": "acme", **kwargs})


def test_the_list_searches_titles_and_blueprints_and_filters_by_status(tenant_users: TenantUsers) -> None:
    start(tenant_users, title="Branch firewall")
    start(tenant_users, title="Campus VPN", answers=VPN_ANSWERS)
    services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=BUSINESS_PROCESS, title="Onboarding"
    )
    services.conversation_create(
        tenant=tenant_users.other_tenant,
        owner=tenant_users.outsider,
        blueprint=NETWORK_SERVICE,
        title="Secret",
    )
    client = tenant_users.client_for(tenant_users.viewer)

    def titles(**query: str) -> list[str]:
        response = client.get(url("conversation_list"), query)
        assert response.status_code == 200
        return re.findall(
            r'data-testid="conversation-row">\s*<td><a href="[^"]+">([^<]+)</a>', response.content.decode()
        )

    assert sorted(titles()) == ["Branch firewall", "Campus VPN", "Onboarding"]
    assert titles(q="vpn") == ["Campus VPN"]
    assert titles(q="business") == ["Onboarding"]
    assert titles(status="complete") == ["Campus VPN"]
    assert sorted(titles(status="gathering")) == ["Branch firewall", "Onboarding"]
    assert sorted(titles(status="nonsense")) == ["Branch firewall", "Campus VPN", "Onboarding"]
    fragment = client.get(url("conversation_list"), {"q": "campus"}, headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<section class="card" id="conversation-table">')
    assert "New service" not in client.get(url("conversation_list")).content.decode(), "viewers start nothing"


def test_starting_a_service_from_a_blueprint(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    page = client.get(url("conversation_new")).content.decode()
    assert "Network service" in page
    assert "Business process" in page

    refused = client.post(url("conversation_new"), {"blueprint": "builtin:nope"})
    assert refused.status_code == 422
    assert "Choose one of the blueprints." in refused.content.decode()
    assert not Conversation.objects.for_tenant(tenant_users.tenant).exists()

    response = client.post(
        url("conversation_new"), {"blueprint": "builtin:business-process", "title": "Refunds"}
    )
    assert response.status_code == 302
    conversation = Conversation.objects.for_tenant(tenant_users.tenant).get()
    assert response["Location"] == url("conversation_detail", conversation)
    assert (conversation.title, conversation.owner, conversation.blueprint_name) == (
        "Refunds",
        tenant_users.member,
        "Business process",
    )
    assert conversation.schema() == BUSINESS_PROCESS


def test_the_question_count_offered_agrees_with_the_steps_shown(tenant_users: TenantUsers) -> None:
    """The Network service asks about VPN protocols only for a VPN: 7 or 8 questions, and the
    interview counts its steps the same way."""
    client = tenant_users.client_for(tenant_users.member)
    page = client.get(url("conversation_new")).content.decode()
    assert "7 to 8 questions, depending on your answers." in page
    conversation = start(tenant_users)
    interview = client.get(url("conversation_detail", conversation)).content.decode()
    assert "Step 1 of 7" in interview
    vpn = start(tenant_users, answers={"service_type": "vVPN"})
    assert "Step 2 of 8" in client.get(url("conversation_detail", vpn)).content.decode()


def test_another_tenants_blueprint_cannot_be_started(tenant_users: TenantUsers) -> None:
    theirs = services.blueprint_copy(
        tenant=tenant_users.other_tenant, actor=None, source=NETWORK_SERVICE, name="Globex only"
    )
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("conversation_new"), {"blueprint": f"tenant:{theirs.pk}"})
    assert response.status_code == 422
    assert "Globex only" not in response.content.decode()


def test_the_interview_page_connects_after_the_frames_it_shows(tenant_users: TenantUsers) -> None:
    conversation = start(tenant_users)
    streams.publish_sync(conversation.pk, "<p>one</p>")
    streams.publish_sync(conversation.pk, "<p>two</p>")
    page = tenant_users.client_for(tenant_users.member).get(url("conversation_detail", conversation))
    assert page.status_code == 200
    assert f'ws-connect="/ws/t/acme/conversations/{conversation.pk}/?since=2"' in page.content.decode()


def test_a_revisited_interview_shows_its_chat_once_and_no_notice_box(tenant_users: TenantUsers) -> None:
    """The chat's messages once also filled the flash notices above the title (a context key
    named like the messages framework's); every visit shows each message once, in the chat."""
    conversation = start(tenant_users, answers={"service_type": "vVPN"})
    services.message_add(
        conversation=conversation, role=Message.Role.ASSISTANT, text="Which vendor will run it?"
    )
    client = tenant_users.client_for(tenant_users.member)
    for _visit in range(2):
        html = client.get(url("conversation_detail", conversation)).content.decode()
        assert 'class="messages"' not in html
        assert html.count("Which vendor will run it?") == 1


def test_a_question_still_streaming_is_replayed_from_its_first_frame(tenant_users: TenantUsers) -> None:
    conversation = start(tenant_users)
    streams.publish_sync(conversation.pk, "<p>before</p>")
    message = services.message_add(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        field_key="service_type",
        state=Message.State.STREAMING,
    )
    seq = streams.publish_sync(conversation.pk, "<p>started</p>").seq
    services.question_started(message=message, seq=seq)
    streams.publish_sync(conversation.pk, "<p>tokens</p>")
    message.text = "Which kind"
    message.save(update_fields=["text"])
    page = tenant_users.client_for(tenant_users.member).get(url("conversation_detail", conversation)).content
    html = page.decode()
    assert f"?since={seq - 1}" in html, "the socket sends the message's frames again, from its start"
    assert "Which kind" not in html, "the text so far arrives once, through the replayed frames"


def test_a_complete_conversation_has_no_socket_and_offers_the_download(tenant_users: TenantUsers) -> None:
    conversation = start(tenant_users, title="Campus VPN", answers=VPN_ANSWERS)
    page = tenant_users.client_for(tenant_users.viewer).get(url("conversation_detail", conversation))
    html = page.content.decode()
    assert "ws-connect" not in html
    assert 'data-testid="complete"' in html
    assert "Complete · 8 of 8 answered" in html

    download = tenant_users.client_for(tenant_users.viewer).get(
        url("conversation_requirements", conversation)
    )
    assert download["Content-Disposition"] == f'attachment; filename="requirements-{conversation.pk}.json"'
    payload = json.loads(download.content)
    assert payload["status"] == "complete"
    assert payload["blueprint"] == "Network service"
    assert payload["requirements"]["vpn_protocols"] == {"label": "VPN protocols", "value": ["WireGuard"]}
    assert payload["requirements"]["api_docs"]["value"] is None, "a skipped answer has no value"


def test_editing_an_answer_clears_what_depended_on_it(tenant_users: TenantUsers) -> None:
    conversation = start(tenant_users, answers=VPN_ANSWERS)
    client = tenant_users.client_for(tenant_users.member)
    edit = url("answer_edit", conversation, key="service_type")
    form = client.get(edit, headers={"HX-Request": "true"})
    assert form.status_code == 200
    assert 'value="vFirewall"' in form.content.decode()
    before = streams.current_seq(conversation.pk)

    response = client.post(edit, {"value": "vFirewall"}, headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Redirect"] == url("conversation_detail", conversation)
    saved = Conversation.objects.for_tenant(tenant_users.tenant).get(pk=conversation.pk)
    assert saved.answers["service_type"] == "vFirewall"
    assert "vpn_protocols" not in saved.answers
    assert saved.status == "gathering", "what was given in the light of the type is asked again"
    notice = list(selectors.messages_of(saved))[-1]
    assert notice.text == (
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
        " VPN protocols no longer applies, so its answer was removed."
    )
    assert streams.current_seq(conversation.pk) == before + 2, "open pages are sent the notice and answers"


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("service_type", "vToaster", "not one of the options"),
        ("features", [], "choose at least one option for Features"),
        ("vendor", "<script>alert(1)</script>", "not one of the options"),
    ],
)
def test_an_invalid_edit_is_refused_with_the_reason(
    key: str, value: str | list[str], error: str, tenant_users: TenantUsers
) -> None:
    conversation = start(tenant_users, answers=VPN_ANSWERS)
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("answer_edit", conversation, key=key), {"value": value})
    assert response.status_code == 422
    html = response.content.decode()
    assert error in html, html
    assert "<script>alert" not in html
    saved = Conversation.objects.for_tenant(tenant_users.tenant).get(pk=conversation.pk)
    assert saved.answers == conversation.answers


def test_only_given_answers_of_known_fields_can_be_edited(tenant_users: TenantUsers) -> None:
    conversation = start(tenant_users, answers={"service_type": "vRouter"})
    client = tenant_users.client_for(tenant_users.member)
    assert client.get(url("answer_edit", conversation, key="vendor")).status_code == 404
    assert (
        client.post(url("answer_edit", conversation, key="no_such_field"), {"value": "x"}).status_code == 404
    )


def test_the_page_has_the_target_of_the_reload_frame(tenant_users: TenantUsers) -> None:
    # An out-of-band swap without a target is dropped by htmx: the page would never reload.
    conversation = start(tenant_users)
    page = tenant_users.client_for(tenant_users.member).get(url("conversation_detail", conversation))
    frame = render_to_string("conversations/frames/reload.html")
    [target] = re.findall(r'id="([^"]+)" hx-swap-oob', frame)
    assert f'id="{target}"' in page.content.decode()
