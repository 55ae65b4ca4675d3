"""The official `openai` clients, unmodified, against SCE's real ASGI server (daphne), the
tenant's providers served by the wire emulators: what a program pointed at SCE sees."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
from django.conf import settings
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import BaseModel

from api import services
from api.models import Scope
from providers import services as provider_services
from providers.interface import Task
from providers.models import LogState, ProviderLog
from tests.api.openai_compatible.conftest import own_provider
from tests.conftest import TenantUsers
from tests.emulators.script import ErrorAfter, HttpError, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for `check` to hold: the server writes the log row after the client is gone."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_it_completes(client: openai.OpenAI, team_openai: EmulatorServer) -> None:
    team_openai.push(Reply("Bonjour !", input_tokens=7, output_tokens=3))
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Bonjour !"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.id == f"chatcmpl-{raw.headers['x-request-id']}"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 3)


def test_it_streams_with_usage(client: openai.OpenAI, team_openai: EmulatorServer) -> None:
    team_openai.push(Reply(tokens=["Bon", "jour", " !"], input_tokens=7, output_tokens=3))
    chunks = list(
        client.chat.completions.create(
            model="auto",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Bonjour !"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 10


async def test_the_async_client_streams_and_parses_structured_output(
    async_client: openai.AsyncOpenAI, team_openai: EmulatorServer
) -> None:
    class City(BaseModel):
        name: str
        country: str

    team_openai.push(Reply('{"name": "Lyon", "country": "France"}'))
    parsed = await async_client.chat.completions.parse(model="auto", messages=HELLO, response_format=City)
    assert parsed.choices[0].message.parsed == City(name="Lyon", country="France")
    sent = team_openai.requests_to("completions")[0].body["response_format"]
    assert (sent["type"], sent["json_schema"]["name"]) == ("json_schema", "City")
    assert sent["json_schema"]["schema"]["required"] == ["name", "country"]

    team_openai.push(Reply(tokens=["a", "b", "c"]))
    stream = await async_client.chat.completions.create(model="auto", messages=HELLO, stream=True)
    assert "".join([chunk.choices[0].delta.content or "" async for chunk in stream]) == "abc"


def test_it_embeds_as_floats_and_as_the_sdks_default_base64(client: openai.OpenAI) -> None:
    as_floats = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    by_default = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(by_default.data) == 2
    for floats, decoded in zip(as_floats.data, by_default.data, strict=True):
        assert len(decoded.embedding) == 1536
        assert decoded.embedding == pytest.approx(floats.embedding, abs=1e-6)
    assert by_default.usage.prompt_tokens > 0


def test_it_lists_and_retrieves_models(client: openai.OpenAI) -> None:
    listed = [model.id for model in client.models.list()]
    assert listed[:3] == ["auto", "team-openai/gpt-4o-mini", "team-openai"]
    assert client.models.retrieve("team-openai/gpt-4o-mini").owned_by == "team-openai"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-99")
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-99", messages=HELLO)
    assert unknown.value.code == "model_not_found"


@pytest.mark.parametrize("key", [None, "sce_wrongkey_" + "x" * 43, "sk-an-openai-key"])
def test_a_missing_or_wrong_key_is_an_authentication_error(
    live_server_url: str, team_openai: EmulatorServer, key: str | None
) -> None:
    client = openai.OpenAI(base_url=live_server_url + "/v1", api_key=key or "unsent", max_retries=0)
    # The SDK insists on a key; None here stands for a request sent without one.
    headers = {"Authorization": openai.Omit()} if key is None else None
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model="auto", messages=HELLO, extra_headers=headers)
    assert refused.value.code == ("missing_api_key" if key is None else "invalid_api_key")
    assert team_openai.requests == []


def test_a_key_without_the_gateway_scope_is_refused(
    live_server_url: str, tenant_users: TenantUsers, team_openai: EmulatorServer
) -> None:
    workflows_only = services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="ci", scopes=[Scope.WORKFLOWS]
    )
    client = openai.OpenAI(base_url=live_server_url + "/v1", api_key=workflows_only.plaintext, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        client.models.list()


def test_wrong_types_and_malformed_tools_are_bad_requests_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as wrong:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": 5}])  # type: ignore[misc,list-item]
    assert wrong.value.param == "messages.0.content"
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "weather", "parameters": {"type": "string"}},
    }
    with pytest.raises(openai.BadRequestError) as tools:
        client.chat.completions.create(model="auto", messages=HELLO, tools=[tool])
    assert tools.value.param == "tools.0.function.parameters"


@pytest.mark.parametrize("stream", [False, True])
def test_a_rate_limited_provider_is_a_rate_limit_error_with_retry_after(
    client: openai.OpenAI, team_openai: EmulatorServer, stream: bool
) -> None:
    # The gateway retries (after each retry-after); the last refusal's wait is the caller's.
    retries = [HttpError(429, retry_after=0.05)] * (settings.GATEWAY_MAX_ATTEMPTS - 1)
    team_openai.push(*retries, HttpError(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="auto", messages=HELLO, stream=stream)
    assert limited.value.response.headers["retry-after"] == "7"


def test_a_stream_cut_after_tokens_raises_in_the_sdk(
    client: openai.OpenAI, team_openai: EmulatorServer
) -> None:
    team_openai.push(Reply(tokens=["one", " two", " three"], fault=ErrorAfter(2)))
    stream = client.chat.completions.create(model="auto", messages=HELLO, stream=True)
    received: list[str | None] = []
    with pytest.raises(openai.APIError):
        received.extend(chunk.choices[0].delta.content for chunk in stream)
    assert received == ["", "one", " two"]


def test_a_client_that_goes_away_mid_stream_cancels_the_call(
    client: openai.OpenAI, team_openai: EmulatorServer, issued: services.IssuedApiKey
) -> None:
    # Twenty seconds of tokens: the row ends within the wait only if the call was cancelled.
    team_openai.push(Reply(tokens=[f" {index}" for index in range(400)], token_latency=0.05))
    stream = client.chat.completions.create(model="auto", messages=HELLO, stream=True)
    first = [next(stream) for _ in range(3)]
    assert first[2].choices[0].delta.content == " 1"
    stream.close()
    logs = ProviderLog.objects.for_tenant(issued.key.tenant)
    eventually(lambda: logs.get().state != LogState.PENDING)
    log = logs.get()
    assert (log.state, log.error_code) == (LogState.CANCELLED, "cancelled")
    assert log.output_tokens > 0, "what was generated until then is counted"


def test_the_first_provider_failing_before_a_token_falls_back_to_the_next(
    live_server_url: str,
    issued: services.IssuedApiKey,
    openai_emulator: EmulatorServer,
    anthropic_emulator: EmulatorServer,
    model_prices: Any,
) -> None:
    tenant = issued.key.tenant
    own_provider(tenant, openai_emulator, name="team-openai", kind="openai", model="gpt-4o-mini")
    own_provider(
        tenant, anthropic_emulator, name="team-anthropic", kind="anthropic", model="claude-sonnet-4-5"
    )
    targets = [{"provider": "team-openai"}, {"provider": "team-anthropic"}]
    provider_services.route_set(tenant=tenant, task=Task.API, targets=targets)
    openai_emulator.push(HttpError(401))  # the tenant's OpenAI key was revoked upstream
    anthropic_emulator.push(Reply(tokens=["Hello", " from", " Claude"]))

    client = openai.OpenAI(base_url=live_server_url + "/v1", api_key=issued.plaintext, max_retries=0)
    chunks = list(client.chat.completions.create(model="auto", messages=HELLO, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "Hello from Claude"
    assert {chunk.model for chunk in chunks} == {"claude-sonnet-4-5"}, "the model that answered"
    rows = ProviderLog.objects.for_tenant(tenant).order_by("pk")
    assert [(row.provider, row.state) for row in rows] == [
        ("team-openai", LogState.FAILED),
        ("team-anthropic", LogState.COMPLETED),
    ]
    assert rows[1].fallback_from == "team-openai"
