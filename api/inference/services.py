"""Writes of inference requests: submitting one, answering it (the task's body), failing it.

A request is answered by a Celery task (api.inference.tasks) enqueued once the submitting
transaction commits. It holds a lease (`run_token`) as workflow proposals and generations
do: queued, the token its task message carries, which alone may start the run, so a
message delivered late or twice does nothing; running, a fresh token the run names in every
write, so a run that lost the request (failed by the reaper, queued again by the sweeper:
api.inference.recovery) cannot write after what came next. While it runs, the run refreshes
the request's heartbeat (core.heartbeats), which tells the sweeper its worker is alive.

Every event is stored before it is published (api.inference.events), in batches: the
tokens that arrive while one batch is written go together in the next, so a fast model is
not held back by one transaction per token. The ending event is stored in the same
transaction as the request's final status, so a reader that sees a finished request also
sees its last event.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from api.errors import ApiProblem
from api.gateway_models import resolve_for
from api.inference import events, selectors
from api.inference.models import InferenceEvent, InferenceRequest
from api.models import ApiKey
from core import heartbeats
from providers import gateway
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    Message,
    StartEvent,
    Task,
    TokenEvent,
    UsageEvent,
)

logger = logging.getLogger(__name__)

Status = InferenceRequest.Status


def new_lease() -> str:
    return uuid.uuid4().hex


# --- Submitting -----------------------------------------------------------------------------


@transaction.atomic
def inference_request_create(
    *,
    key: ApiKey,
    prompt: str,
    model: str,
    max_tokens: int,
    system: str = "",
    session_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    temperature: float | None = None,
) -> InferenceRequest:
    """A request for the key's tenant, queued for a worker once the transaction commits.

    Without a `session_id` the request opens a session of its own (a new UUID), which the
    caller sends with its next requests to keep them together.
    """
    now = timezone.now()
    request = InferenceRequest.objects.create(
        tenant=key.tenant,
        api_key=key,
        key_prefix=key.prefix,
        session_id=session_id or str(uuid.uuid4()),
        prompt=prompt,
        system=system,
        metadata=metadata or {},
        model=model,
        max_tokens=max_tokens,
        temperature=temperature,
        run_token=new_lease(),
        created_at=now,
        queued_at=now,
    )
    enqueue_on_commit(request)
    return request


def enqueue_on_commit(request: InferenceRequest) -> None:
    """Once the transaction commits, send the request's task with the lease it holds now;
    fail the request when the broker cannot take it (rather than leave it pending)."""
    lease = request.run_token

    def enqueue() -> None:
        from api.inference import tasks  # the task calls these services

        try:
            tasks.run_inference.delay(request.pk, lease)
        except Exception as problem:
            logger.exception("could not enqueue inference request %s", request.request_id)
            inference_fail(
                request=request,
                code="queue_unavailable",
                message=f"the request could not be queued ({type(problem).__name__}); try again later",
                lease=lease,
                retryable=True,
            )

    transaction.on_commit(enqueue)


# --- Failing --------------------------------------------------------------------------------


def error_data(code: str, message: str, *, retryable: bool) -> dict[str, Any]:
    """The data of an `error` event: seed 000's `{error, message}`, and whether sending the
    request again may succeed."""
    return {"status": "failed", "error": code, "message": message, "retryable": retryable}


def _expiry(now: Any) -> Any:
    return now + timedelta(hours=settings.INFERENCE_RESULT_TTL_HOURS)


@transaction.atomic
def inference_fail(
    *, request: InferenceRequest, code: str, message: str, lease: str | None = None, retryable: bool = False
) -> InferenceRequest | None:
    """Fail a pending or processing request with an `error` event (published once the
    transaction commits), so every reader's stream ends; with `lease`, only while the request
    still holds that lease. None when it had already finished or moved on to another lease."""
    rows = InferenceRequest.objects.for_tenant(request.tenant).filter(
        pk=request.pk, status__in=[Status.PENDING, Status.PROCESSING]
    )
    if lease is not None:
        rows = rows.filter(run_token=lease)
    locked = rows.select_for_update(of=("self",)).select_related("tenant").first()
    if locked is None:
        return None
    now = timezone.now()
    locked.status = Status.FAILED
    locked.error_code = code[:40]
    locked.error_message = message[:500]
    locked.run_token = ""
    locked.finished_at = now
    locked.expires_at = _expiry(now)
    locked.save(
        update_fields=["status", "error_code", "error_message", "run_token", "finished_at", "expires_at"]
    )
    event = _store_event(
        locked,
        selectors.last_event_seq(locked) + 1,
        events.ERROR,
        error_data(code, message, retryable=retryable),
    )
    transaction.on_commit(lambda: events.publish_sync(locked.pk, [event]))
    return locked


def _store_event(request: InferenceRequest, seq: int, kind: str, data: dict[str, Any]) -> events.Event:
    InferenceEvent.objects.create(tenant=request.tenant, request=request, seq=seq, kind=kind, data=data)
    return events.Event(seq, kind, data)


# --- Answering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    request: InferenceRequest
    token: str
    next_seq: int  # events of an earlier run (one whose worker died before any token) stay
    started: bool  # that earlier run already said `start`


def _owned_by(request: InferenceRequest, token: str) -> QuerySet[InferenceRequest]:
    return InferenceRequest.objects.for_tenant(request.tenant).filter(
        pk=request.pk, status=Status.PROCESSING, run_token=token
    )


@transaction.atomic
def _claim(request_pk: int, lease: str) -> Claim | None:
    # The task carries only the id and the lease; the row names its tenant, and every query
    # after this one is scoped to it.
    row = (
        InferenceRequest.objects.dangerously_unscoped().select_related("tenant").filter(pk=request_pk).first()
    )
    if row is None:
        return None
    locked = (
        InferenceRequest.objects.for_tenant(row.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(pk=request_pk, status=Status.PENDING, run_token=lease)
        .first()
    )
    if locked is None:
        # Running, finished, failed, or queued again under a newer lease: this message (a
        # late or repeated delivery) is not the one that may start the run.
        return None
    token = new_lease()
    locked.status = Status.PROCESSING
    locked.run_token = token
    locked.started_at = locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["status", "run_token", "started_at", "heartbeat_at"])
    earlier = selectors.events_of(locked)
    return Claim(
        locked,
        token,
        next_seq=selectors.last_event_seq(locked) + 1,
        started=earlier.filter(kind=events.START).exists(),
    )


@transaction.atomic
def _store_batch(
    claim: Claim, first_seq: int, batch: list[tuple[str, dict[str, Any]]]
) -> list[events.Event] | None:
    """Store a batch of events numbered from `first_seq`, if the run still holds the request."""
    if _owned_by(claim.request, claim.token).select_for_update().values_list("pk", flat=True).first() is None:
        return None
    request = claim.request
    rows = [
        InferenceEvent(tenant=request.tenant, request=request, seq=first_seq + offset, kind=kind, data=data)
        for offset, (kind, data) in enumerate(batch)
    ]
    InferenceEvent.objects.for_tenant(request.tenant).bulk_create(rows)
    return [events.Event(row.seq, row.kind, row.data) for row in rows]


class Superseded(Exception):
    """The run no longer holds its request (the reaper failed it or the sweeper took it)."""


class Recorder:
    """A run's events, stored and then published in order, batch by batch, off the path of
    the model's stream: what arrives while one batch is written goes into the next."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.next_seq = claim.next_seq
        self.waiting: list[tuple[str, dict[str, Any]]] = []
        self.superseded = False
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.ensure_future(self._drain())

    @property
    def stopped(self) -> bool:
        """Nothing more will be stored: the run lost its request, or storing failed."""
        return self.superseded or self._task.done()

    def add(self, kind: str, data: dict[str, Any]) -> None:
        self.waiting.append((kind, data))
        self._wake.set()

    async def _drain(self) -> None:
        store = sync_to_async(_store_batch)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.waiting:
                batch, self.waiting = self.waiting, []
                stored = await store(self.claim, self.next_seq, batch)
                if stored is None:
                    self.superseded = True
                    return
                self.next_seq += len(stored)
                await events.publish(self.claim.request.pk, stored)
            if self._closing:
                return

    async def close(self) -> None:
        """Store and publish everything added so far; raises what storing raised."""
        self._closing = True
        self._wake.set()
        await asyncio.shield(self._task)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retryable: bool


