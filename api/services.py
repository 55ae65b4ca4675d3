"""Writes of API keys: create (the secret is returned once), revoke, note a use."""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from datetime import timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import ApiKey, ApiKeyEvent, Scope
from tenants.models import Tenant, User

logger = logging.getLogger(__name__)

KEY_PREFIX = "sce_"
PREFIX_ID_LENGTH = 8
PREFIX_LENGTH = len(KEY_PREFIX) + PREFIX_ID_LENGTH  # "sce_" and 8 characters
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# A key's last use is written at most this often: a busy key must not write on every call.
LAST_USED_INTERVAL = timedelta(minutes=1)


class IssuedApiKey(NamedTuple):
    """A new key and its plaintext, which exists only here: shown once, then forgotten."""

    key: ApiKey
    plaintext: str


def hash_api_key(plaintext: str) -> str:
    """The stored form of a key: SHA-256 of the whole key, hex (see ApiKey.key_hash)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _new_prefix() -> str:
    # 36**8 prefixes: a clash is rare enough that looking first is all the care it needs; the
    # unique constraint is the guard behind it. Prefixes are unique across tenants, hence
    # the unscoped look.
    while True:
        prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_ID_LENGTH))
        if not ApiKey.objects.dangerously_unscoped().filter(prefix=prefix).exists():
            return prefix


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
    requests_per_minute: int | None = None,
    via: str = ApiKeyEvent.Via.PORTAL,
    origin: str = "",
) -> IssuedApiKey:
    """A new key of `tenant` with `scopes`, and its plaintext, which is never stored.

    `requests_per_minute` limits the key's own calls, besides the tenant's limits (None: the
    tenant's only). `via` and `origin` (the client address, or the operator's name on the command line)
    go into the audit trail with `actor`.
    """
    unknown = set(scopes) - set(Scope.values)
    if unknown or not scopes:
        # The form and the CLI refuse these first; a key with a scope no endpoint knows
        # would be a silent mistake.
        raise ValueError(f"scopes must be some of {Scope.values}, not {sorted(unknown) or 'none'}")
    prefix = _new_prefix()
    plaintext = f"{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(plaintext),
        scopes=[scope for scope in Scope.values if scope in scopes],
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        requests_per_minute=requests_per_minute,
        created_by=actor,
        created_at=now,
    )
    ApiKeyEvent.objects.create(
        tenant=tenant, key=key, kind=ApiKeyEvent.Kind.CREATED, actor=actor, via=via, origin=origin
    )
    logger.info("API key %s created for tenant %s (%s)", prefix, tenant.slug, ",".join(key.scopes))
    return IssuedApiKey(key, plaintext)


@transaction.atomic
def api_key_revoke(
    *, key: ApiKey, actor: User | None, via: str = ApiKeyEvent.Via.PORTAL, origin: str = ""
) -> ApiKey:
    """Stop the key working, at once in every process (each call reads its row). Revoking a
    revoked key changes nothing and records nothing."""
    locked = ApiKey.objects.for_tenant(key.tenant).select_for_update().get(pk=key.pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    ApiKeyEvent.objects.create(
        tenant=locked.tenant,
        key=locked,
        kind=ApiKeyEvent.Kind.REVOKED,
        actor=actor,
        via=via,
        origin=origin,
    )
    logger.info("API key %s of tenant %s revoked", locked.prefix, locked.tenant.slug)
    return locked


def api_key_mark_used(*, key: ApiKey, address: str) -> None:
    """Note that the key was used now from `address`, unless that was noted within the last
    minute: one conditional UPDATE, so concurrent calls in many processes write once."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_INTERVAL:
        return  # the row as read says it was noted lately: no query at all
    ApiKey.objects.for_tenant(key.tenant).filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
    ).update(last_used_at=now, last_used_address=address[:64])
