"""Structured output from OpenAI-compatible servers without json_schema: the gateway steps
down (json_schema -> json_object -> prompt), remembers the step, checks degraded replies,
and never counts a refused parameter against the breaker."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from providers import breaker, gateway
from providers import services as provider_services
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, Message, StartEvent, Task, TokenEvent, UsageEvent
from providers.kinds.sdk_errors import normalize, unsupported_parameter
from providers.model_traits import forget_cached_traits
from providers.models import ModelTraits, ProviderLog
from providers.structured_output import FenceStripper, StructuredOutputMode, bare_json, checked_reply
from tenants.models import Tenant, User
from tests.emulators.profiles import (
    LLAMA_CPP_PYTHON,
    LLAMA_CPP_PYTHON_JSON_SCHEMA_REFUSAL,
    LM_STUDIO,
    LM_STUDIO_JSON_OBJECT_REFUSAL,
    Profile,
)
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.factories import TenantFactory
from tests.gateway_fixtures import OPENAI_KEY

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "type": "object",
    "properties": {"service_type": {"type": "string", "enum": ["vFirewall", "vRouter"]}},
    "required": ["service_type"],
    "additionalProperties": False,
}
ANSWER = {"service_type": "vFirewall"}
PLATFORM_OPENAI = "platform:openai"
# Takes neither json_schema (as llama-cpp-python) nor json_object (as LM Studio): text only.
TEXT_ONLY = Profile(
    "text-only",
    refused_formats={
        "json_schema": LLAMA_CPP_PYTHON_JSON_SCHEMA_REFUSAL,
        "json_object": LM_STUDIO_JSON_OBJECT_REFUSAL,
    },
)


@pytest.fixture(autouse=True)
def no_learned_traits() -> Iterator[None]:
    forget_cached_traits()
    yield
    forget_cached_traits()


@pytest.fixture
def llama(
    platform: tuple[EmulatorServer, EmulatorServer], fast_gateway: Any, llama_cpp_emulator: EmulatorServer
) -> EmulatorServer:
    """The platform's `openai` provider is a llama-cpp-python server; `anthropic` is there too."""
    fast_gateway.OPENAI_BASE_URL = llama_cpp_emulator.base_url
    return llama_cpp_emulator


async def tenant_routed_to_openai_first() -> Tenant:
    tenant: Tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    await sync_to_async(provider_services.route_set)(
        tenant=tenant, task=Task.API, targets=[{"provider": "openai"}, {"provider": "anthropic"}]
    )
    return tenant


def structured(**overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "task": Task.API,
        "messages": (Message("user", "We need a virtual firewall."),),
        "system": "You read requirements.",
        "max_tokens": 100,
        "json_schema": SCHEMA,
        "json_schema_name": "requirements",
        "deadline_seconds": 20,
    }
    values.update(overrides)
    return GatewayRequest(**values)


def formats(emulator: EmulatorServer) -> list[str | None]:
    """The response_format type of each request the server received (None: none sent)."""
    return [(request.body.get("response_format") or {}).get("type") for request in emulator.requests]


def logs() -> list[ProviderLog]:
    return list(ProviderLog.objects.dangerously_unscoped().order_by("pk"))


def traits_row() -> ModelTraits:
    return ModelTraits.objects.get(provider_key=PLATFORM_OPENAI)


# --- Through the gateway ----------------------------------------------------------------


async def test_five_structured_calls_leave_the_breaker_closed_and_streams_still_go_there(
    llama: EmulatorServer,
) -> None:
    tenant = await tenant_routed_to_openai_first()
    llama.push(*[Reply(json.dumps(ANSWER), input_tokens=40, output_tokens=6)] * 5)
    for _ in range(5):
        completion = await gateway.complete(structured(tenant_id=tenant.pk))
        assert completion.provider == "openai"
        assert json.loads(completion.text) == ANSWER
        assert completion.attempts == 1
    assert breaker.status(PLATFORM_OPENAI) == breaker.BreakerStatus(
        PLATFORM_OPENAI, breaker.BreakerState.CLOSED, 0, None
    )
    # Refused once, then json_object straight away: the step was remembered.
    assert formats(llama) == [
        "json_schema",
        "json_object",
        "json_object",
        "json_object",
        "json_object",
        "json_object",
    ]
    assert llama.requests[0].outcome == "http_error 500"

    llama.push(Reply("Plain words, streamed."))
    events = [event async for event in gateway.stream(structured(tenant_id=tenant.pk, json_schema=None))]
    assert isinstance(events[0], StartEvent)
    assert events[0].provider == "openai"
    assert (
        "".join(event.text for event in events if isinstance(event, TokenEvent)) == "Plain words, streamed."
    )
    # llama-cpp-python ignores stream_options and reports no usage: it is estimated.
    [usage] = [event for event in events if isinstance(event, UsageEvent)]
    assert usage.estimated


