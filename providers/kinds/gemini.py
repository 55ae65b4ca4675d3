"""Google Gemini (the Gemini Developer API) through the official `google-genai` SDK.

What differs from the OpenAI wire: the system prompt is `systemInstruction`, assistant turns
have the role "model", max_tokens is `maxOutputTokens`, and a JSON schema goes as
`responseJsonSchema` with `responseMimeType: application/json` (the SDK's `response_schema`
takes only Google's OpenAPI subset, without the $defs and $ref the workflow schema is made
of). A reply Google's safety or recitation checks withheld still comes as HTTP 200, with a
blocking finish reason or the prompt's `blockReason`: content_filter here. A thinking
model's thoughts are billed as output, so they count in its output tokens. Every chunk of a
stream repeats the usage so far; the last one seen is the reply's.

Tools go as `functionDeclarations` (the schema as `parametersJsonSchema`, for the same reason
as the response schema) and `toolConfig.functionCallingConfig` (`required` is ANY; one named
tool is ANY allowed only it). An assistant turn's calls become `functionCall` parts, and the
results that answer them one user turn of `functionResponse` parts; a response must name
its function, which the gateway's tool message does not, so it is taken from the call it
answers. Gemini gives its calls no id unless it chooses to: the reply's calls are given one
here. It finishes a reply that calls functions with STOP: `tool_calls` here. A stream
brings each call whole, in one piece.

The SDK takes an httpx2 client of ours (HttpOptions.httpx_async_client), so unlike Groq's a
tenant's Gemini credential connects through the egress guard (core/egress) and may name a
base URL of its own (a proxy). A platform provider gets a plain httpx2 client rather than
the SDK's default, which switches to aiohttp wherever aiohttp is installed (development has
it): errors and timeouts would then differ between the tests and production.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    Embeddings,
    KindChunk,
    KindCompletion,
    Message,
    ProviderCall,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
)
from providers.kinds import ProviderConfig, own_http_client_for
from providers.kinds.google_errors import normalize_google
from providers.kinds.tool_arguments import arguments_object, arguments_text

# Gemini's finish reasons in the gateway's (OpenAI-like) vocabulary; others are passed on
# in lower case.
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
CALLING_MODES = {
    "auto": types.FunctionCallingConfigMode.AUTO,
    "none": types.FunctionCallingConfigMode.NONE,
    "required": types.FunctionCallingConfigMode.ANY,
    "tool": types.FunctionCallingConfigMode.ANY,
}
# Finish reasons of a reply withheld under Google's policies.
WITHHELD = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})

# batchEmbedContents takes at most 100 texts a call.
EMBED_BATCH = 100
EMBED_SECONDS = 60.0
PROBE_SECONDS = 10.0

# Each call sets its own timeout; this one only bounds a call that somehow sets none.
CLIENT_TIMEOUT = httpx2.Timeout(600.0, connect=5.0)
CLIENT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


def _milliseconds(seconds: float) -> int:
    """An SDK timeout (HttpOptions.timeout is whole milliseconds)."""
    return max(1, math.ceil(seconds * 1000))


def _name(value: Any) -> str:
    """An SDK enum's wire name ("STOP"), or ""."""
    return str(getattr(value, "value", value) or "")


