"""Chaos: a Celery worker, a web process (daphne) and Redis killed with SIGKILL during a
running job, turn and stream; nothing the user did is lost, nothing is left stuck.

- A worker killed mid-job: the sweeper (beat) queues the job again, a new worker runs it,
  the open page follows it to one result, and the killed worker's message, given back late
  by the broker, runs nothing.
- daphne killed mid-turn: a new one on the same address; the page that reconnects sees the
  question failed with its retry button, which completes it; the interview goes on.
- Redis killed mid-stream: an answer sent meanwhile is stored or refused on its socket,
  pages degrade; Redis restarted on its append-only file, the stream and the page recover
  and the interview goes on.

Each test runs a portal of its own (tests/chaos_stack.py: its own Redis, daphne, workers and
beat, on the test database), talks to it as a browser does (HTTP and the pages' sockets),
and reads what was stored through the ORM. The platform OpenAI provider of the stack is the
wire emulator, scripted so that each kill lands in the middle of a model's answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from channels.db import database_sync_to_async

from conversations import selectors as conversation_selectors
from conversations import services as conversation_services
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.interview import lock
from conversations.models import Conversation, Message
from providers import services as provider_services
from providers.interface import Task
from providers.models import LogState, ProviderLog
from tests.chaos_browser import Browser, session_cookie
from tests.chaos_stack import Stack
from tests.conftest import TenantUsers
from tests.emulators.fixtures import openai_emulator, openai_emulator_server
from tests.emulators.script import Reply, StallAfter
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import OPENAI_KEY, model_prices
from tests.workflows.proposal_fixtures import complete_conversation, order_flow, reply_of
from workflows.models import Workflow, WorkflowProposal
from workflows.proposals.frames import STREAM as PROPOSAL_STREAM
from workflows.tasks import run_workflow_proposal

__all__ = ["model_prices", "openai_emulator", "openai_emulator_server"]

pytestmark = pytest.mark.django_db(transaction=True)

State = WorkflowProposal.State
QUESTION = "Which kind of network service would you like to offer?\n\nWhy: it decides the vendors."
VENDOR_QUESTION = "Which vendor should the service run on?\n\nWhy: each has its own APIs."
# A frame with streamed text (conversations/frames/tokens.html).
TOKENS = '-live" hx-swap-oob="beforeend">'
# A notice to one socket, outside the numbered frames (conversations/frames/flash.html).
NOTICE = 'role="status"'
RETRY = 'data-testid="retry"'
ANSWER = {"action": "answer", "field": "service_type", "value": "vRouter"}


def stack_env(openai: EmulatorServer, **extra: str) -> dict[str, str]:
    """The stack's settings: the platform OpenAI provider is the emulator, alone."""
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai.base_url,
        "OPENAI_MODEL": "gpt-6-sol",
        "ANTHROPIC_API_KEY": "",
        "GATEWAY_BACKOFF_BASE_SECONDS": "0.01",
        "GATEWAY_BACKOFF_MAX_SECONDS": "0.05",
        **extra,
    }


# --- A worker killed during a running job ----------------------------------------------------------


def _conversation_to_generate_from(tenant_users: TenantUsers) -> Conversation:
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.WORKFLOW, targets=[{"provider": "openai"}]
    )
    return complete_conversation(tenant_users)


def _proposal(tenant_users: TenantUsers, proposal_id: int) -> WorkflowProposal:
    return WorkflowProposal.objects.for_tenant(tenant_users.tenant).get(pk=proposal_id)