async def test_the_structured_call_succeeds_through_json_object_and_the_schema_is_in_the_prompt(
    llama: EmulatorServer,
) -> None:
    llama.push(Reply(json.dumps(ANSWER)))
    completion = await gateway.complete(structured(provider="openai"))
    assert json.loads(completion.text) == ANSWER
    refused, answered = llama.requests
    assert refused.body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert answered.body["response_format"] == {"type": "json_object"}
    system = answered.body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You read requirements.\n\n")
    assert json.dumps(SCHEMA, separators=(",", ":")) in system["content"]
    row = await sync_to_async(traits_row)()
    assert (row.model, row.structured_output_mode, row.stream_usage) == ("gpt-6-sol", "json_object", True)
    assert row.base_url == llama.base_url
    assert "Input should be 'text' or 'json_object'" in row.evidence
    [log] = await sync_to_async(logs)()
    assert (log.state, log.attempts, log.error_code) == ("completed", 1, "")


async def test_the_learned_mode_is_read_back_after_the_process_forgets_it(llama: EmulatorServer) -> None:
    llama.push(Reply(json.dumps(ANSWER)), Reply(json.dumps(ANSWER)))
    await gateway.complete(structured(provider="openai"))
    forget_cached_traits()  # as a new process would start
    await gateway.complete(structured(provider="openai"))
    assert formats(llama) == ["json_schema", "json_object", "json_object"]


async def test_a_server_that_refuses_json_object_too_ends_in_prompt_mode(llama: EmulatorServer) -> None:
    llama.use_profile(TEXT_ONLY)
    llama.push(Reply("```json\n" + json.dumps(ANSWER, indent=2) + "\n```"), Reply(json.dumps(ANSWER)))
    completion = await gateway.complete(structured(provider="openai"))
    assert completion.text == json.dumps(ANSWER, indent=2), "the bare JSON, without its fence"
    await gateway.complete(structured(provider="openai"))
    assert formats(llama) == ["json_schema", "json_object", None, None]
    prompt = llama.requests[2].body["messages"][0]["content"]
    assert "Reply with JSON only" in prompt
    assert json.dumps(SCHEMA, separators=(",", ":")) in prompt
    row = await sync_to_async(traits_row)()
    assert row.structured_output_mode == StructuredOutputMode.PROMPT
    assert "must be 'json_schema' or 'text'" in row.evidence
    assert breaker.status(PLATFORM_OPENAI).failures == 0


async def test_lm_studio_takes_json_schema_and_is_never_stepped_down(llama: EmulatorServer) -> None:
    llama.use_profile(LM_STUDIO)
    llama.push(Reply(json.dumps(ANSWER)))
    await gateway.complete(structured(provider="openai"))
    assert formats(llama) == ["json_schema"]
    assert not await sync_to_async(ModelTraits.objects.exists)()


async def test_a_prompted_stream_comes_without_its_fence(llama: EmulatorServer) -> None:
    llama.use_profile(TEXT_ONLY)
    fenced = "```json\n" + json.dumps(ANSWER) + "\n```"
    llama.push(Reply(fenced, tokens=["``", "`json\n{", '"service_type": ', '"vFirewall"}\n', "``", "`"]))
    events = [event async for event in gateway.stream(structured(provider="openai"))]
    text = "".join(event.text for event in events if isinstance(event, TokenEvent))
    assert text == json.dumps(ANSWER)
    assert formats(llama) == ["json_schema", "json_object", None]