class GeminiKind:
    kind = "gemini"
    carries_tools = True

    def __init__(self, config: ProviderConfig) -> None:
        if not config.api_key:
            raise ProviderError(
                ErrorCode.AUTH,
                f"{config.name} has no API key: the Gemini API needs one",
                provider=config.name,
            )
        self.config = config
        # One client per credential: its connection pool is reused. Retries are the router's.
        self.client = genai.Client(
            vertexai=False,
            api_key=config.api_key,
            http_options=types.HttpOptions(
                base_url=config.base_url or None,
                retry_options=types.HttpRetryOptions(attempts=1),
                httpx_async_client=own_http_client_for(config, timeout=CLIENT_TIMEOUT, limits=CLIENT_LIMITS),
            ),
        )

    def _error(self, error: BaseException) -> ProviderError:
        return normalize_google(error, errors=genai_errors, provider=self.config.name)

    def _config(self, call: ProviderCall) -> types.GenerateContentConfig:
        options: dict[str, Any] = {
            "max_output_tokens": call.max_tokens,
            "http_options": types.HttpOptions(timeout=_milliseconds(call.timeout)),
        }
        if call.system:
            options["system_instruction"] = call.system
        if call.temperature is not None:
            options["temperature"] = call.temperature
        if call.json_schema is not None:
            options["response_mime_type"] = "application/json"
            options["response_json_schema"] = dict(call.json_schema)
        if call.tools:
            options["tools"] = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=tool.name,
                            description=tool.description or None,
                            parameters_json_schema=dict(tool.parameters),
                        )
                        for tool in call.tools
                    ]
                )
            ]
            if call.tool_choice.mode != "auto":  # the API's default
                options["tool_config"] = _tool_config(call.tool_choice)
            # The calls are the caller's to run: the SDK must not try to run them itself.
            options["automatic_function_calling"] = types.AutomaticFunctionCallingConfig(disable=True)
        return types.GenerateContentConfig(**options)

    def _contents(self, call: ProviderCall) -> list[types.Content]:
        return _contents(call.messages, provider=self.config.name)

    async def complete(self, call: ProviderCall) -> KindCompletion:
        try:
            reply = await self.client.aio.models.generate_content(
                model=call.model, contents=self._contents(call), config=self._config(call)
            )
        except Exception as error:
            raise self._error(error) from error
        self._raise_if_prompt_blocked(reply)
        if not reply.candidates:
            raise ProviderError(
                ErrorCode.SERVER_ERROR,
                f"{self.config.name} returned no candidates",
                provider=self.config.name,
            )
        candidate = reply.candidates[0]
        tool_calls = tuple(_tool_calls(candidate))
        return KindCompletion(
            text=_text(candidate),
            model=reply.model_version or call.model,
            finish_reason=self._finish_reason(_name(candidate.finish_reason), bool(tool_calls)),
            usage=_usage(reply.usage_metadata),
            tool_calls=tool_calls,
        )

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        usage: Usage | None = None
        finish = ""
        calls = 0
        try:
            chunks = await self.client.aio.models.generate_content_stream(
                model=call.model, contents=self._contents(call), config=self._config(call)
            )
            try:
                async for chunk in chunks:
                    self._raise_if_prompt_blocked(chunk)
                    usage = _usage(chunk.usage_metadata) or usage
                    for candidate in (chunk.candidates or [])[:1]:
                        text = _text(candidate)
                        if text:
                            yield KindChunk(text=text)
                        for tool_call in _tool_calls(candidate):
                            yield KindChunk(
                                tool_call=ToolCallDelta(
                                    calls, id=tool_call.id, name=tool_call.name, arguments=tool_call.arguments
                                )
                            )
                            calls += 1
                        finish = _name(candidate.finish_reason) or finish
            finally:
                # Closing the SDK's generator closes the response (a caller that stopped
                # reading leaves no connection behind).
                # (the SDK types it as an AsyncIterator; it is an async generator)
                if isinstance(chunks, AsyncGenerator):
                    await chunks.aclose()
        except Exception as error:
            raise self._error(error) from error
        yield KindChunk(finish_reason=self._finish_reason(finish, calls > 0), usage=usage)

    def _finish_reason(self, reason: str, called_tools: bool = False) -> str:
        """The gateway's finish reason; a reply withheld by the content policy is an error (a
        stream's after the text it let through, as the openai kind's)."""
        if reason in WITHHELD:
            raise ProviderError(
                ErrorCode.CONTENT_FILTER,
                f"{self.config.name} withheld the reply under its content policy ({reason.lower()})",
                provider=self.config.name,
            )
        if called_tools and reason in ("", "STOP"):
            return "tool_calls"
        return FINISH_REASONS.get(reason, reason.lower() or "stop")

    def _raise_if_prompt_blocked(self, reply: types.GenerateContentResponse) -> None:
        feedback = reply.prompt_feedback
        if feedback is not None and feedback.block_reason:
            raise ProviderError(
                ErrorCode.CONTENT_FILTER,
                f"{self.config.name} refused the prompt under its content policy "
                f"({_name(feedback.block_reason).lower()})",
                provider=self.config.name,
            )

    async def embed(self, texts: list[str], model: str) -> Embeddings:
        """Vectors through batchEmbedContents, 100 texts a call. The Gemini API reports no
        usage for embeddings: the gateway estimates it."""
        vectors: list[list[float]] = []
        config = types.EmbedContentConfig(
            http_options=types.HttpOptions(timeout=_milliseconds(EMBED_SECONDS))
        )
        try:
            for start in range(0, len(texts), EMBED_BATCH):
                batch: list[str] = texts[start : start + EMBED_BATCH]
                reply = await self.client.aio.models.embed_content(model=model, contents=batch, config=config)
                vectors.extend(list(embedding.values or []) for embedding in reply.embeddings or [])
        except Exception as error:
            raise self._error(error) from error
        if len(vectors) != len(texts) or not all(vectors):
            raise ProviderError(
                ErrorCode.SERVER_ERROR,
                f"{self.config.name} sent a malformed response",
                provider=self.config.name,
                detail=f"{len(vectors)} vectors for {len(texts)} texts",
            )
        return Embeddings(vectors=vectors, model=model, usage=None)

    async def list_models(self) -> list[str]:
        """The first page of the model list, by the names a route uses (no "models/")."""
        try:
            pager = await self.client.aio.models.list(
                config=types.ListModelsConfig(
                    page_size=100, http_options=types.HttpOptions(timeout=_milliseconds(PROBE_SECONDS))
                )
            )
        except Exception as error:
            raise self._error(error) from error
        return [str(model.name).removeprefix("models/") for model in pager.page if model.name]


