"""The audit trail of keys: every creation and revocation, from the page or the command
line, is recorded once; the tenant's members read it on the API keys page, operators in the
admin, where nobody can change it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from api import selectors, services
from api.models import ApiKey, ApiKeyEvent
from tenants.models import User
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

PAGE = "/t/acme/api-keys/"


def _events(tenant_users: TenantUsers) -> list[tuple[str, str]]:
    return [
        (event.kind, event.via) for event in selectors.api_key_events_of_tenant(tenant=tenant_users.tenant)
    ]


def test_every_way_of_creating_and_revoking_writes_one_event(tenant_users: TenantUsers) -> None:
    admin = tenant_users.client_for(tenant_users.admin)
    admin.post(PAGE, {"name": "from the page", "scopes": ["gateway"]})
    out = io.StringIO()
    call_command(
        "apikey",
        "create",
        "--tenant",
        "acme",
        "--name",
        "from the shell",
        "--scope",
        "runs",
        stdout=out,
        stderr=io.StringIO(),
    )
    page_key = ApiKey.objects.for_tenant(tenant_users.tenant).get(name="from the page")
    shell_key = ApiKey.objects.for_tenant(tenant_users.tenant).get(name="from the shell")
    call_command("apikey", "revoke", page_key.prefix, stdout=io.StringIO())
    admin.post(reverse("api:key_revoke", kwargs={"tenant_slug": "acme", "api_key_id": shell_key.pk}))

    assert _events(tenant_users) == [
        ("revoked", "portal"),
        ("revoked", "cli"),
        ("created", "cli"),
        ("created", "portal"),
    ]
    portal_created = selectors.api_key_events_of_tenant(tenant=tenant_users.tenant).last()
    assert portal_created is not None
    assert portal_created.actor == tenant_users.admin


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_the_page_lists_recent_key_changes_of_the_tenant_only(tenant_users: TenantUsers, role: str) -> None:
    issued = services.api_key_create(
        tenant=tenant_users.tenant,
        actor=None,
        name="nightly",
        scopes=["runs"],
        via=ApiKeyEvent.Via.COMMAND_LINE,
    )
    services.api_key_revoke(key=issued.key, actor=tenant_users.admin, origin="198.51.100.4")
    theirs = services.api_key_create(
        tenant=tenant_users.other_tenant, actor=None, name="globex", scopes=["runs"]
    )

    body = tenant_users.client_for(getattr(tenant_users, role)).get(PAGE).content.decode()

    assert "Recent key changes" in body
    assert "created by an operator on the command line" in body
    assert f"revoked by {tenant_users.admin.email}" in body
    assert theirs.key.prefix not in body
    # Where a change came from is for those who manage keys.
    assert ("198.51.100.4" in body) is (role == "owner")


def test_operators_read_the_trail_in_the_admin_and_cannot_change_it(tenant_users: TenantUsers) -> None:
    issued = services.api_key_create(
        tenant=tenant_users.tenant,
        actor=tenant_users.owner,
        name="ci",
        scopes=["gateway"],
        requests_per_minute=30,
    )
    operator = Client()
    operator.force_login(User.objects.create_superuser(email="ops@sce.test", password="x" * 20))
    events = operator.get(reverse("admin:api_apikeyevent_changelist"))
    assert events.status_code == 200
    assert "ci" in events.content.decode()
    event = ApiKeyEvent.objects.dangerously_unscoped().get(key=issued.key)
    assert operator.get(reverse("admin:api_apikeyevent_add")).status_code == 403
    assert (
        operator.post(reverse("admin:api_apikeyevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ApiKeyEvent.objects.dangerously_unscoped().filter(pk=event.pk).exists()
    keys = operator.get(reverse("admin:api_apikey_changelist")).content.decode()
    assert "Requests per minute" in keys
    assert ">30<" in keys
