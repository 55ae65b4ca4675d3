"""Celery tasks of the workflows app: running AI proposals, resuming and reaping stalled ones.

Tasks take ids and call one service. Acknowledged late (config.settings), but a worker
killed mid-run keeps its message unacknowledged until the broker's visibility timeout
(hours): the run's heartbeat stops instead, and the sweeper queues the proposal again under
a new lease within JOB_HEARTBEAT_STALE_SECONDS + JOB_SWEEP_SECONDS. The old message, when it
comes back, no longer holds the lease and does nothing.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from core import heartbeats
from workflows.proposals import recovery
from workflows.proposals import services as proposal_services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_workflow_proposal(proposal_id: int, lease: str = "") -> str:
    """Generate or enhance one workflow proposal, if `lease` is still its lease; the state it
    ended in."""
    proposal = proposal_services.proposal_run(proposal_id=proposal_id, lease=lease)
    return proposal.state if proposal is not None else "skipped"


@shared_task
def resume_stalled_proposals() -> int:
    """Queue again the running proposals whose heartbeat stopped (JOB_HEARTBEAT_STALE_SECONDS)."""
    return recovery.proposals_resume_stalled(
        stale_before=heartbeats.stale_before(), max_resumptions=settings.JOB_MAX_RESUMPTIONS
    )


@shared_task
def reap_stuck_proposals() -> int:
    """Fail proposals queued or running for longer than WORKFLOW_PROPOSAL_STUCK_MINUTES."""
    return recovery.proposals_reap(older_than=timedelta(minutes=settings.WORKFLOW_PROPOSAL_STUCK_MINUTES))
