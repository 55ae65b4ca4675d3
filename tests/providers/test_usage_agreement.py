"""The figures about calls agree wherever they are shown: the Usage page's cards, its charts,
the Logs page's count for the same window, and `manage.py provider stats` (STYLE habit 17).

The Usage page once read per-minute rollups: a call not yet rolled up, one still running or
one that finished after the rollup stopped looking at its minute was missing from it while
the Logs page listed it (13 calls against 14).
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from providers.models import LogState, ProviderLog
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

USAGE = "/t/acme/usage/"
LOGS = "/t/acme/providers/logs/"


# What a row that generated nothing records: no tokens, no cost, no price.
NOTHING: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0, "cost_usd": Decimal(0), "price_version": ""}


def call(tenant_users: TenantUsers, ago: timedelta, **values: Any) -> ProviderLog:
    defaults: dict[str, Any] = {
        "tenant": tenant_users.tenant, "task": "conversation", "provider": "anthropic", "kind": "anthropic",
        "model": "claude-sonnet-5-5", "state": LogState.COMPLETED, "attempts": 1, "duration_ms": 800,
        "input_tokens": 100, "output_tokens": 50, "cost_usd": Decimal("0.00105"),
        "price_version": "anthropic-2031-01", "started_at": timezone.now() - ago,
    }  # fmt: skip
    defaults["request_id"] = f"req_{ago.total_seconds():.0f}"
    defaults.update(values)
    row = ProviderLog(**defaults)
    row.save()  # the manager's create() refuses platform rows (tenant None)
    return row


def a_day_of_calls(tenant_users: TenantUsers) -> None:
    """Fourteen calls of the last 24 hours in every state and shape, and rows that must not count."""
    minutes, hours = timedelta(minutes=1), timedelta(hours=1)
    openai = {"provider": "openai", "kind": "openai", "model": "gpt-6-sol"}
    call(tenant_users, 3 * hours)
    call(tenant_users, 30 * minutes, streamed=True, **openai)
    # A request that fell back: its first provider failed, the second answered. Two calls.
    failed_over = {"request_id": "req_fallback", "state": LogState.FAILED, "error_code": "overloaded"}
    call(tenant_users, 2 * hours, duration_ms=2_000, **failed_over, **NOTHING)
    call(tenant_users, 2 * hours, request_id="req_fallback", fallback_from="anthropic", **openai)
    call(
        tenant_users, 5 * hours, state=LogState.FAILED_PARTIAL, streamed=True, error_code="connection",
        output_tokens=12, cost_usd=Decimal("0.00042"), duration_ms=4_000,
    )  # fmt: skip
    call(
        tenant_users, 1 * hours, state=LogState.CANCELLED, streamed=True, error_code="cancelled",
        output_tokens=7, cost_usd=Decimal("0.00033"), duration_ms=900,
    )  # fmt: skip
    # Refused before any upstream call: an open circuit, then the month's budget.
    refused = {"state": LogState.FAILED, "attempts": 0, **NOTHING}
    call(tenant_users, 20 * minutes, error_code="circuit_open", duration_ms=1, **refused)
    call(tenant_users, 19 * minutes, error_code="budget_exceeded", duration_ms=0, **refused)
    # Still running (the Usage page once left these out), and one the reaper failed.
    unfinished = {"duration_ms": None, **NOTHING}
    call(tenant_users, timedelta(seconds=10), state=LogState.PENDING, streamed=True, attempts=0, **unfinished)
    call(tenant_users, 20 * hours, state=LogState.FAILED, error_code="cancelled", **unfinished)
    # Free and unpriced: they cost nothing and are calls all the same.
    free = {"provider": "embedded", "kind": "embedded", "model": "smollm2-135m-instruct"}
    call(tenant_users, 4 * hours, cost_usd=Decimal(0), price_version="free", duration_ms=12_000, **free)
    call(
        tenant_users, 6 * hours, provider="local", kind="openai", model="llama-local", cost_usd=Decimal(0),
        price_version="",
    )  # fmt: skip
    # Half a minute old: the rollup would not have seen it yet.
    call(tenant_users, timedelta(seconds=30), streamed=True)
    # Just inside the 24-hour edge; the next one just outside it (in the last 7 days only).
    call(tenant_users, 24 * hours - 2 * minutes)
    call(tenant_users, 24 * hours + 2 * minutes, input_tokens=1_000, cost_usd=Decimal("0.5"))
    # Another tenant's call and a platform call (the operators' CLI): never this tenant's.
    call(tenant_users, 1 * hours, tenant=tenant_users.other_tenant)
    call(tenant_users, 1 * hours, tenant=None)


def stat(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', page)
    assert found is not None, testid
    return found.group(1).strip()


def chart_columns(page: str) -> dict[str, dict[str, list[str]]]:
    """Each chart's table, by chart title and series name: the values drawn, bucket by bucket."""
    charts = {}
    for title, head, body in re.findall(
        r'<figure class="card chart" data-testid="chart">\s*<figcaption>(\w+).*?<thead>(.*?)</thead>'
        r"\s*<tbody>(.*?)</tbody>",
        page,
        re.S,
    ):
        names = re.findall(r'<th scope="col">([^<]*)</th>', head)[1:]
        rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
        charts[title] = {name: [row[index] for row in rows] for index, name in enumerate(names)}
    return charts