def _text(candidate: types.Candidate) -> str:
    """A candidate's reply text, without a thinking model's thoughts."""
    if candidate.content is None or not candidate.content.parts:
        return ""
    return "".join(part.text for part in candidate.content.parts if part.text and not part.thought)


def _tool_calls(candidate: types.Candidate) -> Iterator[ToolCall]:
    """A candidate's function calls; one without an id gets one."""
    if candidate.content is None:
        return
    for part in candidate.content.parts or ():
        call = part.function_call
        if call is not None and call.name:
            yield ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                name=call.name,
                arguments=arguments_text(call.args or {}),
            )


def _tool_config(choice: ToolChoice) -> types.ToolConfig:
    calling = types.FunctionCallingConfig(mode=CALLING_MODES[choice.mode])
    if choice.mode == "tool":
        calling.allowed_function_names = [choice.name]
    return types.ToolConfig(function_calling_config=calling)


def _contents(messages: Sequence[Message], *, provider: str) -> list[types.Content]:
    """The turns as Gemini takes them: consecutive tool results are one user turn of
    function responses, each naming the function of the call it answers."""
    names = {call.id: call.name for message in messages for call in message.tool_calls}
    contents: list[types.Content] = []
    for message in messages:
        if message.role == "tool":
            name = names.get(message.tool_call_id)
            if name is None:
                raise ProviderError(
                    ErrorCode.BAD_REQUEST,
                    f"the tool result {message.tool_call_id!r} answers no tool call of the conversation",
                    provider=provider,
                )
            key = "error" if message.is_error else "output"
            part = types.Part(
                function_response=types.FunctionResponse(
                    id=message.tool_call_id, name=name, response={key: message.content}
                )
            )
            previous = contents[-1] if contents else None
            if previous is not None and previous.parts and previous.parts[-1].function_response is not None:
                previous.parts.append(part)
            else:
                contents.append(types.Content(role="user", parts=[part]))
            continue
        parts = [types.Part(text=message.content)] if message.content or not message.tool_calls else []
        parts += [
            types.Part(
                function_call=types.FunctionCall(
                    id=call.id, name=call.name, args=arguments_object(call, provider=provider)
                )
            )
            for call in message.tool_calls
        ]
        contents.append(types.Content(role="model" if message.role == "assistant" else "user", parts=parts))
    return contents


def _usage(metadata: types.GenerateContentResponseUsageMetadata | None) -> Usage | None:
    if metadata is None or metadata.prompt_token_count is None:
        return None
    output = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
    return Usage(metadata.prompt_token_count, output)
