"""Seed 004's inference API on one daphne process: how many requests/s `POST /api/v1/infer`
takes against a no-op view of the same server, and how one request's events reach many SSE
readers at once.

    .venv/bin/python -m bench.infer_throughput [--seconds 10] [--concurrency 50] [--readers 1000]

infer    `--concurrency` clients POST a small prompt with a tenant key for `--seconds`, each
         posting again as soon as it is answered (202: the request is stored, its task sent
         to the broker; no worker runs, so no model is called). The baseline is the same
         loop against `POST /bench/noop`, a view that answers `{}` through the same
         middleware, on the same server.
fanout   `--readers` SSE clients follow one request; once all are connected this process
         plays the worker: it stores and publishes `--tokens` token events, `--rate` a
         second, as api.inference.services does. Per event: the time from its publishing to
         its arrival at each reader (p50/p99 over all readers and events), and the time to
         connect them all.

This module is also the server's settings and URLconf (DJANGO_SETTINGS_MODULE names it):
the test settings, plus the no-op view. A throwaway data directory: SQLite and the bundled
Redis, everything on 127.0.0.1. The clients (aiohttp) run in this process, on the same
machine as the server: on a small machine they take part of its CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER_FLAG = "SCE_BENCH_INFER_SERVER"

if os.environ.get(SERVER_FLAG) == "1":
    # Imported by the server as its settings: the test settings, with this module's URLs.
    from tests.settings import *  # noqa: F403

    ROOT_URLCONF = __name__


def __getattr__(name: str) -> Any:
    # As the server's URLconf: its URLs are built once Django is set up (module __getattr__).
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.http import HttpRequest, JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from config.urls import urlpatterns as site

    @csrf_exempt
    def noop(request: HttpRequest) -> JsonResponse:
        return JsonResponse({}, status=202)

    return [path("bench/noop", noop), *site]


INFER_BODY = {"prompt": "What is Rust?", "max_tokens": 16}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux): unlike wall time, not
    inflated by whatever else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> int:
    """How many threads a process runs (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def setup(data_dir: str) -> tuple[subprocess.Popen[bytes], Any]:
    """Django on a throwaway data directory, its Redis, the database, and a tenant's key."""
    os.environ["SCE_DATA_DIR"] = data_dir
    os.environ[SERVER_FLAG] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.infer_throughput"  # this module, imported as settings
    sys.modules.pop("bench.infer_throughput", None)  # imported again, now with the flag set
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from api import services as key_services
    from api.models import Scope
    from core import embedded_redis
    from tenants.models import Tenant

    redis = embedded_redis.start(socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR)
    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    issued = key_services.api_key_create(tenant=tenant, actor=None, name="bench", scopes=[Scope.GATEWAY])
    return redis, issued


def start_daphne(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SITE_ROOT": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
    from core.management.commands.serve import daphne_command

    command = daphne_command("127.0.0.1", port)  # as `serve` runs it (connect timeout, listen backlog)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    import urllib.request

    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2):
                return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(log.read_text()[-3000:]) from None
            time.sleep(0.1)


async def throughput(
    url: str,
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    *,
    body: Any = INFER_BODY,
    expect: int = 202,
) -> tuple[float, list[float]]:
    """Answers a second, and latencies (ms), of `concurrency` clients calling `url` for
    `seconds`, each again as soon as it is answered: a POST of `body` as JSON, or a GET when
    `body` is None. Every answer must have the status `expect`."""
    import aiohttp

    data = None if body is None else json.dumps(body)
    method = "GET" if body is None else "POST"
    sent = {**headers, **({} if body is None else {"content-type": "application/json"})}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=sent) as session:
        for _ in range(20):  # warm up
            async with session.request(method, url, data=data) as response:
                await response.read()
                assert response.status == expect, (response.status, await response.text())
        end = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < end:
                started = time.perf_counter()
                async with session.request(method, url, data=data) as response:
                    await response.read()
                    assert response.status == expect, response.status
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return len(latencies) / (time.monotonic() - began), latencies


def measure(
    pid: int, url: str, headers: dict[str, str], seconds: float, concurrency: int, **call: Any
) -> tuple[float, list[float], float]:
    """One series of `throughput`: answers a second, latencies (ms), and the server's CPU
    milliseconds per answer."""
    cpu_began = cpu_seconds(pid)
    rate, latency = asyncio.run(throughput(url, headers, seconds, concurrency, **call))
    return rate, latency, (cpu_seconds(pid) - cpu_began) * 1000 / len(latency)


