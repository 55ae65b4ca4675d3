"""An emulator's mutable state: scripted outcomes, key rules, settings and the request log.

Tests change it from their own thread while the server's event loop reads it, so every
access goes through one lock; the loop itself never blocks on anything else here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.emulators.profiles import OPENAI, Profile
from tests.emulators.script import Outcome

Provider = Literal["anthropic", "openai", "azure_openai", "groq", "gemini", "voyage"]
Endpoint = Literal["completions", "count_tokens", "embeddings", "models"]
ENDPOINTS: tuple[Endpoint, ...] = ("completions", "count_tokens", "embeddings", "models")


@dataclass
class Settings:
    """Defaults for requests the script does not cover.

    default_tokens: words in the default reply (then cut by the request's max_tokens).
    token_latency / first_token_latency: seconds per token / before the first token.
    stall_seconds: how long NoResponse and StallAfter hold a connection at most.
    """

    default_tokens: int = 12
    token_latency: float = 0.0
    first_token_latency: float = 0.0
    stall_seconds: float = 300.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received. `headers` has lower-case names; `body` is the parsed JSON
    (None if there was no body or it was not JSON); `outcome` names what was done."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    raw: bytes
    api_key: str | None
    endpoint: str
    outcome: str
    received_at: float = field(default_factory=time.monotonic)


class Emulator:
    """The scriptable state behind one provider emulator (see `EmulatorServer`)."""

    def __init__(
        self, provider: Provider, settings: Settings | None = None, profile: Profile = OPENAI
    ) -> None:
        self.provider: Provider = provider
        self._initial_settings = settings or Settings()
        self.settings = copy.copy(self._initial_settings)
        # Which OpenAI-compatible server the OpenAI emulator behaves like (tests/emulators/profiles.py).
        self._initial_profile = profile
        self.profile = profile
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Outcome]] = {name: deque() for name in ENDPOINTS}
        self._log: list[RecordedRequest] = []
        self._rejected_keys: set[str] = set()
        self._accepted_keys: set[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    # -- test side -------------------------------------------------------------------

    def push(self, *outcomes: Outcome, endpoint: Endpoint = "completions") -> None:
        """Queue outcomes for the next requests to `endpoint`, in order."""
        if endpoint not in self._queues:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        with self._lock:
            self._queues[endpoint].extend(outcomes)

    def pending(self, endpoint: Endpoint = "completions") -> int:
        """How many scripted outcomes are still waiting for a request."""
        with self._lock:
            return len(self._queues[endpoint])

    def reject_key(self, *keys: str) -> None:
        """Answer requests carrying any of these API keys with 401."""
        with self._lock:
            self._rejected_keys.update(keys)

    def accept_only(self, *keys: str) -> None:
        """Answer requests carrying any other API key with 401."""
        with self._lock:
            self._accepted_keys = set(keys)

    def use_profile(self, profile: Profile) -> None:
        """Behave like another OpenAI-compatible server until `reset()`."""
        with self._lock:
            self.profile = profile

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._log:
                raise LookupError("the emulator has received no request")
            return self._log[-1]

    def requests_to(self, endpoint: Endpoint) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def reset(self) -> None:
        """Forget the script, the log and the key rules; restore the settings and the profile; and release
        every connection held by NoResponse / StallAfter (they are then dropped)."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
            self._log.clear()
            self._rejected_keys.clear()
            self._accepted_keys = None
            self.settings = copy.copy(self._initial_settings)
            self.profile = self._initial_profile
            loop = self._loop
        if loop is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so nothing is held any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._release_stalls)

    # -- server side (called on the event loop) ------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        with self._lock:
            self._loop = loop
            self._release = None

    def next_outcome(self, endpoint: Endpoint) -> Outcome | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    def key_allowed(self, key: str) -> bool:
        with self._lock:
            if key in self._rejected_keys:
                return False
            return self._accepted_keys is None or key in self._accepted_keys

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    async def hold(self, seconds: float | None) -> None:
        """Wait `seconds` (default: `stall_seconds`), or until `reset()`."""
        if self._release is None:
            self._release = asyncio.Event()
        release = self._release
        timeout = self.settings.stall_seconds if seconds is None else seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout)

    def _release_stalls(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = None
