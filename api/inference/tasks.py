"""Celery tasks of seed 004's inference API: answering one request, resuming and reaping
stalled ones, purging old results.

Tasks take ids and call one service. Acknowledged late, but a worker killed mid-answer
keeps its message unacknowledged until the broker's visibility timeout (hours): the run's
heartbeat stops instead, and the sweeper acts within JOB_HEARTBEAT_STALE_SECONDS +
JOB_SWEEP_SECONDS (api.inference.recovery). The old message, when it comes back, no longer
holds the lease and does nothing.

Workers import this module through CELERY_IMPORTS (the apps' own `tasks` modules are found
by autodiscovery; this one lives in the API's inference package).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from api.inference import recovery, services
from core import heartbeats


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_inference(request_id: int, lease: str = "") -> str:
    """Answer one inference request, if `lease` is still its lease; the status it ended in."""
    request = services.inference_run(request_id=request_id, lease=lease)
    return request.status if request is not None else "skipped"


@shared_task
def resume_stalled_inference() -> int:
    """Queue again (or fail) processing requests whose heartbeat stopped."""
    return recovery.inference_resume_stalled(
        stale_before=heartbeats.stale_before(), max_resumptions=settings.JOB_MAX_RESUMPTIONS
    )


@shared_task
def reap_stuck_inference() -> int:
    """Fail requests pending or processing for longer than INFERENCE_STUCK_MINUTES."""
    return recovery.inference_reap(older_than=timedelta(minutes=settings.INFERENCE_STUCK_MINUTES))


@shared_task
def purge_expired_inference() -> int:
    """Delete finished requests past INFERENCE_RESULT_TTL_HOURS, with their events."""
    return recovery.inference_purge_expired()
