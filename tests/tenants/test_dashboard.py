"""The tenant dashboard: first steps by role, recent work, the month's spend, its cost."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.exceptions import RedisError

from codegen.models import Generation
from conversations import services as conversation_services
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.models import Conversation
from core import navigation
from providers import quotas
from providers import services as provider_services
from tenants import services as tenant_services
from tenants.models import Membership, Role, Tenant, User
from tests.conftest import TenantUsers
from tests.factories import InvitationFactory, UserFactory
from tests.gateway_fixtures import fresh_gateway_state
from workflows import services as workflow_services
from workflows.models import Workflow

__all__ = ["fresh_gateway_state"]

pytestmark = pytest.mark.django_db

DASHBOARD = "/t/acme/"


def page_of(client: Client, url: str = DASHBOARD) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def steps_of(page: str) -> list[tuple[str, str, bool]]:
    """(label, href, done) of each first step shown, in order."""
    found = re.findall(
        r'<li class="step( is-done)?" data-testid="next-step">.*?'
        r'<a href="([^"]+)" class="step-label">([^<]+)</a>',
        page,
        re.S,
    )
    return [(label, href, bool(done)) for done, href, label in found]


def recent_titles(page: str, panel: str) -> list[str]:
    section = re.search(rf'data-testid="recent-{panel}">(.*?)</section>', page, re.S)
    assert section, f"no {panel} panel"
    return re.findall(r'class="recent-title">([^<]+)</a>', section.group(1))


def fresh_tenant(name: str = "Northwind Telecom") -> tuple[Tenant, User, Client]:
    """A tenant just signed up for: its owner alone, nothing made yet."""
    owner = UserFactory.create(email="olivia@northwind.test")
    tenant = tenant_services.tenant_create(name=name, owner=owner)
    client = Client()
    client.force_login(owner)
    return tenant, owner, client


def start_service(tenant: Tenant, owner: User, title: str) -> Conversation:
    return conversation_services.conversation_create(
        tenant=tenant, owner=owner, blueprint=NETWORK_SERVICE, title=title
    )


def make_workflow(tenant: Tenant, name: str) -> Workflow:
    return workflow_services.workflow_create(tenant=tenant, actor=None, name=name)


def make_generation(tenant: Tenant, title: str, **values: Any) -> Generation:
    # A generation row without its job: the dashboard only reads what a job leaves behind.
    return Generation.objects.create(
        tenant=tenant, title=title, requirements={"title": title, "requirements": {}}, **values
    )


def add_key(tenant: Tenant, name: str = "ours") -> None:
    provider_services.credential_create(
        tenant=tenant, actor=None, name=name, kind="anthropic", api_key="sk-ant-test", default_model="claude"
    )


# --- First steps --------------------------------------------------------------------------


def test_a_new_owner_is_shown_three_first_steps_and_an_empty_state() -> None:
    tenant, _owner, client = fresh_tenant()
    page = page_of(client, f"/t/{tenant.slug}/")
    assert steps_of(page) == [
        ("Start a service interview", f"/t/{tenant.slug}/services/new/", False),
        ("Add a provider key", f"/t/{tenant.slug}/providers/#add-heading", False),
        ("Invite a colleague", f"/t/{tenant.slug}/members/#invite-heading", False),
    ]
    assert "Get started" in page
    assert '<span class="muted" data-testid="steps-progress">0 of 3 done</span>' in page
    assert 'data-testid="no-work"' in page
    assert "The first step above starts it all." in page


def test_each_step_is_marked_done_once_it_is_done_and_the_list_goes_when_all_are() -> None:
    tenant, owner, client = fresh_tenant()
    url = f"/t/{tenant.slug}/"

    start_service(tenant, owner, "Branch office firewall")
    assert [done for _label, _href, done in steps_of(page_of(client, url))] == [True, False, False]

    add_key(tenant)
    assert [done for _label, _href, done in steps_of(page_of(client, url))] == [True, True, False]

    InvitationFactory.create(tenant=tenant, invited_by=owner)
    page = page_of(client, url)
    assert 'data-testid="next-steps"' not in page
    assert steps_of(page) == []


def test_a_colleague_who_joined_counts_as_invited() -> None:
    tenant, _owner, client = fresh_tenant()
    Membership.objects.create(tenant=tenant, user=UserFactory.create(), role=Role.MEMBER)
    invite = [
        step for step in steps_of(page_of(client, f"/t/{tenant.slug}/")) if step[0] == "Invite a colleague"
    ]
    assert invite == [("Invite a colleague", f"/t/{tenant.slug}/members/#invite-heading", True)]


def test_an_expired_invitation_does_not_count_as_invited() -> None:
    tenant, owner, client = fresh_tenant()
    InvitationFactory.create(tenant=tenant, invited_by=owner, expires_at=timezone.now() - timedelta(days=1))
    invite = [
        step for step in steps_of(page_of(client, f"/t/{tenant.slug}/")) if step[0] == "Invite a colleague"
    ]
    assert invite[0][2] is False


def test_each_role_is_offered_only_the_steps_it_may_take(tenant_users: TenantUsers) -> None:
    offered = {
        user.email: [label for label, _href, _done in steps_of(page_of(tenant_users.client_for(user)))]
        for user in (tenant_users.owner, tenant_users.admin, tenant_users.member, tenant_users.viewer)
    }
    everything = ["Start a service interview", "Add a provider key", "Invite a colleague"]
    assert offered == {
        "owner@acme.test": everything,
        "admin@acme.test": everything,
        "member@acme.test": ["Start a service interview"],
        "viewer@acme.test": [],
    }
    viewer_page = page_of(tenant_users.client_for(tenant_users.viewer))
    assert 'data-testid="next-steps"' not in viewer_page
    assert "as your colleagues create them" in viewer_page
    member_page = page_of(tenant_users.client_for(tenant_users.member))
    assert "#add-heading" not in member_page
    assert "#invite-heading" not in member_page
    assert 'data-testid="invitation-count"' not in member_page


def test_an_outsider_gets_404_and_sees_nothing_of_the_tenant_on_their_own(tenant_users: TenantUsers) -> None:
    start_service(tenant_users.tenant, tenant_users.member, "Acme secret uplink")
    make_workflow(tenant_users.tenant, "Acme secret flow")
    make_generation(tenant_users.tenant, "Acme secret service")
    outsider = tenant_users.client_for(tenant_users.outsider)
    assert outsider.get(DASHBOARD).status_code == 404
    own = page_of(outsider, "/t/globex/")
    assert "Acme secret" not in own
    assert 'data-testid="no-work"' in own


# --- Recent work --------------------------------------------------------------------------


def test_recent_work_lists_the_newest_items_of_each_kind_with_their_status(tenant_users: TenantUsers) -> None:
    tenant = tenant_users.tenant
    for index in range(7):
        conversation = start_service(tenant, tenant_users.member, f"Service {index}")
        Conversation.objects.for_tenant(tenant).filter(pk=conversation.pk).update(
            last_activity_at=timezone.now() - timedelta(minutes=10 - index)
        )
    make_workflow(tenant, "Order intake")
    make_generation(tenant, "Firewall API", state=Generation.State.COMPLETED)
    make_generation(tenant, "Billing API", state=Generation.State.FAILED)
    start_service(tenant_users.other_tenant, tenant_users.outsider, "Globex service")

    for user in (tenant_users.owner, tenant_users.member, tenant_users.viewer):
        page = page_of(tenant_users.client_for(user))
        assert recent_titles(page, "services") == [f"Service {index}" for index in (6, 5, 4, 3, 2)]
        assert recent_titles(page, "workflows") == ["Order intake"]
        assert recent_titles(page, "generations") == ["Billing API", "Firewall API"]
        assert 'data-testid="no-work"' not in page
    assert "Globex service" not in page
    assert '<span class="badge status-gathering">Gathering</span>' in page
    assert '<span class="badge workflow-status status-draft">draft</span>' in page
    assert '<span class="badge state-failed">Failed</span>' in page
    assert (
        '<a href="/t/acme/services/" class="small">See all<span class="visually-hidden"> services</span></a>'
        in page
    )


def test_a_kind_without_items_says_so_beside_the_others(tenant_users: TenantUsers) -> None:
    start_service(tenant_users.tenant, tenant_users.member, "Only a service")
    page = page_of(tenant_users.client_for(tenant_users.member))
    assert recent_titles(page, "services") == ["Only a service"]
    assert recent_titles(page, "workflows") == []
    assert "No workflows yet. A finished interview can generate one." in page


def test_titles_are_escaped(tenant_users: TenantUsers) -> None:
    start_service(tenant_users.tenant, tenant_users.member, "<script>alert(1)</script>")
    page = page_of(tenant_users.client_for(tenant_users.viewer))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_app_registered_later_adds_its_panel(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A future runs app contributes through the same registry, with no change here."""
    monkeypatch.setattr(navigation, "_recent_work", dict(navigation._recent_work))
    when = timezone.now()
    navigation.register_recent_work(
        "runs",
        label="Runs",
        items=lambda tenant, limit: [
            navigation.RecentItem(f"Run of {tenant.slug}", "/runs/1/", when, "running", "state-running")
        ],
        url=lambda tenant: f"/t/{tenant.slug}/runs/",
        empty="No runs yet.",
        role="member",
        order=40,
    )
    page = page_of(tenant_users.client_for(tenant_users.member))
    assert recent_titles(page, "runs") == ["Run of acme"]
    assert 'data-testid="recent-runs"' not in page_of(tenant_users.client_for(tenant_users.viewer))