async def test_a_job_whose_worker_is_killed_is_taken_over_by_a_new_worker_and_ends_ready_once(
    tenant_users: TenantUsers, openai_emulator: EmulatorServer, model_prices: None, tmp_path: Path
) -> None:
    conversation = await database_sync_to_async(_conversation_to_generate_from)(tenant_users)
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    # The first run's model sends three tokens and hangs (the worker dies there); the
    # resumed run's answers.
    openai_emulator.push(
        Reply(json.dumps(order_flow()), tokens=20, fault=StallAfter(3)), reply_of(order_flow())
    )
    env = stack_env(
        openai_emulator, JOB_HEARTBEAT_SECONDS="0.5", JOB_HEARTBEAT_STALE_SECONDS="3", JOB_SWEEP_SECONDS="0.5"
    )
    row = database_sync_to_async(_proposal)

    with Stack(tmp_path, env) as stack:
        web = stack.launch_daphne("web")
        doomed = stack.launch_worker("doomed")
        stack.launch_beat()
        await stack.ready(web, doomed)
        async with Browser(cookie) as browser:
            # The finished interview's "Generate workflow" button posts from its page.
            interview = f"{web.base_url}/t/acme/services/{conversation.pk}/"
            generate = f"{web.base_url}/t/acme/workflows/generate/{conversation.pk}/"
            status, location = await browser.post_form(interview, generate)
            assert status == 302, stack.fail(f"Generate workflow answered {status}")
            found = re.search(r"/workflows/proposals/(\d+)/$", location)
            assert found, location
            proposal_id = int(found.group(1))
            page = browser.socket(f"/ws/t/acme/workflows/proposals/{proposal_id}/")
            await page.connect(web.base_url)
            await page.until("Attempt 1 of 3 started", stack=stack)

            async def mid_answer() -> bool:
                return len(openai_emulator.requests_to("completions")) == 1

            await stack.eventually(mid_answer, "the model has the job's request")
            [taken] = stack.unacknowledged(run_workflow_proposal.name)
            assert taken.args[0] == proposal_id

            stack.kill(doomed.child)
            assert (await row(tenant_users, proposal_id)).state == State.RUNNING, "it still looks running"

            rescuer = stack.launch_worker("rescuer")
            await stack.ready(rescuer)
            # The open page follows the job to its end on the new worker, without a reload.
            await page.until("Ready after", stack=stack)
            followed = "".join(page.frames)
            assert (
                followed.index("Attempt 1 of 3 started")
                < followed.index("queued again, to resume on another")
                < followed.index("Started again")
                < followed.index("Ready after")
            )

            # Hours later the broker gives the killed worker's message back: it finds its
            # lease gone and runs nothing.
            stack.redeliver(taken)

            async def late_delivery_done() -> tuple[str, Any] | None:
                outcome = await stack.task_outcome(taken.task_id)
                return outcome if outcome[0] == "SUCCESS" else None

            late = await stack.eventually(
                late_delivery_done, "the late delivery has run", watch=rescuer.child
            )
            assert late == ("SUCCESS", "skipped")

            async def acknowledged() -> bool:
                return not await asyncio.to_thread(stack.unacknowledged, run_workflow_proposal.name)

            await stack.eventually(acknowledged, "no job message is left unacknowledged")
            assert stack.queued(run_workflow_proposal.name) == [], "nor waiting on the queue"

            finished = await row(tenant_users, proposal_id)
            assert (finished.state, finished.resumptions, finished.attempts) == (State.READY, 1, 1)
            assert finished.document is not None
            kept = stack.kept_frames(PROPOSAL_STREAM, proposal_id)
            assert sum("Ready after" in html for html in kept) == 1, "one result"
            assert sum("queued again, to resume on another" in html for html in kept) == 1
            assert sum("Started again" in html for html in kept) == 1
            assert len(openai_emulator.requests_to("completions")) == 2, (
                "the killed run's and the resumed one's"
            )

            # Accepting it makes one workflow.
            proposal_page = f"{web.base_url}/t/acme/workflows/proposals/{proposal_id}/"
            status, location = await browser.post_form(proposal_page, proposal_page + "accept/")
            assert status == 302, stack.fail(f"accepting answered {status}")

    def outcome() -> tuple[list[int], list[str], list[str]]:
        workflows = list(
            Workflow.objects.for_tenant(tenant_users.tenant).values_list("source_conversation", flat=True)
        )
        active = list(
            WorkflowProposal.objects.for_tenant(tenant_users.tenant)
            .filter(state__in=[State.QUEUED, State.RUNNING])
            .values_list("state", flat=True)
        )
        logs = list(
            ProviderLog.objects.for_tenant(tenant_users.tenant)
            .filter(links__workflow_proposal=str(proposal_id), state=LogState.COMPLETED)
            .values_list("state", flat=True)
        )
        return workflows, active, logs

    workflows, active, completed_logs = await database_sync_to_async(outcome)()
    assert workflows == [conversation.pk], "one workflow, from the conversation"
    assert active == [], "nothing left queued or running"
    assert len(completed_logs) == 1, "one completed model call"


# --- A web process killed mid-turn -----------------------------------------------------------------


def _interview(tenant_users: TenantUsers) -> Conversation:
    provider_services.route_set(
        tenant=tenant_users.tenant, task=Task.CONVERSATION, targets=[{"provider": "openai"}]
    )
    return conversation_services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=NETWORK_SERVICE
    )