async def test_invalid_json_in_a_degraded_mode_is_invalid_output(llama: EmulatorServer) -> None:
    llama.push(Reply("Sure! Here you go: service_type is vFirewall."), Reply('{"service_type": "vSwitch"}'))
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(structured(provider="openai"))
    assert raised.value.code is ErrorCode.INVALID_OUTPUT
    assert raised.value.message == "openai: the model's reply did not match the requested format"
    # Asked once more (a second sample), not retried by the gateway, not a breaker failure.
    assert formats(llama) == ["json_schema", "json_object", "json_object"]
    [log] = await sync_to_async(logs)()
    assert (log.state, log.error_code, log.attempts) == ("failed", "invalid_output", 1)
    assert "'vSwitch' is not one of ['vFirewall', 'vRouter'] at $.service_type" in log.error_message
    assert breaker.status(PLATFORM_OPENAI).failures == 0


async def test_a_second_sample_that_conforms_is_taken_and_both_are_paid_for(llama: EmulatorServer) -> None:
    llama.push(
        Reply("not JSON at all", input_tokens=50, output_tokens=4),
        Reply(json.dumps(ANSWER), input_tokens=50, output_tokens=6),
    )
    completion = await gateway.complete(structured(provider="openai"))
    assert json.loads(completion.text) == ANSWER
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (100, 10)


async def test_an_invalid_reply_falls_back_to_the_next_provider(
    llama: EmulatorServer, anthropic_emulator: EmulatorServer
) -> None:
    tenant = await tenant_routed_to_openai_first()
    llama.push(Reply("[]"), Reply("[]"))
    anthropic_emulator.push(Reply(json.dumps(ANSWER)))
    completion = await gateway.complete(structured(tenant_id=tenant.pk))
    assert (completion.provider, completion.fallback_from) == ("anthropic", "openai")
    assert [(log.provider, log.error_code, log.attempts) for log in await sync_to_async(logs)()] == [
        ("openai", "invalid_output", 1),
        ("anthropic", "", 1),
    ]
    assert breaker.status(PLATFORM_OPENAI).failures == 0


async def test_a_refused_stream_options_is_learned_and_usage_estimated(llama: EmulatorServer) -> None:
    llama.use_profile(dataclasses.replace(LLAMA_CPP_PYTHON, stream_options="refused"))
    llama.push(Reply("one two three"), Reply("four five"))
    for _ in range(2):
        events = [event async for event in gateway.stream(structured(provider="openai", json_schema=None))]
        [usage] = [event for event in events if isinstance(event, UsageEvent)]
        assert usage.estimated
    assert ["stream_options" in request.body for request in llama.requests] == [True, False, False]
    assert llama.requests[0].outcome == "http_error 422"
    row = await sync_to_async(traits_row)()
    assert (row.stream_usage, row.structured_output_mode) == (False, "json_schema")
    assert "Extra inputs are not permitted" in row.evidence
    assert breaker.status(PLATFORM_OPENAI).failures == 0


async def test_traits_learned_on_another_server_do_not_apply(
    llama: EmulatorServer, openai_emulator: EmulatorServer, fast_gateway: Any
) -> None:
    llama.push(Reply(json.dumps(ANSWER)))
    await gateway.complete(structured(provider="openai"))
    fast_gateway.OPENAI_BASE_URL = openai_emulator.base_url  # the operators moved the platform provider
    openai_emulator.push(Reply(json.dumps(ANSWER)))
    await gateway.complete(structured(provider="openai"))
    assert formats(openai_emulator) == ["json_schema"]


# --- The refusal, classified ---------------------------------------------------------------


def test_llama_cpp_pythons_500_is_a_bad_request_naming_response_format(
    llama_cpp_emulator: EmulatorServer,
) -> None:
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=llama_cpp_emulator.base_url, max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
        )
    error = normalize(raised.value, sdk=openai, provider="llama", sent=["response_format"])
    assert (error.code, error.status, error.unsupported_parameter) == (
        ErrorCode.BAD_REQUEST,
        500,
        "response_format",
    )
    assert not error.code.counts_for_breaker
    assert not error.code.retryable
    # A request that did not carry it: the same 500 is the server failing.
    assert normalize(raised.value, sdk=openai, provider="llama").code is ErrorCode.SERVER_ERROR