def total(values: list[str]) -> Decimal:
    return sum(
        (Decimal(value.replace("$", "").replace(",", "")) for value in values if value != "—"), Decimal(0)
    )


def cli_stats(hours: int) -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("provider", "--tenant", "acme", "stats", "--hours", str(hours), "--json", stdout=out)
    return list(json.loads(out.getvalue()))


def logs_count(page: str) -> int:
    found = re.search(r'data-testid="log-count">(\d+) call', page)
    assert found is not None
    return int(found.group(1))


def test_the_usage_cards_charts_logs_and_cli_count_the_same_calls(tenant_users: TenantUsers) -> None:
    a_day_of_calls(tenant_users)
    client = tenant_users.client_for(tenant_users.viewer)
    expected = ProviderLog.objects.for_tenant(tenant_users.tenant).filter(
        started_at__gte=timezone.now() - timedelta(hours=24)
    )
    assert expected.count() == 14

    page = client.get(USAGE).content.decode()
    assert stat(page, "usage-requests") == "14"
    assert "calls to providers: 5 failed, 1 still running" in page
    charts = chart_columns(page)
    assert total(charts["Calls"]["calls"]) == 14
    assert total(charts["Calls"]["failed"]) == 5
    tokens = total(charts["Tokens"]["input"]) + total(charts["Tokens"]["output"])
    assert stat(page, "usage-tokens") == str(tokens) == "1269"
    cost = total(charts["Cost"]["cost"])
    assert cost == Decimal("0.00105") * 5 + Decimal("0.00042") + Decimal("0.00033")
    assert stat(page, "usage-cost") == f"${cost:.4f}"

    logs = client.get(f"{LOGS}?window=24h").content.decode()
    assert logs_count(logs) == 14
    assert logs.count('data-testid="log-row"') == 14
    assert f'href="{LOGS}?window=24h"' in page, "the card leads to the calls it counts"

    stats = cli_stats(24)
    assert sum(entry["requests"] for entry in stats) == 14
    assert sum(entry["failures"] for entry in stats) == 5
    assert sum(entry["running"] for entry in stats) == 1
    assert sum(entry["input_tokens"] + entry["output_tokens"] for entry in stats) == tokens
    assert sum(Decimal(entry["cost_usd"]) for entry in stats) == cost


def test_a_wider_window_counts_the_call_past_the_edge_everywhere(tenant_users: TenantUsers) -> None:
    a_day_of_calls(tenant_users)
    client = tenant_users.client_for(tenant_users.viewer)
    page = client.get(f"{USAGE}?window=7d").content.decode()
    assert stat(page, "usage-requests") == "15"
    assert total(chart_columns(page)["Calls"]["calls"]) == 15
    assert logs_count(client.get(f"{LOGS}?window=7d").content.decode()) == 15
    assert sum(entry["requests"] for entry in cli_stats(24 * 7)) == 15


def test_the_logs_page_counts_what_it_lists(tenant_users: TenantUsers) -> None:
    a_day_of_calls(tenant_users)
    client = tenant_users.client_for(tenant_users.viewer)
    assert logs_count(client.get(LOGS).content.decode()) == 15
    failed = client.get(f"{LOGS}?window=24h&state=failed").content.decode()
    assert logs_count(failed) == failed.count('data-testid="log-row"') == 4
    assert '<input type="hidden" name="window" value="24h">' in failed, "filtering keeps the window"
    refused = client.get(f"{LOGS}?window=1y")
    assert refused.status_code == 422
    assert "window: choose one of 24h, 7d, 30d." in refused.content.decode()
