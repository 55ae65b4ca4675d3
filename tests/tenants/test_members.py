from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Invitation, Membership, Role
from tests.conftest import TenantUsers
from tests.factories import PASSWORD, InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = "/t/acme/members/"


def invite(client: Client, email: str, role: str = "member") -> str:
    """Invite through the page; return the one-time link it shows."""
    response = client.post(MEMBERS, {"email": email, "role": role})
    assert response.status_code == 200, response.content
    match = re.search(rb'value="(http://[^"]+/invitations/[^"]+/)"', response.content)
    assert match, "the invitation link is shown once"
    return match.group(1).decode()


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def test_everyone_sees_the_member_list(tenant_users: TenantUsers) -> None:
    for user in (tenant_users.owner, tenant_users.admin, tenant_users.member, tenant_users.viewer):
        response = tenant_users.client_for(user).get(MEMBERS)
        assert response.status_code == 200
        assert response.content.count(b'data-testid="member-row"') == 4


def test_only_admins_see_and_use_the_invite_form(tenant_users: TenantUsers) -> None:
    for user in (tenant_users.member, tenant_users.viewer):
        client = tenant_users.client_for(user)
        assert b"Send invitation" not in client.get(MEMBERS).content
        assert client.post(MEMBERS, {"email": "x@example.com", "role": "member"}).status_code == 403
    assert not Invitation.objects.for_tenant(tenant_users.tenant).exists()
    assert b"Send invitation" in tenant_users.client_for(tenant_users.admin).get(MEMBERS).content


def test_an_invitation_is_emailed_and_stored_only_as_a_hash(
    tenant_users: TenantUsers, django_capture_on_commit_callbacks: Any
) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    with django_capture_on_commit_callbacks(execute=True):
        with_link = invite(client, "New.Person@Example.com", "viewer")
    token = with_link.rstrip("/").rsplit("/", 1)[-1]
    invitation = Invitation.objects.for_tenant(tenant_users.tenant).get()
    assert invitation.email == "new.person@example.com"
    assert invitation.role == Role.VIEWER
    assert token not in invitation.token_hash
    assert len(mail.outbox) == 1
    assert with_link in mail.outbox[0].body
    assert mail.outbox[0].to == ["new.person@example.com"]


def test_admins_cannot_invite_owners_but_owners_can(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.admin).post(
        MEMBERS, {"email": "boss@example.com", "role": "owner"}
    )
    assert response.status_code == 422
    assert not Invitation.objects.for_tenant(tenant_users.tenant).exists()
    invite(tenant_users.client_for(tenant_users.owner), "boss@example.com", "owner")


def test_inviting_a_member_again_is_refused(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).post(
        MEMBERS, {"email": "MEMBER@acme.test", "role": "member"}
    )
    assert response.status_code == 422
    assert b"already a member" in response.content


