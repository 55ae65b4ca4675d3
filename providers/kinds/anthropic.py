"""The Anthropic Messages API through the official `anthropic` SDK."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anthropic

from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig, http_client_for, sse
from providers.kinds.sdk_errors import normalize

# Anthropic's stop reasons in the gateway's (OpenAI-like) vocabulary.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}


class AnthropicKind:
    kind = "anthropic"

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
            "messages": [{"role": m.role, "content": m.content} for m in call.messages],
            "timeout": call.timeout,
        }
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
        return KindCompletion(
            text="".join(block.text for block in message.content if block.type == "text"),
            model=message.model,
            finish_reason=FINISH_REASONS.get(message.stop_reason or "", message.stop_reason or "stop"),
            usage=Usage(message.usage.input_tokens, message.usage.output_tokens),
        )

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        input_tokens: int | None = None
        output_tokens: int | None = None
        stop_reason = ""
        try:
            # The raw stream, read as JSON (providers/kinds/sse.py says why).
            async with self.client.messages.with_streaming_response.create(
                **self._arguments(call), stream=True
            ) as response:
                async for event in sse.events(response.iter_lines()):
                    if event.event in ("ping", "message_stop", "content_block_start", "content_block_stop"):
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
                    elif kind == "content_block_delta":
                        delta = data["delta"]
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield KindChunk(text=str(delta["text"]))
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
