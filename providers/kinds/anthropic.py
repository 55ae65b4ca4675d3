"""The Anthropic Messages API through the official `anthropic` SDK.

Tools go as `tools` (`input_schema`) and `tool_choice` (`required` is Anthropic's `any`); an
assistant turn's tool calls as `tool_use` blocks, and the results that answer them as
`tool_result` blocks of the next user turn (consecutive results in one turn, as the API
requires). A reply's `tool_use` blocks come back as tool calls, their `input` as JSON text;
streamed, each block's `input_json_delta` pieces as they come.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

import anthropic
from anthropic.types import (
    ContentBlockParam,
    MessageParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)

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
from providers.kinds.tool_arguments import arguments_object, arguments_text

# Anthropic's stop reasons in the gateway's (OpenAI-like) vocabulary.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


class AnthropicKind:
    kind = "anthropic"
    carries_tools = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        # One client per credential: its connection pool is reused. Retries are the router's;
        # a tenant's credential connects through the egress guard.
        self.client = anthropic.AsyncAnthropic(
            api_key=config.api_key,
            base_url=config.base_url or None,
            max_retries=0,
            http_client=http_client_for(
                config, timeout=anthropic.DEFAULT_TIMEOUT, limits=anthropic.DEFAULT_CONNECTION_LIMITS
            ),
        )

    def _error(self, error: BaseException) -> ProviderError:
        return normalize(error, sdk=anthropic, provider=self.config.name)

    def _arguments(self, call: ProviderCall) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": call.model,
            "max_tokens": call.max_tokens,
            "messages": _messages(call.messages, provider=self.config.name),
            "timeout": call.timeout,
        }
        if call.tools:
            arguments["tools"] = [_tool(tool) for tool in call.tools]
            if call.tool_choice.mode != "auto":  # the API's default
                arguments["tool_choice"] = _tool_choice(call.tool_choice)
        if call.system:
            arguments["system"] = call.system
        # The Messages API of this SDK (anthropic 2.x) takes no sampling parameters: a
        # request's temperature is a hint other kinds follow, not an error here.
        if call.json_schema is not None:
            # Structured outputs: Anthropic constrains the reply text to the schema.
            arguments["output_config"] = {"format": {"type": "json_schema", "schema": dict(call.json_schema)}}
        return arguments

    async def complete(self, call: ProviderCall) -> KindCompletion:
        try:
            message = await self.client.messages.create(**self._arguments(call))
        except Exception as error:
            raise self._error(error) from error
        tool_calls = tuple(
            ToolCall(id=block.id, name=block.name, arguments=arguments_text(block.input))
            for block in message.content
            if block.type == "tool_use"
        )
        return KindCompletion(
            text="".join(block.text for block in message.content if block.type == "text"),
            model=message.model,
            finish_reason=FINISH_REASONS.get(message.stop_reason or "", message.stop_reason or "stop"),
            usage=Usage(message.usage.input_tokens, message.usage.output_tokens),
            tool_calls=tool_calls,
        )

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        input_tokens: int | None = None
        output_tokens: int | None = None
        stop_reason = ""
        # A tool_use block's index among the content blocks -> the call's among the calls.
        calls: dict[int, int] = {}
        with_arguments: set[int] = set()  # the calls some of whose arguments came
        try:
            # The raw stream, read as JSON (providers/kinds/sse.py says why).
            async with self.client.messages.with_streaming_response.create(
                **self._arguments(call), stream=True
            ) as response:
                async for event in sse.events(response.iter_lines()):
                    if event.event in ("ping", "message_stop"):
                        continue
                    data = event.json()
                    kind = event.event or data.get("type")
                    if kind == "error":
                        raise anthropic.APIError(
                            sse.error_message(data, "An error occurred during streaming"),
                            request=response.http_request,
                            body=data,
                        )
                    if kind == "message_start":
                        input_tokens = int(data["message"]["usage"]["input_tokens"])
                    elif kind == "content_block_start" and data["content_block"].get("type") == "tool_use":
                        block = data["content_block"]
                        calls[int(data["index"])] = len(calls)
                        yield KindChunk(
                            tool_call=ToolCallDelta(
                                len(calls) - 1, id=str(block["id"]), name=str(block["name"])
                            )
                        )
                    elif kind == "content_block_delta":
                        delta = data["delta"]
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield KindChunk(text=str(delta["text"]))
                        elif delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                            number = calls[int(data["index"])]
                            with_arguments.add(number)
                            yield KindChunk(
                                tool_call=ToolCallDelta(number, arguments=str(delta["partial_json"]))
                            )
                    elif kind == "content_block_stop" and int(data["index"]) in calls:
                        number = calls[int(data["index"])]
                        if number not in with_arguments:
                            # A call without arguments streams none; whole, its input is {}.
                            yield KindChunk(tool_call=ToolCallDelta(number, arguments="{}"))
                    elif kind == "message_delta":
                        output_tokens = int(data["usage"]["output_tokens"])
                        stop_reason = str(data["delta"].get("stop_reason") or stop_reason)
        except Exception as error:
            raise self._error(error) from error
        usage = None
        if input_tokens is not None and output_tokens is not None:
            usage = Usage(input_tokens, output_tokens)
        yield KindChunk(finish_reason=FINISH_REASONS.get(stop_reason, stop_reason or "stop"), usage=usage)

    async def embed(self, texts: list[str], model: str) -> Embeddings:
        raise ProviderError(
            ErrorCode.BAD_REQUEST,
            "Anthropic offers no embeddings API; route embeddings elsewhere",
            provider=self.config.name,
        )

    async def list_models(self) -> list[str]:
        try:
            page = await self.client.models.list(limit=100, timeout=10.0)
        except Exception as error:
            raise self._error(error) from error
        return [model.id for model in page.data]


def _tool(tool: Tool) -> ToolParam:
    param: ToolParam = {"name": tool.name, "input_schema": dict(tool.parameters)}
    if tool.description:
        param["description"] = tool.description
    return param


def _tool_choice(choice: ToolChoice) -> ToolChoiceParam:
    if choice.mode == "tool":
        return {"type": "tool", "name": choice.name}
    if choice.mode == "required":
        return {"type": "any"}
    if choice.mode == "none":
        return {"type": "none"}
    return {"type": "auto"}


def _tool_use(call: ToolCall, *, provider: str) -> ToolUseBlockParam:
    return {
        "type": "tool_use",
        "id": call.id,
        "name": call.name,
        "input": arguments_object(call, provider=provider),
    }


def _tool_result(message: Message) -> ToolResultBlockParam:
    block: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": message.content,
    }
    if message.is_error:
        block["is_error"] = True
    return block


def _messages(messages: Sequence[Message], *, provider: str) -> list[MessageParam]:
    """The turns as the Messages API takes them. Tool results become the `tool_result` blocks
    of one user turn, which a user message right after them joins (results first, as the
    API requires); a turn without tools keeps its plain text content."""
    params: list[MessageParam] = []
    results: list[ContentBlockParam] = []
    for message in messages:
        if message.role == "tool":
            results.append(_tool_result(message))
            continue
        if results and message.role == "user":
            params.append({"role": "user", "content": [*results, {"type": "text", "text": message.content}]})
            results = []
            continue
        if results:
            params.append({"role": "user", "content": results})
            results = []
        if message.role == "user":
            params.append({"role": "user", "content": message.content})
        elif message.tool_calls:
            blocks: list[ContentBlockParam] = (
                [{"type": "text", "text": message.content}] if message.content else []
            )
            blocks += [_tool_use(call, provider=provider) for call in message.tool_calls]
            params.append({"role": "assistant", "content": blocks})
        else:
            params.append({"role": "assistant", "content": message.content})
    if results:
        params.append({"role": "user", "content": results})
    return params
