"""The Providers, Logs and Usage pages, and the Try-it socket."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from core.close_codes import CLOSE_FORBIDDEN
from providers import services
from providers.interface import Task
from providers.models import (
    CircuitReset,
    GatewaySettings,
    LogState,
    ProviderCredential,
    ProviderLog,
    TaskRoute,
)
from providers.routing import credential_secret
from tenants import services as tenant_services
from tenants.models import Membership, Role
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.tenants.test_consumers import ORIGIN, connect, session_cookie, silence_access_events, until_closed

pytestmark = pytest.mark.django_db

CANARY = "sk-canary-portal-1234567890abcdef"
PROVIDERS = "/t/acme/providers/"


def add_key(client: Client, **overrides: str | list[str]) -> Any:
    data: dict[str, str | list[str]] = {
        "name": "team-openai",
        "kind": "openai",
        "default_model": "gpt-6-sol",
        "api_key": CANARY,
        "enabled": "on",
    }
    data.update(overrides)
    return client.post(PROVIDERS + "credentials/new/", data)


def test_an_admin_adds_a_key_which_is_only_ever_shown_masked(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    assert add_key(client).status_code == 302
    credential = ProviderCredential.objects.for_tenant(tenant_users.tenant).get()
    assert credential_secret(credential) == CANARY
    for url in (PROVIDERS, f"{PROVIDERS}credentials/{credential.pk}/", "/t/acme/providers/logs/"):
        page = client.get(url).content.decode()
        assert CANARY not in page
    page = client.get(PROVIDERS).content.decode()
    assert "••••cdef" in page
    assert "team-openai" in page


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"api_key": "   "}, "This field is required."),
        ({"name": "not a slug!"}, "Enter a valid “slug”"),
        ({"base_url": "ftp://example.com"}, "Enter a valid URL."),
        ({"kind": "mistral"}, "Select a valid choice."),
    ],
)
def test_bad_credential_input_is_a_422_and_stores_nothing(
    tenant_users: TenantUsers, overrides: dict[str, str], error: str
) -> None:
    response = add_key(tenant_users.client_for(tenant_users.admin), **overrides)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not ProviderCredential.objects.for_tenant(tenant_users.tenant).exists()


def test_names_are_unique_per_tenant(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    add_key(client)
    response = add_key(client, api_key="sk-another-key-0000000")
    assert response.status_code == 422
    assert "Another credential of this organization has this name." in response.content.decode()


def test_members_read_the_page_but_cannot_change_or_try(tenant_users: TenantUsers) -> None:
    add_key(tenant_users.client_for(tenant_users.admin))
    member = tenant_users.client_for(tenant_users.member)
    page = member.get(PROVIDERS).content.decode()
    assert "team-openai" in page
    assert "Add key" not in page
    assert "Try it" not in page
    assert "Save routing" not in page
    assert add_key(member, name="sneaky").status_code == 403


def test_editing_keeps_the_key_unless_a_new_one_is_given(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    add_key(client)
    credential = ProviderCredential.objects.for_tenant(tenant_users.tenant).get()
    services.credential_flag_rejected(credential_id=credential.pk, reason="invalid key")
    url = f"{PROVIDERS}credentials/{credential.pk}/"
    data = {"name": "renamed", "default_model": "gpt-6-luna", "base_url": "", "enabled": ""}
    assert client.post(url, data).status_code == 302
    credential.refresh_from_db()
    assert (credential.name, credential.default_model, credential.enabled) == ("renamed", "gpt-6-luna", False)
    assert credential_secret(credential) == CANARY
    assert credential.rejected_at is not None
    assert client.post(url, {**data, "api_key": "sk-fresh-key-00000000ab"}).status_code == 302
    fresh = ProviderCredential.objects.for_tenant(tenant_users.tenant).get()
    assert credential_secret(fresh) == "sk-fresh-key-00000000ab"
    assert fresh.rejected_at is None
    assert client.post(f"{url}delete/").status_code == 302
    assert not ProviderCredential.objects.for_tenant(tenant_users.tenant).exists()


def test_routes_are_saved_per_task(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    add_key(client)
    data = {
        "route-conversation-provider_0": "team-openai",
        "route-conversation-model_0": "gpt-6-luna",
        "route-conversation-provider_1": "embedded",
    }
    assert client.post(PROVIDERS + "routes/", data).status_code == 302
    route = TaskRoute.objects.for_tenant(tenant_users.tenant).get()
    assert route.task == Task.CONVERSATION
    assert route.targets == [{"provider": "team-openai", "model": "gpt-6-luna"}, {"provider": "embedded"}]
    response = client.post(PROVIDERS + "routes/", {"route-workflow-provider_0": "nonexistent"})
    assert response.status_code == 422
    assert client.get(PROVIDERS).content.decode().count('value="team-openai" selected') == 1


def test_limits_and_privacy_are_saved(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    data = {"requests_per_minute": "30", "monthly_token_budget": "50000", "monthly_cost_budget_usd": "12.50"}
    assert client.post(PROVIDERS + "settings/", data).status_code == 302
    saved = GatewaySettings.objects.for_tenant(tenant_users.tenant).get()
    assert (saved.store_content, saved.requests_per_minute, saved.monthly_token_budget) == (False, 30, 50000)
    assert client.post(PROVIDERS + "settings/", {"requests_per_minute": "-3"}).status_code == 422


def test_a_breaker_reset_from_the_portal_is_recorded(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    add_key(client)
    credential = ProviderCredential.objects.for_tenant(tenant_users.tenant).get()
    assert client.post(f"{PROVIDERS}credentials/{credential.pk}/reset-breaker/").status_code == 302
    record = CircuitReset.objects.get()
    assert (record.reset_via, record.reset_by, record.tenant) == (
        "portal",
        tenant_users.admin,
        tenant_users.tenant,
    )


def make_log(tenant_users: TenantUsers, **values: Any) -> ProviderLog:
    defaults: dict[str, Any] = {
        "tenant": tenant_users.tenant, "request_id": "req_1", "task": "conversation", "provider": "anthropic",
        "kind": "anthropic", "model": "claude-sonnet-5-5", "state": LogState.COMPLETED, "duration_ms": 300,
        "input_tokens": 10, "output_tokens": 20,
        "request_json": {"messages": [{"role": "user", "content": "<script>alert(1)</script>"}]},
        "response_json": {"text": "Plain **reply**", "finish_reason": "stop"},
    }  # fmt: skip
    defaults.update(values)
    return ProviderLog.objects.create(**defaults)


def test_logs_filter_paginate_and_open_a_record(tenant_users: TenantUsers) -> None:
    for index in range(55):
        make_log(tenant_users, request_id=f"req_{index}")
    failed = make_log(
        tenant_users, provider="openai", state=LogState.FAILED, error_code="overloaded", task="workflow"
    )
    client = tenant_users.client_for(tenant_users.viewer)
    first = client.get("/t/acme/providers/logs/").content.decode()
    assert first.count('data-testid="log-row"') == 50
    assert 'data-testid="log-count">56 calls' in first
    assert "← Newer" not in first
    older = re.search(r'href="\?before=([0-9.]+)">Older', first)
    assert older is not None
    second = client.get(f"/t/acme/providers/logs/?before={older.group(1)}").content.decode()
    assert second.count('data-testid="log-row"') == 6
    assert "Older →" not in second
    newer = re.search(r'href="\?after=([0-9.]+)">← Newer', second)
    assert newer is not None
    again = client.get(f"/t/acme/providers/logs/?after={newer.group(1)}").content.decode()
    assert log_ids(again) == log_ids(first)
    # An old bookmark's page number shows the newest calls rather than failing.
    assert log_ids(client.get("/t/acme/providers/logs/?page=2").content.decode()) == log_ids(first)
    assert client.get("/t/acme/providers/logs/?before=yesterday").status_code == 422
    filtered = client.get(
        "/t/acme/providers/logs/?provider=openai&state=failed&task=workflow"
    ).content.decode()
    assert filtered.count('data-testid="log-row"') == 1
    fragment = client.get("/t/acme/providers/logs/?state=failed", headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<section class="card" id="log-table">')
    assert client.get("/t/acme/providers/logs/?since=yesterday").status_code == 422
    detail = client.get(f"/t/acme/providers/logs/{failed.pk}/").content.decode()
    assert "overloaded" in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "<script>alert(1)" not in detail


def log_ids(page: str) -> list[str]:
    return re.findall(r'href="/t/acme/providers/logs/(\d+)/"', page)


def test_logs_pages_walk_calls_that_started_at_the_same_instant_once_each(
    tenant_users: TenantUsers,
) -> None:
    instant = timezone.now() - timedelta(minutes=5)
    made = [make_log(tenant_users, started_at=instant, request_id=f"req_{index}").pk for index in range(120)]
    made += [make_log(tenant_users, provider="openai", request_id="req_new").pk]
    client = tenant_users.client_for(tenant_users.viewer)
    seen: list[str] = []
    query = ""
    while True:
        page = client.get(f"/t/acme/providers/logs/{query}").content.decode()
        seen += log_ids(page)
        older = re.search(r'href="\?before=([0-9.]+)">Older', page)
        if older is None:
            break
        query = f"?before={older.group(1)}"
    assert seen == [str(pk) for pk in sorted(made, key=lambda pk: (pk != made[-1], -pk))]
    # Walking back from the last page reaches the newest call again.
    newer_first = re.findall(r"<a href=\"\?after=([0-9.]+)\">", page)
    assert len(newer_first) == 1
    back = client.get(f"/t/acme/providers/logs/?after={newer_first[0]}").content.decode()
    assert log_ids(back) == seen[50:100]


def test_logs_provider_filter_offers_the_tenants_providers_only(tenant_users: TenantUsers) -> None:
    make_log(tenant_users, provider="openai")
    make_log(tenant_users, provider="anthropic")
    make_log(tenant_users, provider="anthropic", request_id="req_2")
    make_log(tenant_users, tenant=tenant_users.other_tenant, provider="groq")
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/providers/logs/").content.decode()
    assert re.findall(
        r'<option value="([a-z]+)"', page.split('id="id_provider"')[1].split("</select>")[0]
    ) == [
        "anthropic",
        "openai",
    ]


def test_logs_count_stops_counting_past_the_limit(tenant_users: TenantUsers) -> None:
    from providers.selectors import LOG_COUNT_LIMIT, log_count, logs_of_tenant

    logs = logs_of_tenant(tenant=tenant_users.tenant, filters={})
    ProviderLog.objects.for_tenant(tenant_users.tenant).bulk_create(
        [
            ProviderLog(tenant=tenant_users.tenant, request_id=f"r{index}", task="conversation", provider="a",
                        kind="anthropic", model="m")
            for index in range(LOG_COUNT_LIMIT + 1)
        ]
    )  # fmt: skip
    assert log_count(logs, exact=False) == (LOG_COUNT_LIMIT, True)
    assert log_count(logs, exact=True) == (LOG_COUNT_LIMIT + 1, False)
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/providers/logs/").content.decode()
    assert f'data-testid="log-count">more than {LOG_COUNT_LIMIT} calls' in page


def test_a_record_without_stored_content_says_so(tenant_users: TenantUsers) -> None:
    entry = make_log(tenant_users, request_json=None, response_json=None)
    page = (
        tenant_users.client_for(tenant_users.member)
        .get(f"/t/acme/providers/logs/{entry.pk}/")
        .content.decode()
    )
    assert "keeps no prompts or replies" in page


@pytest.mark.parametrize("overhead", [None, 12.25])
def test_a_records_timing_names_only_the_figures_it_has(
    tenant_users: TenantUsers, overhead: float | None
) -> None:
    entry = make_log(tenant_users, duration_ms=300, gateway_overhead_ms=overhead)
    page = tenant_users.client_for(tenant_users.member).get(f"/t/acme/providers/logs/{entry.pk}/")
    timing = re.search(r"<dt>Timing</dt><dd>(.*?)</dd>", page.content.decode(), re.S)
    assert timing is not None
    if overhead is None:
        assert timing.group(1).endswith("300 ms in all")
    else:
        assert timing.group(1).endswith("300 ms in all, of which 12.3 ms in the gateway")


def test_the_usage_page_plots_the_calls_as_soon_as_they_are_logged(tenant_users: TenantUsers) -> None:
    now = timezone.now()
    for minutes_ago in (5, 65, 125):
        make_log(tenant_users, started_at=now - timedelta(minutes=minutes_ago), cost_usd="0.25")
    make_log(tenant_users, started_at=now - timedelta(minutes=5), state=LogState.FAILED)
    # No rollup has run: the page reads the logs themselves.
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    assert page.count('data-testid="chart"') == 4
    assert page.count("<polyline") >= 7
    assert '<span class="stat-value" data-testid="usage-requests">4</span>' in page
    assert "$0.7500" in page
    assert "No calls in this window." not in page
    for window in ("7d", "30d", "bogus"):
        assert (
            tenant_users.client_for(tenant_users.viewer).get(f"/t/acme/usage/?window={window}").status_code
            == 200
        )


def chart_figure(page: str, title: str) -> str:
    found = re.search(
        rf'<figure class="card chart" data-testid="chart">\s*<figcaption>{title}\b.*?</figure>', page, re.S
    )
    assert found is not None, title
    return found.group(0)


def test_a_window_without_calls_says_so_on_every_chart(tenant_users: TenantUsers) -> None:
    make_log(tenant_users, started_at=timezone.now() - timedelta(days=3))
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    assert page.count("No calls in this window.") == 4
    assert '<span class="stat-value" data-testid="usage-requests">0</span>' in page


def test_calls_to_the_free_embedded_model_are_drawn_at_zero_cost_and_say_why(
    tenant_users: TenantUsers,
) -> None:
    """The Cost chart once said "No calls in this window" beside calls that cost nothing."""
    now = timezone.now()
    for hours_ago in (1, 3):
        make_log(
            tenant_users, started_at=now - timedelta(hours=hours_ago), provider="embedded", kind="embedded",
            model="smollm2-135m-instruct", cost_usd="0", price_version="free",
        )  # fmt: skip
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    cost = chart_figure(page, "Cost")
    assert "No calls in this window." not in page
    assert "$0 in this window: 2 calls to the embedded model, which is free." in cost
    assert cost.count('<circle cx="') == 2, "each bucket with calls is marked on the zero line"
    assert "<polyline" in cost


def test_calls_to_an_unpriced_model_name_it(tenant_users: TenantUsers) -> None:
    now = timezone.now()
    make_log(tenant_users, started_at=now - timedelta(minutes=5), provider="local", kind="openai",
             model="llama-local", cost_usd="0", price_version="")  # fmt: skip
    make_log(tenant_users, started_at=now - timedelta(minutes=6), state=LogState.FAILED, error_code="timeout",
             input_tokens=0, output_tokens=0, cost_usd="0", price_version="")  # fmt: skip
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    assert (
        "$0 in this window: 1 call to a model with no recorded price (llama-local), counted at $0;"
        " 1 call failed or still running, which cost nothing." in chart_figure(page, "Cost")
    )
    # With some priced calls beside it, the chart still says which ones count at $0.
    make_log(tenant_users, started_at=now - timedelta(minutes=7), cost_usd="0.5", price_version="v1")
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    assert "1 call to a model with no recorded price (llama-local), counted at $0." in chart_figure(
        page, "Cost"
    )


def test_latency_without_completed_calls_says_so(tenant_users: TenantUsers) -> None:
    make_log(tenant_users, state=LogState.FAILED, error_code="circuit_open", duration_ms=0)
    page = tenant_users.client_for(tenant_users.viewer).get("/t/acme/usage/").content.decode()
    assert "No completed calls to time in this window." in chart_figure(page, "Latency")


# --- Try it --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_try_it_streams_a_reply_to_an_admin(
    tenant_users: TenantUsers, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("Hello <b>there</b> **you**", tokens=3, input_tokens=5, output_tokens=3))
    cookie = await database_sync_to_async(session_cookie)(tenant_users.admin)
    socket, connected, _ = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
    assert connected
    await socket.send_json_to({"provider": "anthropic", "model": "", "prompt": "Say hello", "HEADERS": {}})
    frames = []
    while True:
        frame = str(await socket.receive_from(timeout=5))
        frames.append(frame)
        if "done (" in frame or "alert error" in frame:
            break
    text = "".join(frames)
    assert "anthropic · <code>claude-sonnet-5-5</code>" in text
    tokens = re.findall(r'<pre id="try-output" hx-swap-oob="beforeend">(.*?)</pre>', text, re.S)
    assert len(tokens) == 3
    assert "".join(tokens) == "Hello &lt;b&gt;there&lt;/b&gt; **you**", "model output is escaped"
    # Once done, the reply is shown as its markdown renders, with HTML still escaped.
    assert '<div id="try-output"' in frames[-1]
    assert "<p>Hello &lt;b&gt;there&lt;/b&gt; <strong>you</strong></p>" in frames[-1]
    assert "5 + 3 tokens" in text
    assert "done (stop)" in text
    await socket.disconnect()
    log = await database_sync_to_async(ProviderLog.objects.for_tenant(tenant_users.tenant).get)()
    assert (log.user_id, log.links) == (tenant_users.admin.pk, {"source": "try-it"})


@pytest.mark.django_db(transaction=True)
async def test_try_it_rejects_bad_messages(
    tenant_users: TenantUsers, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.owner)
    socket, connected, _ = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
    assert connected
    await socket.send_to(text_data="not json")
    assert "could not be read" in str(await socket.receive_from(timeout=5))
    await socket.send_json_to({"provider": "anthropic", "prompt": ""})
    assert "prompt: This field is required." in str(await socket.receive_from(timeout=5))
    await socket.send_json_to({"provider": "anthropic", "prompt": "x" * 4001})
    assert "at most 4000 characters" in str(await socket.receive_from(timeout=5))
    await socket.send_json_to({"provider": "nope", "prompt": "hi"})
    assert "bad_request: unknown provider" in str(await socket.receive_from(timeout=5))
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_try_it_is_for_admins_only(tenant_users: TenantUsers) -> None:
    for user in (tenant_users.member, tenant_users.viewer, tenant_users.outsider):
        cookie = await database_sync_to_async(session_cookie)(user)
        socket, connected, code = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
        assert not connected
        assert code == CLOSE_FORBIDDEN
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_try_it_reads_bad_messages_safely_and_stays_usable(
    tenant_users: TenantUsers, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    anthropic, _openai = platform
    cookie = await database_sync_to_async(session_cookie)(tenant_users.admin)
    socket, connected, _ = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
    assert connected
    for message, error in [
        ('{"prompt": ' + "[" * 20_000 + "]" * 20_000 + "}", "could not be read"),
        ('{"provider": "anthropic", "prompt": "' + "x" * 70_000 + '"}', "too long"),
        ('{"provider": "anthropic", "prompt": "\\udc00"}', "could not be read"),
        ('{"provider": "anthropic", "prompt": ["Say", "hello"]}', "could not be read (prompt:"),
    ]:
        await socket.send_to(text_data=message)
        assert error in str(await socket.receive_from(timeout=5))
    assert anthropic.requests == []
    anthropic.push(Reply("Hello", tokens=1))
    await socket.send_json_to({"provider": "anthropic", "prompt": "Say hello"})
    assert "streaming" in str(await socket.receive_from(timeout=5))
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_try_it_sends_nothing_to_a_model_once_the_admin_lost_the_role(
    tenant_users: TenantUsers,
    platform: tuple[EmulatorServer, EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even when the access event was lost: access is read again before each prompt."""
    anthropic, _openai = platform
    cookie = await database_sync_to_async(session_cookie)(tenant_users.admin)
    socket, connected, _ = await connect("/ws/t/acme/providers/try/", ORIGIN, cookie)
    assert connected
    silence_access_events(monkeypatch)

    def demote() -> None:
        members = Membership.objects.for_tenant(tenant_users.tenant)
        tenant_services.membership_change_role(
            actor=members.get(user=tenant_users.owner),
            membership=members.get(user=tenant_users.admin),
            role=Role.MEMBER,
        )

    await database_sync_to_async(demote)()
    await socket.send_json_to({"provider": "anthropic", "prompt": "Say hello"})
    assert await until_closed(socket) == ([], CLOSE_FORBIDDEN)
    assert anthropic.requests == []
    assert not await database_sync_to_async(ProviderLog.objects.for_tenant(tenant_users.tenant).exists)()
    await socket.disconnect()
