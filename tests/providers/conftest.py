from tests.emulators.fixtures import (
    azure_openai_emulator,
    azure_openai_emulator_server,
    groq_emulator,
    groq_emulator_server,
    llama_cpp_emulator,
    llama_cpp_emulator_server,
)
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "azure_openai_emulator",
    "azure_openai_emulator_server",
    "fast_gateway",
    "fresh_gateway_state",
    "groq_emulator",
    "groq_emulator_server",
    "llama_cpp_emulator",
    "llama_cpp_emulator_server",
    "model_prices",
    "openai_emulator",
    "openai_emulator_server",
    "platform",
]
