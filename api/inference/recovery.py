"""Inference requests whose worker died, stuck ones, and finished ones past their keeping time.

Operator-level jobs (Celery beat tasks in api.inference.tasks) that look across tenants
through the unscoped manager, then act on each request within its tenant.

- The sweeper (every JOB_SWEEP_SECONDS) takes a processing request whose heartbeat is older
  than JOB_HEARTBEAT_STALE_SECONDS: its worker stopped. Before any token was recorded
  nobody has read a word of the answer, so it is queued again under a new lease (at most
  JOB_MAX_RESUMPTIONS times); after tokens, readers already hold part of an answer that a
  new run would not continue word for word, so it is failed (`worker_lost`), which ends
  every reader's stream with an `error` event.
- The reaper (every five minutes) fails requests pending (since their last queuing) or
  processing for longer than INFERENCE_STUCK_MINUTES: a task nobody picked up (the broker
  lost it), or a run alive but hung.
- The purge (hourly) deletes finished requests, with their events, once `expires_at`
  (INFERENCE_RESULT_TTL_HOURS after they ended) has passed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.inference import events, selectors
from api.inference.models import InferenceRequest
from api.inference.services import enqueue_on_commit, inference_fail, new_lease
from core import heartbeats

logger = logging.getLogger(__name__)

Status = InferenceRequest.Status
WORKER_LOST = "worker_lost"
PURGE_BATCH = 500


def _stalled(stale_before: datetime) -> Q:
    return Q(status=Status.PROCESSING) & heartbeats.beat_older_than(stale_before)


@transaction.atomic
def _resume(seen: InferenceRequest, *, stale_before: datetime, max_resumptions: int) -> bool:
    # Compare and set: only the run the sweep saw, still stalled, still holding its lease.
    locked = (
        InferenceRequest.objects.for_tenant(seen.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(_stalled(stale_before), pk=seen.pk, run_token=seen.run_token)
        .first()
    )
    if locked is None:
        return False  # finished, beat again, or taken by another sweep meanwhile
    tokens = selectors.events_of(locked).filter(kind=events.TOKEN).count()
    if tokens or locked.resumptions >= max_resumptions:
        if tokens:
            message = f"the worker answering the request stopped after {tokens} tokens; send it again"
        else:
            message = (
                f"the worker answering the request stopped {locked.resumptions + 1} times; send it again"
            )
        failed = inference_fail(
            request=locked, code=WORKER_LOST, message=message, lease=locked.run_token, retryable=True
        )
        if failed is not None:
            logger.warning("inference request %s lost its worker and has been failed", locked.request_id)
        return failed is not None
    locked.status = Status.PENDING
    locked.run_token = new_lease()
    locked.queued_at = timezone.now()
    locked.heartbeat_at = None
    locked.resumptions += 1
    locked.save(update_fields=["status", "run_token", "queued_at", "heartbeat_at", "resumptions"])
    logger.warning(
        "inference request %s: its worker stopped before the first token; resumption %s queued",
        locked.request_id,
        locked.resumptions,
    )
    enqueue_on_commit(locked)
    return True


def inference_resume_stalled(*, stale_before: datetime, max_resumptions: int) -> int:
    """Queue again, under a new lease, processing requests whose heartbeat is older than
    `stale_before` and that have no token yet; fail the others (see the module's docstring).
    How many were queued again or failed. A request is taken by one sweep only."""
    stalled = (
        InferenceRequest.objects.dangerously_unscoped()
        .filter(_stalled(stale_before))
        .select_related("tenant")
        .order_by("pk")
    )
    return sum(
        _resume(request, stale_before=stale_before, max_resumptions=max_resumptions) for request in stalled
    )


def inference_reap(*, older_than: timedelta) -> int:
    """Fail requests pending (since their last queuing) or processing for longer than
    `older_than`; how many were failed."""
    cutoff = timezone.now() - older_than
    stuck = (
        InferenceRequest.objects.dangerously_unscoped()
        .filter(
            Q(status=Status.PENDING, queued_at__lt=cutoff)
            | Q(status=Status.PROCESSING, started_at__lt=cutoff)
        )
        .select_related("tenant")
    )
    minutes = int(older_than.total_seconds() // 60)
    reaped = 0
    for request in stuck:
        failed = inference_fail(
            request=request,
            code="stuck",
            message=f"the request was not answered within {minutes} minutes; send it again",
            lease=request.run_token,  # not a request the sweeper queued again meanwhile
            retryable=True,
        )
        if failed is not None:
            reaped += 1
            logger.warning(
                "inference request %s was stuck %s and has been failed", request.request_id, request.status
            )
    return reaped


def inference_purge_expired(*, now: datetime | None = None) -> int:
    """Delete finished requests (and their events) whose keeping time has passed, in batches;
    how many requests were deleted."""
    moment = now or timezone.now()
    expired = InferenceRequest.objects.dangerously_unscoped().filter(
        status__in=sorted(InferenceRequest.FINISHED), expires_at__lt=moment
    )
    deleted = 0
    while batch := list(expired.order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]):
        with transaction.atomic():
            # Events go with their request (a cascade Django runs as one DELETE per batch).
            InferenceRequest.objects.dangerously_unscoped().filter(pk__in=batch).delete()
        deleted += len(batch)
    if deleted:
        logger.info("purged %s inference requests past their keeping time", deleted)
    return deleted