def socket_path(conversation: Conversation) -> str:
    return f"/ws/t/acme/conversations/{conversation.pk}/"


def _question(conversation: Conversation) -> Message:
    question = conversation_selectors.current_question(conversation)
    assert question is not None
    return question


def _messages(conversation: Conversation) -> list[tuple[str, str, str, str]]:
    return [
        (message.role, message.field_key, message.state, message.text)
        for message in conversation_selectors.messages_of(conversation)
    ]


def _answers(conversation: Conversation) -> dict[str, Any]:
    saved = conversation_selectors.conversation_for_turn(conversation.tenant_id, conversation.pk)
    assert saved is not None
    answers: dict[str, Any] = saved.answers
    return answers


question_of = database_sync_to_async(_question)
messages_of = database_sync_to_async(_messages)
answers_of = database_sync_to_async(_answers)


async def settled(stack: Stack, conversation: Conversation, state: str) -> Message:
    """The current question once it is stored in `state`: a turn publishes a message's
    frame first, then stores it."""

    async def stored() -> Message | None:
        question = await question_of(conversation)
        return question if question.state == state else None

    return await stack.eventually(stored, f"the current question is stored {state}")


async def no_turn_running(stack: Stack, conversation: Conversation) -> None:
    """The last turn has let go of the conversation's lock (it publishes, then releases)."""

    async def released() -> bool:
        return not await asyncio.to_thread(stack.redis_client().exists, lock.lock_key(conversation.pk))

    await stack.eventually(released, "no turn holds the conversation's lock")


def message_frame(message: Message, state: str) -> tuple[str, str]:
    return f'id="message-{message.pk}"', f'data-state="{state}"'


async def test_a_turn_whose_web_process_is_killed_shows_failed_with_its_retry_on_the_reconnected_page(
    tenant_users: TenantUsers, openai_emulator: EmulatorServer, model_prices: None, tmp_path: Path
) -> None:
    conversation = await database_sync_to_async(_interview)(tenant_users)
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    # The question streams past its question mark (the page shows nothing before it), then
    # hangs (daphne dies there); asked again, it comes whole.
    openai_emulator.push(
        Reply(QUESTION, tokens=20, token_latency=0.02, fault=StallAfter(16)),
        Reply(QUESTION, tokens=10, token_latency=0.02),
    )
    env = stack_env(openai_emulator, TURN_LOCK_SECONDS="3")

    with Stack(tmp_path, env) as stack:
        first = stack.launch_daphne("web-1")
        await stack.ready(first)
        async with Browser(cookie) as browser:
            page = browser.socket(socket_path(conversation))
            await page.connect(first.base_url)
            await page.until(TOKENS, stack=stack)
            question = await question_of(conversation)
            assert question.state == Message.State.STREAMING

            stack.kill(first.child)
            # daphne comes back on the same address; the page's socket reconnects with the
            # number of the last frame it showed.
            second = stack.launch_daphne("web-2", port=int(first.base_url.rsplit(":", 1)[1]))
            await stack.ready(second)
            seen = page.since
            page = browser.socket(socket_path(conversation), since=seen)
            await page.connect(second.base_url)
            frames = await page.until(*message_frame(question, "failed"), stack=stack, wait=30)
            assert RETRY in frames[-1]
            failed = await settled(stack, conversation, Message.State.FAILED)
            assert (failed.pk, failed.state, failed.error) == (
                question.pk,
                Message.State.FAILED,
                "interrupted",
            )

            # The user presses "Try again" once the page that failed the question is done.
            await no_turn_running(stack, conversation)
            await page.send({"action": "retry"})
            await page.until(*message_frame(question, "done"), stack=stack)
            await settled(stack, conversation, Message.State.DONE)
            assert await messages_of(conversation) == [
                (Message.Role.ASSISTANT, "service_type", Message.State.DONE, QUESTION)
            ]

            # Not stuck: the interview goes on to its next question.
            openai_emulator.push(Reply(VENDOR_QUESTION, tokens=8))
            await page.send(ANSWER)
            await page.until("Which vendor", 'data-state="done"', stack=stack)
            await settled(stack, conversation, Message.State.DONE)
            assert await answers_of(conversation) == {"service_type": "vRouter"}
            states = [(role, key, state) for role, key, state, _text in await messages_of(conversation)]
            assert states == [
                (Message.Role.ASSISTANT, "service_type", Message.State.DONE),
                (Message.Role.USER, "service_type", Message.State.DONE),
                (Message.Role.ASSISTANT, "vendor", Message.State.DONE),
            ]
            await no_turn_running(stack, conversation)


