from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Tenant, User
from tests.conftest import TenantUsers
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(tenant_users: TenantUsers) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@sce.test", password="x" * 20))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/tenants/tenant/?q=acme&status__exact=active&plan__exact=free",
        "/admin/tenants/membership/?q=acme.test&role__exact=owner",
        "/admin/tenants/invitation/?q=invitee",
        "/admin/tenants/user/?q=acme",
    ],
)
def test_operators_list_search_and_filter(operator: Client, url: str, tenant_users: TenantUsers) -> None:
    InvitationFactory.create(tenant=tenant_users.tenant)
    response = operator.get(url)
    assert response.status_code == 200
    assert b"0 results" not in response.content


def test_operators_open_a_tenant_with_its_members(operator: Client, tenant_users: TenantUsers) -> None:
    response = operator.get(f"/admin/tenants/tenant/{tenant_users.tenant.pk}/change/")
    assert response.status_code == 200
    assert b"owner@acme.test" in response.content


def test_the_tenant_list_counts_members(operator: Client, tenant_users: TenantUsers) -> None:
    response = operator.get("/admin/tenants/tenant/")
    assert b'<td class="field-member_count">4</td>' in response.content


def test_suspending_shows_members_the_suspended_page_and_still_hides_the_tenant_from_outsiders(
    operator: Client, tenant_users: TenantUsers
) -> None:
    response = operator.post(
        "/admin/tenants/tenant/",
        {"action": "suspend", "_selected_action": [tenant_users.tenant.pk]},
    )
    assert response.status_code == 302
    tenant_users.tenant.refresh_from_db()
    assert tenant_users.tenant.status == Tenant.Status.SUSPENDED

    page = tenant_users.client_for(tenant_users.member).get("/t/acme/members/")
    assert page.status_code == 403
    assert b"Acme Networks is suspended" in page.content
    assert tenant_users.client_for(tenant_users.outsider).get("/t/acme/").status_code == 404

    operator.post(
        "/admin/tenants/tenant/", {"action": "reactivate", "_selected_action": [tenant_users.tenant.pk]}
    )
    assert tenant_users.client_for(tenant_users.member).get("/t/acme/").status_code == 200


def test_invitations_cannot_be_added_in_the_admin(operator: Client) -> None:
    assert operator.get("/admin/tenants/invitation/add/").status_code == 403


def test_non_staff_members_cannot_reach_the_admin(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).get("/admin/tenants/tenant/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
