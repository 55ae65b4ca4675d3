"""Celery tasks of the workflows app: running AI proposals, and reaping stuck ones.

Tasks take ids and call one service. Acknowledged late (config.settings): a worker that dies
mid-run has its task delivered again, and `proposal_run` starts the proposal over cleanly.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from workflows.proposals import services as proposal_services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_workflow_proposal(proposal_id: int) -> str:
    """Generate or enhance one workflow proposal; the state it ended in."""
    proposal = proposal_services.proposal_run(proposal_id=proposal_id)
    return proposal.state if proposal is not None else "skipped"


@shared_task
def reap_stuck_proposals() -> int:
    """Fail proposals queued or running for longer than WORKFLOW_PROPOSAL_STUCK_MINUTES."""
    return proposal_services.proposals_reap(
        older_than=timedelta(minutes=settings.WORKFLOW_PROPOSAL_STUCK_MINUTES)
    )