# --- Redis killed mid-stream --------------------------------------------------------------------


async def test_redis_killed_mid_stream_loses_no_answer_and_the_interview_goes_on_once_it_is_back(
    tenant_users: TenantUsers, openai_emulator: EmulatorServer, model_prices: None, tmp_path: Path
) -> None:
    conversation = await database_sync_to_async(_interview)(tenant_users)
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    # The first token comes once the socket has made its first look at the kept frames
    # (core.frame_sockets.RECHECK_SECONDS), and the stream outlasts the outage.
    openai_emulator.push(Reply(QUESTION, tokens=30, first_token_latency=1.5, token_latency=0.1))
    # The lock of the streaming turn outlives the outage (it is kept in the append-only file).
    env = stack_env(openai_emulator, TURN_LOCK_SECONDS="9")

    with Stack(tmp_path, env) as stack:
        web = stack.launch_daphne("web")
        await stack.ready(web)
        page_url = f"{web.base_url}/t/acme/services/{conversation.pk}/"
        async with Browser(cookie) as browser:
            page = browser.socket(socket_path(conversation))
            await page.connect(web.base_url)
            await page.until(TOKENS, stack=stack)
            question = await question_of(conversation)
            assert question.state == Message.State.STREAMING

            stack.kill_redis()
            # The user answers during the outage: their answer is stored, or refused on
            # their socket; never dropped without a word.
            await page.send(ANSWER)
            notice = (await page.until(NOTICE, stack=stack))[-1]
            users = [text for role, _key, _state, text in await messages_of(conversation) if role == "user"]
            if "your answer was not sent" in notice:
                assert users == [], "refused, and not stored"
            else:
                assert "Your answer was saved" in notice, notice
                assert users == ["vRouter"], "saved, as the notice says"
            # Pages degrade instead of failing: a reload says so, a new socket is refused cleanly.
            status, body, _ = await browser.get(page_url)
            assert status == 200, stack.fail(f"the page answered {status} during the outage")
            assert 'data-testid="live-unavailable"' in body
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await browser.socket(socket_path(conversation)).connect(web.base_url)
            assert refused.value.status == 403, "refused before the handshake, not a server error"
            # Redis stays away a while; the model goes on streaming meanwhile.
            await asyncio.sleep(1)

            stack.start_redis()
            # The open page's socket (reconnecting if Redis's absence closed it) sees the
            # question through: finished, or failed with its retry button if its turn died.
            frames = await page.until_frame(
                lambda frame: (
                    f'id="message-{question.pk}"' in frame
                    and ('data-state="done"' in frame or RETRY in frame)
                ),
                "with the question done or failed",
                stack=stack,
                reconnect_to=web.base_url,
            )
            if RETRY in frames[-1]:
                await no_turn_running(stack, conversation)
                await page.send({"action": "retry"})
                await page.until(*message_frame(question, "done"), stack=stack, reconnect_to=web.base_url)
                await settled(stack, conversation, Message.State.DONE)
            else:
                finished = await settled(stack, conversation, Message.State.DONE)
                assert finished.text == QUESTION, "the tokens streamed while Redis was away are not lost"

            # A reload is live again, and its socket opens.
            status, body, _ = await browser.get(page_url)
            assert status == 200
            assert 'data-testid="live-unavailable"' not in body
            found = re.search(r'ws-connect="[^"?]+\?since=(\d+)"', body)
            assert found, "the page is live again"
            await page.close()
            page = browser.socket(socket_path(conversation), since=int(found.group(1)))
            await page.connect(web.base_url)

            # The interview goes on: the answer (sent again if it was refused) is taken and
            # the next question asked.
            openai_emulator.push(Reply(VENDOR_QUESTION, tokens=8))
            if not users:
                await page.send(ANSWER)
            await page.until("Which vendor", 'data-state="done"', stack=stack)
            await settled(stack, conversation, Message.State.DONE)
            assert await answers_of(conversation) == {"service_type": "vRouter"}
            states = [(role, key, state) for role, key, state, _text in await messages_of(conversation)]
            assert states == [
                (Message.Role.ASSISTANT, "service_type", Message.State.DONE),
                (Message.Role.USER, "service_type", Message.State.DONE),
                (Message.Role.ASSISTANT, "vendor", Message.State.DONE),
            ]
            await no_turn_running(stack, conversation)
