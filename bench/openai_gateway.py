"""What SCE's OpenAI-compatible API adds to a call: the official `openai` SDK against the
OpenAI wire emulator, directly and through SCE.

    .venv/bin/python -m bench.openai_gateway [--requests 1000] [--concurrency 50] [--provider-latency 1.0]

Three processes on 127.0.0.1: the emulator (`python -m tests.emulators openai`), one daphne
serving config.asgi with production settings (SQLite and the bundled Redis in a throwaway
data directory; EGRESS_ALLOWED_HOSTS lets the tenant's credential reach the emulator), and
this one, which drives both sides with `openai.AsyncOpenAI` (one reused client each,
retries off). The baseline calls the emulator itself; the measured side calls
`/v1/chat/completions` on daphne with a tenant API key (model `auto`, the tenant's route to
its own OpenAI credential on the same emulator), which adds the HTTP server, Django's
middleware, the key check, request validation and conversion, and the gateway (routing,
breaker, log rows, usage and cost). Two series: a whole completion's latency, and with
`stream: true` the time to the first content chunk. Prints p50/p99 of both sides and the
difference; a call that fails stops the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletionMessageParam

from bench.gateway_overhead import measure, percentile

ROOT = Path(__file__).resolve().parent.parent
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def server_env(data_dir: str) -> dict[str, str]:
    """The environment of this process and daphne: one data directory, production settings."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SCE_DATA_DIR=data_dir,
        EGRESS_ALLOWED_HOSTS="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_emulator(first_token_latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.emulators", "openai", "--default-tokens", "20"]
    command += ["--first-token-latency", str(first_token_latency)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.strip().split("base_url=", 1)[1]


def start_daphne(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.servers import free_port

    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT,
            env={**env, "SITE_ROOT": f"http://127.0.0.1:{port}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/accounts/login/", timeout=2):  # noqa: S310 (loopback)
                return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"daphne did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.1)


def tenant_key(emulator_url: str) -> tuple[Any, str]:
    """A tenant on the enterprise plan (no quota in the way), its own OpenAI credential on the
    emulator alone on its API route, and a gateway key; returns the tenant and the key."""
    from api.models import Scope
    from api.services import api_key_create
    from providers import services as provider_services
    from providers.interface import Task
    from tenants.models import Tenant

    tenant = Tenant.objects.create(slug="bench", name="Bench", plan=Tenant.Plan.ENTERPRISE)
    provider_services.credential_create(
        tenant=tenant,
        actor=None,
        name="bench-openai",
        kind="openai",
        api_key="sk-bench-0123456789",
        default_model="gpt-4o-mini",
        base_url=emulator_url,
    )
    provider_services.route_set(tenant=tenant, task=Task.API, targets=[{"provider": "bench-openai"}])
    issued = api_key_create(tenant=tenant, actor=None, name="bench", scopes=[Scope.GATEWAY])
    return tenant, issued.plaintext


async def run(
    requests: int, concurrency: int, latency: float, emulator_url: str, sce_url: str, key: str
) -> None:
    import openai

    direct_client = openai.AsyncOpenAI(base_url=emulator_url, api_key="sk-bench-0123456789", max_retries=0)
    sce_client = openai.AsyncOpenAI(base_url=sce_url + "/v1", api_key=key, max_retries=0)

    def whole(client: openai.AsyncOpenAI, model: str) -> Callable[[], Coroutine[Any, Any, float]]:
        async def call() -> float:
            started = time.perf_counter()
            await client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=64)
            return (time.perf_counter() - started) * 1000

        return call

    def first_token(client: openai.AsyncOpenAI, model: str) -> Callable[[], Coroutine[Any, Any, float]]:
        async def call() -> float:
            started = time.perf_counter()
            stream = await client.chat.completions.create(
                model=model, messages=MESSAGES, max_tokens=64, stream=True
            )
            first = None
            async for chunk in stream:  # read to the end, as a client does
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = (time.perf_counter() - started) * 1000
            assert first is not None, "no content came"
            return first

        return call

    # Warm both paths (connection pools, the server's first requests), then keep this
    # process's imports out of full garbage collections, as config/asgi.py does in a server.
    await measure(whole(direct_client, "gpt-4o-mini"), concurrency, concurrency)
    await measure(whole(sce_client, "auto"), concurrency, concurrency)
    await measure(first_token(sce_client, "auto"), concurrency, concurrency)
    gc.collect()
    gc.freeze()

    rows = []
    for name, factory in (("complete, total latency", whole), ("stream, time to first token", first_token)):
        base = await measure(factory(direct_client, "gpt-4o-mini"), requests, concurrency, latency)
        through = await measure(factory(sce_client, "auto"), requests, concurrency, latency)
        rows.append((name, base, through))

    print(f"{requests} requests per series, {concurrency} concurrent, provider latency {latency}s")
    columns = ["direct p50", "SCE p50", "added p50", "direct p99", "SCE p99", "added p99"]
    print(f"{'series':30}" + "".join(f"{column:>13}" for column in columns))
    for name, base, through in rows:
        b50, s50 = percentile(base, 0.5), percentile(through, 0.5)
        b99, s99 = percentile(base, 0.99), percentile(through, 0.99)
        cells = [b50, s50, s50 - b50, b99, s99, s99 - b99]
        print(f"{name:30}" + "".join(f"{cell:11.2f}ms" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--provider-latency",
        type=float,
        default=1.0,
        help="seconds the emulated provider takes before answering (real models take longer)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sce-bench-openai-") as data_dir:
        env = server_env(data_dir)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from core import embedded_redis, processes
        from providers.models import ProviderLog

        call_command("migrate", verbosity=0)
        redis_process = None
        if settings.EMBEDDED_REDIS:  # daphne shares it through its socket in the data directory
            redis_process = embedded_redis.start(
                socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
            )
        emulator, emulator_url = start_emulator(args.provider_latency)
        daphne = None
        try:
            tenant, key = tenant_key(emulator_url)
            daphne, sce_url = start_daphne(env, Path(data_dir) / "daphne.log")
            database = (
                "SQLite" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "PostgreSQL"
            )
            load = os.getloadavg()[0]
            print(
                f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.2f}, {database}, "
                "one daphne process"
            )
            asyncio.run(
                run(args.requests, args.concurrency, args.provider_latency, emulator_url, sce_url, key)
            )
            logs = ProviderLog.objects.for_tenant(tenant)
            print(f"SCE's log rows: {logs.count()}, not completed: {logs.exclude(state='completed').count()}")
        finally:
            if daphne is not None:
                processes.stop(daphne, timeout=15)
            emulator.terminate()
            if redis_process is not None:
                processes.stop(redis_process)


if __name__ == "__main__":
    main()