# --- The month's spend --------------------------------------------------------------------


def spend_on_dashboard(page: str) -> tuple[str, str]:
    match = re.search(
        r'data-testid="figure-month_spend">\s*<span class="stat-value">([^<]+)</span>\s*'
        r'<span class="stat-label">([^<]+)</span>',
        page,
    )
    assert match, "no spend figure"
    return match.group(1), match.group(2)


def spend_on_usage_page(page: str) -> tuple[str, str]:
    match = re.search(
        r'<span class="stat-value">([^<]+)</span>\s*<span class="stat-label">(spent this month[^<]*)</span>',
        page,
    )
    assert match, "no spend on the Usage page"
    return match.group(1).strip(), match.group(2).strip()


def spend(tenant: Tenant, cost_usd: float, request_id: str) -> None:
    """Count a gateway call's cost the way the gateway does: reserve, then settle."""
    limits = quotas.Limits(requests_per_minute=None, monthly_tokens=None, monthly_cost_usd=None)
    held = async_to_sync(quotas.reserve)(
        tenant_id=tenant.pk, request_id=request_id, limits=limits, tokens=100, cost_usd=1.0, hold_seconds=60
    )
    async_to_sync(quotas.settle)(held, tokens=80, cost_usd=cost_usd)


def test_the_dashboard_spend_is_the_usage_pages_figure(tenant_users: TenantUsers) -> None:
    spend(tenant_users.tenant, 0.123456, "req_a")
    spend(tenant_users.tenant, 0.5, "req_b")
    spend(tenant_users.other_tenant, 9.0, "req_c")
    client = tenant_users.client_for(tenant_users.viewer)
    dashboard = spend_on_dashboard(page_of(client))
    assert dashboard == spend_on_usage_page(page_of(client, "/t/acme/usage/"))
    assert dashboard == ("$0.6235", "spent this month of $2.00")

    provider_services.gateway_settings_update(
        tenant=tenant_users.tenant,
        store_content=True,
        requests_per_minute=None,
        monthly_token_budget=None,
        monthly_cost_budget_usd=Decimal("12.5"),
    )
    dashboard = spend_on_dashboard(page_of(client))
    assert dashboard == spend_on_usage_page(page_of(client, "/t/acme/usage/"))
    assert dashboard[1] == "spent this month of $12.50"


