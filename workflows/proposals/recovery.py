"""Proposals whose worker died: the sweeper resumes them, the reaper fails what is left.

Operator-level jobs (Celery beat tasks in workflows.tasks) that look across tenants through
the unscoped manager, then act on each proposal within its tenant.

- The sweeper (every JOB_SWEEP_SECONDS) takes a running proposal whose heartbeat is older
  than JOB_HEARTBEAT_STALE_SECONDS: its worker stopped. It queues the proposal again under
  a new lease and sends a task carrying that lease, so the dead run's late writes, the old
  message's late delivery and a second sweep all find the lease gone and do nothing. After
  JOB_MAX_RESUMPTIONS resumptions a proposal that keeps losing its worker is failed.
- The reaper (every five minutes) fails proposals queued, since their last queuing, or
  running for longer than WORKFLOW_PROPOSAL_STUCK_MINUTES: a task nobody picked up, or a
  run alive but hung.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import heartbeats
from workflows.models import WorkflowProposal
from workflows.proposals import frames as proposal_frames
from workflows.proposals.services import enqueue_on_commit, new_lease, proposal_fail

logger = logging.getLogger(__name__)

State = WorkflowProposal.State
WORKER_LOST = "worker_lost"


def _stalled(stale_before: datetime) -> Q:
    return Q(state=State.RUNNING) & heartbeats.beat_older_than(stale_before)


@transaction.atomic
def _resume(seen: WorkflowProposal, *, stale_before: datetime, max_resumptions: int) -> bool:
    # Compare and set: only the run the sweep saw, still stalled, still holding its lease.
    locked = (
        WorkflowProposal.objects.for_tenant(seen.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(_stalled(stale_before), pk=seen.pk, run_token=seen.run_token)
        .first()
    )
    if locked is None:
        return False  # finished, beat again, or taken by another sweep meanwhile
    if locked.resumptions >= max_resumptions:
        failed = proposal_fail(
            proposal=locked,
            code=WORKER_LOST,
            message=(
                f"the worker running the job stopped {locked.resumptions + 1} times before it finished; "
                "try again"
            ),
            lease=locked.run_token,
        )
        if failed is not None:
            logger.warning("workflow proposal %s lost its worker once too often and has been failed", seen.pk)
            transaction.on_commit(
                lambda: proposal_frames.publish_logged(proposal_frames.publish_finished, failed)
            )
        return failed is not None
    locked.state = State.QUEUED
    locked.run_token = new_lease()
    locked.queued_at = timezone.now()
    locked.heartbeat_at = None
    locked.resumptions += 1
    locked.save(update_fields=["state", "run_token", "queued_at", "heartbeat_at", "resumptions"])
    logger.warning(
        "workflow proposal %s: its worker stopped (no heartbeat since %s); resumption %s queued",
        locked.pk,
        seen.heartbeat_at or seen.started_at,
        locked.resumptions,
    )
    enqueue_on_commit(locked, resumed=True)
    return True


def proposals_resume_stalled(*, stale_before: datetime, max_resumptions: int) -> int:
    """Queue again, under a new lease, running proposals whose heartbeat is older than
    `stale_before` (their worker died); fail those already resumed `max_resumptions` times.
    How many were resumed or failed. Idempotent: a proposal is taken by one sweep only."""
    stalled = (
        WorkflowProposal.objects.dangerously_unscoped()
        .filter(_stalled(stale_before))
        .select_related("tenant")
        .order_by("pk")
    )
    return sum(
        _resume(proposal, stale_before=stale_before, max_resumptions=max_resumptions) for proposal in stalled
    )


def proposals_reap(*, older_than: timedelta) -> int:
    """Fail proposals queued (since their last queuing) or running for longer than
    `older_than`; how many were failed."""
    cutoff = timezone.now() - older_than
    stuck = (
        WorkflowProposal.objects.dangerously_unscoped()
        .filter(
            Q(state=State.QUEUED, queued_at__lt=cutoff)
            | Q(state=State.RUNNING, started_at__lt=cutoff)
            | Q(state=State.RUNNING, started_at__isnull=True, created_at__lt=cutoff)
        )
        .select_related("tenant")
    )
    minutes = int(older_than.total_seconds() // 60)
    reaped = 0
    for proposal in stuck:
        failed = proposal_fail(
            proposal=proposal,
            code="stuck",
            message=(
                f"the job did not finish within {minutes} minutes (its worker may have stopped); try again"
            ),
            lease=proposal.run_token,  # not a proposal the sweeper queued again meanwhile
        )
        if failed is None:
            continue
        reaped += 1
        logger.warning("workflow proposal %s was stuck %s and has been failed", proposal.pk, proposal.state)
        proposal_frames.publish_logged(proposal_frames.publish_finished, failed)
    return reaped
