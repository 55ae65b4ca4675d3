"""Answering a request (the task's body) against the Anthropic wire emulator, in this process:
its numbered events, its ending, the lease, and what a failure upstream leaves."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api import services as key_services
from api.inference import selectors, services
from api.inference.models import InferenceRequest
from providers.interface import Task
from providers.models import LogState, ProviderLog
from tests.api.inference.conftest import Message
from tests.emulators.script import DropAfter, HttpError, Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import anthropic_alone
from tests.threads import database_thread

pytestmark = pytest.mark.django_db(transaction=True)

Issued = key_services.IssuedApiKey
Status = InferenceRequest.Status


@pytest.fixture
def anthropic(platform: tuple[EmulatorServer, EmulatorServer], issued: Issued) -> EmulatorServer:
    return anthropic_alone(platform, issued.key.tenant, Task.API)


def submit(issued: Issued, sent: list[Message], **fields: Any) -> Message:
    services.inference_request_create(
        key=issued.key,
        prompt="What is Rust?",
        model="auto",
        max_tokens=fields.pop("max_tokens", 256),
        **fields,
    )
    return sent[-1]


def row(issued: Issued, pk: int) -> InferenceRequest:
    return InferenceRequest.objects.for_tenant(issued.key.tenant).get(pk=pk)


def kinds(request: InferenceRequest) -> list[tuple[int, str]]:
    return [(event.seq, event.kind) for event in selectors.events_of(request)]


def test_it_streams_the_answer_as_numbered_events_and_records_the_result(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    anthropic.push(Reply("Rust is a systems programming language.", input_tokens=12))
    pk, lease = submit(issued, sent)

    finished = services.inference_run(request_id=pk, lease=lease)

    assert finished is not None
    assert finished.status == Status.COMPLETED
    assert finished.result == "Rust is a systems programming language."
    assert (finished.provider, finished.provider_model) == ("anthropic", "claude-sonnet-5-5")
    assert (finished.input_tokens, finished.finish_reason, finished.run_token) == (12, "stop", "")
    assert finished.expires_at is not None
    assert finished.finished_at is not None
    assert finished.expires_at > finished.finished_at
    events = list(selectors.events_of(finished))
    words = ["Rust", "is", "a", "systems", "programming", "language."]
    assert [event.seq for event in events] == list(range(1, len(words) + 3)), "numbered from 1, no gaps"
    assert [event.kind for event in events] == ["start", *["token"] * len(words), "complete"]
    assert events[0].data["request_id"] == str(finished.request_id)
    assert [event.data["chunk"] for event in events[1:-1]] == list(range(len(words)))
    assert "".join(event.data["data"] for event in events[1:-1]) == finished.result
    assert events[-1].data["status"] == "done"
    log = ProviderLog.objects.for_tenant(issued.key.tenant).get()
    assert log.links == {"api_key": issued.key.prefix, "inference": str(finished.request_id)}
    assert log.task == Task.API


def test_a_fast_reply_is_stored_whole_in_batches(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    pieces = [f"t{index} " for index in range(300)]
    anthropic.push(Reply(tokens=pieces, token_latency=0))
    pk, lease = submit(issued, sent, max_tokens=2000)

    finished = services.inference_run(request_id=pk, lease=lease)

    assert finished is not None
    assert finished.result == "".join(pieces)
    assert kinds(finished) == [(1, "start"), *[(n, "token") for n in range(2, 302)], (302, "complete")]


def test_a_message_without_its_lease_or_delivered_again_does_nothing(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    pk, lease = submit(issued, sent)
    assert services.inference_run(request_id=pk, lease="forged") is None
    assert services.inference_run(request_id=pk) is None
    assert services.inference_run(request_id=pk, lease=lease) is not None
    assert services.inference_run(request_id=pk, lease=lease) is None, "delivered again"
    assert len(anthropic.requests) == 1


def test_a_refusal_upstream_fails_the_request_with_an_error_event(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    anthropic.push(HttpError(400, message="prompt is malformed"))
    pk, lease = submit(issued, sent)

    finished = services.inference_run(request_id=pk, lease=lease)

    assert finished is not None
    assert finished.status == Status.FAILED
    assert finished.error_code == "bad_request"
    [(seq, kind)] = kinds(finished)
    assert (seq, kind) == (1, "error")
    error = selectors.events_of(finished).get()
    assert error.data["error"] == "bad_request"
    assert error.data["retryable"] is False


def test_a_stream_cut_after_tokens_ends_with_an_error_never_a_clean_end(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    anthropic.push(Reply("one two three four five six", fault=DropAfter(3)))
    pk, lease = submit(issued, sent)

    finished = services.inference_run(request_id=pk, lease=lease)

    assert finished is not None
    assert finished.status == Status.FAILED
    assert kinds(finished) == [(1, "start"), (2, "token"), (3, "token"), (4, "token"), (5, "error")]
    assert finished.result == ""


def test_a_run_that_lost_its_request_stops_writing(
    issued: Issued, anthropic: EmulatorServer, sent: list[Message]
) -> None:
    """The reaper fails the request while its run streams: the run writes nothing after the
    error event, and its upstream call is cancelled."""
    anthropic.push(Reply(tokens=[f"w{index} " for index in range(40)], token_latency=0.05))
    pk, lease = submit(issued, sent)
    outcome: list[InferenceRequest | None] = []
    runner = database_thread(lambda: outcome.append(services.inference_run(request_id=pk, lease=lease)))
    deadline = time.monotonic() + 20
    while selectors.events_of(row(issued, pk)).filter(kind="token").count() < 3:
        assert time.monotonic() < deadline, "no tokens came"
        time.sleep(0.02)
    failed = services.inference_fail(request=row(issued, pk), code="stuck", message="reaped")
    runner.join(timeout=20)

    assert outcome == [None]
    assert failed is not None
    events = kinds(row(issued, pk))
    assert events[-1][1] == "error", "nothing after the error"
    assert [seq for seq, _kind in events] == list(range(1, len(events) + 1))
    assert len(events) < 42
    [log] = ProviderLog.objects.for_tenant(issued.key.tenant)
    assert log.state == LogState.CANCELLED, "the upstream call was given up"
