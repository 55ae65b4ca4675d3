"""OpenAI Chat Completions through the official `openai` SDK: OpenAI itself, or any
OpenAI-compatible server through a base URL. The named kinds for local servers, Azure
OpenAI and Groq (openai_compatible.py, azure_openai.py, groq.py) are this kind with another
client or a few quirks: `_make_client`, `sdk`, `asks_stream_usage` and `_stream_extras`.

Tools go as `tools` of type function and `tool_choice`; an assistant turn's tool calls as
its `tool_calls`, each result as a `tool` message. A reply's `message.tool_calls` come back
as tool calls; streamed, each `delta.tool_calls` piece as it comes (the id and name with a
call's first piece only, however often a server repeats them). The API finishes a reply
that calls a function it was told to call with `stop`: a reply with tool calls finishes
`tool_calls` here, whatever the server said.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from types import ModuleType
from typing import Any, ClassVar

import openai
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
)

from providers import model_traits
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    Embeddings,
    KindChunk,
    KindCompletion,
    Message,
    ProviderCall,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
)
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
    carries_tools = True
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
        messages: list[ChatCompletionMessageParam] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend(_messages(call.messages))
        arguments: dict[str, Any] = {
            "model": call.model,
            "messages": messages,
            "max_tokens": call.max_tokens,
            # What is left of the call's time: a call sent again does not get it twice.
            "timeout": max(0.1, deadline - time.monotonic()),
        }
        if call.temperature is not None:
            arguments["temperature"] = call.temperature
        if call.tools:
            arguments["tools"] = [_tool(tool) for tool in call.tools]
            if call.tool_choice.mode != "auto":  # the API's default
                arguments["tool_choice"] = _tool_choice(call.tool_choice)
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
        if call.json_schema is None or not traits.structured_output_mode.degraded or completion.tool_calls:
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
            completion = dataclasses.replace(completion, usage=_sum(first.usage, completion.usage))
            text = checked_reply(completion.text, call.json_schema, provider=self.config.name)
        return dataclasses.replace(completion, text=text)

    def _completion(self, reply: Any) -> KindCompletion:
        if not reply.choices:
            raise ProviderError(
                ErrorCode.SERVER_ERROR, f"{self.config.name} returned no choices", provider=self.config.name
            )
        choice = reply.choices[0]
        _raise_if_filtered(choice.finish_reason, self.config.name)
        usage = Usage(reply.usage.prompt_tokens, reply.usage.completion_tokens) if reply.usage else None
        tool_calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in choice.message.tool_calls or ()
            if call.type == "function"
        )
        return KindCompletion(
            text=choice.message.content or "",
            model=reply.model,
            finish_reason=_finish_reason(choice.finish_reason, bool(tool_calls)),
            usage=usage,
            tool_calls=tool_calls,
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
        called: set[int] = set()  # the indexes of the tool calls that came
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
                            delta = choice.get("delta") or {}
                            content = delta.get("content")
                            if content:
                                received = True
                                text = fence.feed(str(content)) if fence else str(content)
                                if text:
                                    yield KindChunk(text=text)
                            for piece in delta.get("tool_calls") or ():
                                tool_call = _tool_call_delta(piece, called)
                                if tool_call is not None:
                                    received = True
                                    yield KindChunk(tool_call=tool_call)
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
        yield KindChunk(finish_reason=_finish_reason(finish_reason, bool(called)), usage=usage)

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


def _finish_reason(reported: str | None, called_tools: bool) -> str:
    """The finish reason; `tool_calls` for a reply with tool calls that the server finished
    with `stop` (OpenAI does, for a call `tool_choice` forced)."""
    if called_tools and reported in (None, "", "stop"):
        return "tool_calls"
    return reported or "stop"


def _tool(tool: Tool) -> ChatCompletionFunctionToolParam:
    param: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {"name": tool.name, "parameters": dict(tool.parameters)},
    }
    if tool.description:
        param["function"]["description"] = tool.description
    return param


def _tool_choice(choice: ToolChoice) -> ChatCompletionToolChoiceOptionParam:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _tool_call(call: ToolCall) -> ChatCompletionMessageFunctionToolCallParam:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _messages(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    params: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.role == "tool":
            params.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content})
        elif message.role == "user":
            params.append({"role": "user", "content": message.content})
        elif message.tool_calls:
            params.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [_tool_call(call) for call in message.tool_calls],
                }
            )
        else:
            params.append({"role": "assistant", "content": message.content})
    return params


def _tool_call_delta(piece: Any, called: set[int]) -> ToolCallDelta | None:
    """A streamed `delta.tool_calls` item as the gateway's piece: the id and name only with
    the call's first piece (`called` holds the indexes already begun); None when it carries
    nothing."""
    if not isinstance(piece, dict):
        return None
    index = int(piece.get("index") or 0)
    function = piece.get("function") or {}
    arguments = str(function.get("arguments") or "")
    if index in called:
        return ToolCallDelta(index, arguments=arguments) if arguments else None
    called.add(index)
    return ToolCallDelta(
        index, id=str(piece.get("id") or ""), name=str(function.get("name") or ""), arguments=arguments
    )
