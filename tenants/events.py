"""Live tenant events, pushed to open pages over the tenant's WebSocket group."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from tenants.models import Tenant

logger = logging.getLogger(__name__)


def tenant_group(tenant_id: int) -> str:
    return f"tenant-{tenant_id}"


def _send(tenant_id: int, event_type: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(tenant_group(tenant_id), {"type": event_type})
    except Exception:
        # Live updates are a convenience: the committed change stands and pages show it on
        # their next load. Log, never fail the request over it.
        logger.warning("could not publish %s for tenant %s", event_type, tenant_id, exc_info=True)


def members_changed_on_commit(tenant: Tenant) -> None:
    """After commit, tell the tenant's open pages that its member list changed."""
    tenant_id = tenant.pk
    transaction.on_commit(lambda: _send(tenant_id, "tenant.members_changed"))
