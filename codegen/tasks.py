"""Celery tasks of service generation: running one, resuming and reaping stalled ones.

Acknowledged late; a worker killed mid-run keeps its message unacknowledged until the
broker's visibility timeout, so the run's heartbeat stopping is what tells: the sweeper
queues the generation again under a new lease, and the old message, when it comes back,
no longer holds it.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from codegen import jobs, recovery
from core import heartbeats


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_generation(generation_id: int, lease: str = "") -> str:
    """Run one generation, if `lease` is still its lease; the state it ended in."""
    generation = jobs.generation_run(generation_id=generation_id, lease=lease)
    return generation.state if generation is not None else "skipped"


@shared_task
def resume_stalled_generations() -> int:
    return recovery.generations_resume_stalled(
        stale_before=heartbeats.stale_before(), max_resumptions=settings.JOB_MAX_RESUMPTIONS
    )


@shared_task
def reap_stuck_generations() -> int:
    return recovery.generations_reap(older_than=timedelta(minutes=settings.CODEGEN_STUCK_MINUTES))