def test_without_its_counters_the_spend_reads_unknown_on_both_pages(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(**_kwargs: Any) -> quotas.MonthUsage:
        raise RedisError("connection refused")

    monkeypatch.setattr(quotas, "month_usage", unavailable)
    client = tenant_users.client_for(tenant_users.owner)
    dashboard = spend_on_dashboard(page_of(client))
    assert dashboard[0] == "—"
    assert dashboard == spend_on_usage_page(page_of(client, "/t/acme/usage/"))


# --- Cost ---------------------------------------------------------------------------------


def fill(tenant_users: TenantUsers, count: int, offset: int = 0) -> None:
    tenant = tenant_users.tenant
    for index in range(offset, offset + count):
        start_service(tenant, tenant_users.member, f"Service {index}")
        make_workflow(tenant, f"Workflow {index}")
        make_generation(tenant, f"Generation {index}", created_by=tenant_users.member)
        add_key(tenant, f"key-{index}")
        InvitationFactory.create(tenant=tenant, invited_by=tenant_users.owner, email=f"i{index}@acme.test")


def test_the_dashboard_costs_the_same_queries_however_much_work_there_is(
    tenant_users: TenantUsers, django_assert_num_queries: Any
) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    fill(tenant_users, 1)
    client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    fill(tenant_users, 8, offset=1)
    for _ in range(5):
        Membership.objects.create(tenant=tenant_users.tenant, user=UserFactory.create(), role=Role.MEMBER)
    with django_assert_num_queries(len(few.captured_queries)):
        page = page_of(client)
    assert len(recent_titles(page, "services")) == 5
    assert len(recent_titles(page, "generations")) == 5
