"""Pytest fixtures for the provider emulators.

One server per provider for the whole session (started on first use), reset before and
after every test, so each test starts with an empty script and log and default settings.
`tests/emulators/conftest.py` exposes them to this package's tests; elsewhere, import them
into a conftest (`from tests.emulators.fixtures import anthropic_emulator, ...`) or list
`"tests.emulators.fixtures"` in the root conftest's `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.profiles import LLAMA_CPP_PYTHON
from tests.emulators.server import EmulatorServer


@pytest.fixture(scope="session")
def anthropic_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("anthropic") as server:
        yield server


@pytest.fixture(scope="session")
def openai_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("openai") as server:
        yield server


@pytest.fixture(scope="session")
def llama_cpp_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("openai", profile=LLAMA_CPP_PYTHON) as server:
        yield server


@pytest.fixture(scope="session")
def azure_openai_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("azure_openai") as server:
        yield server


@pytest.fixture(scope="session")
def groq_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("groq") as server:
        yield server


@pytest.fixture(scope="session")
def gemini_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("gemini") as server:
        yield server


@pytest.fixture(scope="session")
def voyage_emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer("voyage") as server:
        yield server


@pytest.fixture
def gemini_emulator(gemini_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Gemini API emulator (its root is `base_url`), with an empty script and log."""
    gemini_emulator_server.reset()
    yield gemini_emulator_server
    gemini_emulator_server.reset()


@pytest.fixture
def voyage_emulator(voyage_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Voyage AI embeddings emulator, with an empty script and log."""
    voyage_emulator_server.reset()
    yield voyage_emulator_server
    voyage_emulator_server.reset()


@pytest.fixture
def azure_openai_emulator(azure_openai_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Azure OpenAI emulator (its endpoint is `base_url`), with an empty script and log."""
    azure_openai_emulator_server.reset()
    yield azure_openai_emulator_server
    azure_openai_emulator_server.reset()


@pytest.fixture
def groq_emulator(groq_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Groq emulator, with an empty script and log."""
    groq_emulator_server.reset()
    yield groq_emulator_server
    groq_emulator_server.reset()


@pytest.fixture
def anthropic_emulator(anthropic_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Anthropic emulator, with an empty script and log."""
    anthropic_emulator_server.reset()
    yield anthropic_emulator_server
    anthropic_emulator_server.reset()


@pytest.fixture
def openai_emulator(openai_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The OpenAI emulator, with an empty script and log."""
    openai_emulator_server.reset()
    yield openai_emulator_server
    openai_emulator_server.reset()


@pytest.fixture
def llama_cpp_emulator(llama_cpp_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """An OpenAI-compatible server shaped like llama-cpp-python's (its own address), with an
    empty script and log."""
    llama_cpp_emulator_server.reset()
    yield llama_cpp_emulator_server
    llama_cpp_emulator_server.reset()
