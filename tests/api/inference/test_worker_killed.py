"""A request whose Celery worker is SIGKILLed mid-answer: another worker's beat (the sweeper)
fails it within seconds, and a reader of its stream, following through daphne, gets the
tokens that came and then the `error` event: no stream is left hanging.

Real worker processes on a queue of their own, against the Anthropic wire emulator.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import services as key_services
from api.inference import selectors, services, tasks
from api.inference.models import InferenceRequest
from tests.api.inference.conftest import team_anthropic
from tests.api.inference.live import SseEvent, parse
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.workflows.proposals.test_recovery import worker

pytestmark = pytest.mark.django_db(transaction=True)

Issued = key_services.IssuedApiKey


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_request_whose_worker_is_killed_mid_answer_is_failed_and_its_readers_told(
    issued: Issued,
    anthropic_emulator: EmulatorServer,
    model_prices: None,
    live_server_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    team_anthropic(issued.key.tenant, anthropic_emulator)
    queue = f"inference-killed-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {
        "SCE_TEST_CELERY_QUEUE": queue,
        "JOB_HEARTBEAT_SECONDS": "0.2",
        "JOB_HEARTBEAT_STALE_SECONDS": "1",
        "JOB_SWEEP_SECONDS": "0.5",
    }
    messages: list[tuple[Any, ...]] = []

    def send(*message: Any) -> None:
        messages.append(message)
        tasks.run_inference.apply_async(message, queue=queue)

    monkeypatch.setattr(tasks.run_inference, "delay", send)
    anthropic_emulator.push(Reply(tokens=[f"w{index} " for index in range(200)], token_latency=0.1))
    read: list[SseEvent] = []

    def follow(request_id: str) -> None:
        url = f"{live_server_url}/api/v1/stream/{request_id}"
        with httpx.stream("GET", url, headers={"x-api-key": issued.plaintext}, timeout=60) as response:
            read.extend(parse(response.iter_lines()))

    with worker(f"doomed-{queue}@localhost", tmp_path, env) as doomed:
        request = services.inference_request_create(
            key=issued.key, prompt="Count", model="auto", max_tokens=500
        )
        reader = threading.Thread(target=follow, args=(str(request.request_id),))
        reader.start()
        tokens = selectors.events_of(request).filter(kind="token")
        wait_until(lambda: tokens.count() >= 5, timeout=60, what="tokens of the answer")
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
    row = InferenceRequest.objects.for_tenant(issued.key.tenant).get(pk=request.pk)
    assert row.status == InferenceRequest.Status.PROCESSING, "the dead worker's request still looks running"

    with worker(f"rescuer-{queue}@localhost", tmp_path, env, beat=True):
        reader.join(timeout=60)
        assert not reader.is_alive(), "the reader's stream ended"
        # The killed worker's message, when the broker gives it back, finds its lease gone.
        late = tasks.run_inference.apply_async(messages[0], queue=queue)
        assert late.get(timeout=30) == "skipped"

    failed = InferenceRequest.objects.for_tenant(issued.key.tenant).get(pk=request.pk)
    assert (failed.status, failed.error_code) == (InferenceRequest.Status.FAILED, "worker_lost")
    stored = list(selectors.events_of(failed).values_list("seq", "kind"))
    assert [(event.id, event.event) for event in read] == stored, "the reader saw every event, once"
    assert read[0].event == "start"
    assert read[-1].event == "error"
    assert read[-1].data["error"] == "worker_lost"
    assert len(read) >= 7
