from __future__ import annotations

import pytest

from tenants.models import Invitation, Membership
from tenants.scoping import UnscopedQueryError
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


def test_it_refuses_queries_that_name_no_tenant(tenant_users: TenantUsers) -> None:
    for attempt in (
        lambda: list(Membership.objects.all()),
        lambda: Membership.objects.filter(role="owner").exists(),
        lambda: Membership.objects.count(),
        lambda: Invitation.objects.get(pk=1),
        lambda: Invitation.objects.update(role="viewer"),
    ):
        with pytest.raises(UnscopedQueryError):
            attempt()


def test_it_returns_only_the_named_tenants_rows(tenant_users: TenantUsers) -> None:
    emails = set(Membership.objects.for_tenant(tenant_users.tenant).values_list("user__email", flat=True))
    assert emails == {"owner@acme.test", "admin@acme.test", "member@acme.test", "viewer@acme.test"}
    assert "outsider@globex.test" not in emails


def test_create_needs_a_tenant(tenant_users: TenantUsers) -> None:
    with pytest.raises(UnscopedQueryError):
        Membership.objects.create(user=tenant_users.outsider, role="member")


def test_for_tenant_needs_a_saved_tenant() -> None:
    with pytest.raises(UnscopedQueryError):
        Membership.objects.for_tenant(None)  # type: ignore[arg-type]


def test_the_tenant_has_no_unscoped_reverse_accessor(tenant_users: TenantUsers) -> None:
    assert not hasattr(tenant_users.tenant, "membership_set")
    assert not hasattr(tenant_users.tenant, "invitation_set")