def test_bad_invitation_input_is_a_422_with_the_form(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    response = client.post(MEMBERS, {"email": "nope", "role": "emperor"})
    assert response.status_code == 422
    assert b"Enter a valid email address." in response.content
    assert b"Select a valid choice." in response.content


def test_htmx_invite_returns_the_panel_fragment(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    response = client.post(
        MEMBERS, {"email": "frag@example.com", "role": "member"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="members-panel">')
    assert b"<html" not in response.content


def test_reinviting_replaces_the_open_invitation(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    first = invite(client, "twice@example.com")
    second = invite(client, "twice@example.com")
    assert Client().get(path_of(first)).status_code == 410
    assert Client().get(path_of(second)).status_code == 200


def test_a_new_user_signs_up_through_the_link_and_joins(tenant_users: TenantUsers) -> None:
    link = path_of(invite(tenant_users.client_for(tenant_users.admin), "newbie@example.com", "viewer"))
    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200
    assert b"Join Acme Networks" in page.content
    token = link.rstrip("/").rsplit("/", 1)[-1]
    signup = visitor.get(f"/accounts/signup/?invitation={token}")
    assert b'value="newbie@example.com"' in signup.content
    # The email comes from the invitation, whatever the form says.
    response = visitor.post(
        f"/accounts/signup/?invitation={token}",
        {"name": "New Bie", "email": "hijack@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/"
    membership = Membership.objects.for_tenant(tenant_users.tenant).get(user__email="newbie@example.com")
    assert membership.role == Role.VIEWER
    assert visitor.get("/t/acme/").status_code == 200
    assert Client().get(link).status_code == 410, "the link works once"


def test_an_existing_user_accepts_while_signed_in(tenant_users: TenantUsers) -> None:
    link = path_of(invite(tenant_users.client_for(tenant_users.owner), "outsider@globex.test", "member"))
    client = tenant_users.client_for(tenant_users.outsider)
    assert client.get("/t/acme/").status_code == 404
    response = client.post(link)
    assert response.status_code == 302
    assert client.get("/t/acme/").status_code == 200


def test_the_link_only_works_for_the_invited_email(tenant_users: TenantUsers) -> None:
    link = path_of(invite(tenant_users.client_for(tenant_users.owner), "someone.else@example.com"))
    response = tenant_users.client_for(tenant_users.outsider).post(link)
    assert response.status_code == 403
    assert b"this invitation is for someone.else@example.com" in response.content
    assert not Membership.objects.for_tenant(tenant_users.tenant).filter(user=tenant_users.outsider).exists()


def test_expired_revoked_and_unknown_links(tenant_users: TenantUsers) -> None:
    InvitationFactory.create(
        tenant=tenant_users.tenant, token="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = InvitationFactory.create(tenant=tenant_users.tenant, token="gone")
    client = tenant_users.client_for(tenant_users.admin)
    assert client.post(f"/t/acme/invitations/{revoked.pk}/revoke/").status_code == 302
    visitor = Client()
    assert b"is expired" in visitor.get("/invitations/old/").content
    assert visitor.get("/invitations/gone/").status_code == 410
    assert visitor.get("/invitations/never-issued/").status_code == 404


def test_an_admin_changes_a_role(tenant_users: TenantUsers) -> None:
    member = tenant_users.membership(tenant_users.member)
    client = tenant_users.client_for(tenant_users.admin)
    response = client.post(
        f"/t/acme/members/{member.pk}/role/", {"role": "viewer"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_admins_cannot_touch_owners(tenant_users: TenantUsers) -> None:
    owner = tenant_users.membership(tenant_users.owner)
    client = tenant_users.client_for(tenant_users.admin)
    response = client.post(
        f"/t/acme/members/{owner.pk}/role/", {"role": "viewer"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert client.post(f"/t/acme/members/{owner.pk}/remove/").status_code == 302
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_the_last_owner_cannot_be_demoted_or_removed(tenant_users: TenantUsers) -> None:
    owner = tenant_users.membership(tenant_users.owner)
    client = tenant_users.client_for(tenant_users.owner)
    response = client.post(
        f"/t/acme/members/{owner.pk}/role/", {"role": "admin"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert b"the last owner cannot be demoted" in response.content
    response = client.post(f"/t/acme/members/{owner.pk}/remove/", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert b"the last owner cannot be removed" in response.content
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_with_a_second_owner_the_first_may_step_down(tenant_users: TenantUsers) -> None:
    owner = tenant_users.membership(tenant_users.owner)
    admin = tenant_users.membership(tenant_users.admin)
    client = tenant_users.client_for(tenant_users.owner)
    client.post(f"/t/acme/members/{admin.pk}/role/", {"role": "owner"})
    response = client.post(f"/t/acme/members/{owner.pk}/role/", {"role": "member"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.role == Role.MEMBER


def test_an_admin_removes_a_member(tenant_users: TenantUsers) -> None:
    member = tenant_users.membership(tenant_users.member)
    response = tenant_users.client_for(tenant_users.admin).post(f"/t/acme/members/{member.pk}/remove/")
    assert response.status_code == 302
    assert tenant_users.client_for(tenant_users.member).get("/t/acme/").status_code == 404


def test_members_cannot_remove_others_but_can_leave(tenant_users: TenantUsers) -> None:
    viewer = tenant_users.membership(tenant_users.viewer)
    member = tenant_users.membership(tenant_users.member)
    client = tenant_users.client_for(tenant_users.member)
    assert client.post(f"/t/acme/members/{viewer.pk}/remove/").status_code == 403
    assert Membership.objects.for_tenant(tenant_users.tenant).filter(pk=viewer.pk).exists()
    assert client.post(f"/t/acme/members/{member.pk}/remove/").status_code == 302
    assert not Membership.objects.for_tenant(tenant_users.tenant).filter(pk=member.pk).exists()


def test_member_ids_of_another_tenant_are_404(tenant_users: TenantUsers) -> None:
    foreign = Membership.objects.for_tenant(tenant_users.other_tenant).get()
    client = tenant_users.client_for(tenant_users.owner)
    assert client.post(f"/t/acme/members/{foreign.pk}/role/", {"role": "viewer"}).status_code == 404
    assert client.post(f"/t/acme/members/{foreign.pk}/remove/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.OWNER


def test_a_user_in_two_tenants_switches_between_them(tenant_users: TenantUsers) -> None:
    Membership.objects.create(tenant=tenant_users.other_tenant, user=tenant_users.member, role=Role.MEMBER)
    client = tenant_users.client_for(tenant_users.member)
    page = client.get("/t/acme/").content
    assert b'data-testid="tenant-switcher"' in page
    assert b"/t/globex/" in page
    assert b"Globex Secret Labs" in page
    client.get("/t/globex/")
    assert client.get("/")["Location"] == "/t/globex/", "home returns to the last tenant used"
    client.get("/t/acme/")
    assert client.get("/")["Location"] == "/t/acme/"


def test_a_user_without_tenant_is_asked_to_create_one() -> None:
    client = Client()
    client.force_login(UserFactory.create())
    assert client.get("/")["Location"] == "/organizations/new/"
    response = client.post("/organizations/new/", {"name": "Fresh Start"})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_the_members_page_costs_the_same_queries_for_many_members(
    tenant_users: TenantUsers, django_assert_num_queries: Any
) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    for _ in range(2):
        InvitationFactory.create(tenant=tenant_users.tenant, invited_by=tenant_users.admin)
    client.get(MEMBERS)
    with CaptureQueriesContext(connection) as few:
        client.get(MEMBERS)
    for index in range(15):
        Membership.objects.create(tenant=tenant_users.tenant, user=UserFactory.create(), role=Role.MEMBER)
        InvitationFactory.create(
            tenant=tenant_users.tenant, invited_by=tenant_users.admin, email=f"m{index}@x.test"
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(MEMBERS)
    assert response.content.count(b'data-testid="member-row"') == 19
