from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_is_case_insensitive_on_the_email_and_rotates_the_session_key(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    response = client.post("/accounts/login/", {"username": "SAM@example.com", "password": PASSWORD})
    assert response.status_code == 302
    after = client.session.session_key
    assert before
    assert after
    assert before != after
    assert client.session["_auth_user_id"]


def test_login_is_throttled_after_five_failures(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "sam@example.com", "password": "wrong"})
    # The lockout holds even for the right password until the cool-off passes.
    response = client.post("/accounts/login/", {"username": "sam@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_a_failed_login_says_so(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    response = client.post("/accounts/login/", {"username": "sam@example.com", "password": "wrong"})
    assert response.status_code == 422
    assert b"Please enter a correct email address and password" in response.content


def test_password_reset_mails_a_working_link(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    response = client.post("/accounts/password/reset/", {"email": "sam@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    match = re.search(r"http://testserver(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert match
    page = client.get(match.group(1), follow=True)
    assert b"Choose a new password" in page.content
    new = "a brand new passphrase 42"
    done = client.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert (
        Client().post("/accounts/login/", {"username": "sam@example.com", "password": new}).status_code == 302
    )


def test_password_change(client: Client) -> None:
    user = UserFactory.create(email="sam@example.com")
    client.force_login(user)
    new = "another long passphrase 7"
    response = client.post(
        "/accounts/password/change/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_logout_needs_post(client: Client) -> None:
    client.force_login(UserFactory.create())
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