@dataclass
class Outcome:
    """What the gateway said, as the run's ending records it."""

    provider: str = ""
    model: str = ""
    pieces: list[str] = field(default_factory=list)
    finish_reason: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: Failure | None = None


def inference_run(*, request_id: int, lease: str = "") -> InferenceRequest | None:
    """Answer a request (the Celery task's body): stream the gateway's reply, recording every
    token as a numbered event, then the ending.

    Only a pending request whose lease is `lease` runs: a message delivered again, or late
    after the sweeper queued the request anew, does nothing. The heartbeat is refreshed while
    it runs. Returns the request as it ended, None when there was nothing for this run to do.
    """
    claim = _claim(request_id, lease)
    if claim is None:
        logger.info("inference request %s: nothing to run under lease %r", request_id, lease)
        return None
    request = claim.request
    heartbeat = heartbeats.Heartbeat(
        lambda: heartbeats.refresh(_owned_by(request, claim.token)), name=f"inference request {request.pk}"
    )
    with heartbeat:
        try:
            return async_to_sync(_answer)(claim, heartbeat)
        except Superseded:
            logger.warning("inference request %s: run %s was superseded", request.request_id, claim.token)
            return None
        except Exception as problem:
            logger.exception("inference request %s failed", request.request_id)
            inference_fail(
                request=request,
                code="internal_error",
                message=f"the request stopped on an unexpected error ({type(problem).__name__})",
                lease=claim.token,
                retryable=True,
            )
            raise


