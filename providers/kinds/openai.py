"""OpenAI Chat Completions through the official `openai` SDK: OpenAI itself and every
OpenAI-compatible server (Azure OpenAI, Groq, vLLM, llama.cpp server, Ollama) via base_url."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import openai

from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig, http_client_for, sse
from providers.kinds.sdk_errors import normalize


class OpenAIKind:
    kind = "openai"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        # One client per credential: its connection pool is reused. Retries are the router's;
        # a tenant's credential connects through the egress guard.
        self.client = openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url or None,
            max_retries=0,
            http_client=http_client_for(
                config, timeout=openai.DEFAULT_TIMEOUT, limits=openai.DEFAULT_CONNECTION_LIMITS
            ),
        )

    def _error(self, error: BaseException) -> ProviderError:
        return normalize(error, sdk=openai, provider=self.config.name)

    def _arguments(self, call: ProviderCall) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if call.system:
            messages.append({"role": "system", "content": call.system})
        messages.extend({"role": m.role, "content": m.content} for m in call.messages)
        arguments: dict[str, Any] = {
            "model": call.model,
            "messages": messages,
            "max_tokens": call.max_tokens,
            "timeout": call.timeout,
        }
        if call.temperature is not None:
            arguments["temperature"] = call.temperature
        if call.json_schema is not None:
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": call.json_schema_name, "schema": dict(call.json_schema)},
            }
        return arguments

    async def complete(self, call: ProviderCall) -> KindCompletion:
        try:
            reply = await self.client.chat.completions.create(**self._arguments(call))
        except Exception as error:
            raise self._error(error) from error
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
        finish_reason = ""
        usage: Usage | None = None
        try:
            # The raw stream, read as JSON (providers/kinds/sse.py says why).
            async with self.client.chat.completions.with_streaming_response.create(
                **self._arguments(call), stream=True, stream_options={"include_usage": True}
            ) as response:
                async for event in sse.events(response.iter_lines()):
                    if event.data.startswith("[DONE]"):
                        continue  # read to the end, so that the connection is reused
                    chunk = event.json()
                    if chunk.get("error"):
                        raise openai.APIError(
                            sse.error_message(chunk, "An error occurred during streaming"),
                            request=response.http_request,
                            body=chunk["error"],
                        )
                    if chunk.get("usage"):
                        counts = chunk["usage"]
                        usage = Usage(int(counts["prompt_tokens"]), int(counts["completion_tokens"]))
                    for choice in chunk.get("choices") or ():
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            yield KindChunk(text=str(content))
                        if choice.get("finish_reason"):
                            finish_reason = str(choice["finish_reason"])
        except Exception as error:
            raise self._error(error) from error
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
