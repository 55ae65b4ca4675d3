"""Password reset: the link points at SITE_ROOT, and emails are limited per account and address."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from core.rate_limits import KEY_PREFIX
from core.redis import sync_redis
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
SENT = "/accounts/password/reset/sent/"


@pytest.fixture(autouse=True)
def fresh_reset_counts() -> Iterator[None]:
    """The counts live in Redis, which outlives each test's database."""

    def forget() -> None:
        keys = list(sync_redis().scan_iter(f"{KEY_PREFIX}:password-reset:*"))
        if keys:
            sync_redis().delete(*keys)

    forget()
    yield
    forget()


def ask(email: str, *, address: str = "127.0.0.1", **headers: Any) -> None:
    """Ask for a reset as a visitor would; the answer is the same "check your email" page."""
    response = Client().post(RESET, {"email": email}, REMOTE_ADDR=address, **headers)
    assert response.status_code == 302
    assert response["Location"] == SENT


def test_password_reset_mails_a_working_link(client: Client, settings: Any) -> None:
    UserFactory.create(email="sam@example.com")
    ask("sam@example.com")
    assert len(mail.outbox) == 1
    match = re.search(
        rf"{re.escape(settings.SITE_ROOT)}(/accounts/password/reset/\S+/)", str(mail.outbox[0].body)
    )
    assert match
    page = client.get(match.group(1), follow=True)
    assert b"Choose a new password" in page.content
    new = "a brand new passphrase 42"
    done = client.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert (
        Client().post("/accounts/login/", {"username": "sam@example.com", "password": new}).status_code == 302
    )


def test_the_link_is_built_on_site_root_whatever_host_the_request_names(settings: Any) -> None:
    settings.SITE_ROOT = "https://sce.example.com"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "attacker.test"]
    UserFactory.create(email="sam@example.com")
    ask("sam@example.com", HTTP_HOST="attacker.test:8443", HTTP_X_FORWARDED_HOST="attacker.test")
    [email] = mail.outbox
    body = str(email.body)
    assert re.search(r"^https://sce\.example\.com/accounts/password/reset/\S+/$", body, re.MULTILINE)
    assert "attacker" not in body


def test_requests_past_the_limit_for_an_account_send_nothing(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PASSWORD_RESET_EMAIL_LIMIT = 3
    UserFactory.create(email="sam@example.com")
    # Spellings are one account, as at sign-in; addresses change nothing for one account.
    ask("sam@example.com", address="10.0.0.1")
    ask("SAM@example.com", address="10.0.0.2")
    ask("Sam@Example.com", address="10.0.0.3")
    assert len(mail.outbox) == 3
    with caplog.at_level(logging.WARNING, logger="tenants.throttles"):
        ask("sam@EXAMPLE.com", address="10.0.0.4")
        ask("sam@example.com", address="10.0.0.1")
    assert len(mail.outbox) == 3
    assert [record.getMessage() for record in caplog.records] == [
        "Password reset from 10.0.0.4 not sent: too many requests for this account",
        "Password reset from 10.0.0.1 not sent: too many requests for this account",
    ]

    UserFactory.create(email="kim@example.com")
    ask("kim@example.com", address="10.0.0.1")
    assert [email.to for email in mail.outbox[3:]] == [["kim@example.com"]], "other accounts are unaffected"


def test_requests_past_the_limit_for_an_address_send_nothing(settings: Any) -> None:
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 4
    UserFactory.create(email="sam@example.com")
    for number in range(4):  # unknown accounts count too: the page cannot tell them apart
        ask(f"nobody{number}@example.com", address="10.0.0.1")
    ask("sam@example.com", address="10.0.0.1")
    assert mail.outbox == []
    ask("sam@example.com", address="10.0.0.2")
    assert [email.to for email in mail.outbox] == [["sam@example.com"]], "other addresses are unaffected"


def test_the_refused_answer_is_the_page_everyone_gets(settings: Any) -> None:
    settings.PASSWORD_RESET_EMAIL_LIMIT = 1
    UserFactory.create(email="sam@example.com")
    sent = Client().post(RESET, {"email": "sam@example.com"}, follow=True)
    refused = Client().post(RESET, {"email": "sam@example.com"}, follow=True)
    unknown = Client().post(RESET, {"email": "nobody@example.com"}, follow=True)
    assert len(mail.outbox) == 1
    assert sent.status_code == refused.status_code == unknown.status_code == 200
    assert page(sent.content) == page(refused.content) == page(unknown.content)


def page(content: bytes) -> str:
    """The page without its per-visitor CSRF token."""
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", content.decode())


def test_without_redis_nothing_is_sent_and_the_answer_is_the_same(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    UserFactory.create(email="sam@example.com")
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis.sock"
    with caplog.at_level(logging.ERROR, logger="tenants.throttles"):
        ask("sam@example.com")
    assert mail.outbox == []
    assert "the rate limit store is unreachable" in caplog.text
