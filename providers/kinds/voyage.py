"""Voyage AI embeddings, over Voyage's HTTP API: POST {base}/embeddings with
{input, model} answers {data: [{embedding, index}], model, usage: {total_tokens}}.

Not through the `voyageai` SDK: it brings langchain-core, huggingface_hub and tokenizers
for one JSON call, and its HTTP client is not one the egress guard wraps. Our own httpx2
client is (core/egress), so a tenant's Voyage credential is guarded and may name a base URL
of its own, as the openai kind's may.

Voyage serves embeddings only: routing never plans it for a completion
(EMBEDDINGS_ONLY_KINDS), and `complete` and `stream` refuse with not_capable should anything
call them directly. Voyage has no model list, so the health probe embeds one short word.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx2

from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig, own_http_client_for
from providers.kinds.sdk_errors import http_status_error, normalize_plain

DEFAULT_BASE_URL = "https://api.voyageai.com/v1"
# Voyage takes at most 1,000 texts a request.
EMBED_BATCH = 1000
EMBED_SECONDS = 60.0
PROBE_SECONDS = 10.0
CLIENT_TIMEOUT = httpx2.Timeout(EMBED_SECONDS, connect=5.0)
CLIENT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


class VoyageKind:
    kind = "voyage"
    carries_tools = False

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.url = (config.base_url or DEFAULT_BASE_URL).rstrip("/") + "/embeddings"
        # One client per credential: its connection pool is reused. Retries are the router's.
        self.http = own_http_client_for(config, timeout=CLIENT_TIMEOUT, limits=CLIENT_LIMITS)

    def _embeddings_only(self) -> ProviderError:
        return ProviderError(
            ErrorCode.NOT_CAPABLE,
            f"{self.config.name} is a Voyage AI key, which serves embeddings only",
            provider=self.config.name,
        )

    async def complete(self, call: ProviderCall) -> KindCompletion:
        raise self._embeddings_only()

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        refusal = self._embeddings_only()
        if refusal:  # always: the yield below only makes this an async generator, as streams are
            raise refusal
        yield KindChunk()

    async def embed(self, texts: list[str], model: str) -> Embeddings:
        vectors: list[list[float]] = []
        tokens = 0
        answered_model = model
        for start in range(0, len(texts), EMBED_BATCH):
            body = await self._post(texts[start : start + EMBED_BATCH], model, seconds=EMBED_SECONDS)
            try:
                items = sorted(body["data"], key=lambda item: int(item["index"]))
                vectors.extend([float(value) for value in item["embedding"]] for item in items)
                tokens += int(body["usage"]["total_tokens"])
                answered_model = str(body.get("model") or model)
            except (KeyError, TypeError, ValueError) as error:
                raise normalize_plain(error, provider=self.config.name) from error
        if len(vectors) != len(texts):
            raise ProviderError(
                ErrorCode.SERVER_ERROR,
                f"{self.config.name} sent a malformed response",
                provider=self.config.name,
                detail=f"{len(vectors)} vectors for {len(texts)} texts",
            )
        return Embeddings(vectors=vectors, model=answered_model, usage=Usage(tokens, 0))

    async def list_models(self) -> list[str]:
        """The default model, once it has embedded one word: Voyage lists no models, and a
        single word costs a token or two."""
        await self._post(["ping"], self.config.default_model, seconds=PROBE_SECONDS)
        return [self.config.default_model]

    async def _post(self, texts: list[str], model: str, *, seconds: float) -> dict[str, Any]:
        """One embeddings call's JSON answer; any failure as a ProviderError."""
        try:
            response = await self.http.post(
                self.url,
                json={"input": texts, "model": model},
                headers={"authorization": f"Bearer {self.config.api_key}"},
                timeout=seconds,
            )
            if response.status_code != 200:
                raise http_status_error(
                    status=response.status_code,
                    body=_body(response),
                    headers=response.headers,
                    provider=self.config.name,
                )
            body = response.json()
        except Exception as error:
            raise normalize_plain(error, provider=self.config.name) from error
        if not isinstance(body, dict):
            raise normalize_plain(
                TypeError(f"a {type(body).__name__}, not an object"), provider=self.config.name
            )
        return body


def _body(response: httpx2.Response) -> object:
    """An error response's JSON, or its text when it is not JSON (a proxy's page)."""
    try:
        return response.json()
    except ValueError:
        return response.text
