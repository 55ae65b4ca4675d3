"""The interview asks each model only what it is declared fit for (providers' capabilities):
questions are worded by a model fit for phrasing or in the blueprint's own words, answers
are read by one fit for extraction, and a phrasing may start while an answer is read."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from conversations import services
from conversations.models import Conversation
from providers import services as provider_services
from providers.interface import Task
from providers.models import ProviderLog
from tests.conftest import TenantUsers
from tests.conversations.interview.test_turns import Interview
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

EARLY_ANSWERS = {"service_type": "vFirewall", "vendor": "Fortinet", "features": ["Stateful inspection"]}


@pytest.fixture
def embedded_only(platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers) -> None:
    """The tenant's conversations routed to the embedded model alone, as on a machine without keys."""
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.CONVERSATION, targets=[{"provider": "embedded"}]
    )


@pytest.fixture
def extraction_server(
    platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers
) -> EmulatorServer:
    """A tenant's OpenAI-compatible server declared fit for extraction only, first in the
    conversation route, with the platform's Anthropic behind it."""
    _anthropic, openai = platform
    provider_services.credential_create(
        tenant=tenant_users.tenant, actor=None, name="small-local", kind="openai",
        api_key="sk-local-0000000000", default_model="qwen-0.5b", base_url=openai.base_url,
        capabilities=["extraction"],
    )  # fmt: skip
    provider_services.route_set(
        tenant=tenant_users.tenant,
        task=Task.CONVERSATION,
        targets=[{"provider": "small-local"}, {"provider": "anthropic"}],
    )
    return openai


async def at_pricing(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> Interview:
    """The interview with its first answers given, asking for the pricing model."""
    await sync_to_async(services.answers_apply)(conversation=conversation, values=EARLY_ANSWERS)
    interview = Interview(tenant_users, conversation)
    anthropic.push(Reply("Which pricing model will customers pay by? Why: it decides metering."))
    await interview.start()
    return interview


def _logged(conversation: Conversation) -> list[tuple[str, bool]]:
    rows = ProviderLog.objects.for_tenant(conversation.tenant).filter(
        links__conversation=str(conversation.pk)
    )
    return [(row.provider, bool((row.request_json or {}).get("json_schema"))) for row in rows.order_by("pk")]


async def test_without_a_model_fit_to_phrase_the_blueprint_asks_at_once(
    tenant_users: TenantUsers, conversation: Conversation, embedded_only: None
) -> None:
    interview = Interview(tenant_users, conversation)
    await interview.start()
    _conversation, [question] = await interview.state()
    assert question.text.startswith("Which kind of network service do you want to offer?")
    assert (question.state, question.degraded, question.provider) == ("done", True, "")
    assert await sync_to_async(_logged)(conversation) == [], "the embedded model was never asked to phrase"
    html = "".join(frame.html for frame in await interview.frames())
    assert "standard question" in html, "the blueprint's words are labelled as such"
    assert '-live" hx-swap-oob' not in html, "no word streamed"


async def test_a_server_fit_for_extraction_reads_answers_and_never_words_questions(
    tenant_users: TenantUsers, conversation: Conversation, extraction_server: EmulatorServer,
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:  # fmt: skip
    anthropic, _openai = platform
    interview = await at_pricing(tenant_users, conversation, anthropic)
    # Long enough to be read by a model; the phrasing of the next question (free text, which
    # no reading fills) starts while the slow extraction is under way.
    extraction_server.push(Reply('{"pricing_model": "Per instance per month"}', first_token_latency=2.0))
    anthropic.push(Reply("Which vendor APIs or documents should the service use? Why: the code calls them."))
    seen = len(await interview.frames())
    await interview.say("We bill per instance per month, invoiced yearly")
    shown = [frame.html for frame in await interview.frames(seen)]
    assert "Reading your answer…" in shown[0], "the answer is acknowledged at once"
    current, messages = await interview.state()
    assert current.answers["pricing_model"] == "Per instance per month"
    assert (messages[-1].field_key, messages[-1].provider) == ("api_docs", "anthropic")
    assert messages[-1].text.startswith("Which vendor APIs or documents")
    [extraction] = extraction_server.requests_to("completions")
    assert extraction.body["response_format"]["type"] == "json_schema"
    phrasing = anthropic.requests_to("completions")[-1]
    assert phrasing.received_at < extraction.received_at + 1.9, (
        "the question was phrased while the answer was read"
    )
    # Two questions worded by Anthropic, one answer read by the small server (the early
    # phrasing and the reading run side by side: their rows come in either order).
    logged = sorted(await sync_to_async(_logged)(conversation))
    assert logged == [("anthropic", False), ("anthropic", False), ("small-local", True)]


async def test_a_phrasing_started_early_is_dropped_unseen_when_the_answer_leads_elsewhere(
    tenant_users: TenantUsers, conversation: Conversation, extraction_server: EmulatorServer,
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:  # fmt: skip
    anthropic, _openai = platform
    interview = await at_pricing(tenant_users, conversation, anthropic)
    # The reading finds no pricing model: the same question is asked again, not the early one.
    extraction_server.push(Reply("{}", first_token_latency=0.3))
    anthropic.push(Reply("Which vendor API documents matter? Why: the code calls them.", token_latency=0.2))
    anthropic.push(Reply("Which pricing model fits best, then? Why: it decides metering."))
    seen = len(await interview.frames())
    await interview.say("We have not decided that yet, to be honest")
    _current, messages = await interview.state()
    assert (messages[-1].field_key, messages[-1].text) == (
        "pricing_model", "Which pricing model fits best, then? Why: it decides metering."
    )  # fmt: skip
    shown = "".join(frame.html for frame in await interview.frames(seen))
    assert "vendor API documents" not in shown
    states = await sync_to_async(
        lambda: list(ProviderLog.objects.for_tenant(conversation.tenant).values_list("state", flat=True))
    )()
    assert "cancelled" in states, "the early call was stopped, and its row says so"


async def test_fields_nobody_asked_about_take_only_what_the_users_words_name(
    tenant_users: TenantUsers, conversation: Conversation, extraction_server: EmulatorServer,
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:  # fmt: skip
    anthropic, _openai = platform
    interview = await at_pricing(tenant_users, conversation, anthropic)
    # A small model fills fields from the option lists of its prompt, not from the message.
    reading = {
        "pricing_model": "Per instance per month",
        "logging_monitoring": ["Syslog", "Prometheus metrics"],
        "authentication": "API keys",
    }
    extraction_server.push(Reply(json.dumps(reading)))
    anthropic.push(Reply("Which vendor APIs or documents should the service use? Why: the code calls them."))
    await interview.say("We bill per instance per month, invoiced yearly")
    current, _messages = await interview.state()
    assert current.answers["pricing_model"] == "Per instance per month"
    assert "logging_monitoring" not in current.answers
    assert "authentication" not in current.answers
