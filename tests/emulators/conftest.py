"""Makes the emulator fixtures available to the emulators' own tests."""

from tests.emulators.fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    gemini_emulator,
    gemini_emulator_server,
    groq_emulator,
    groq_emulator_server,
    llama_cpp_emulator,
    llama_cpp_emulator_server,
    openai_emulator,
    openai_emulator_server,
    voyage_emulator,
    voyage_emulator_server,
)

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "gemini_emulator",
    "gemini_emulator_server",
    "groq_emulator",
    "groq_emulator_server",
    "llama_cpp_emulator",
    "llama_cpp_emulator_server",
    "openai_emulator",
    "openai_emulator_server",
    "voyage_emulator",
    "voyage_emulator_server",
]