def gateway_request(request: InferenceRequest, *, provider: str | None, model: str | None) -> GatewayRequest:
    """What the gateway is asked for `request`: the tenant's API routing (or the provider
    and model its `model` names), the key named in the logs by its prefix."""
    return GatewayRequest(
        task=Task.API,
        messages=(Message("user", request.prompt),),
        tenant_id=request.tenant_id,
        system=request.system,
        provider=provider,
        model=model,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        links={"api_key": request.key_prefix, "inference": str(request.request_id)},
    )


async def _answer(claim: Claim, heartbeat: heartbeats.Heartbeat) -> InferenceRequest | None:
    request = claim.request
    recorder = Recorder(claim)
    outcome = Outcome()
    try:
        choice = await resolve_for(request.tenant_id, request.model)
    except ApiProblem as problem:  # the model was removed from the routing since it was sent
        outcome.error = Failure(problem.code, problem.message, retryable=False)
    else:
        call = gateway_request(request, provider=choice.provider, model=choice.model)
        async with aclosing(gateway.stream(call)) as stream:
            async for event in stream:
                if recorder.stopped or heartbeat.lost:
                    break  # leaving the loop cancels the upstream call (logged as cancelled)
                _take(event, outcome, recorder, claim)
    await recorder.close()
    if recorder.superseded or heartbeat.lost:
        raise Superseded
    ended = await sync_to_async(_finish)(claim, recorder.next_seq, outcome)
    if ended is None:
        raise Superseded
    finished, ending = ended
    await events.publish(request.pk, [ending])
    return finished


def _take(event: Any, outcome: Outcome, recorder: Recorder, claim: Claim) -> None:
    request = claim.request
    if isinstance(event, StartEvent):
        outcome.provider, outcome.model = event.provider, event.model
        if not claim.started:
            recorder.add(
                events.START,
                {
                    "request_id": str(request.request_id),
                    "session_id": request.session_id,
                    "provider": event.provider,
                    "model": event.model,
                },
            )
    elif isinstance(event, TokenEvent):
        outcome.pieces.append(event.text)
        recorder.add(events.TOKEN, {"chunk": event.index, "data": event.text})
    elif isinstance(event, UsageEvent):
        outcome.input_tokens, outcome.output_tokens = event.input_tokens, event.output_tokens
    elif isinstance(event, DoneEvent):
        outcome.finish_reason = event.finish_reason
    elif isinstance(event, ErrorEvent):
        outcome.error = Failure(event.code.value, event.message, event.retryable)


@transaction.atomic
def _finish(claim: Claim, seq: int, outcome: Outcome) -> tuple[InferenceRequest, events.Event] | None:
    locked = (
        _owned_by(claim.request, claim.token).select_for_update(of=("self",)).select_related("tenant").first()
    )
    if locked is None:
        return None
    now = timezone.now()
    locked.provider, locked.provider_model = outcome.provider[:60], outcome.model[:200]
    locked.input_tokens, locked.output_tokens = outcome.input_tokens, outcome.output_tokens
    locked.finished_at, locked.expires_at = now, _expiry(now)
    locked.run_token = ""
    if outcome.error is None:
        locked.status = Status.COMPLETED
        locked.result = "".join(outcome.pieces)
        locked.finish_reason = outcome.finish_reason[:40]
        kind, data = events.COMPLETE, complete_data(locked)
    else:
        error = outcome.error
        locked.status = Status.FAILED
        locked.error_code, locked.error_message = error.code[:40], error.message[:500]
        kind, data = events.ERROR, error_data(error.code, error.message, retryable=error.retryable)
    locked.save(
        update_fields=[
            "provider", "provider_model", "input_tokens", "output_tokens", "finished_at", "expires_at",
            "run_token", "status", "result", "finish_reason", "error_code", "error_message",
        ]
    )  # fmt: skip
    return locked, _store_event(locked, seq, kind, data)


def complete_data(request: InferenceRequest) -> dict[str, Any]:
    """The data of a `complete` event: seed 004's `{"status": "done"}`, with how and by whom."""
    return {
        "status": "done",
        "finish_reason": request.finish_reason,
        "provider": request.provider,
        "model": request.provider_model,
        "usage": {"input_tokens": request.input_tokens, "output_tokens": request.output_tokens},
    }
