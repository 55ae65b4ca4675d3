"""Walk every operation of the public API with every kind of key.

Tenant A ("acme") owns the objects; tenant B ("globex") holds a key with every scope. For
each operation: keys that cannot act are refused with 401, a key without the operation's
scope with 403, both in the caller's error shape; a key with the scope gets past those
checks; and B asking for A's objects is answered exactly as for objects that do not exist
(404, never 403). Operations come from the API itself (tests.api.walk.operations), so a
route added later is walked, or fails the walk until EXAMPLES can call it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from api import services as key_services
from api.models import ApiKey, Scope
from tenants import services as tenant_services
from tests.api.walk.objects import MISSING, PROVIDER, Owned
from tests.api.walk.operations import (
    EXAMPLES,
    NINJA_ROOT,
    PUBLIC,
    TOKEN_PROTECTED,
    Example,
    Operation,
    assert_error_shape,
    call,
    operations,
    routed_paths,
)
from tests.conftest import TenantUsers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_gateway")]

OPERATIONS = operations()
KEYED = [operation for operation in OPERATIONS if operation.keyed]
# Each call of an operation that addresses a tenant's object, by operation and index.
OWNED = [
    (operation, index)
    for operation in KEYED
    for index, example in enumerate(EXAMPLES.get(operation.name, ()))
    if example.owned
]
# Each call that addresses nothing of a tenant's (a list, a new job).
SHARED = [
    (operation, index)
    for operation in KEYED
    for index, example in enumerate(EXAMPLES.get(operation.name, ()))
    if not example.owned
]
ALL_CALLS = [
    (operation, index) for operation in KEYED for index in range(len(EXAMPLES.get(operation.name, ())) or 1)
]


def _name(value: object) -> str:
    return value.name if isinstance(value, Operation) else str(value)


def examples_of(operation: Operation) -> tuple[Example, ...]:
    examples = EXAMPLES.get(operation.name)
    if not examples:
        pytest.fail(f"{operation.name} is keyed: teach EXAMPLES in tests/api/walk/operations.py to call it")
    return examples


def key_of(tenant_users: TenantUsers, scopes: list[str], *, other: bool = False) -> key_services.IssuedApiKey:
    tenant = tenant_users.other_tenant if other else tenant_users.tenant
    actor = tenant_users.outsider if other else tenant_users.owner
    return key_services.api_key_create(tenant=tenant, actor=actor, name="walk", scopes=scopes)


def test_the_walk_covers_every_route_the_api_has() -> None:
    names = {operation.name for operation in OPERATIONS}
    keyed = {operation.name for operation in KEYED}
    assert keyed - set(EXAMPLES) == set(), "keyed operations EXAMPLES cannot call"
    assert set(EXAMPLES) - keyed == set(), "EXAMPLES of operations the API no longer has (or no longer keyed)"
    unkeyed = names - keyed
    assert unkeyed - set(PUBLIC) - set(TOKEN_PROTECTED) == set(), "operations without a key, not listed"
    public_paths = {name.split(" ", 1)[1] for name in PUBLIC} | {NINJA_ROOT}
    assert public_paths <= routed_paths(), "PUBLIC lists routes the API no longer has"
    # A route hidden from the OpenAPI document would escape the walk: it must be listed.
    walked_paths = {operation.path for operation in OPERATIONS} | public_paths
    assert routed_paths() - walked_paths == set(), "routes of the API that are neither operations nor public"
    assert {"POST /v1/chat/completions", "POST /v1/messages", "GET /api/v1/jobs/{job_id}"} <= keyed
    assert len(OWNED) >= 15


def test_ninjas_root_is_not_reached() -> None:
    assert resolve(NINJA_ROOT).namespace != "public_api"


@pytest.mark.parametrize("operation", KEYED, ids=_name)
def test_keys_that_cannot_act_are_401_in_the_callers_shape(
    operation: Operation, tenant_users: TenantUsers, api_client: Client
) -> None:
    example = examples_of(operation)[0]
    objects = Owned(tenant_users)
    active = key_of(tenant_users, list(Scope.values))
    revoked = key_of(tenant_users, list(Scope.values))
    key_services.api_key_revoke(key=revoked.key, actor=tenant_users.owner)
    expired = key_of(tenant_users, list(Scope.values))
    # Time passing: the key's day has ended (no service sets a key's expiry after the fact).
    ApiKey.objects.for_tenant(tenant_users.tenant).filter(pk=expired.key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    presented = {
        "invalid_api_key": ["not-a-key", "sce_walkwalk_" + "x" * 43, f"{active.key.prefix}_{'x' * 43}"],
        "revoked_api_key": [revoked.plaintext],
        "expired_api_key": [expired.plaintext],
    }
    cases: list[tuple[str, dict[str, str], str | None]] = [
        ("missing_api_key", {}, None),
        ("missing_api_key", {"Authorization": "Basic d2FsazprZXk="}, None),
        (
            "conflicting_api_keys",
            {"Authorization": f"Bearer {active.plaintext}", "x-api-key": revoked.plaintext},
            None,
        ),
    ]
    for code, plaintexts in presented.items():
        for plaintext in plaintexts:
            cases.append((code, {"Authorization": f"Bearer {plaintext}"}, None))
            cases.append((code, {"x-api-key": plaintext}, None))
            if operation.query_key is not None:
                cases.append((code, {}, plaintext))
    for code, headers, query_key in cases:
        response = call(api_client, operation, example, objects, headers=headers, query_key=query_key)
        described = (
            f"{operation.name} with {code} ({sorted(headers) or 'no header'}, query={query_key is not None})"
        )
        assert response.status_code == 401, (
            f"{described} -> {response.status_code} {response.content[:200]!r}"
        )
        assert response["WWW-Authenticate"].startswith("Bearer"), described
        assert_error_shape(operation.path, response, code)


@pytest.mark.parametrize("operation", KEYED, ids=_name)
def test_a_key_without_the_scope_or_of_a_suspended_tenant_is_403(
    operation: Operation, tenant_users: TenantUsers, api_client: Client
) -> None:
    example = examples_of(operation)[0]
    objects = Owned(tenant_users)
    others = [scope for scope in Scope.values if scope != example.scope]
    lacking = key_of(tenant_users, others)
    for headers in ({"Authorization": f"Bearer {lacking.plaintext}"}, {"x-api-key": lacking.plaintext}):
        response = call(api_client, operation, example, objects, headers=headers)
        assert response.status_code == 403, (
            f"{operation.name} without {example.scope} -> {response.status_code}"
        )
        assert_error_shape(operation.path, response, "scope_not_granted")
    if operation.query_key is not None:
        response = call(api_client, operation, example, objects, query_key=lacking.plaintext)
        assert response.status_code == 403, f"{operation.name} (query key) -> {response.status_code}"

    every_scope = key_of(tenant_users, list(Scope.values))
    url = example.path(objects)  # the objects are made before the tenant is suspended
    tenant_services.tenant_suspend(tenant=tenant_users.tenant, reason="walk")
    response = call(api_client, operation, example, objects, headers={"x-api-key": every_scope.plaintext})
    assert response.status_code == 403, f"{url} of a suspended tenant -> {response.status_code}"
    assert_error_shape(operation.path, response, "tenant_suspended")


@pytest.mark.parametrize(("operation", "index"), ALL_CALLS, ids=lambda value: _name(value))
def test_a_key_with_the_scope_gets_past_the_checks_to_its_own_objects(
    operation: Operation, index: int, tenant_users: TenantUsers, api_client: Client
) -> None:
    example = examples_of(operation)[index]
    objects = Owned(tenant_users)
    scoped = key_of(tenant_users, [example.scope])
    response = call(
        api_client, operation, example, objects, headers={"Authorization": f"Bearer {scoped.plaintext}"}
    )
    described = (
        f"{operation.name} with a {example.scope} key -> {response.status_code} {response.content[:300]!r}"
    )
    assert response.status_code not in (401, 403, 500), described
    if example.owned:
        # A's own object is found: its 404 for another tenant is about the tenant, not the call.
        assert response.status_code != example.missing_status, described
    if response.status_code >= 400:
        assert_error_shape(operation.path, response)


@pytest.mark.parametrize(("operation", "index"), OWNED, ids=lambda value: _name(value))
def test_another_tenants_object_answers_as_a_missing_one(
    operation: Operation, index: int, tenant_users: TenantUsers, api_client: Client
) -> None:
    example = examples_of(operation)[index]
    objects = Owned(tenant_users)
    outsider = key_of(tenant_users, list(Scope.values), other=True)
    headers = {"x-api-key": outsider.plaintext}
    foreign = call(api_client, operation, example, objects, headers=headers)
    missing = call(api_client, operation, example, MISSING, headers=headers)
    answer = f"{foreign.status_code} {foreign.content[:300]!r}"
    described = f"{example.path(objects)} with another tenant's key -> {answer}"
    assert missing.status_code == example.missing_status, f"{operation.name} for a missing object"
    assert foreign.status_code == example.missing_status, described
    assert_error_shape(operation.path, foreign)
    body = foreign.content.decode()
    assert body == objects.as_foreign(missing.content.decode()), described
    for marker in objects.markers():
        assert marker not in body, f"{described}: names {marker!r}"


@pytest.mark.parametrize(("operation", "index"), SHARED, ids=lambda value: _name(value))
def test_what_another_tenant_is_told_names_nothing_of_a(
    operation: Operation, index: int, tenant_users: TenantUsers, api_client: Client
) -> None:
    example = examples_of(operation)[index]
    objects = Owned(tenant_users)
    outsider = key_of(tenant_users, list(Scope.values), other=True)
    response = call(api_client, operation, example, MISSING, headers={"x-api-key": outsider.plaintext})
    assert response.status_code not in (401, 403, 500), f"{operation.name} -> {response.status_code}"
    body = response.content.decode()
    for marker in [*objects.markers(), PROVIDER]:
        assert marker not in body, f"{operation.name} told another tenant {marker!r}"


@pytest.mark.parametrize("name", sorted(PUBLIC), ids=str)
def test_public_routes_answer_without_a_key_and_ignore_one(name: str, api_client: Client) -> None:
    method, path = name.split(" ", 1)
    bare = api_client.generic(method, path)
    with_key = api_client.generic(method, path, headers={"Authorization": "Bearer sce_walkwalk_" + "x" * 43})
    assert bare.status_code in (200, 503), f"{name} -> {bare.status_code}"  # /health: 503 without Temporal
    assert with_key.status_code == bare.status_code, name


def test_metrics_want_their_own_token(settings: Any, tenant_users: TenantUsers, api_client: Client) -> None:
    tenant_key = key_of(tenant_users, list(Scope.values)).plaintext
    settings.METRICS_ALLOW_LOOPBACK = False  # the test client calls from 127.0.0.1
    settings.METRICS_TOKEN = ""
    unset = api_client.get("/metrics")
    assert unset.status_code == 404, "metrics without a token set do not exist"
    assert_error_shape("/metrics", unset, "not_found")

    settings.METRICS_TOKEN = "walk-metrics-token-0123456789"
    for headers in (
        {},
        {"Authorization": "Bearer walk-metrics-token-wrong"},
        {"Authorization": f"Bearer {tenant_key}"},
        {"x-api-key": tenant_key},
        {"x-api-key": "walk-metrics-token-0123456789"},
    ):
        response = api_client.get("/metrics", headers=headers)
        assert response.status_code == 401, f"/metrics with {sorted(headers)} -> {response.status_code}"
        assert_error_shape("/metrics", response, "invalid_metrics_token")
    granted = api_client.get("/metrics", headers={"Authorization": "Bearer walk-metrics-token-0123456789"})
    assert granted.status_code == 200
