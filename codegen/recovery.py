"""Generations whose worker died: the sweeper resumes them, the reaper fails what is left.

As for workflow proposals (workflows.proposals.recovery): the sweeper (every
JOB_SWEEP_SECONDS) queues again, under a new lease, a running generation whose heartbeat is
older than JOB_HEARTBEAT_STALE_SECONDS, and the resumed run skips the files already stored;
after JOB_MAX_RESUMPTIONS it fails it. The reaper fails generations queued or running longer
than CODEGEN_STUCK_MINUTES. A resumed, failed or cancelled generation's old run finds its
lease gone and writes nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from codegen import events
from codegen.models import Generation
from codegen.progress import progress_data
from codegen.services import enqueue_on_commit, generation_fail, new_lease, transition
from core import heartbeats

logger = logging.getLogger(__name__)

State = Generation.State
RUNNING = [state for state in Generation.ACTIVE_STATES if state != State.QUEUED]


def _stalled(stale_before: datetime) -> Q:
    return Q(state__in=RUNNING) & heartbeats.beat_older_than(stale_before)


@transaction.atomic
def _resume(seen: Generation, *, stale_before: datetime, max_resumptions: int) -> bool:
    locked = (
        Generation.objects.for_tenant(seen.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(_stalled(stale_before), pk=seen.pk, run_token=seen.run_token)
        .first()
    )
    if locked is None:
        return False
    if locked.resumptions >= max_resumptions:
        failed = generation_fail(
            generation=locked,
            code="worker_lost",
            message=(
                f"the worker running the job stopped {locked.resumptions + 1} times before it finished; "
                "try again"
            ),
            lease=locked.run_token,
        )
        return failed is not None
    locked.run_token = new_lease()
    locked.queued_at = timezone.now()
    locked.heartbeat_at = None
    locked.resumptions += 1
    transition(locked, State.QUEUED)
    locked.save()
    logger.warning("generation %s: its worker stopped; resumption %s queued", locked.pk, locked.resumptions)
    message = "The worker running this job stopped: queued again, to resume from the files already stored."
    transaction.on_commit(
        lambda: events.record(
            locked,
            "progress",
            progress_data(locked, state=State.QUEUED, plan=None, status={}, message=message),
        )
    )
    enqueue_on_commit(locked)
    return True


def generations_resume_stalled(*, stale_before: datetime, max_resumptions: int) -> int:
    """Queue again running generations whose heartbeat is older than `stale_before`; fail
    those resumed `max_resumptions` times already. How many were resumed or failed."""
    stalled = (
        Generation.objects.dangerously_unscoped()
        .filter(_stalled(stale_before))
        .select_related("tenant")
        .order_by("pk")
    )
    return sum(
        _resume(generation, stale_before=stale_before, max_resumptions=max_resumptions)
        for generation in stalled
    )


def generations_reap(*, older_than: timedelta) -> int:
    """Fail generations queued (since their last queuing) or running longer than `older_than`."""
    cutoff = timezone.now() - older_than
    stuck = (
        Generation.objects.dangerously_unscoped()
        .filter(Q(state=State.QUEUED, queued_at__lt=cutoff) | Q(state__in=RUNNING, started_at__lt=cutoff))
        .select_related("tenant")
    )
    minutes = int(older_than.total_seconds() // 60)
    reaped = 0
    for generation in stuck:
        failed = generation_fail(
            generation=generation,
            code="stuck",
            message=(
                f"the job did not finish within {minutes} minutes (its worker may have stopped); try again"
            ),
            lease=generation.run_token,
        )
        if failed is not None:
            reaped += 1
            logger.warning("generation %s was stuck %s and has been failed", generation.pk, generation.state)
    return reaped
