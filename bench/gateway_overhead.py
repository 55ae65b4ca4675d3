"""What the gateway adds to a call: the same SDK against the same emulator, with and without it.

    .venv/bin/python -m bench.gateway_overhead [--requests 1000] [--concurrency 50]

The emulator runs in its own process (so it does not share this one's interpreter lock).
Both sides use the official anthropic SDK with one reused client. The baseline is the bare
SDK call; the measured side is `providers.gateway.complete` / `stream` pinned to the same
emulator, which adds planning, the breaker check, the pending and final log rows, usage
and cost. Runs on a throwaway SQLite database and the bundled Redis unless DATABASE_URL /
REDIS_URL are set. Prints p50/p99 of both and the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def measure(
    call: Callable[[], Awaitable[float]], requests: int, concurrency: int, stagger: float = 0.0
) -> list[float]:
    """Latencies (ms) of `requests` calls made by `concurrency` workers, each calling again as
    soon as its call returns. Workers start spread over `stagger` seconds: started at once,
    their replies would keep arriving in the same instant and the run would measure that
    synthetic burst rather than the steady state of 50 calls in flight."""
    remaining = requests
    results: list[float] = []

    async def worker(delay: float) -> None:
        nonlocal remaining
        await asyncio.sleep(delay)
        while remaining > 0:
            remaining -= 1
            results.append(await call())

    await asyncio.gather(*(worker(stagger * index / concurrency) for index in range(concurrency)))
    return results


def start_emulator(first_token_latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.emulators", "anthropic", "--default-tokens", "20"]
    command += ["--first-token-latency", str(first_token_latency)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.strip().split("base_url=", 1)[1]


def setup_django(data_dir: str) -> None:
    os.environ.setdefault("SCE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


async def run(requests: int, concurrency: int, base_url: str, latency: float) -> None:
    import anthropic
    from asgiref.sync import sync_to_async

    from providers import gateway
    from providers.interface import GatewayRequest, Message, Task
    from providers.models import ProviderLog

    sdk = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url, max_retries=0)
    arguments = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = GatewayRequest(
        task=Task.API, messages=(Message("user", "hi"),), provider="anthropic", max_tokens=64
    )

    async def direct() -> float:
        started = time.perf_counter()
        await sdk.messages.create(**arguments)  # type: ignore[call-overload]
        return (time.perf_counter() - started) * 1000

    async def through_gateway() -> float:
        started = time.perf_counter()
        await gateway.complete(request)
        return (time.perf_counter() - started) * 1000

    async def direct_first_token() -> float:
        started = time.perf_counter()
        stream = await sdk.messages.create(**arguments, stream=True)  # type: ignore[call-overload]
        first = None
        async for event in stream:
            if first is None and event.type == "content_block_delta":
                first = (time.perf_counter() - started) * 1000
        assert first is not None
        return first

    async def gateway_first_token() -> float:
        started = time.perf_counter()
        first = None
        async for event in gateway.stream(request):
            if first is None and event.type == "token":
                first = (time.perf_counter() - started) * 1000
        assert first is not None
        return first

    # Warm both paths (connection pools, price cache, first database connection), then keep
    # the imports out of full garbage collections, as config/asgi.py does in a server.
    await measure(direct, concurrency, concurrency)
    await measure(through_gateway, concurrency, concurrency)
    gc.collect()
    gc.freeze()
    stagger = latency
    measured_from = await sync_to_async(lambda: ProviderLog.objects.for_platform().count())()

    rows = []
    for name, baseline, measured in (
        ("complete, total latency", direct, through_gateway),
        ("stream, time to first token", direct_first_token, gateway_first_token),
    ):
        base = await measure(baseline, requests, concurrency, stagger)
        gate = await measure(measured, requests, concurrency, stagger)
        rows.append((name, base, gate))

    def self_reported() -> list[float]:
        logs = ProviderLog.objects.for_platform().order_by("pk")[measured_from:]
        return [
            row.gateway_overhead_ms
            for row in logs
            if row.state == "completed" and not row.streamed and row.gateway_overhead_ms is not None
        ]

    reported = await sync_to_async(self_reported)()
    print(f"{requests} requests per series, {concurrency} concurrent, provider latency {latency}s")
    columns = ["direct p50", "gateway p50", "added p50", "direct p99", "gateway p99", "added p99"]
    print(f"{'series':30}" + "".join(f"{column:>13}" for column in columns))
    for name, base, gate in rows:
        b50, g50 = percentile(base, 0.5), percentile(gate, 0.5)
        b99, g99 = percentile(base, 0.99), percentile(gate, 0.99)
        cells = [b50, g50, g50 - b50, b99, g99, g99 - b99]
        print(f"{name:30}" + "".join(f"{cell:11.2f}ms" for cell in cells))
    print(
        f"gateway's own overhead as logged (non-streaming): p50 {percentile(reported, 0.5):.2f} ms, "
        f"p99 {percentile(reported, 0.99):.2f} ms, mean {statistics.mean(reported):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--provider-latency",
        type=float,
        default=0.25,
        help="seconds the emulated provider takes before answering (real models take longer)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sce-bench-") as data_dir:
        setup_django(data_dir)
        from django.conf import settings

        from core import embedded_redis, processes

        redis_process = None
        if settings.EMBEDDED_REDIS:
            redis_process = embedded_redis.start(
                socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
            )
        emulator, base_url = start_emulator(first_token_latency=args.provider_latency)
        os.environ["ANTHROPIC_API_KEY"] = "sk-bench"
        settings.ANTHROPIC_API_KEY = "sk-bench"
        settings.ANTHROPIC_BASE_URL = base_url
        try:
            asyncio.run(run(args.requests, args.concurrency, base_url, args.provider_latency))
        finally:
            emulator.terminate()
            if redis_process is not None:
                processes.stop(redis_process)


if __name__ == "__main__":
    main()
