"""Wire-level emulators of the Anthropic Messages API and the OpenAI Chat Completions API.

Local aiohttp servers that speak the providers' real HTTP and SSE protocols, scriptable per
request to inject faults, for testing and benchmarking the provider gateway through the
official SDKs. In a test (fixtures `anthropic_emulator` / `openai_emulator`):

    anthropic_emulator.push(Reply("Hello there", tokens=4, token_latency=0.05))
    anthropic_emulator.push(HttpError(429, retry_after=2), Reply("one two", fault=DropAfter(1)))
    client = anthropic.Anthropic(api_key="k", base_url=anthropic_emulator.base_url, max_retries=0)
    ...
    assert anthropic_emulator.last_request.body["system"] == "..."

A reply may call tools (`Reply(tool_calls=[ToolUse("lookup", {"city": "Oslo"})])`): each
emulator answers in its provider's own frames, and checks the tools, tool calls and tool
results a request carries as its provider does.

Also Azure OpenAI and Groq (the OpenAI emulator at their paths), the Gemini API
(`gemini_api`: generateContent, streamGenerateContent, embeddings, models) and Voyage AI's
embeddings (`voyage_api`), each with its own fixture (`gemini_emulator`, `voyage_emulator`…).

`server.EmulatorServer` runs one outside pytest; `python -m tests.emulators` runs one from
the command line. `script` describes the outcomes; `profiles` the OpenAI-compatible servers
the OpenAI emulator can behave like (fixture `llama_cpp_emulator`: llama-cpp-python's).
"""

from __future__ import annotations

from tests.emulators.profiles import LLAMA_CPP_PYTHON, LM_STUDIO, OPENAI, Profile
from tests.emulators.script import (
    Disconnect,
    DropAfter,
    ErrorAfter,
    HttpError,
    MalformedAfter,
    NoResponse,
    Outcome,
    Reply,
    StallAfter,
    StreamFault,
    ToolUse,
)
from tests.emulators.server import EmulatorServer
from tests.emulators.state import Emulator, RecordedRequest, Settings

__all__ = [
    "LLAMA_CPP_PYTHON",
    "LM_STUDIO",
    "OPENAI",
    "Disconnect",
    "DropAfter",
    "Emulator",
    "EmulatorServer",
    "ErrorAfter",
    "HttpError",
    "MalformedAfter",
    "NoResponse",
    "Outcome",
    "Profile",
    "RecordedRequest",
    "Reply",
    "Settings",
    "StallAfter",
    "StreamFault",
    "ToolUse",
]
