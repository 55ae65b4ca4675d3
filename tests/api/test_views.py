"""The API keys page: everyone in the tenant reads it, admins and owners create and revoke
keys, outsiders find nothing; a new key is shown once."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from api import selectors, services
from api.models import ApiKey, ApiKeyEvent
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


def _list_url(slug: str = "acme") -> str:
    return reverse("api:key_list", kwargs={"tenant_slug": slug})


def _revoke_url(key: ApiKey, slug: str = "acme") -> str:
    return reverse("api:key_revoke", kwargs={"tenant_slug": slug, "api_key_id": key.pk})


def _keys(tenant_users: TenantUsers) -> list[ApiKey]:
    return list(selectors.api_keys_of_tenant(tenant=tenant_users.tenant))


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_it_creates_a_key_and_shows_it_once(tenant_users: TenantUsers, role: str) -> None:
    client = tenant_users.client_for(getattr(tenant_users, role))
    response = client.post(
        _list_url(),
        {"name": "billing sync", "scopes": ["gateway", "runs"], "expires_in_days": "30"},
        REMOTE_ADDR="203.0.113.4",
    )
    assert response.status_code == 200
    (key,) = _keys(tenant_users)
    assert (key.name, key.scopes, key.created_by) == (
        "billing sync",
        ["gateway", "runs"],
        getattr(tenant_users, role),
    )
    assert key.expires_at is not None
    plaintext = response.context["issued"].plaintext
    assert plaintext.startswith(key.prefix + "_")
    body = response.content.decode()
    assert f'value="{plaintext}"' in body
    assert "shown only this once" in body
    later = client.get(_list_url()).content.decode()
    assert key.prefix in later
    assert plaintext not in later
    (event,) = selectors.api_key_events_of_tenant(tenant=tenant_users.tenant)
    assert (event.kind, event.via, event.origin) == ("created", "portal", "203.0.113.4")


def test_htmx_gets_the_panel_only(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).post(
        _list_url(), {"name": "ci", "scopes": ["workflows"]}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="keys-panel">')
    assert "<html" not in body
    assert response.context["issued"].plaintext in body


def test_a_key_may_get_its_own_rate_limit(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    form = client.get(_list_url()).content.decode()
    assert "Requests per minute" in form
    # The free plan's 20 a minute binds every key as well.
    assert "organization's limit of 20 model calls a minute" in form
    response = client.post(_list_url(), {"name": "sync", "scopes": ["gateway"], "requests_per_minute": "30"})
    assert response.status_code == 200
    (key,) = _keys(tenant_users)
    assert key.requests_per_minute == 30
    assert "up to 30 requests a minute" in response.content.decode()
    client.post(_list_url(), {"name": "open", "scopes": ["gateway"], "requests_per_minute": ""})
    assert [key.requests_per_minute for key in _keys(tenant_users)] == [None, 30]
    limits = [
        cell.split("</td>")[0]
        for cell in client.get(_list_url()).content.decode().split('data-testid="key-rate-limit">')[1:]
    ]
    assert ["organization" in limits[0], limits[1]] == [True, "30 a minute"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "scopes": ["gateway"]}, "name"),
        ({"name": "   ", "scopes": ["gateway"]}, "name"),
        ({"name": "x" * 101, "scopes": ["gateway"]}, "name"),
        ({"name": "no scopes"}, "scopes"),
        ({"name": "bad scope", "scopes": ["admin"]}, "scopes"),
        ({"name": "days", "scopes": ["gateway"], "expires_in_days": "0"}, "expires_in_days"),
        ({"name": "days", "scopes": ["gateway"], "expires_in_days": "99999"}, "expires_in_days"),
        ({"name": "days", "scopes": ["gateway"], "expires_in_days": "soon"}, "expires_in_days"),
        ({"name": "rpm", "scopes": ["gateway"], "requests_per_minute": "0"}, "requests_per_minute"),
        ({"name": "rpm", "scopes": ["gateway"], "requests_per_minute": "100001"}, "requests_per_minute"),
        ({"name": "rpm", "scopes": ["gateway"], "requests_per_minute": "fast"}, "requests_per_minute"),
    ],
)
def test_bad_input_is_422_with_the_field_named(
    tenant_users: TenantUsers, data: dict[str, object], field: str
) -> None:
    response = tenant_users.client_for(tenant_users.admin).post(_list_url(), data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _keys(tenant_users) == []


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_see_the_keys_but_cannot_change_them(
    tenant_users: TenantUsers, role: str
) -> None:
    issued = services.api_key_create(tenant=tenant_users.tenant, actor=None, name="seen", scopes=["gateway"])
    client = tenant_users.client_for(getattr(tenant_users, role))
    page = client.get(_list_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert issued.key.prefix in body
    assert 'data-testid="key-form"' not in body
    assert 'data-testid="key-revoke"' not in body
    assert "Your role can see the keys" in body
    assert client.post(_list_url(), {"name": "sneaky", "scopes": ["gateway"]}).status_code == 403
    assert client.post(_revoke_url(issued.key)).status_code == 403
    assert [key.name for key in _keys(tenant_users)] == ["seen"]
    assert _keys(tenant_users)[0].revoked_at is None


def test_outsiders_find_no_page_and_no_key(tenant_users: TenantUsers) -> None:
    issued = services.api_key_create(tenant=tenant_users.tenant, actor=None, name="ours", scopes=["gateway"])
    outsider = tenant_users.client_for(tenant_users.outsider)
    assert outsider.get(_list_url()).status_code == 404
    assert outsider.post(_list_url(), {"name": "x", "scopes": ["gateway"]}).status_code == 404
    assert outsider.post(_revoke_url(issued.key)).status_code == 404
    # Under their own tenant, our key is missing too.
    assert outsider.post(_revoke_url(issued.key, slug="globex")).status_code == 404
    assert _keys(tenant_users)[0].revoked_at is None


def test_anonymous_visitors_are_sent_to_sign_in(tenant_users: TenantUsers) -> None:
    response = Client().get(_list_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_admin_revokes_a_key_and_it_stops_working(tenant_users: TenantUsers) -> None:
    key, plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="old", scopes=["gateway"]
    )
    client = tenant_users.client_for(tenant_users.admin)
    response = client.post(_revoke_url(key), REMOTE_ADDR="198.51.100.8")
    assert response.status_code == 302
    assert response["Location"] == _list_url()
    (revoked,) = _keys(tenant_users)
    assert revoked.status == "revoked"
    from api.authentication import authenticate

    assert authenticate({"x-api-key": plaintext}) is None
    event = selectors.api_key_events_of_tenant(tenant=tenant_users.tenant).first()
    assert event is not None
    assert (event.kind, event.actor, event.origin) == (
        ApiKeyEvent.Kind.REVOKED,
        tenant_users.admin,
        "198.51.100.8",
    )
    page = client.get(_list_url()).content.decode()
    assert 'data-testid="key-revoke"' not in page
    assert "revoked" in page


def test_revoking_by_htmx_answers_the_panel(tenant_users: TenantUsers) -> None:
    key, _ = services.api_key_create(tenant=tenant_users.tenant, actor=None, name="old", scopes=["gateway"])
    response = tenant_users.client_for(tenant_users.owner).post(
        _revoke_url(key), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="keys-panel">')
    assert _keys(tenant_users)[0].status == "revoked"


def test_the_list_costs_the_same_few_queries_however_many_keys(
    tenant_users: TenantUsers, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for number in range(12):
        issued = services.api_key_create(
            tenant=tenant_users.tenant, actor=tenant_users.owner, name=f"k{number}", scopes=["gateway"]
        )
        if number % 3 == 0:
            services.api_key_revoke(key=issued.key, actor=tenant_users.admin)
    client = tenant_users.client_for(tenant_users.owner)
    client.get(_list_url())  # warm the session
    with django_assert_max_num_queries(10):
        response = client.get(_list_url())
    assert response.content.decode().count('data-testid="key-row"') == 12


def test_the_menu_links_to_the_page(tenant_users: TenantUsers) -> None:
    body = tenant_users.client_for(tenant_users.viewer).get(
        reverse("tenants:dashboard", kwargs={"tenant_slug": "acme"})
    )
    assert f'href="{_list_url()}"' in body.content.decode()
