"""OpenAI Chat Completions through the official `openai` SDK: OpenAI itself, or any
OpenAI-compatible server through a base URL. The named kinds for local servers, Azure
OpenAI and Groq (openai_compatible.py, azure_openai.py, groq.py) are this kind with another
client or a few quirks: `_make_client`, `sdk`, `asks_stream_usage` and `_stream_extras`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from types import ModuleType
from typing import Any, ClassVar

import openai

from providers import model_traits
from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig, http_client_for, sse
from providers.kinds.sdk_errors import normalize
from providers.model_traits import Traits
from providers.structured_output import FenceStripper, StructuredOutputMode, checked_reply, system_prompt

logger = logging.getLogger(__name__)

# Parameters some OpenAI-compatible servers refuse (providers/kinds/sdk_errors.py); a call
# that carried one and was refused for it is sent again without it (`_without_refused`).
OPTIONAL_PARAMETERS = ("response_format", "stream_options")

# A call sent again (a step down, a second sample) needs at least this much of its time left.
RESEND_SECONDS = 1.0


class OpenAIKind:
    kind = "openai"
    # The SDK whose exceptions the client raises (Groq's is a sibling of openai's).
    sdk: ClassVar[ModuleType] = openai
    # Whether a stream asks for its usage with `stream_options` (Groq reports it unasked).
    asks_stream_usage: ClassVar[bool] = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        # One client per credential: its connection pool is reused. Retries are the router's.
        self.client = self._make_client()

    def _make_client(self) -> Any:
        """The SDK client; a tenant's credential connects through the egress guard."""
        return openai.AsyncOpenAI(
            api_key=self.config.api_key,
            base_url=self.config.base_url or None,
            max_retries=0,
            http_client=http_client_for(
                self.config, timeout=openai.DEFAULT_TIMEOUT, limits=openai.DEFAULT_CONNECTION_LIMITS
            ),
        )

    def _error(self, error: BaseException, arguments: dict[str, Any] | None = None) -> ProviderError:
        sent = [name for name in OPTIONAL_PARAMETERS if arguments and name in arguments]
        return normalize(error, sdk=self.sdk, provider=self.config.name, sent=sent)

    def _stream_extras(self, chunk: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """A chunk's usage counts (OpenAI's `usage`) and an error it reports beside its
        choices ("" for none); a server that puts them elsewhere overrides this."""
        counts = chunk.get("usage")
        return (counts if isinstance(counts, dict) and counts else None), ""

    def _arguments(
        self, call: ProviderCall, traits: Traits, *, streamed: bool, deadline: float
    ) -> dict[str, Any]:
        system = call.system
        mode = traits.structured_output_mode
        if call.json_schema is not None:
            system = system_prompt(call.system, call.json_schema, call.json_schema_name, mode)
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend({"role": m.role, "content": m.content} for m in call.messages)
        arguments: dict[str, Any] = {
            "model": call.model,
            "messages": messages,
            "max_tokens": call.max_tokens,
            # What is left of the call's time: a call sent again does not get it twice.
            "timeout": max(0.1, deadline - time.monotonic()),
        }
        if call.temperature is not None:
            arguments["temperature"] = call.temperature
        if call.json_schema is not None and mode is StructuredOutputMode.JSON_SCHEMA:
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": call.json_schema_name, "schema": dict(call.json_schema)},
            }
        elif call.json_schema is not None and mode is StructuredOutputMode.JSON_OBJECT:
            arguments["response_format"] = {"type": "json_object"}
        if streamed:
            arguments["stream"] = True
            if traits.stream_usage and self.asks_stream_usage:
                arguments["stream_options"] = {"include_usage": True}
        return arguments

    async def _traits(self, call: ProviderCall, *, streamed: bool) -> Traits:
        """What the model takes; a plain whole completion sends nothing a server may refuse."""
        if call.json_schema is None and not streamed:
            return model_traits.FULL
        return await model_traits.traits_for(self.config, call.model)

    async def _without_refused(
        self, call: ProviderCall, traits: Traits, error: ProviderError
    ) -> Traits | None:
        """The traits to send the call again with, after the server refused one of its optional
        parameters (learned and remembered); None when the refusal leaves nothing to drop."""
        refused = error.unsupported_parameter
        evidence = error.recorded_message
        if refused == "response_format" and call.json_schema is not None:
            lower = traits.structured_output_mode.step_down()
            if lower is None:
                return None
            learned = await model_traits.learn(
                self.config, call.model, evidence=evidence, structured_output_mode=lower
            )
        elif refused == "stream_options" and traits.stream_usage:
            learned = await model_traits.learn(self.config, call.model, evidence=evidence, stream_usage=False)
        else:
            return None
        logger.info(
            "%s %s refused %s; sending it as %s from now on",
            self.config.name,
            call.model,
            refused,
            learned,
        )
        return learned

    async def _create(self, call: ProviderCall, traits: Traits, deadline: float) -> tuple[Any, Traits]:
        """One whole completion, stepping down at once (no backoff, no retry counted, nothing
        for the breaker) each time the server refuses an optional parameter."""
        while True:
            arguments = self._arguments(call, traits, streamed=False, deadline=deadline)
            try:
                return await self.client.chat.completions.create(**arguments), traits
            except Exception as error:
                problem = self._error(error, arguments)
                lower = await self._without_refused(call, traits, problem)
                if lower is None or deadline - time.monotonic() < RESEND_SECONDS:
                    raise problem from error
                traits = lower

    async def complete(self, call: ProviderCall) -> KindCompletion:
        deadline = time.monotonic() + call.timeout
        reply, traits = await self._create(call, await self._traits(call, streamed=False), deadline)
        completion = self._completion(reply)
        if call.json_schema is None or not traits.structured_output_mode.degraded:
            return completion
        # Nothing upstream held the reply to the schema: check it here, and ask once more
        # if it does not conform (a second sample often does). A reply cut off by
        # max_tokens would be cut off again.
        try:
            text = checked_reply(completion.text, call.json_schema, provider=self.config.name)
        except ProviderError as invalid:
            if (
                invalid.code is not ErrorCode.INVALID_OUTPUT
                or completion.finish_reason == "length"
                or deadline - time.monotonic() < RESEND_SECONDS
            ):
                raise
            first = completion
            reply, traits = await self._create(call, traits, deadline)
            completion = self._completion(reply)
            completion = KindCompletion(
                text=completion.text,
                model=completion.model,
                finish_reason=completion.finish_reason,
                usage=_sum(first.usage, completion.usage),
            )
            text = checked_reply(completion.text, call.json_schema, provider=self.config.name)
        return KindCompletion(
            text=text, model=completion.model, finish_reason=completion.finish_reason, usage=completion.usage
        )

    def _completion(self, reply: Any) -> KindCompletion:
        if not reply.choices:
            raise ProviderError(
                ErrorCode.SERVER_ERROR, f"{self.config.name} returned no choices", provider=self.config.name
            )
        choice = reply.choices[0]
        _raise_if_filtered(choice.finish_reason, self.config.name)
        usage = Usage(reply.usage.prompt_tokens, reply.usage.completion_tokens) if reply.usage else None
        return KindCompletion(
            text=choice.message.content or "",
            model=reply.model,
            finish_reason=choice.finish_reason or "stop",
            usage=usage,
        )

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        """The reply as it comes. A stream is not checked against a schema: its text is with
        the caller token by token, so a failure at its end could be neither retried nor
        fallen back (providers/attempts.py), and each caller that streams a schema checks
        the document it assembles (a workflow proposal, with its own repair loop)."""
        deadline = time.monotonic() + call.timeout
        traits = await self._traits(call, streamed=True)
        finish_reason = ""
        usage: Usage | None = None
        while True:
            arguments = self._arguments(call, traits, streamed=True, deadline=deadline)
            # Asked for JSON only, a model often fences it anyway: the caller gets it bare.
            prompted = (
                call.json_schema is not None and traits.structured_output_mode is StructuredOutputMode.PROMPT
            )
            fence = FenceStripper() if prompted else None
            received = False
            try:
                # The raw stream, read as JSON (providers/kinds/sse.py says why).
                async with self.client.chat.completions.with_streaming_response.create(
                    **arguments
                ) as response:
                    async for event in sse.events(response.iter_lines()):
                        if event.data.startswith("[DONE]"):
                            continue  # read to the end, so that the connection is reused
                        chunk = event.json()
                        counts, reported = self._stream_extras(chunk)
                        if chunk.get("error") or reported:
                            raise self.sdk.APIError(
                                reported or sse.error_message(chunk, "An error occurred during streaming"),
                                request=response.http_request,
                                body=chunk.get("error") or {"message": reported},
                            )
                        if counts:
                            usage = Usage(int(counts["prompt_tokens"]), int(counts["completion_tokens"]))
                        for choice in chunk.get("choices") or ():
                            content = (choice.get("delta") or {}).get("content")
                            if content:
                                received = True
                                text = fence.feed(str(content)) if fence else str(content)
                                if text:
                                    yield KindChunk(text=text)
                            if choice.get("finish_reason"):
                                finish_reason = str(choice["finish_reason"])
            except Exception as error:
                problem = self._error(error, arguments)
                # A refusal comes before any text; once text came, sending again would repeat it.
                lower = None if received else await self._without_refused(call, traits, problem)
                if lower is None or deadline - time.monotonic() < RESEND_SECONDS:
                    raise problem from error
                traits = lower
                continue
            break
        if fence is not None:
            rest = fence.finish()
            if rest:
                yield KindChunk(text=rest)
        _raise_if_filtered(finish_reason, self.config.name)
        yield KindChunk(finish_reason=finish_reason or "stop", usage=usage)

    async def embed(self, texts: list[str], model: str) -> Embeddings:
        try:
            reply = await self.client.embeddings.create(model=model, input=texts, timeout=60.0)
        except Exception as error:
            raise self._error(error) from error
        vectors = [item.embedding for item in sorted(reply.data, key=lambda item: item.index)]
        usage = Usage(reply.usage.prompt_tokens, 0) if reply.usage else None
        return Embeddings(vectors=vectors, model=reply.model, usage=usage)

    async def list_models(self) -> list[str]:
        try:
            page = await self.client.models.list(timeout=10.0)
        except Exception as error:
            raise self._error(error) from error
        return [model.id for model in page.data]


def _raise_if_filtered(finish_reason: str | None, provider: str) -> None:
    if finish_reason == "content_filter":
        raise ProviderError(
            ErrorCode.CONTENT_FILTER,
            f"{provider} withheld the reply under its content policy",
            provider=provider,
        )


def _sum(first: Usage | None, second: Usage | None) -> Usage | None:
    """The usage of two calls made for one reply (both were paid for); None, to be estimated,
    unless both were reported."""
    if first is None or second is None:
        return None
    return Usage(first.input_tokens + second.input_tokens, first.output_tokens + second.output_tokens)
