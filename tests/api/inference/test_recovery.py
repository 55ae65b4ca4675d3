"""Requests whose worker died (the sweeper), stuck ones (the reaper), old ones (the purge), a
broker that refuses the task, and how beat schedules it all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from api import services as key_services
from api.inference import recovery, selectors, services, tasks
from api.inference.models import InferenceEvent, InferenceRequest
from config.celery import app
from providers.interface import Task
from tests.api.inference.conftest import Message
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import anthropic_alone

pytestmark = pytest.mark.django_db(transaction=True)

Issued = key_services.IssuedApiKey
Status = InferenceRequest.Status


def request_as(issued: Issued, **fields: Any) -> InferenceRequest:
    """A request row as a run left it, without enqueueing anything."""
    values: dict[str, Any] = {"prompt": "What is Rust?", "model": "auto", "max_tokens": 64, "session_id": "s"}
    return InferenceRequest.objects.create(
        tenant=issued.key.tenant, api_key=issued.key, key_prefix=issued.key.prefix, **{**values, **fields}
    )


def stalled(issued: Issued, **fields: Any) -> InferenceRequest:
    """Processing, as a worker that died a minute ago left it."""
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    values = {
        "status": Status.PROCESSING,
        "run_token": "dead",
        "started_at": a_minute_ago,
        "heartbeat_at": a_minute_ago,
    }
    return request_as(issued, **{**values, **fields})


def add_events(request: InferenceRequest, *kinds: str) -> None:
    for seq, kind in enumerate(kinds, start=1):
        data = {"chunk": seq - 2, "data": "w"} if kind == "token" else {}
        InferenceEvent.objects.create(tenant=request.tenant, request=request, seq=seq, kind=kind, data=data)


def row(request: InferenceRequest) -> InferenceRequest:
    return InferenceRequest.objects.for_tenant(request.tenant).get(pk=request.pk)


def kinds(request: InferenceRequest) -> list[str]:
    return list(selectors.events_of(request).values_list("kind", flat=True))


def sweep() -> int:
    return recovery.inference_resume_stalled(
        stale_before=timezone.now() - timedelta(seconds=30), max_resumptions=3
    )


def test_a_request_whose_worker_died_before_any_token_is_queued_again_and_answered_once(
    issued: Issued, platform: tuple[EmulatorServer, EmulatorServer], sent: list[Message]
) -> None:
    anthropic = anthropic_alone(platform, issued.key.tenant, Task.API)
    request = stalled(issued)
    add_events(request, "start")  # the model had begun, no word had come

    assert sweep() == 1
    queued = row(request)
    assert (queued.status, queued.resumptions, queued.heartbeat_at) == (Status.PENDING, 1, None)
    assert sent == [(request.pk, queued.run_token)]
    assert sweep() == 0, "taken by one sweep only"

    anthropic.push(Reply("Rust is fast."))
    finished = services.inference_run(request_id=sent[0][0], lease=sent[0][1])
    assert finished is not None
    assert finished.result == "Rust is fast."
    assert kinds(finished) == ["start", "token", "token", "token", "complete"], "one start, numbered on"
    assert services.inference_run(request_id=request.pk, lease="dead") is None, "the dead run's message"


def test_a_request_whose_worker_died_after_tokens_fails_and_its_readers_are_told(
    issued: Issued, sent: list[Message]
) -> None:
    """Readers hold part of an answer that a new run would not continue word for word."""
    request = stalled(issued)
    add_events(request, "start", "token", "token")

    assert sweep() == 1
    failed = row(request)
    assert (failed.status, failed.error_code, failed.run_token) == (Status.FAILED, "worker_lost", "")
    assert "after 2 tokens" in failed.error_message
    assert kinds(failed) == ["start", "token", "token", "error"]
    assert selectors.events_of(failed).last().data["retryable"] is True  # type: ignore[union-attr]
    assert sent == []


def test_a_request_that_keeps_losing_its_worker_is_failed(issued: Issued, sent: list[Message]) -> None:
    request = stalled(issued, resumptions=3)
    assert sweep() == 1
    assert (row(request).status, row(request).error_code) == (Status.FAILED, "worker_lost")
    assert sent == []


def test_a_request_whose_worker_beats_is_left_alone(issued: Issued, sent: list[Message]) -> None:
    request = stalled(issued, heartbeat_at=timezone.now())
    assert sweep() == 0
    assert row(request).status == Status.PROCESSING


def test_the_reaper_fails_requests_nobody_answered_in_time(issued: Issued, sent: list[Message]) -> None:
    long_ago = timezone.now() - timedelta(minutes=20)
    lost_task = request_as(issued, run_token="lease", queued_at=long_ago)
    hung = stalled(issued, started_at=long_ago, heartbeat_at=timezone.now())
    recent = request_as(issued, run_token="lease")

    assert recovery.inference_reap(older_than=timedelta(minutes=15)) == 2

    assert (row(lost_task).status, row(lost_task).error_code) == (Status.FAILED, "stuck")
    assert row(hung).status == Status.FAILED
    assert kinds(row(hung)) == ["error"]
    assert row(recent).status == Status.PENDING


def test_the_purge_deletes_finished_requests_past_their_keeping_time_with_their_events(
    issued: Issued, sent: list[Message]
) -> None:
    now = timezone.now()
    old = request_as(issued, status=Status.COMPLETED, finished_at=now, expires_at=now - timedelta(minutes=1))
    add_events(old, "start", "token", "complete")
    kept = request_as(issued, status=Status.FAILED, finished_at=now, expires_at=now + timedelta(hours=1))
    running = request_as(issued, status=Status.PROCESSING)

    assert tasks.purge_expired_inference() == 1

    remaining = InferenceRequest.objects.for_tenant(issued.key.tenant)
    assert set(remaining.values_list("pk", flat=True)) == {kept.pk, running.pk}
    assert not InferenceEvent.objects.for_tenant(issued.key.tenant).filter(request_id=old.pk).exists()


def test_a_finished_request_is_kept_for_the_configured_time(issued: Issued, settings: Any) -> None:
    settings.INFERENCE_RESULT_TTL_HOURS = 2
    request = request_as(issued, run_token="lease")
    failed = services.inference_fail(request=request, code="stuck", message="reaped")
    assert failed is not None
    assert failed.finished_at is not None
    assert failed.expires_at == failed.finished_at + timedelta(hours=2)


def test_a_broker_that_refuses_the_task_fails_the_request_at_once(
    issued: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*message: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.run_inference, "delay", refuse)
    created = services.inference_request_create(key=issued.key, prompt="Hi", model="auto", max_tokens=8)
    failed = row(created)
    assert (failed.status, failed.error_code) == (Status.FAILED, "queue_unavailable")
    assert kinds(failed) == ["error"], "readers of the stream are told"


def test_beat_runs_the_sweeper_reaper_and_purge_and_workers_know_them() -> None:
    schedule = app.conf.beat_schedule
    app.loader.import_default_modules()  # what a worker imports (CELERY_IMPORTS included)
    expected = {
        "inference-sweeper": ("api.inference.tasks.resume_stalled_inference", settings.JOB_SWEEP_SECONDS),
        "inference-reaper": ("api.inference.tasks.reap_stuck_inference", 300),
        "inference-results-purge": ("api.inference.tasks.purge_expired_inference", 3600),
    }
    for name, (task, seconds) in expected.items():
        assert schedule[name]["task"] == task
        assert schedule[name]["schedule"].total_seconds() == seconds
        assert task in app.tasks
    assert "api.inference.tasks.run_inference" in app.tasks
