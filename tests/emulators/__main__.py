"""Command line: run one emulator in the foreground for manual demos and benchmarks.

    .venv/bin/python -m tests.emulators anthropic --port 8081 --token-latency 0.05

Prints the base URL to give the SDK, then serves until interrupted. A running emulator is
scriptable over HTTP: POST /_emulator/push (outcome JSON, see `script.outcome_from_dict`),
GET /_emulator/requests, POST /_emulator/reset, POST /_emulator/settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from tests.emulators.profiles import PROFILES
from tests.emulators.server import serve_forever
from tests.emulators.state import Emulator, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators", description="Run a provider wire emulator."
    )
    parser.add_argument(
        "provider", choices=["anthropic", "openai", "azure_openai", "groq", "gemini", "voyage"]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token-latency", type=float, default=0.0, help="seconds per streamed token")
    parser.add_argument("--first-token-latency", type=float, default=0.0, help="extra delay, seconds")
    parser.add_argument("--default-tokens", type=int, default=12, help="words in the default reply")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="openai",
        help="the OpenAI-compatible server to behave like (openai only; see tests/emulators/profiles.py)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        default_tokens=args.default_tokens,
        token_latency=args.token_latency,
        first_token_latency=args.first_token_latency,
    )
    emulator = Emulator(args.provider, settings, PROFILES[args.profile])

    def announce(base_url: str) -> None:
        print(f"{args.provider} emulator listening; base_url={base_url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(emulator, args.host, args.port, announce))
    return 0


if __name__ == "__main__":
    sys.exit(main())
