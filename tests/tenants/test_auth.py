from __future__ import annotations

import pytest
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


LOGIN = "/accounts/login/"
SPELLINGS = ("SAM@example.com", "sam@EXAMPLE.com", "Sam@Example.Com", " sam@example.com ", "sAM@example.COM")


def test_failures_through_any_spelling_of_the_email_lock_every_spelling(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    statuses = [
        client.post(LOGIN, {"username": typed, "password": "wrong"}).status_code for typed in SPELLINGS
    ]
    assert statuses == [422, 422, 422, 422, 429], "the fifth failure locks, whatever the spelling"
    # Locked: the right password through any spelling is refused, and so clears nothing.
    for typed in ("sam@example.com", *SPELLINGS, "sam@example.com"):
        response = client.post(LOGIN, {"username": typed, "password": PASSWORD})
        assert response.status_code == 429, typed
        assert "_auth_user_id" not in client.session


def test_a_success_through_one_spelling_resets_the_count_of_all(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    for typed in SPELLINGS[:4]:
        client.post(LOGIN, {"username": typed, "password": "wrong"})
    assert client.post(LOGIN, {"username": "SAM@Example.com", "password": PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    statuses = [
        client.post(LOGIN, {"username": typed, "password": "wrong"}).status_code for typed in SPELLINGS
    ]
    assert statuses == [422, 422, 422, 422, 429], "four failures were forgotten, not one"


def test_spellings_of_an_unknown_email_share_one_count(client: Client) -> None:
    for typed in ("NOBODY@example.com", "nobody@example.com", "Nobody@Example.com", "nobody@EXAMPLE.com"):
        assert client.post(LOGIN, {"username": typed, "password": "wrong"}).status_code == 422
    assert client.post(LOGIN, {"username": "noBody@example.com", "password": "wrong"}).status_code == 429


def test_the_lockout_is_per_email_and_client_address(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    UserFactory.create(email="kim@example.com")
    for typed in SPELLINGS:
        client.post(LOGIN, {"username": typed, "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    locked = client.post(LOGIN, {"username": "Sam@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert locked.status_code == 429
    other_address = Client().post(
        LOGIN, {"username": "SAM@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    assert other_address.status_code == 302
    other_email = Client().post(
        LOGIN, {"username": "kim@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert other_email.status_code == 302


def test_a_failed_login_says_so(client: Client) -> None:
    UserFactory.create(email="sam@example.com")
    response = client.post("/accounts/login/", {"username": "sam@example.com", "password": "wrong"})
    assert response.status_code == 422
    assert b"Please enter a correct email address and password" in response.content


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