@contextmanager
def serving(prefix: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Any]]:
    """A daphne of this module's settings on a throwaway data directory: its base URL, its
    process, and a tenant's gateway key; stopped, with its Redis, on leaving."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    redis, issued = setup(data_dir)
    from core import embedded_redis
    from tests.servers import free_port

    port = free_port()
    daphne = start_daphne(port, Path(data_dir) / "daphne.log")
    try:
        yield f"http://127.0.0.1:{port}", daphne, issued
    finally:
        daphne.terminate()
        daphne.wait(timeout=15)
        embedded_redis.stop(redis)


async def fanout(
    base: str, server: int, issued: Any, readers: int, tokens: int, rate: float
) -> dict[str, float]:
    import aiohttp
    from asgiref.sync import sync_to_async

    from api.inference import events
    from api.inference.models import InferenceEvent, InferenceRequest

    request = await sync_to_async(InferenceRequest.objects.create)(
        tenant=issued.key.tenant, key_prefix=issued.key.prefix, session_id="bench", prompt="p", model="auto",
        max_tokens=tokens, status=InferenceRequest.Status.PROCESSING,
    )  # fmt: skip
    published: dict[int, float] = {}
    arrivals: list[float] = []
    connected: list[float] = []
    finished = 0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0)
    url = f"{base}/api/v1/stream/{request.request_id}"
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        all_connected = asyncio.Event()

        async def reader() -> None:
            nonlocal finished
            async with session.get(url, headers={"x-api-key": issued.plaintext}) as response:
                assert response.status == 200, response.status
                connected.append(time.monotonic())
                if len(connected) == readers:
                    all_connected.set()
                async for raw in response.content:
                    line = raw.decode()
                    if line.startswith("id: "):
                        seq = int(line[4:])
                        arrivals.append(time.monotonic() - published[seq])
            finished += 1

        began, cpu_began = time.monotonic(), cpu_seconds(server)
        tasks = [asyncio.ensure_future(reader()) for _ in range(readers)]
        await all_connected.wait()
        connect_seconds, connect_cpu = time.monotonic() - began, cpu_seconds(server) - cpu_began
        server_threads = threads(server)
        await asyncio.sleep(2)  # every reader is waiting for its first event
        cpu_streaming = cpu_seconds(server)

        async def emit(seq: int, kind: str, data: dict[str, Any]) -> None:
            await sync_to_async(InferenceEvent.objects.create)(
                tenant=request.tenant, request=request, seq=seq, kind=kind, data=data
            )
            published[seq] = time.monotonic()
            await events.publish(request.pk, [events.Event(seq, kind, data)])

        streaming = time.monotonic()
        for index in range(tokens):
            await emit(index + 1, "token", {"chunk": index, "data": f"t{index} "})
            await asyncio.sleep(1 / rate)
        await emit(tokens + 1, "complete", {"status": "done"})
        await asyncio.gather(*tasks)
        drained = time.monotonic() - streaming
        stream_cpu = cpu_seconds(server) - cpu_streaming
    milliseconds = [value * 1000 for value in arrivals]
    return {
        "connect_s": connect_seconds,
        "connect_cpu_ms": connect_cpu * 1000 / readers,
        "threads": server_threads,
        "event_cpu_us": stream_cpu * 1e6 / max(1, len(arrivals)),
        "p50_ms": percentile(milliseconds, 0.5),
        "p99_ms": percentile(milliseconds, 0.99),
        "max_ms": max(milliseconds),
        "delivered": len(arrivals),
        "expected": readers * (tokens + 1),
        "stream_s": drained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50, help="token events a second in the fanout run")
    args = parser.parse_args()
    with serving("sce-bench-infer-") as (base, daphne, issued):
        print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite")
        key = {"x-api-key": issued.plaintext}
        measured = []
        for name, path in (("no-op view", "/bench/noop"), ("POST /infer", "/api/v1/infer")):
            rate, latency, cpu_ms = measure(daphne.pid, f"{base}{path}", key, args.seconds, args.concurrency)
            measured.append(rate)
            print(
                f"{name:12} {rate:8.0f} req/s  p50 {statistics.median(latency):6.1f} ms"
                f"  p99 {percentile(latency, 0.99):6.1f} ms  server CPU {cpu_ms:.1f} ms/request"
                f"  ({args.concurrency} clients, {args.seconds:.0f} s)"
            )
        noop_rate, infer_rate = measured
        print(f"POST /infer takes {infer_rate / noop_rate:.0%} of the no-op view's rate")
        if args.readers:
            found = asyncio.run(fanout(base, daphne.pid, issued, args.readers, args.tokens, args.rate))
            print(
                f"fanout: {args.readers} SSE readers of one request connected in {found['connect_s']:.1f} s; "
                f"{args.tokens} tokens at {args.rate:.0f}/s: publish-to-reader p50 {found['p50_ms']:.0f} ms, "
                f"p99 {found['p99_ms']:.0f} ms, max {found['max_ms']:.0f} ms; "
                f"{found['delivered']:.0f}/{found['expected']:.0f} events delivered; "
                f"stream {found['stream_s']:.1f} s (emitting alone: {args.tokens / args.rate:.1f} s); "
                f"server CPU {found['connect_cpu_ms']:.1f} ms per connect, {found['threads']:.0f} threads, "
                f"{found['event_cpu_us']:.0f} µs per event delivered to a reader"
            )


if __name__ == "__main__":
    main()
