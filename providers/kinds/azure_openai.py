"""Azure OpenAI through the `openai` SDK's Azure client.

The credential's base URL is the resource's endpoint (https://NAME.openai.azure.com), its
model a deployment name: the SDK sends a call for model M to
/openai/deployments/M/chat/completions?api-version=V with the key in an `api-key` header.
The API version is the credential's, AZURE_API_VERSION when it names none. Everything after
the request (replies, streams, errors, refused parameters) is the OpenAI wire.
"""

from __future__ import annotations

from typing import Any

import openai

from providers.errors import ErrorCode, ProviderError
from providers.kinds import AZURE_API_VERSION, ProviderConfig, http_client_for
from providers.kinds.openai import OpenAIKind


class AzureOpenAIKind(OpenAIKind):
    kind = "azure_openai"

    def __init__(self, config: ProviderConfig) -> None:
        if not config.base_url:
            raise ProviderError(
                ErrorCode.BAD_REQUEST,
                f"{config.name} has no endpoint: Azure OpenAI needs its resource's URL as the base URL",
                provider=config.name,
            )
        super().__init__(config)

    def _make_client(self) -> Any:
        return openai.AsyncAzureOpenAI(
            api_key=self.config.api_key,
            azure_endpoint=self.config.base_url or "",
            api_version=self.config.api_version or AZURE_API_VERSION,
            max_retries=0,
            http_client=http_client_for(
                self.config, timeout=openai.DEFAULT_TIMEOUT, limits=openai.DEFAULT_CONNECTION_LIMITS
            ),
        )
