"""Conformance of the SDK-based provider kinds: every outcome of the wire, normalized.

Each kind talks through its official SDK to the wire emulator of its protocol: anthropic,
openai, azure_openai (the openai SDK's Azure client at Azure's paths), groq (the groq SDK)
and gemini (google-genai against tests/emulators/gemini_api.py); the openai and
openai_compatible kinds also to an OpenAI-compatible server shaped like llama-cpp-python's
(no json_schema, no usage in streams: tests/emulators/profiles.py). What only Gemini does
(safety blocks, thinking tokens, Google's error details) is in test_gemini_kind.py; the
embeddings-only Voyage kind's suite is test_voyage_kind.py, the embedded kind's
test_embedded_kind.py.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest

from providers.errors import ErrorCode, ProviderError
from providers.interface import KindChunk, Usage
from providers.kinds import AZURE_API_VERSION, ProviderConfig, client_for
from providers.model_traits import forget_cached_traits
from tests.emulators.script import (
    DropAfter,
    ErrorAfter,
    HttpError,
    MalformedAfter,
    NoResponse,
    Reply,
    StallAfter,
)
from tests.emulators.server import EmulatorServer
from tests.providers.sdk_kinds import (
    AZURE_KIND,
    COMPATIBLE_KIND,
    GROQ_KIND,
    KINDS,
    LLAMA_CPP_KIND,
    OPENAI_KIND,
    Kind,
    call,
    client,
)

# A kind reads what it learned about a model from the database (providers/model_traits.py),
# in a thread of its own: the rows must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_learned_traits() -> Iterator[None]:
    """What a kind learned about a model in one test is not carried into the next."""
    forget_cached_traits()
    yield
    forget_cached_traits()


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def emulator(
    kind: Kind,
    anthropic_emulator: EmulatorServer,
    openai_emulator: EmulatorServer,
    llama_cpp_emulator: EmulatorServer,
    azure_openai_emulator: EmulatorServer,
    groq_emulator: EmulatorServer,
    gemini_emulator: EmulatorServer,
) -> EmulatorServer:
    return {
        "anthropic": anthropic_emulator,
        "openai": openai_emulator,
        "llama_cpp": llama_cpp_emulator,
        "azure_openai": azure_openai_emulator,
        "groq": groq_emulator,
        "gemini": gemini_emulator,
    }[kind.emulator]


def generation(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """Where a request body carries the generation settings: Gemini's `generationConfig`,
    the body itself elsewhere (`max_tokens`, `temperature`)."""
    if kind.wire == "gemini":
        settings: dict[str, Any] = body.get("generationConfig", {})
        return {"max_tokens": settings.get("maxOutputTokens"), **settings}
    return body


async def collect(kind: Kind, emulator: EmulatorServer, **overrides: Any) -> list[KindChunk]:
    return [chunk async for chunk in client(kind, emulator.base_url).stream(call(kind, **overrides))]


async def failure(awaitable: Awaitable[object]) -> ProviderError:
    """The ProviderError an operation ends with (failing the test if it succeeds)."""
    try:
        await awaitable
    except ProviderError as error:
        return error
    raise AssertionError("expected a ProviderError")


async def streamed_until_failure(
    kind: Kind, emulator: EmulatorServer, **overrides: Any
) -> tuple[str, ProviderError]:
    received: list[str] = []

    async def read() -> None:
        async for chunk in client(kind, emulator.base_url).stream(call(kind, **overrides)):
            received.append(chunk.text)

    error = await failure(read())
    return "".join(received), error


async def test_complete_returns_text_usage_and_stop(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(Reply("A virtual firewall for branch offices.", input_tokens=31, output_tokens=7))
    reply = await client(kind, emulator.base_url).complete(call(kind))
    assert reply.text == "A virtual firewall for branch offices."
    assert reply.usage == Usage(31, 7)
    assert reply.finish_reason == "stop"
    sent = emulator.last_request.body
    if kind.wire == "anthropic":
        assert sent["system"] == "You interview business users."
        assert sent["messages"] == [{"role": "user", "content": "Which service do you need?"}]
    elif kind.wire == "gemini":
        assert sent["systemInstruction"]["parts"] == [{"text": "You interview business users."}]
        assert sent["contents"] == [{"role": "user", "parts": [{"text": "Which service do you need?"}]}]
    else:
        assert sent["messages"][0] == {"role": "system", "content": "You interview business users."}
    assert generation(kind, sent)["max_tokens"] == 200


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_a_temperature_is_sent_where_the_api_takes_one(
    kind: Kind, emulator: EmulatorServer, streamed: bool
) -> None:
    """OpenAI takes a temperature; Anthropic's current Messages API takes no sampling
    parameters, so a request with one is answered rather than failed."""
    emulator.push(Reply("Sure."))
    if streamed:
        text = "".join(chunk.text for chunk in await collect(kind, emulator, temperature=0.2))
    else:
        text = (await client(kind, emulator.base_url).complete(call(kind, temperature=0.2))).text
    assert text == "Sure."
    sent = generation(kind, emulator.last_request.body)
    assert sent.get("temperature") == (None if kind.wire == "anthropic" else 0.2)


async def test_a_reply_cut_by_max_tokens_says_length(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(Reply("one two three four five six", tokens=6))
    reply = await client(kind, emulator.base_url).complete(call(kind, max_tokens=3))
    assert reply.finish_reason == "length"


async def test_stream_yields_the_text_then_usage(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(Reply("Managed VPN with per-site pricing", tokens=6, input_tokens=20, output_tokens=6))
    chunks = await collect(kind, emulator)
    texts = [chunk.text for chunk in chunks if chunk.text]
    assert len(texts) == 6
    assert "".join(texts) == "Managed VPN with per-site pricing"
    # llama-cpp-python's server ignores stream_options: its streams never carry usage, and
    # the gateway estimates it.
    assert chunks[-1].usage == (None if kind.quirky else Usage(20, 6))
    assert chunks[-1].finish_reason == "stop"


async def test_openai_stream_without_usage_reports_none(openai_emulator: EmulatorServer) -> None:
    kind = OPENAI_KIND
    openai_emulator.push(Reply("no usage here", include_usage=False))
    chunks = await collect(kind, openai_emulator)
    assert chunks[-1].usage is None, "the gateway estimates it"
    assert openai_emulator.last_request.body["stream_options"] == {"include_usage": True}


SCHEMA = {
    "type": "object",
    "properties": {"service_type": {"type": "string"}},
    "required": ["service_type"],
}


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_structured_output_sends_the_schema_and_returns_json(
    kind: Kind, emulator: EmulatorServer, streamed: bool
) -> None:
    emulator.push(Reply(json.dumps({"service_type": "vFirewall"})))
    structured = call(kind, json_schema=SCHEMA, json_schema_name="fields")
    if streamed:
        text = "".join([chunk.text async for chunk in client(kind, emulator.base_url).stream(structured)])
    else:
        text = (await client(kind, emulator.base_url).complete(structured)).text
    assert json.loads(text) == {"service_type": "vFirewall"}
    sent = emulator.last_request.body
    if kind.wire == "anthropic":
        assert sent["output_config"]["format"] == {"type": "json_schema", "schema": SCHEMA}
    elif kind.wire == "gemini":
        assert sent["generationConfig"]["responseMimeType"] == "application/json"
        assert sent["generationConfig"]["responseJsonSchema"] == SCHEMA
    elif not kind.quirky:
        assert sent["response_format"]["json_schema"]["schema"] == SCHEMA
    else:
        # Refused with HTTP 500, then asked as JSON with the schema in the system prompt.
        refused, answered = emulator.requests
        assert refused.outcome == "http_error 500"
        assert refused.body["response_format"]["type"] == "json_schema"
        assert answered.body["response_format"] == {"type": "json_object"}
        assert json.dumps(SCHEMA, separators=(",", ":")) in answered.body["messages"][0]["content"]


async def test_a_refused_json_schema_is_not_asked_for_again(llama_cpp_emulator: EmulatorServer) -> None:
    kind = LLAMA_CPP_KIND
    emulator = llama_cpp_emulator
    for _ in range(2):
        emulator.push(Reply(json.dumps({"service_type": "vRouter"})))
        await client(kind, emulator.base_url).complete(call(kind, json_schema=SCHEMA))
    assert [request.body["response_format"]["type"] for request in emulator.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


async def test_models_are_listed_as_a_free_probe(kind: Kind, emulator: EmulatorServer) -> None:
    models = await client(kind, emulator.base_url).list_models()
    assert models
    assert emulator.last_request.path.endswith("/models")


@pytest.mark.parametrize("embedding_kind", [OPENAI_KIND, AZURE_KIND], ids=lambda kind: kind.name)
async def test_openai_embeddings(
    embedding_kind: Kind, openai_emulator: EmulatorServer, azure_openai_emulator: EmulatorServer
) -> None:
    emulator = azure_openai_emulator if embedding_kind is AZURE_KIND else openai_emulator
    result = await client(embedding_kind, emulator.base_url).embed(
        ["vRouter", "vFirewall"], "text-embedding-3-small"
    )
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == len(result.vectors[1]) > 0
    assert result.vectors[0] != result.vectors[1]
    assert result.usage is not None


async def test_anthropic_has_no_embeddings(anthropic_emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderError) as raised:
        await client(KINDS[0], anthropic_emulator.base_url).embed(["x"], "any")
    assert raised.value.code is ErrorCode.BAD_REQUEST
    assert anthropic_emulator.requests == []


STATUS_FAULTS = [
    (HttpError(429, retry_after=2), ErrorCode.RATE_LIMITED),
    (HttpError(500), ErrorCode.SERVER_ERROR),
    (HttpError(503), ErrorCode.OVERLOADED),
    (HttpError(401), ErrorCode.AUTH),
    (HttpError(403), ErrorCode.PERMISSION),
    (HttpError(400), ErrorCode.BAD_REQUEST),
    (HttpError(404), ErrorCode.BAD_REQUEST),
    (HttpError(413), ErrorCode.CONTEXT_LENGTH),
    (HttpError(400, message="prompt is too long: 250000 tokens > 200000 maximum"), ErrorCode.CONTEXT_LENGTH),
]


@pytest.mark.parametrize(
    ("fault", "code"), STATUS_FAULTS, ids=lambda value: str(getattr(value, "status", value))
)
@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_http_errors_are_normalized(
    kind: Kind, emulator: EmulatorServer, fault: HttpError, code: ErrorCode, streamed: bool
) -> None:
    emulator.push(fault)
    operation = collect(kind, emulator) if streamed else client(kind, emulator.base_url).complete(call(kind))
    error = await failure(operation)
    assert error.code is code
    assert error.status == fault.status
    if code is ErrorCode.RATE_LIMITED:
        assert error.retry_after == 2


async def test_anthropic_529_is_overloaded(anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(HttpError(529))
    with pytest.raises(ProviderError) as raised:
        await client(KINDS[0], anthropic_emulator.base_url).complete(call(KINDS[0]))
    assert raised.value.code is ErrorCode.OVERLOADED


async def test_retry_after_ms_is_read(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(HttpError(429, retry_after_ms=250))
    with pytest.raises(ProviderError) as raised:
        await client(kind, emulator.base_url).complete(call(kind))
    assert raised.value.retry_after == pytest.approx(0.25)


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_a_read_timeout_is_a_timeout(kind: Kind, emulator: EmulatorServer, streamed: bool) -> None:
    emulator.push(NoResponse())
    operation = (
        collect(kind, emulator, timeout=0.5)
        if streamed
        else client(kind, emulator.base_url).complete(call(kind, timeout=0.5))
    )
    assert (await failure(operation)).code is ErrorCode.TIMEOUT


async def test_a_connect_timeout_is_a_timeout(kind: Kind, emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderError) as raised:
        await client(kind, emulator.blackhole_base_url).complete(call(kind, timeout=0.5))
    assert raised.value.code is ErrorCode.TIMEOUT


async def test_a_refused_connection_is_a_connection_error(kind: Kind, emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderError) as raised:
        await client(kind, emulator.refused_base_url).complete(call(kind))
    assert raised.value.code is ErrorCode.CONNECTION


MID_STREAM_FAULTS = [
    (DropAfter(3), ErrorCode.CONNECTION),
    (ErrorAfter(3), None),  # the provider's default in-stream error: see below
    (MalformedAfter(3), ErrorCode.SERVER_ERROR),
    (StallAfter(3), ErrorCode.TIMEOUT),
]


@pytest.mark.parametrize(("fault", "code"), MID_STREAM_FAULTS, ids=lambda value: type(value).__name__)
async def test_mid_stream_faults_come_after_the_tokens_already_sent(
    kind: Kind, emulator: EmulatorServer, fault: Any, code: ErrorCode | None
) -> None:
    emulator.push(Reply("alpha beta gamma delta epsilon", fault=fault))
    received, error = await streamed_until_failure(kind, emulator, timeout=0.5)
    assert received.split() == ["alpha", "beta", "gamma"]
    # Anthropic's default in-stream error is overloaded_error, OpenAI's server_error.
    expected = code or (ErrorCode.OVERLOADED if kind.wire == "anthropic" else ErrorCode.SERVER_ERROR)
    assert error.code is expected


async def test_an_in_stream_rate_limit_error_is_rate_limited(kind: Kind, emulator: EmulatorServer) -> None:
    error_type = {"anthropic": "rate_limit_error", "gemini": "RESOURCE_EXHAUSTED"}.get(
        kind.wire, "rate_limit_exceeded"
    )
    emulator.push(Reply("a b c", fault=ErrorAfter(1, error_type=error_type, message="slow down")))
    with pytest.raises(ProviderError) as raised:
        await collect(kind, emulator)
    assert raised.value.code is ErrorCode.RATE_LIMITED


async def test_a_rejected_key_is_auth(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.reject_key(kind.key)
    with pytest.raises(ProviderError) as raised:
        await client(kind, emulator.base_url).complete(call(kind))
    assert raised.value.code is ErrorCode.AUTH
    assert kind.key not in raised.value.message


async def test_clients_are_reused_per_credential_within_a_loop(kind: Kind, emulator: EmulatorServer) -> None:
    first = client(kind, emulator.base_url)
    assert client(kind, emulator.base_url) is first
    other = client_for(
        ProviderConfig(
            name="x",
            kind=kind.wire,
            default_model=kind.model,
            api_key="sk-other-key-000000",
            base_url=emulator.base_url,
        )
    )
    assert other is not first


async def test_the_sdk_never_retries_the_router_does(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(HttpError(503), Reply("second try"))
    with pytest.raises(ProviderError):
        await client(kind, emulator.base_url).complete(call(kind))
    assert len(emulator.requests) == 1


async def test_openai_compatible_without_a_model_list_lists_its_default_model(
    llama_cpp_emulator: EmulatorServer,
) -> None:
    """Some local servers have no GET /models: the probe still shows the server answers."""
    llama_cpp_emulator.push(HttpError(404), endpoint="models")
    assert await client(COMPATIBLE_KIND, llama_cpp_emulator.base_url).list_models() == [COMPATIBLE_KIND.model]


async def test_openai_compatible_learns_that_streams_carry_no_usage(
    llama_cpp_emulator: EmulatorServer,
) -> None:
    """The server ignores stream_options: the kind reports no usage (the gateway estimates it)."""
    llama_cpp_emulator.push(Reply("one two three"))
    chunks = await collect(COMPATIBLE_KIND, llama_cpp_emulator)
    assert chunks[-1].usage is None
    assert chunks[-1].finish_reason == "stop"


async def test_openai_compatible_needs_a_base_url() -> None:
    config = ProviderConfig(name="local", kind="openai_compatible", default_model="llama3.1", api_key="")
    with pytest.raises(ProviderError) as raised:
        client_for(config)
    assert raised.value.code is ErrorCode.BAD_REQUEST


async def test_openai_compatible_sends_a_placeholder_for_a_missing_key(
    llama_cpp_emulator: EmulatorServer,
) -> None:
    config = ProviderConfig(
        name="local", kind="openai_compatible", default_model="llama3.1", base_url=llama_cpp_emulator.base_url
    )
    llama_cpp_emulator.push(Reply("fine"))
    assert (await client_for(config).complete(call(COMPATIBLE_KIND))).text == "fine"
    assert llama_cpp_emulator.last_request.api_key == "no-key"


@pytest.mark.parametrize("version", ["", "2025-04-01-preview"], ids=["default", "configured"])
async def test_azure_calls_the_deployment_with_its_key_and_api_version(
    azure_openai_emulator: EmulatorServer, version: str
) -> None:
    config = ProviderConfig(
        name="azure",
        kind="azure_openai",
        default_model=AZURE_KIND.model,
        api_key=AZURE_KIND.key,
        base_url=azure_openai_emulator.base_url,
        api_version=version,
    )
    azure_openai_emulator.push(Reply("Hello from Azure"))
    assert (await client_for(config).complete(call(AZURE_KIND))).text == "Hello from Azure"
    sent = azure_openai_emulator.last_request
    assert sent.path == f"/openai/deployments/{AZURE_KIND.model}/chat/completions"
    assert sent.query["api-version"] == (version or AZURE_API_VERSION)
    assert sent.headers["api-key"] == AZURE_KIND.key
    assert "authorization" not in sent.headers


async def test_groq_reads_usage_from_x_groq_without_asking(groq_emulator: EmulatorServer) -> None:
    groq_emulator.push(Reply("fast tokens here", input_tokens=12, output_tokens=3))
    chunks = await collect(GROQ_KIND, groq_emulator)
    assert chunks[-1].usage == Usage(12, 3)
    sent = groq_emulator.last_request
    assert sent.path == "/openai/v1/chat/completions"
    assert "stream_options" not in sent.body
    assert sent.headers["authorization"] == f"Bearer {GROQ_KIND.key}"


async def test_a_tenant_groq_credential_with_its_own_base_url_is_refused() -> None:
    """The groq SDK cannot go through the egress guard, so a tenant may not choose its host."""
    config = ProviderConfig(
        name="groq", kind="groq", default_model="m", api_key="k", base_url="http://10.0.0.1", credential_id=7
    )
    with pytest.raises(ProviderError) as raised:
        client_for(config)
    assert raised.value.code is ErrorCode.EGRESS_REFUSED