@pytest.mark.parametrize(
    ("message", "param", "expected"),
    [
        (
            "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
            "response_format",
            "response_format",
        ),
        ("Unsupported value", "response_format.type", "response_format"),
        (
            'response_format type must be one of "text" or "json_object", but got: json_schema',
            "",
            "response_format",
        ),
        ("'response_format.type' must be 'json_schema' or 'text'", "", "response_format"),
        ("Unrecognized request argument supplied: stream_options", "", "stream_options"),
        ("property 'stream_options' is unsupported", "", "stream_options"),
        # Naming a parameter is not refusing it; refusing another one is not ours to drop.
        ("The server had an error while processing your request", "", ""),
        ("response_format grammar compiled in 3 ms; then the worker crashed", "", ""),
        ("Unrecognized request argument supplied: logit_bias", "", ""),
    ],
)
def test_which_refusals_name_a_parameter_we_sent(message: str, param: str, expected: str) -> None:
    assert unsupported_parameter(message, param, ["response_format", "stream_options"]) == expected


def test_a_parameter_not_sent_is_never_blamed() -> None:
    assert unsupported_parameter("Unrecognized request argument supplied: stream_options", "", []) == ""


# --- Parsing and checking ------------------------------------------------------------------


def test_checked_reply_hands_back_bare_json_and_names_the_violation() -> None:
    assert checked_reply('  ```json\n{"service_type": "vRouter"}\n```\n', SCHEMA, provider="p") == (
        '{"service_type": "vRouter"}'
    )
    with pytest.raises(ProviderError) as not_json:
        checked_reply("service_type: vRouter", SCHEMA, provider="p")
    assert not_json.value.code is ErrorCode.INVALID_OUTPUT
    assert not_json.value.detail.startswith("not JSON:")
    with pytest.raises(ProviderError) as extra:
        checked_reply('{"service_type": "vRouter", "price": 3}', SCHEMA, provider="p")
    assert "Additional properties are not allowed ('price' was unexpected)" in extra.value.detail


def test_the_workflow_schema_with_refs_is_checked() -> None:
    from workflows.dsl.models import workflow_json_schema

    with pytest.raises(ProviderError) as raised:
        checked_reply('{"name": "x", "nodes": [{"id": 1}]}', workflow_json_schema(), provider="p")
    assert raised.value.code is ErrorCode.INVALID_OUTPUT


def test_modes_step_down_and_never_up() -> None:
    modes = StructuredOutputMode
    assert modes.JSON_SCHEMA.step_down() is modes.JSON_OBJECT
    assert modes.JSON_OBJECT.step_down() is modes.PROMPT
    assert modes.PROMPT.step_down() is None
    assert modes.PROMPT.at_most(modes.JSON_OBJECT) is modes.PROMPT
    assert modes.JSON_SCHEMA.at_most(modes.JSON_OBJECT) is modes.JSON_OBJECT


@given(
    body=st.sampled_from(['{"a": [1, 2]}', "[true]", '"```"', '{"code": "```x```"}']),
    fenced=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
)
def test_a_streamed_fence_is_stripped_however_the_reply_is_cut(
    body: str, fenced: bool, cuts: list[int]
) -> None:
    reply = f"```json\n{body}\n```\n" if fenced else body
    points = sorted({min(cut, len(reply)) for cut in cuts})
    pieces = [reply[start:end] for start, end in zip([0, *points], [*points, len(reply)], strict=True)]
    stripper = FenceStripper()
    out = "".join(stripper.feed(piece) for piece in pieces) + stripper.finish()
    assert out.strip() == body
    assert bare_json(reply) == body


# --- Operators -----------------------------------------------------------------------------


def test_operators_list_learned_traits_and_forget_them() -> None:
    ModelTraits.objects.create(
        provider_key=PLATFORM_OPENAI,
        model="gpt-6-sol",
        structured_output_mode="json_object",
        evidence="openai answered HTTP 500 (detail: Input should be 'text' or 'json_object')",
    )
    operator = User.objects.create_superuser(email="ops@sce.test", password="x" * 20)
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/providers/modeltraits/")
    assert listing.status_code == 200
    assert "gpt-6-sol" in listing.content.decode()
    row = ModelTraits.objects.get()
    assert client.get(f"/admin/providers/modeltraits/{row.pk}/change/").status_code == 200
    assert client.get("/admin/providers/modeltraits/add/").status_code == 403
    response = client.post(
        "/admin/providers/modeltraits/", {"action": "forget", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert not ModelTraits.objects.exists()
