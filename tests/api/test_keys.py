"""API keys: made, stored hashed, found from either header, refused at once when they stop
being usable, their use and changes recorded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from django.test import RequestFactory
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from api import selectors, services
from api.authentication import ApiKeyRefused, authenticate, identify
from api.models import ApiKey, ApiKeyEvent
from tenants.models import Tenant
from tests.api.conftest import Clock
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


def _refusal(headers: dict[str, str]) -> ApiKeyRefused:
    with pytest.raises(ApiKeyRefused) as refused:
        identify(headers)
    assert authenticate(headers) is None
    return refused.value


def _fresh(key: ApiKey) -> ApiKey:
    return ApiKey.objects.for_tenant(key.tenant).get(pk=key.pk)


def test_it_makes_a_prefixed_key_and_keeps_only_its_hash(issued: services.IssuedApiKey) -> None:
    key, plaintext = issued
    assert re.fullmatch(r"sce_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", plaintext)
    assert plaintext.startswith(key.prefix + "_")
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    secret = plaintext.removeprefix(key.prefix + "_")
    stored = ApiKey.objects.for_tenant(key.tenant).filter(pk=key.pk).values().get()
    assert not any(secret in str(value) for value in stored.values())
    assert key.scopes == ["gateway"]
    assert key.expires_at is None
    assert key.status == "active"


def test_it_gives_every_key_its_own_prefix_and_secret(tenant_users: TenantUsers) -> None:
    issued = [
        services.api_key_create(tenant=tenant_users.tenant, actor=None, name=f"k{n}", scopes=["runs"])
        for n in range(5)
    ]
    assert len({key.prefix for key, _ in issued}) == 5
    assert len({plaintext for _, plaintext in issued}) == 5


def test_it_keeps_scopes_in_a_fixed_order_and_refuses_unknown_ones(tenant_users: TenantUsers) -> None:
    key, _ = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="all", scopes=["runs", "gateway", "workflows"]
    )
    assert key.scopes == ["gateway", "workflows", "runs"]
    for scopes in (["admin"], []):
        with pytest.raises(ValueError, match="scopes"):
            services.api_key_create(tenant=tenant_users.tenant, actor=None, name="bad", scopes=scopes)


def test_an_expiry_in_days_sets_the_time_it_stops(tenant_users: TenantUsers, clock: Clock) -> None:
    clock.set("2030-01-01 12:00:00")
    key, _ = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="temp", scopes=["gateway"], expires_in_days=30
    )
    assert key.expires_at is not None
    assert key.expires_at.isoformat() == "2030-01-31T12:00:00+00:00"


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"Authorization": f"Bearer {key}"},
        lambda key: {"authorization": f"bearer   {key}"},
        lambda key: {"x-api-key": key},
        lambda key: {"X-Api-Key": f" {key} "},
        lambda key: {"Authorization": f"Bearer {key}", "x-api-key": key},
    ],
    ids=["bearer", "bearer-lowercase", "x-api-key", "x-api-key-spaced", "both-alike"],
)
def test_it_accepts_the_key_from_either_header(
    issued: services.IssuedApiKey, headers: Callable[[str], dict[str, str]]
) -> None:
    presented = headers(issued.plaintext)
    key = identify(presented)
    assert key.pk == issued.key.pk
    assert key.tenant.slug == "acme"
    assert authenticate(presented) == key


def test_it_reads_the_key_from_a_requests_headers(issued: services.IssuedApiKey, rf: RequestFactory) -> None:
    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    assert authenticate(request.headers) == issued.key


def test_it_refuses_a_missing_key(issued: services.IssuedApiKey) -> None:
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"x-api-key": ""},
    ):
        refused = _refusal(headers)
        assert (refused.status, refused.code) == (401, "missing_api_key")


def test_it_refuses_wrong_keys_alike(issued: services.IssuedApiKey) -> None:
    key, plaintext = issued
    wrong = [
        plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"),  # the right prefix, a wrong secret
        "sce_zzzzzzzz_" + plaintext.split("_", 2)[2],  # no such prefix
        key.prefix,  # the prefix alone
        "sk-" + plaintext,
        plaintext + "x" * 200,
        "not a key at all",
    ]
    for presented in wrong:
        refused = _refusal({"x-api-key": presented})
        assert (refused.status, refused.code) == (401, "invalid_api_key"), presented
        assert refused.message == "The API key is not valid."


def test_it_refuses_two_different_keys(issued: services.IssuedApiKey, tenant_users: TenantUsers) -> None:
    _other, other_plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="other", scopes=["gateway"]
    )
    refused = _refusal({"Authorization": f"Bearer {issued.plaintext}", "x-api-key": other_plaintext})
    assert (refused.status, refused.code) == (401, "conflicting_api_keys")


def test_a_revoked_key_is_refused_on_its_next_call(issued: services.IssuedApiKey) -> None:
    headers = {"x-api-key": issued.plaintext}
    assert identify(headers) == issued.key
    # Revoked through another object, as another process would: nothing is cached here.
    services.api_key_revoke(key=_fresh(issued.key), actor=None)
    refused = _refusal(headers)
    assert (refused.status, refused.code) == (401, "revoked_api_key")
    assert issued.key.prefix in refused.message


def test_an_expired_key_is_refused_from_its_expiry_on(tenant_users: TenantUsers, clock: Clock) -> None:
    clock.set("2030-01-01 12:00:00")
    key, plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="temp", scopes=["gateway"], expires_in_days=1
    )
    clock.set("2030-01-02 11:59:59")
    assert identify({"x-api-key": plaintext}) == key
    clock.set("2030-01-02 12:00:00")
    refused = _refusal({"x-api-key": plaintext})
    assert (refused.status, refused.code) == (401, "expired_api_key")


def test_a_suspended_tenants_key_is_refused_until_it_is_reinstated(issued: services.IssuedApiKey) -> None:
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    Tenant.objects.filter(pk=issued.key.tenant_id).update(status=Tenant.Status.SUSPENDED)
    refused = _refusal(headers)
    assert (refused.status, refused.code) == (403, "tenant_suspended")
    Tenant.objects.filter(pk=issued.key.tenant_id).update(status=Tenant.Status.ACTIVE)
    assert identify(headers) == issued.key


def test_a_use_is_noted_at_most_once_a_minute(
    issued: services.IssuedApiKey, django_assert_num_queries: DjangoAssertNumQueries, clock: Clock
) -> None:
    headers = {"x-api-key": issued.plaintext}
    clock.set("2030-01-01 12:00:00")
    identify(headers, address="203.0.113.7")
    key = _fresh(issued.key)
    assert key.last_used_at is not None
    assert key.last_used_at.isoformat() == "2030-01-01T12:00:00+00:00"
    assert key.last_used_address == "203.0.113.7"
    clock.set("2030-01-01 12:00:59")
    with django_assert_num_queries(1):
        identify(headers, address="198.51.100.1")  # the read only: no write within the minute
    assert _fresh(issued.key).last_used_address == "203.0.113.7"
    clock.set("2030-01-01 12:01:00")
    identify(headers, address="198.51.100.1")
    key = _fresh(issued.key)
    assert key.last_used_address == "198.51.100.1"
    assert key.last_used_at is not None
    assert key.last_used_at.isoformat() == "2030-01-01T12:01:00+00:00"


def test_a_stale_copy_does_not_write_a_use_another_process_just_wrote(issued: services.IssuedApiKey) -> None:
    stale = _fresh(issued.key)  # read before the other process noted its use
    now = timezone.now()
    ApiKey.objects.for_tenant(stale.tenant).filter(pk=stale.pk).update(
        last_used_at=now, last_used_address="192.0.2.1"
    )
    services.api_key_mark_used(key=stale, address="192.0.2.99")
    assert _fresh(issued.key).last_used_address == "192.0.2.1"


def test_creation_and_revocation_are_recorded_once(
    issued: services.IssuedApiKey, tenant_users: TenantUsers
) -> None:
    services.api_key_revoke(
        key=issued.key, actor=tenant_users.admin, via=ApiKeyEvent.Via.PORTAL, origin="203.0.113.9"
    )
    services.api_key_revoke(key=_fresh(issued.key), actor=tenant_users.owner)  # already revoked
    events = list(selectors.api_key_events_of_tenant(tenant=tenant_users.tenant))
    assert [(event.kind, event.actor) for event in events] == [
        ("revoked", tenant_users.admin),
        ("created", tenant_users.owner),
    ]
    assert events[0].origin == "203.0.113.9"
    assert all(event.key == issued.key for event in events)
    assert _fresh(issued.key).status == "revoked"


def test_keys_are_listed_per_tenant(issued: services.IssuedApiKey, tenant_users: TenantUsers) -> None:
    services.api_key_create(tenant=tenant_users.other_tenant, actor=None, name="globex", scopes=["gateway"])
    assert list(selectors.api_keys_of_tenant(tenant=tenant_users.tenant)) == [issued.key]
    assert [event.key for event in selectors.api_key_events_of_tenant(tenant=tenant_users.tenant)] == [
        issued.key
    ]
