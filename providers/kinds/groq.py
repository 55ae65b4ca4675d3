"""Groq through its official `groq` SDK, which speaks the OpenAI wire under /openai/v1.

What differs from the openai kind: a stream's usage comes unasked in the last chunk's
`x_groq.usage` (so no `stream_options` is sent), and Groq may stop a stream early with an
error string in `x_groq.error`. The groq SDK is built on httpx, not on the httpx2 that the
egress guard (core/egress) wraps, so a Groq credential talks only to Groq's own API: a
tenant's credential with a base URL of its own is refused rather than sent unguarded.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

import groq

from providers.errors import ErrorCode, ProviderError
from providers.kinds import ProviderConfig
from providers.kinds.openai import OpenAIKind


class GroqKind(OpenAIKind):
    kind = "groq"
    sdk: ClassVar[ModuleType] = groq
    asks_stream_usage: ClassVar[bool] = False

    def __init__(self, config: ProviderConfig) -> None:
        if config.tenant_supplied and config.base_url:
            raise ProviderError(
                ErrorCode.EGRESS_REFUSED,
                f"{config.name}: a Groq credential talks to Groq's own API only; clear its base URL",
                provider=config.name,
            )
        super().__init__(config)

    def _make_client(self) -> Any:
        return groq.AsyncGroq(
            api_key=self.config.api_key, base_url=self.config.base_url or None, max_retries=0
        )

    def _stream_extras(self, chunk: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        counts, _ = super()._stream_extras(chunk)
        extra = chunk.get("x_groq")
        if not isinstance(extra, dict):
            return counts, ""
        if counts is None and isinstance(extra.get("usage"), dict):
            counts = extra["usage"]
        error = extra.get("error")
        return counts, error if isinstance(error, str) else ""
