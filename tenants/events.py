"""Live tenant events, pushed to open sockets over channel-layer groups.

- `tenant.members_changed` to the tenant's group: open Members pages redraw the list.
- `access.changed` to a user's or a tenant's access group (every tenant socket joins both,
  see tenants.sockets): the sockets read their access again and close if it has ended.
  A logout names the session that ended (by digest: the key itself is a bearer secret).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from tenants.models import Tenant

logger = logging.getLogger(__name__)

ACCESS_CHANGED = "access.changed"


def tenant_group(tenant_id: int) -> str:
    return f"tenant-{tenant_id}"


def user_access_group(user_id: int) -> str:
    """The group of every open tenant socket of a user, in any tenant."""
    return f"access-user-{user_id}"


def tenant_access_group(tenant_id: int) -> str:
    """The group of every open socket of a tenant, whoever opened it."""
    return f"access-tenant-{tenant_id}"


def session_digest(session_key: str) -> str:
    """How events name a session: not by its key, which signs a browser in."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # Live updates are a convenience: the committed change stands, pages show it on
        # their next load, and sockets read their access again on their next message and
        # periodically. Log, never fail the request over it.
        logger.warning("could not publish %s to %s", event["type"], group, exc_info=True)


def members_changed_on_commit(tenant: Tenant) -> None:
    """After commit, tell the tenant's open pages that its member list changed."""
    group = tenant_group(tenant.pk)
    transaction.on_commit(lambda: _send(group, {"type": "tenant.members_changed"}))


def user_access_changed_on_commit(user_id: int, *, ended_session: str = "") -> None:
    """After commit, have a user's open sockets check their access again (a role changed,
    a membership ended); `ended_session`, a session_digest, closes that session's at once."""
    event = {"type": ACCESS_CHANGED, "ended_session": ended_session}
    transaction.on_commit(lambda: _send(user_access_group(user_id), event))


def tenant_access_changed_on_commit(tenant_id: int) -> None:
    """After commit, have every open socket of a tenant check its access again (suspended)."""
    event = {"type": ACCESS_CHANGED, "ended_session": ""}
    transaction.on_commit(lambda: _send(tenant_access_group(tenant_id), event))
