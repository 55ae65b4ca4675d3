"""Throttles of the pages outside any tenant: the log-in lockout and password-reset emails.

Both count per account, not per spelling: sign-in finds an account whatever the case of
the email typed, so `SAM@example.com` and `sam@example.com` must share one count.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import HttpRequest
from redis.exceptions import RedisError

from core.rate_limits import rate_limit_hit
from tenants.models import User, normalize_email

logger = logging.getLogger(__name__)


def account_key(email: str) -> str:
    """The one spelling of `email` under which every way of typing it is counted.

    The email of the account sign-in would find for it (UserManager.get_by_natural_key:
    case-insensitive, as the database compares), or the normalized address when there is
    no such account.
    """
    typed = email.strip()
    stored = User.objects.filter(email__iexact=typed).values_list("email", flat=True).first()
    return stored or normalize_email(typed)


def lockout_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the email of a log-in attempt, as `account_key` spells it."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    elif request is not None:
        username = request.POST.get(field)
    else:
        username = None
    return account_key(username) if isinstance(username, str) and username.strip() else None


def client_address(request: HttpRequest) -> str:
    """The client's address as the log-in lockout sees it (behind PROXY_COUNT proxies)."""
    return get_client_ip_address(request) or "unknown"


def password_reset_allowed(*, email: str, address: str) -> bool:
    """Count a password-reset request; False when its account or its address is over the limit.

    Both counts grow with every request, sent or not, so that a flood from one address
    cannot reach a victim through other spellings, nor many victims through one address.
    Without Redis nothing is sent: an unlimited mailer is worse than a delayed reset.
    """
    window = int(settings.PASSWORD_RESET_WINDOW.total_seconds())
    try:
        within_email = rate_limit_hit(
            scope="password-reset:email",
            subject=account_key(email),
            limit=settings.PASSWORD_RESET_EMAIL_LIMIT,
            window_seconds=window,
        )
        within_address = rate_limit_hit(
            scope="password-reset:address",
            subject=address,
            limit=settings.PASSWORD_RESET_ADDRESS_LIMIT,
            window_seconds=window,
        )
    except RedisError:
        logger.exception("Password reset from %s not sent: the rate limit store is unreachable", address)
        return False
    if not within_email:
        logger.warning("Password reset from %s not sent: too many requests for this account", address)
    elif not within_address:
        logger.warning("Password reset from %s not sent: too many requests from this address", address)
    return within_email and within_address
