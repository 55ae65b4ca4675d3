from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import Membership, Role, Tenant, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "password": PASSWORD,
    "organization": "Analytical Engines",
}


def test_it_creates_the_user_their_tenant_and_signs_them_in(client: Client) -> None:
    response = client.post("/accounts/signup/", SIGNUP)
    tenant = Tenant.objects.get(name="Analytical Engines")
    assert response.status_code == 302
    assert response["Location"] == f"/t/{tenant.slug}/"
    user = User.objects.get(email="ada@example.com")
    assert Membership.objects.for_tenant(tenant).get(user=user).role == Role.OWNER
    dashboard = client.get(response["Location"])
    assert dashboard.status_code == 200
    assert b"Analytical Engines" in dashboard.content


def test_the_slug_is_unique_per_tenant(client: Client) -> None:
    client.post("/accounts/signup/", SIGNUP)
    Client().post("/accounts/signup/", {**SIGNUP, "email": "grace@example.com"})
    slugs = list(Tenant.objects.filter(name="Analytical Engines").values_list("slug", flat=True))
    assert len(slugs) == 2
    assert len(set(slugs)) == 2


def test_it_refuses_an_email_in_use_whatever_its_case(client: Client) -> None:
    UserFactory.create(email="ada@example.com")
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 422
    assert b"exists already" in response.content
    assert not Tenant.objects.filter(name="Analytical Engines").exists()


def test_it_refuses_a_weak_password_and_keeps_nothing(client: Client) -> None:
    response = client.post("/accounts/signup/", {**SIGNUP, "password": "12345678"})
    assert response.status_code == 422
    assert b"too common" in response.content
    assert not User.objects.filter(email="ada@example.com").exists()


def test_it_refuses_missing_fields(client: Client) -> None:
    response = client.post("/accounts/signup/", {"email": "not-an-email"})
    assert response.status_code == 422
    assert b"Enter a valid email address." in response.content
    assert not User.objects.exists()
