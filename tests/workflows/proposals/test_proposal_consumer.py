"""The proposal socket: who may open it, replay by sequence number, live frames, a real worker."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from conversations.models import Conversation
from core import frame_sockets
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.redis import sync_redis
from providers import services as provider_services
from providers.interface import Task
from tenants import services as tenant_services
from tenants.models import Membership
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.frames import frames_until, keep_without_sending, open_socket
from tests.tenants.test_consumers import ORIGIN, connect, signed_in, until_closed
from tests.workflows.proposal_fixtures import (
    anthropic,
    anthropic_emulator,
    anthropic_emulator_server,
    conversation,
    fast_gateway,
    forget_proposal_frames,
    fresh_gateway_state,
    model_prices,
    numbers,
    openai_emulator,
    openai_emulator_server,
    order_flow,
    platform,
    reply_of,
    run_tasks_inline,
)
from workflows.models import WorkflowProposal
from workflows.proposals import services as proposal_services
from workflows.proposals.frames import STREAM
from workflows.services import blank_document

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "conversation", "fast_gateway",
    "forget_proposal_frames", "fresh_gateway_state", "model_prices", "openai_emulator",
    "openai_emulator_server", "platform", "run_tasks_inline",
]  # fmt: skip

pytestmark = pytest.mark.django_db(transaction=True)

READY = "Ready after"


def path_of(proposal_id: int, since: int | None = None, slug: str = "acme") -> str:
    query = "" if since is None else f"?since={since}"
    return f"/ws/t/{slug}/workflows/proposals/{proposal_id}/{query}"


def queued(tenant_users: TenantUsers, conversation: Conversation) -> WorkflowProposal:
    """A proposal row as its creation leaves it, without enqueueing a task."""
    base = blank_document(workflow_uuid=uuid.uuid4(), tenant=tenant_users.tenant, name=conversation.title)
    return WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        conversation=conversation,
        base_document=base,
        created_by=tenant_users.member,
    )


@pytest.fixture
def finished(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, run_tasks_inline: None
) -> WorkflowProposal:
    """A proposal generated to the end (inline), its frames kept."""
    anthropic.push(reply_of(order_flow(), tokens=30))
    return proposal_services.proposal_create_generate(
        tenant=tenant_users.tenant, actor=tenant_users.member, conversation=conversation
    )


async def test_an_anonymous_socket_is_refused(finished: WorkflowProposal) -> None:
    socket, connected, code = await connect(path_of(finished.pk), ORIGIN)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED
    await socket.disconnect()


async def test_an_outsider_is_refused_and_a_foreign_proposal_looks_missing(
    tenant_users: TenantUsers, finished: WorkflowProposal
) -> None:
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(finished.pk))
    assert not connected
    assert code == CLOSE_FORBIDDEN
    await socket.disconnect()
    # The outsider's own tenant does not have it either.
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(finished.pk, slug="globex"))
    assert not connected
    assert code == CLOSE_NOT_FOUND
    await socket.disconnect()


async def test_a_member_gets_every_frame_in_order_from_the_start(
    tenant_users: TenantUsers, finished: WorkflowProposal
) -> None:
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(finished.pk, since=0))
    assert connected
    frames = await frames_until(socket, READY)
    assert numbers(frames) == list(range(1, len(frames) + 1))
    assert "Queued" in frames[0]
    assert (
        'id="proposal-result" class="proposal-result" data-testid="proposal-result" hx-swap-oob="true"'
        in (frames[-1])
    )
    assert 'data-testid="diff"' in frames[-1]
    # The frame holds no reader-specific buttons: each page fetches its own.
    assert 'hx-trigger="load"' in frames[-1]
    assert "proposal-accept" not in frames[-1]
    await socket.disconnect()


async def test_reconnecting_with_a_sequence_number_replays_only_what_came_after(
    tenant_users: TenantUsers, finished: WorkflowProposal
) -> None:
    last = await sync_to_async(STREAM.current_seq)(finished.pk)
    assert last > 3
    socket, connected, _ = await open_socket(tenant_users.member, path_of(finished.pk, since=last - 2))
    assert connected
    frames = await frames_until(socket, READY)
    assert numbers(frames) == [last - 1, last]
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_frames_that_are_no_longer_kept_make_the_page_reload(
    tenant_users: TenantUsers, finished: WorkflowProposal
) -> None:
    last = await sync_to_async(STREAM.current_seq)(finished.pk)
    # Only the last frame is still kept.
    await sync_to_async(sync_redis().xtrim)(STREAM.keys(finished.pk)[1], minid=f"{last}-1")
    socket, connected, _ = await open_socket(tenant_users.member, path_of(finished.pk, since=1))
    assert connected
    assert "data-reload" in str(await socket.receive_from(timeout=5))
    await socket.disconnect()


async def test_live_frames_reach_an_open_socket_while_the_job_runs(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer
) -> None:
    proposal = await database_sync_to_async(queued)(tenant_users, conversation)
    socket, connected, _ = await open_socket(tenant_users.member, path_of(proposal.pk, since=0))
    assert connected
    assert await socket.receive_nothing(timeout=0.1), "nothing has happened yet"
    anthropic.push(Reply(reply_of(order_flow()).text, tokens=40, token_latency=0.02))

    run = asyncio.ensure_future(
        database_sync_to_async(proposal_services.proposal_run)(proposal_id=proposal.pk)
    )
    frames = await frames_until(socket, READY)
    finished = await run

    assert finished is not None
    assert finished.state == WorkflowProposal.State.READY
    assert numbers(frames) == list(range(1, len(frames) + 1))
    started = next(index for index, frame in enumerate(frames) if "Attempt 1 of 3 started" in frame)
    answering = next(
        index
        for index, frame in enumerate(frames)
        if "Attempt 1: anthropic · claude-sonnet-5-5 is answering" in frame
    )
    assert started < answering, "the attempt is announced when it is sent, the provider at its first words"
    assert any('data-testid="proposal-tokens"' in frame for frame in frames)
    await socket.disconnect()


async def test_a_missing_proposal_closes_the_socket(tenant_users: TenantUsers) -> None:
    socket, connected, code = await open_socket(tenant_users.member, path_of(987654321))
    assert not connected
    assert code == CLOSE_NOT_FOUND
    await socket.disconnect()


@pytest.mark.parametrize("ending", ["removed", "logged-out", "tenant-suspended"])
async def test_an_open_proposal_page_reloads_when_access_ends(
    ending: str, tenant_users: TenantUsers, finished: WorkflowProposal
) -> None:
    """The reload shows what the server now says (a 404, the log-in page, the suspended page)."""
    client, cookie = await database_sync_to_async(signed_in)(tenant_users.member)
    socket, connected, _ = await connect(path_of(finished.pk, since=0), ORIGIN, cookie)
    assert connected
    await frames_until(socket, READY)

    def end_access() -> None:
        members = Membership.objects.for_tenant(tenant_users.tenant)
        if ending == "removed":
            tenant_services.membership_remove(
                actor=members.get(user=tenant_users.owner), membership=members.get(user=tenant_users.member)
            )
        elif ending == "logged-out":
            client.post("/accounts/logout/")
        else:
            tenant_services.tenant_suspend(tenant=tenant_users.tenant)

    await database_sync_to_async(end_access)()
    texts, code = await until_closed(socket)
    assert code == (CLOSE_UNAUTHENTICATED if ending == "logged-out" else CLOSE_FORBIDDEN)
    assert texts
    assert "data-reload" in texts[-1]
    await socket.disconnect()


async def test_the_task_runs_in_a_real_worker_and_the_page_sees_it_finish(
    celery_worker_process: subprocess.Popen[bytes],
    tenant_users: TenantUsers,
    conversation: Conversation,
    anthropic_emulator: EmulatorServer,
    model_prices: None,
) -> None:
    # The worker is another process: it reaches the emulator through the tenant's own
    # credential (in the database), not through this process's settings.
    def route_to_emulator() -> None:
        provider_services.credential_create(
            tenant=tenant_users.tenant,
            actor=None,
            name="team-anthropic",
            kind="anthropic",
            api_key="sk-ant-worker-0123456789",
            default_model="claude-sonnet-5-5",
            base_url=anthropic_emulator.base_url,
        )
        provider_services.route_set(
            tenant=tenant_users.tenant, task=Task.WORKFLOW, targets=[{"provider": "team-anthropic"}]
        )

    await database_sync_to_async(route_to_emulator)()
    anthropic_emulator.push(reply_of(order_flow(), tokens=20))

    proposal = await database_sync_to_async(proposal_services.proposal_create_generate)(
        tenant=tenant_users.tenant, actor=tenant_users.member, conversation=conversation
    )
    socket, connected, _ = await open_socket(tenant_users.member, path_of(proposal.pk, since=0))
    assert connected
    frames = await frames_until(socket, READY, wait=60)
    await socket.disconnect()

    row = await database_sync_to_async(
        lambda: WorkflowProposal.objects.for_tenant(tenant_users.tenant).get(pk=proposal.pk)
    )()
    assert row.state == WorkflowProposal.State.READY
    assert row.provider == "team-anthropic"
    assert anthropic_emulator.last_request.api_key == "sk-ant-worker-0123456789"
    assert "Queued" in frames[0]
    assert celery_worker_process.poll() is None


async def test_a_frame_that_missed_a_new_socket_is_sent_from_the_kept_ones_soon_after(
    tenant_users: TenantUsers, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's last frame (its result) published while a new socket's subscription was not
    yet in place reaches the page anyway, though no later frame shows the gap."""
    monkeypatch.setattr(frame_sockets, "RECHECK_SECONDS", 0.2)
    proposal = await sync_to_async(queued)(tenant_users, conversation)
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(proposal.pk, since=0))
    assert connected
    seq = await keep_without_sending(STREAM, proposal.pk, "<p>the result</p>")
    assert str(await socket.receive_from(timeout=5)) == STREAM.stamp(seq, "<p>the result</p>")
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()
