"""The SDK-based provider kinds under test, each with the emulator that serves it, and how a
test builds a client and a call for one (test_conformance.py, test_tool_calls.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.interface import Message, ProviderCall
from providers.kinds import ProviderConfig, client_for
from tests.gateway_fixtures import ANTHROPIC_KEY, OPENAI_KEY


@dataclass(frozen=True)
class Kind:
    name: str
    wire: str  # the provider kind
    model: str
    key: str
    emulator: str  # which emulator serves it

    @property
    def quirky(self) -> bool:
        """Served by the llama-cpp-python-shaped server: no json_schema, no usage in streams."""
        return self.emulator == "llama_cpp"


KINDS = [
    Kind("anthropic", "anthropic", "claude-sonnet-5-5", ANTHROPIC_KEY, "anthropic"),
    Kind("openai", "openai", "gpt-6-sol", OPENAI_KEY, "openai"),
    Kind("llama_cpp", "openai", "qwen2.5-7b-instruct-q4_k_m", OPENAI_KEY, "llama_cpp"),
    Kind("openai_compatible", "openai_compatible", "qwen2.5-7b-instruct-q4_k_m", OPENAI_KEY, "llama_cpp"),
    Kind("azure_openai", "azure_openai", "gpt-4o-prod", "azure-key-0123456789abcdef", "azure_openai"),
    Kind("groq", "groq", "llama-3.3-70b-versatile", "gsk_emulator_key_0123456789", "groq"),
    Kind("gemini", "gemini", "gemini-2.5-flash", "AIzaSy-emulator-key-0123456789", "gemini"),
]
OPENAI_KIND, LLAMA_CPP_KIND, COMPATIBLE_KIND, AZURE_KIND, GROQ_KIND, GEMINI_KIND = KINDS[1:]


def client(kind: Kind, base_url: str) -> Any:
    return client_for(
        ProviderConfig(
            name=f"{kind.name}-test",
            kind=kind.wire,
            default_model=kind.model,
            api_key=kind.key,
            base_url=base_url,
        )
    )


def call(kind: Kind, **overrides: Any) -> ProviderCall:
    values: dict[str, Any] = {
        "model": kind.model,
        "messages": (Message("user", "Which service do you need?"),),
        "system": "You interview business users.",
        "max_tokens": 200,
        "timeout": 5.0,
    }
    values.update(overrides)
    return ProviderCall(**values)
