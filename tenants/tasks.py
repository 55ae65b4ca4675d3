from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from tenants import services


@shared_task
def purge_closed_invitations(older_than_days: int = 30) -> int:
    """Delete invitations accepted, revoked or expired more than `older_than_days` ago."""
    return services.invitations_purge_closed(older_than=timedelta(days=older_than_days))
