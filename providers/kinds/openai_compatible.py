"""A tenant's own OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio), as a
named kind: the openai kind pointed at the server's base URL, with these servers' quirks.

What differs from `openai`:
- the base URL is required (there is no vendor default to fall back on);
- the key is optional (most local servers take none; the SDK insists on one, so a
  placeholder is sent);
- a server without GET /models (404) still passes the health probe, listing its default
  model, since the probe's point is that the server answers;
- it costs nothing unless an operator recorded a price for its models (providers/pricing.py);
- fit for phrasing and extraction unless the credential says more (providers/kinds).
The rest is learnt per model as the openai kind does (providers/model_traits.py): a refused
`stream_options` or json_schema is dropped and remembered, and a stream without usage is
estimated and flagged so on the log row.
"""

from __future__ import annotations

import dataclasses

from providers.errors import ErrorCode, ProviderError
from providers.kinds import ProviderConfig
from providers.kinds.openai import OpenAIKind

# Sent as the bearer token to a server that takes none (the SDK refuses an empty key).
PLACEHOLDER_KEY = "no-key"


class OpenAICompatibleKind(OpenAIKind):
    kind = "openai_compatible"

    def __init__(self, config: ProviderConfig) -> None:
        if not config.base_url:
            raise ProviderError(
                ErrorCode.BAD_REQUEST,
                f"{config.name} has no base URL: an OpenAI-compatible server needs one",
                provider=config.name,
            )
        if not config.api_key:
            config = dataclasses.replace(config, api_key=PLACEHOLDER_KEY)
        super().__init__(config)

    async def list_models(self) -> list[str]:
        """The server's models; its default model when it has no model list (404)."""
        try:
            return await super().list_models()
        except ProviderError as error:
            if error.status == 404:
                return [self.config.default_model]
            raise
