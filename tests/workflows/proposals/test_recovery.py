"""Proposals whose worker died: leases, heartbeats, the sweeper that resumes them, the reaper.

Against the Anthropic wire emulator. The tasks a service sends are recorded (`sent`) and run
here by hand, so a test decides which delivery arrives when; the last test kills a real
Celery worker mid-job and lets a second one, with its beat, resume the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from config.celery import app
from conversations.models import Conversation
from core import processes
from core.redis import sync_redis
from providers.models import LogState, ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.script import Reply, StallAfter
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import ANTHROPIC_KEY
from tests.servers import ROOT, server_env
from tests.threads import database_thread
from tests.workflows.proposal_fixtures import (
    anthropic,
    anthropic_emulator,
    anthropic_emulator_server,
    conversation,
    fast_gateway,
    forget_proposal_frames,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    order_flow,
    platform,
    reply_of,
)
from workflows import tasks
from workflows.models import WorkflowProposal
from workflows.proposals import services as proposal_services
from workflows.proposals.frames import STREAM
from workflows.proposals.recovery import WORKER_LOST, proposals_resume_stalled
from workflows.services import tenant_uuid
from workflows.tasks import reap_stuck_proposals, resume_stalled_proposals

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "conversation", "fast_gateway",
    "forget_proposal_frames", "fresh_gateway_state", "model_prices", "openai_emulator",
    "openai_emulator_server", "platform",
]  # fmt: skip

pytestmark = pytest.mark.django_db(transaction=True)

State = WorkflowProposal.State
Message = tuple[int, str]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """The (proposal id, lease) of every task the services send, instead of sending it."""
    messages: list[Message] = []
    monkeypatch.setattr(tasks.run_workflow_proposal, "delay", lambda *message: messages.append(message))
    return messages


def queued_proposal(tenant_users: TenantUsers, conversation: Conversation, **fields: Any) -> WorkflowProposal:
    """A proposal row as its creation leaves it, without enqueueing anything."""
    base = {**order_flow(), "id": str(uuid.uuid4()), "tenant_id": tenant_uuid(tenant_users.tenant)}
    return WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document={**base, "nodes": [], "edges": [], "variables": []},
        created_by=tenant_users.member,
        **fields,
    )


def stalled_proposal(
    tenant_users: TenantUsers, conversation: Conversation, **fields: Any
) -> WorkflowProposal:
    """Running, as a worker that died a minute ago left it."""
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    values = {
        "state": State.RUNNING,
        "run_token": "dead",
        "started_at": a_minute_ago,
        "heartbeat_at": a_minute_ago,
    }
    return queued_proposal(tenant_users, conversation, **{**values, **fields})


def row(tenant_users: TenantUsers, proposal: WorkflowProposal) -> WorkflowProposal:
    return WorkflowProposal.objects.for_tenant(tenant_users.tenant).get(pk=proposal.pk)


def frames_of(proposal: WorkflowProposal) -> list[str]:
    return [frame.html for frame in async_to_sync(STREAM.replay)(proposal.pk, 0).frames]


def count_in(frames: list[str], text: str) -> int:
    return sum(text in frame for frame in frames)


def wait_for_frame(proposal: WorkflowProposal, text: str, timeout: float = 30) -> None:
    """Block until a frame of the proposal containing `text` is kept (no polling)."""
    _seq_key, frames_key = STREAM.keys(proposal.pk)
    client = sync_redis()
    last = "0-0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Blocks for at most a second at a time: the client's socket timeout is two.
        entries = cast("list[Any]", client.xread({frames_key: last}, block=1000, count=50))
        for _stream, items in entries or []:
            for entry_id, data in items:
                last = entry_id
                if text in data["html"]:
                    return
    raise AssertionError(f"no frame with {text!r}")


def sweep(**overrides: Any) -> int:
    options = {"stale_before": timezone.now() - timedelta(seconds=30), "max_resumptions": 3, **overrides}
    return proposals_resume_stalled(**options)


# --- Leases ------------------------------------------------------------------------------------


def test_a_new_proposal_sends_its_task_with_the_lease_that_alone_may_start_it(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    anthropic.push(reply_of(order_flow()))
    created = proposal_services.proposal_create_generate(
        tenant=tenant_users.tenant, actor=tenant_users.member, conversation=conversation
    )
    [(proposal_id, lease)] = sent
    assert (proposal_id, lease) == (created.pk, row(tenant_users, created).run_token)
    assert len(lease) == 32

    assert proposal_services.proposal_run(proposal_id=proposal_id, lease="forged") is None
    assert proposal_services.proposal_run(proposal_id=proposal_id) is None, "a message without the lease"
    finished = proposal_services.proposal_run(proposal_id=proposal_id, lease=lease)
    assert finished is not None
    assert finished.state == State.READY
    assert finished.run_token != lease, "the run holds a token of its own"
    assert proposal_services.proposal_run(proposal_id=proposal_id, lease=lease) is None, "delivered again"
    assert len(anthropic.requests) == 1


def test_a_finished_proposal_is_not_run_again(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    proposal = queued_proposal(tenant_users, conversation, state=State.READY, document=order_flow())
    assert proposal_services.proposal_run(proposal_id=proposal.pk) is None
    assert anthropic.requests == []


# --- Heartbeats --------------------------------------------------------------------------------


def test_a_running_job_keeps_its_heartbeat_fresh_and_stops_beating_when_it_ends(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, settings: Any
) -> None:
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    proposal = queued_proposal(tenant_users, conversation)
    anthropic.push(Reply(json.dumps(order_flow()), tokens=20, first_token_latency=0.5, token_latency=0.02))
    results: list[WorkflowProposal | None] = []
    runner = database_thread(lambda: results.append(proposal_services.proposal_run(proposal_id=proposal.pk)))
    try:
        wait_for_frame(proposal, "Attempt 1 of 3 started")
        claimed = row(tenant_users, proposal)
        assert claimed.heartbeat_at is not None
        beats: set[object] = {claimed.heartbeat_at}
        while len(beats) < 3 and runner.is_alive():  # the reply takes ~0.9 s: a dozen beats
            beats.add(row(tenant_users, proposal).heartbeat_at)
            time.sleep(0.02)
    finally:
        runner.join(timeout=30)
    assert len(beats) >= 3, "the heartbeat moved on while the model answered"
    [finished] = results
    assert finished is not None
    assert finished.state == State.READY
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("heartbeat ")]
    assert proposals_resume_stalled(stale_before=timezone.now(), max_resumptions=3) == 0, (
        "finished: not swept"
    )


# --- The sweeper -------------------------------------------------------------------------------


def test_a_stalled_run_is_queued_again_under_a_new_lease_and_resumes_from_the_start(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    proposal = stalled_proposal(tenant_users, conversation, attempts=2, provider="openai")
    anthropic.push(reply_of(order_flow()))

    assert sweep() == 1

    queued = row(tenant_users, proposal)
    assert (queued.state, queued.resumptions, queued.heartbeat_at) == (State.QUEUED, 1, None)
    assert queued.run_token not in ("", "dead")
    assert sent == [(proposal.pk, queued.run_token)]
    assert "queued again, to resume on another" in frames_of(proposal)[-1]

    finished = proposal_services.proposal_run(proposal_id=proposal.pk, lease=queued.run_token)

    assert finished is not None
    assert (finished.state, finished.attempts, finished.resumptions) == (State.READY, 1, 1)
    assert finished.provider == "anthropic", "the dead run's progress is not carried over"
    assert "Started again" in "".join(frames_of(proposal))


def test_a_run_with_a_fresh_heartbeat_is_left_alone_however_long_it_runs(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    proposal = stalled_proposal(tenant_users, conversation, heartbeat_at=timezone.now())
    queued = queued_proposal(tenant_users, conversation, queued_at=timezone.now() - timedelta(hours=1))

    assert sweep() == 0

    assert row(tenant_users, proposal).state == State.RUNNING
    assert row(tenant_users, queued).state == State.QUEUED, "queued jobs are the reaper's"
    assert sent == []


def test_the_beat_task_sweeps_with_the_stale_setting(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message], settings: Any
) -> None:
    settings.JOB_HEARTBEAT_STALE_SECONDS = 120  # the proposal's heartbeat is a minute old
    proposal = stalled_proposal(tenant_users, conversation)
    assert resume_stalled_proposals() == 0
    settings.JOB_HEARTBEAT_STALE_SECONDS = 30
    assert resume_stalled_proposals() == 1
    assert sent == [(proposal.pk, row(tenant_users, proposal).run_token)]
    assert (
        settings.CELERY_BEAT_SCHEDULE["workflow-proposals-sweeper"]["task"] == resume_stalled_proposals.name
    )


def test_two_sweeps_resume_a_stalled_run_once(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    proposal = stalled_proposal(tenant_users, conversation)

    assert [sweep(), sweep()] == [1, 0]

    assert row(tenant_users, proposal).resumptions == 1
    assert len(sent) == 1


def test_concurrent_sweeps_resume_a_stalled_run_once(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    proposals = [stalled_proposal(tenant_users, conversation) for _ in range(3)]
    start = threading.Barrier(2)
    counts: list[int] = []

    def sweeper() -> None:
        start.wait(timeout=10)
        counts.append(sweep())

    sweepers = [database_thread(sweeper) for _ in range(2)]
    for thread in sweepers:
        thread.join(timeout=30)

    assert sum(counts) == 3
    assert sorted(proposal_id for proposal_id, _lease in sent) == sorted(p.pk for p in proposals)
    assert {row(tenant_users, p).resumptions for p in proposals} == {1}


def test_the_original_message_delivered_late_runs_nothing_and_the_result_is_written_once(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    anthropic.push(reply_of(order_flow()), reply_of(order_flow()))
    created = proposal_services.proposal_create_generate(
        tenant=tenant_users.tenant, actor=tenant_users.member, conversation=conversation
    )
    [original] = sent
    # A worker took the message and died before its first heartbeat: the message is still
    # unacknowledged in the broker, and comes back hours later.
    WorkflowProposal.objects.for_tenant(tenant_users.tenant).filter(pk=created.pk).update(
        state=State.RUNNING, run_token="dead", started_at=timezone.now() - timedelta(minutes=1)
    )
    assert sweep() == 1
    resumed = sent[-1]

    assert proposal_services.proposal_run(proposal_id=original[0], lease=original[1]) is None
    finished = proposal_services.proposal_run(proposal_id=resumed[0], lease=resumed[1])
    assert proposal_services.proposal_run(proposal_id=original[0], lease=original[1]) is None
    assert proposal_services.proposal_run(proposal_id=resumed[0], lease=resumed[1]) is None

    assert finished is not None
    assert finished.state == State.READY
    assert len(anthropic.requests) == 1
    assert count_in(frames_of(created), "Ready after") == 1


def test_a_run_that_lost_its_lease_stops_and_writes_nothing(
    tenant_users: TenantUsers,
    conversation: Conversation,
    anthropic: EmulatorServer,
    sent: list[Message],
    settings: Any,
) -> None:
    """A worker that only looked dead (its heartbeat stalled) and the resumed run: one result."""
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    proposal = queued_proposal(tenant_users, conversation)
    anthropic.push(
        Reply(json.dumps(order_flow()), tokens=20, first_token_latency=0.3, token_latency=0.02),
        reply_of(order_flow()),
    )
    results: list[WorkflowProposal | None] = []
    runner = database_thread(lambda: results.append(proposal_services.proposal_run(proposal_id=proposal.pk)))
    try:
        wait_for_frame(proposal, "Attempt 1 of 3 started")
        assert sweep(stale_before=timezone.now() + timedelta(hours=1)) == 1  # it looks stalled
    finally:
        runner.join(timeout=30)
    assert results == [None], "the superseded run reports that it wrote nothing"
    assert row(tenant_users, proposal).state == State.QUEUED

    [(proposal_id, lease)] = sent
    finished = proposal_services.proposal_run(proposal_id=proposal_id, lease=lease)

    assert finished is not None
    assert (finished.state, finished.resumptions) == (State.READY, 1)
    assert count_in(frames_of(proposal), "Ready after") == 1


def test_a_proposal_that_keeps_losing_its_worker_is_failed_after_the_last_resumption(
    tenant_users: TenantUsers, conversation: Conversation, sent: list[Message]
) -> None:
    proposal = stalled_proposal(tenant_users, conversation, resumptions=3)

    assert sweep(max_resumptions=3) == 1

    failed = row(tenant_users, proposal)
    assert (failed.state, failed.error_code, failed.run_token) == (State.FAILED, WORKER_LOST, "")
    assert "stopped 4 times before it finished" in failed.error_message
    assert "stopped 4 times" in frames_of(proposal)[-1]
    assert sent == []


# --- The reaper --------------------------------------------------------------------------------


def test_the_reaper_fails_stuck_proposals_and_leaves_recent_ones(
    tenant_users: TenantUsers, conversation: Conversation, settings: Any
) -> None:
    long_ago = timezone.now() - timedelta(minutes=settings.WORKFLOW_PROPOSAL_STUCK_MINUTES + 1)
    stuck_running = queued_proposal(
        tenant_users, conversation, state=State.RUNNING, run_token="abc", started_at=long_ago
    )
    stuck_queued = queued_proposal(tenant_users, conversation, created_at=long_ago, queued_at=long_ago)
    recent = queued_proposal(tenant_users, conversation)
    recently_started = queued_proposal(
        tenant_users, conversation, state=State.RUNNING, created_at=long_ago, started_at=timezone.now()
    )
    # Made long ago, but queued again just now by the sweeper: waiting for its new worker.
    recently_resumed = queued_proposal(tenant_users, conversation, created_at=long_ago, resumptions=1)

    assert reap_stuck_proposals() == 2

    for proposal in (stuck_running, stuck_queued):
        reaped = row(tenant_users, proposal)
        assert (reaped.state, reaped.error_code) == (State.FAILED, "stuck")
        assert reaped.finished_at is not None
        assert "did not finish within" in frames_of(proposal)[-1]
    assert row(tenant_users, recent).state == State.QUEUED
    assert row(tenant_users, recently_started).state == State.RUNNING
    assert row(tenant_users, recently_resumed).state == State.QUEUED


def test_a_run_the_reaper_gave_up_on_cannot_write_its_late_result(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    proposal = queued_proposal(tenant_users, conversation)
    anthropic.push(Reply(json.dumps(order_flow()), tokens=40, first_token_latency=0.2, token_latency=0.05))
    results: list[WorkflowProposal | None] = []
    runner = database_thread(lambda: results.append(proposal_services.proposal_run(proposal_id=proposal.pk)))
    try:
        wait_for_frame(proposal, "Attempt 1 of 3 started")
        # The worker looks dead to the reaper (its run started long ago).
        WorkflowProposal.objects.for_tenant(tenant_users.tenant).filter(pk=proposal.pk).update(
            started_at=timezone.now() - timedelta(hours=1)
        )
        assert reap_stuck_proposals() == 1
    finally:
        runner.join(timeout=30)
    assert results == [None], "the superseded run reports that it wrote nothing"
    reaped = row(tenant_users, proposal)
    assert (reaped.state, reaped.error_code, reaped.document) == (State.FAILED, "stuck", None)


# --- A real worker killed mid-job ----------------------------------------------------------------


@contextmanager
def worker(
    name: str, log_dir: Path, env: dict[str, str], *, beat: bool = False
) -> Iterator[processes.Leader]:
    """A Celery worker process (its own process group) on the test database; with `beat`, its
    embedded beat too. Ready when it answers a ping."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--hostname", name,
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(log_dir / f"{name}-schedule")]
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = processes.Leader(
            command, cwd=ROOT, env=server_env(**env), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while not app.control.ping(destination=[name], timeout=0.5):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-4000:]}")
            yield process
        finally:
            processes.stop(process, timeout=15)


