"""Provider kinds: one client class per wire protocol, built once per credential and reused.

Reusing the client reuses its HTTP connection pool; SDK retries are off because the
router owns retries. An async HTTP pool belongs to the event loop that opened it, and the
gateway runs on several loops (daphne's, one per `async_to_sync` call in Celery tasks), so
clients are kept per loop.

A tenant's credential talks through the egress guard's HTTP client (core/egress): its base
URL is the tenant's to choose, so every connection is checked against the policy. Platform
providers, configured by the operators, use the SDKs' own clients.

Most kinds answer completions and embeddings (or refuse the latter, as Anthropic does); an
embeddings-only kind (EMBEDDINGS_ONLY_KINDS: Voyage) is never planned for a completion
(providers/routing.py). A kind's class says whether it carries tools (`carries_tools`);
routing passes over the ones that do not for a request that has tools.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import weakref
from dataclasses import dataclass, field
from typing import Any

import httpx2

from core.egress import guarded_async_client
from providers.errors import ErrorCode, ProviderError
from providers.interface import ALL_CAPABILITIES, Capability, ProviderKind

# Each kind's client class, imported on first use (each module pulls in its SDK).
KIND_CLASSES = {
    "anthropic": "providers.kinds.anthropic.AnthropicKind",
    "openai": "providers.kinds.openai.OpenAIKind",
    "openai_compatible": "providers.kinds.openai_compatible.OpenAICompatibleKind",
    "azure_openai": "providers.kinds.azure_openai.AzureOpenAIKind",
    "groq": "providers.kinds.groq.GroqKind",
    "gemini": "providers.kinds.gemini.GeminiKind",
    "voyage": "providers.kinds.voyage.VoyageKind",
    "embedded": "providers.kinds.embedded.EmbeddedKind",
}
KINDS = tuple(KIND_CLASSES)

# Kinds that serve embeddings and nothing else.
EMBEDDINGS_ONLY_KINDS = frozenset({"voyage"})

# The embedding model of a kind whose credential names a chat model as its default (an
# embeddings-only kind's default model is its embedding model).
DEFAULT_EMBEDDING_MODELS = {"gemini": "gemini-embedding-001"}

# What a credential of each kind is fit for unless it declares otherwise: the vendors'
# models everything; a local server (vLLM, Ollama, llama.cpp, LM Studio) mostly runs a
# small model, best kept to short phrasing and extraction until its owner says more.
KIND_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "anthropic": ALL_CAPABILITIES,
    "openai": ALL_CAPABILITIES,
    "openai_compatible": frozenset({Capability.PHRASING, Capability.EXTRACTION}),
    "azure_openai": ALL_CAPABILITIES,
    "groq": ALL_CAPABILITIES,
    "gemini": ALL_CAPABILITIES,
    # Fit for no completion work at all: it only embeds.
    "voyage": frozenset(),
    "embedded": frozenset({Capability.EXTRACTION}),
}

# Azure OpenAI's data-plane API version when the credential names none: the newest GA one.
AZURE_API_VERSION = "2024-10-21"


def capabilities_of(kind: str, declared: list[str] | None) -> frozenset[Capability]:
    """A provider's capabilities: those it declares (unknown names ignored), else its kind's."""
    if declared is None:
        return KIND_CAPABILITIES.get(kind, frozenset())
    known = {capability.value for capability in Capability}
    return frozenset(Capability(name) for name in declared if name in known)


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to talk to one provider credential."""

    name: str
    kind: str
    default_model: str
    api_key: str = field(default="", repr=False)
    base_url: str | None = None
    # The tenant's ProviderCredential row, None for platform providers.
    credential_id: int | None = None
    capabilities: frozenset[Capability] = ALL_CAPABILITIES
    # Azure OpenAI's api-version query parameter ("" for AZURE_API_VERSION); other kinds ignore it.
    api_version: str = ""

    @property
    def fingerprint(self) -> str:
        """Identifies the client to reuse; a changed key, URL or API version gets a new client."""
        material = f"{self.kind}\0{self.base_url or ''}\0{self.api_key}\0{self.api_version}"
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    @property
    def tenant_supplied(self) -> bool:
        """Whether a tenant chose where this provider is (and so the egress guard applies)."""
        return self.credential_id is not None

    @property
    def completes(self) -> bool:
        """Whether this provider answers completions (an embeddings-only kind does not)."""
        return self.kind not in EMBEDDINGS_ONLY_KINDS

    @property
    def breaker_key(self) -> str:
        """The circuit breaker is per credential."""
        if self.credential_id is not None:
            return credential_breaker_key(self.credential_id)
        return f"platform:{self.name}"


def credential_breaker_key(credential_id: int) -> str:
    return f"credential:{credential_id}"


def http_client_for(
    config: ProviderConfig, *, timeout: httpx2.Timeout, limits: httpx2.Limits
) -> httpx2.AsyncClient | None:
    """The HTTP client an SDK client for `config` uses: guarded for a tenant's credential,
    None (the SDK's own) for a platform provider. `timeout` and `limits` are the SDK's."""
    if not config.tenant_supplied:
        return None
    return guarded_async_client(timeout=timeout, limits=limits)


def own_http_client_for(
    config: ProviderConfig, *, timeout: httpx2.Timeout, limits: httpx2.Limits
) -> httpx2.AsyncClient:
    """An httpx2 client for a kind that always brings its own (Gemini's SDK, Voyage's HTTP
    calls): guarded for a tenant's credential, a plain one for a platform provider."""
    guarded = http_client_for(config, timeout=timeout, limits=limits)
    if guarded is not None:
        return guarded
    return httpx2.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ProviderKind]] = (
    weakref.WeakKeyDictionary()
)


def client_for(config: ProviderConfig) -> ProviderKind:
    """The running loop's client for a credential, built on first use."""
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(config.fingerprint)
    if client is None:
        client = clients[config.fingerprint] = _build(config)
    return client


def kind_class(kind: str) -> Any:
    """The client class of a provider kind."""
    path = KIND_CLASSES.get(kind)
    if path is None:
        raise ProviderError(ErrorCode.BAD_REQUEST, f"unknown provider kind {kind!r}")
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def carries_tools(kind: str) -> bool:
    """Whether a kind passes tools, tool calls and tool results to its provider (an unknown
    kind carries nothing)."""
    return kind in KIND_CLASSES and bool(kind_class(kind).carries_tools)


def _build(config: ProviderConfig) -> ProviderKind:
    try:
        client: ProviderKind = kind_class(config.kind)(config)
    except ProviderError as error:
        error.provider = error.provider or config.name
        raise
    return client
