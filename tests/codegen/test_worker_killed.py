"""A model-mode generation whose Celery worker is SIGKILLed mid-job: a second worker, with its
beat, resumes it from the files already stored, and each file is written once.

Real worker processes on the test database and broker, against the Anthropic wire emulator
(replies about half a second each). The dead run's call in flight is held by the emulator
(no reply), so the replies pushed afterwards are exactly the resumed run's, in its order.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from codegen import services, tasks
from codegen.models import FileVersion, Generation, GenerationEvent
from codegen.spec import Options
from providers.models import LogState, ProviderLog
from tests.codegen.fixtures import order_flow
from tests.codegen.model_replies import (
    FILES,
    WRITE_ORDER,
    anthropic,
    asked_for,
    enterprise_model_generation_fields,
    plan_reply,
    reply,
    review_and_docs,
)
from tests.conftest import TenantUsers
from tests.emulators.script import NoResponse
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    ANTHROPIC_KEY,
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)
from tests.workflows.proposals.test_recovery import worker

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "fast_gateway", "fresh_gateway_state",
    "model_prices", "openai_emulator", "openai_emulator_server", "platform",
]  # fmt: skip

pytestmark = pytest.mark.django_db(transaction=True)

State = Generation.State
SLOW = 0.5  # seconds before each reply
GO_PATH = "workflow/workflow.go"
# The file whose call is in flight when the worker dies: written after the first three and
# the Go workflow (copied without a call).
IN_FLIGHT = "app/main.py"


def row(generation: Generation) -> Generation:
    return Generation.objects.for_tenant(generation.tenant).get(pk=generation.pk)


def stored_versions(generation: Generation) -> int:
    return FileVersion.objects.for_tenant(generation.tenant).filter(file__generation=generation).count()


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_generation_whose_worker_is_killed_is_resumed_and_each_file_is_written_once(
    tenant_users: TenantUsers, anthropic: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    queue = f"codegen-resume-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {
        "SCE_TEST_CELERY_QUEUE": queue,
        # The platform provider the tenant routes to, as the emulator serves it.
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": anthropic.base_url,
        "ANTHROPIC_MODEL": "claude-sonnet-5-5",
        "CODEGEN_CONCURRENCY": "1",
        "JOB_HEARTBEAT_SECONDS": "0.2",
        "JOB_HEARTBEAT_STALE_SECONDS": "1",
        "JOB_SWEEP_SECONDS": "0.5",
    }
    messages: list[tuple[int, str]] = []

    def send(*message: Any) -> None:
        messages.append(message)
        tasks.run_generation.apply_async(message, queue=queue)

    monkeypatch.setattr(tasks.run_generation, "delay", send)
    first_three = [reply(FILES[path], first_token_latency=SLOW) for path in WRITE_ORDER[:3]]
    anthropic.push(plan_reply(first_token_latency=SLOW), *first_three, NoResponse(seconds=60))
    fields = enterprise_model_generation_fields(
        tenant_users, workflow_document=order_flow(), options=Options(include_tests=False)
    )

    with worker(f"doomed-{queue}@localhost", tmp_path, env) as doomed:
        generation = services.generation_create(**fields)
        wait_until(
            lambda: stored_versions(generation) == 4 and len(anthropic.requests) == 5,
            timeout=60,
            what="three files written, the Go workflow copied and the next call in flight",
        )
        assert asked_for(anthropic.requests[-1]) == IN_FLIGHT
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
    assert row(generation).state == State.GENERATING, "the dead worker's job still looks running"

    resumed = [reply(FILES[path], first_token_latency=SLOW) for path in WRITE_ORDER[3:]]
    anthropic.push(*resumed, *review_and_docs(first_token_latency=SLOW))
    with worker(f"rescuer-{queue}@localhost", tmp_path, env, beat=True):
        wait_until(lambda: not row(generation).is_active, timeout=60, what="the resumed run to end")
        # The killed worker's message, when the broker gives it back, finds its lease gone.
        late = tasks.run_generation.apply_async(messages[0], queue=queue)
        assert late.get(timeout=30) == "skipped"

    finished = row(generation)
    assert (finished.state, finished.resumptions) == (State.COMPLETED, 1), finished.error_message
    planned = [*WRITE_ORDER, GO_PATH, "README.md", "API.md"]
    versions = FileVersion.objects.for_tenant(finished.tenant).filter(file__generation=finished)
    generated = Counter(versions.filter(kind=FileVersion.Kind.GENERATED).values_list("file__path", flat=True))
    assert generated == Counter(planned), "each planned file generated once"
    assert versions.count() == len(planned)
    # The emulator answered one write per file; the dead run's call in flight got no answer.
    answered = Counter(asked_for(request) for request in anthropic.requests if request.outcome == "reply")
    assert answered == Counter({path: 1 for path in planned if path != GO_PATH} | {None: 2}), (
        "plan and review"
    )
    [held] = [request for request in anthropic.requests if request.outcome == "no_response"]
    assert asked_for(held) == IN_FLIGHT
    assert anthropic.pending() == 0
    logs = ProviderLog.objects.for_tenant(tenant_users.tenant).filter(links__generation=str(finished.pk))
    writes = Counter((log.links["file"], log.state) for log in logs.filter(links__step__in=["write", "docs"]))
    assert writes == Counter(
        {(path, LogState.COMPLETED): 1 for path in planned if path != GO_PATH}
        | {(IN_FLIGHT, LogState.PENDING): 1}
    ), "the killed run's call is left pending for the log reaper"
    kinds = list(
        GenerationEvent.objects.for_tenant(finished.tenant)
        .filter(generation=finished)
        .values_list("kind", flat=True)
    )
    assert kinds.count("completed") == 1
    assert kinds.count("file_generated") == len(planned)