def test_a_job_whose_worker_is_killed_is_resumed_on_another_and_completes_once(
    tenant_users: TenantUsers,
    conversation: Conversation,
    anthropic: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    queue = f"resume-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {
        "SCE_TEST_CELERY_QUEUE": queue,
        # The platform provider the tenant routes to, as the emulator serves it.
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": anthropic.base_url,
        "ANTHROPIC_MODEL": "claude-sonnet-5-5",
        "JOB_HEARTBEAT_SECONDS": "0.2",
        "JOB_HEARTBEAT_STALE_SECONDS": "1",
        "JOB_SWEEP_SECONDS": "0.5",
    }
    messages: list[tuple[int, str]] = []

    def send(*message: Any) -> None:
        messages.append(message)
        tasks.run_workflow_proposal.apply_async(message, queue=queue)

    monkeypatch.setattr(tasks.run_workflow_proposal, "delay", send)
    # The first run hangs mid-answer (and dies there); the resumed one gets a good answer.
    anthropic.push(Reply(json.dumps(order_flow()), tokens=20, fault=StallAfter(3)), reply_of(order_flow()))

    with worker(f"doomed-{queue}@localhost", tmp_path, env) as doomed:
        created = proposal_services.proposal_create_generate(
            tenant=tenant_users.tenant, actor=tenant_users.member, conversation=conversation
        )
        # Killed mid-answer: once the model's first words came.
        wait_for_frame(created, "Attempt 1: anthropic · claude-sonnet-5-5 is answering", timeout=60)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
    assert row(tenant_users, created).state == State.RUNNING, "the dead worker's job still looks running"

    with worker(f"rescuer-{queue}@localhost", tmp_path, env, beat=True):
        wait_for_frame(created, "Ready after", timeout=90)
        # The killed worker's message, when the broker gives it back, finds its lease gone.
        original = messages[0]
        late = tasks.run_workflow_proposal.apply_async(original, queue=queue)
        assert late.get(timeout=30) == "skipped"

    finished = row(tenant_users, created)
    assert (finished.state, finished.resumptions, finished.attempts) == (State.READY, 1, 1)
    assert finished.document is not None
    frames = frames_of(created)
    assert count_in(frames, "Ready after") == 1, "one result"
    assert count_in(frames, "queued again, to resume on another") == 1
    assert count_in(frames, "Started again") == 1
    assert len(anthropic.requests) == 2, "one request per run: the killed one and the resumed one"
    logs = ProviderLog.objects.for_tenant(tenant_users.tenant).filter(
        links__workflow_proposal=str(created.pk)
    )
    assert sorted(logs.values_list("state", flat=True)) == [LogState.COMPLETED, LogState.PENDING], (
        "one log row per run: the resumed run's, completed; the killed run's, left pending for the log reaper"
    )
