"""N conversation pages streaming at once: through daphne and the Redis channel layer.

    .venv/bin/python -m bench.conversation_streams [--streams 100 1000] [--processes 1]

Sets up its own data directory (SQLite and the bundled Redis, or DATABASE_URL / REDIS_URL
when set), creates N tenants, each with one user, one Network service conversation and its
own OpenAI-wire credential whose `conversation` task routes to the benchmark emulator
(bench/stream_emulator.py, its own process: 20 tokens/s, every token unique to its
conversation, each write time noted). Starts daphne (`--processes` of them on one
listening socket, as `manage.py serve --web-processes` runs them) and opens N
conversation pages' WebSockets with the users' session cookies. Each page lets the first
question stream (asked when the page connects), answers it with a chip and follows the
next question to its end.

Reported per run:
- lost / duplicated tokens: what each page assembled against what the emulator sent for
  its conversation, and whether the page's sequence numbers are gapless and unrepeated;
- frame latency: from the emulator writing a token to the page receiving the frame with it
  (time.monotonic() is one clock for every process on the machine);
- time to first token: from sending the answer to the first token of the next question,
  against the same emulator read directly by the official SDK in the same run (the
  baseline: N streams at once, same tokens and rate); the difference is what the portal adds.

Every phase is bounded (`--timeout`), and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import logging
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stream_clients import DirectRecord, PageRecord, run_direct, run_page

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def label(index: int) -> str:
    return f"c{index:05d}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- Processes ----------------------------------------------------------------------------------


def start_emulator(tokens: int, rate: float, log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "bench.stream_emulator", "--tokens", str(tokens)]
    command += ["--tokens-per-second", str(rate)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "base_url=" not in line:
        raise RuntimeError(f"the emulator did not start: {log.read_text()[-2000:]}")
    return process, line.strip().split("base_url=", 1)[1]


def http_get(url: str, timeout: float = 30) -> bytes:
    """GET from a loopback server (the only kind this benchmark talks to)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise ValueError(f"not a loopback http URL: {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        body = response.read()
        if response.status >= 400:
            raise OSError(f"GET {url}: {response.status}")
        return body
    finally:
        connection.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SETTINGS = {"configured": "tests.settings", "lists": "bench.list_layer_settings"}


def start_daphne(
    log_dir: Path, channel_layer: str, processes: int, stack: ExitStack
) -> tuple[list[subprocess.Popen[bytes]], str]:
    """daphne as `manage.py serve --web-processes N` runs it: one process on its own port,
    or N sharing one listening socket (connect timeout and listen backlog as serve sets)."""
    from core.management.commands.serve import daphne_command, listen

    port = free_port()
    env = dict(os.environ, SITE_ROOT=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS[channel_layer]
    started: list[subprocess.Popen[bytes]] = []
    fds: tuple[int, ...]
    if processes == 1:
        commands, fds = [daphne_command("127.0.0.1", port)], ()
    else:
        listener = stack.enter_context(listen("127.0.0.1", port))
        fds = (listener.fileno(),)
        commands = [daphne_command("127.0.0.1", port, fd=listener.fileno())] * processes
    for number, command in enumerate(commands):
        log = log_dir / f"daphne-{port}-{number}.log"
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, pass_fds=fds
        )
        stack.callback(stop, process)
        started.append(process)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in started):
            raise RuntimeError(f"daphne exited: {log.read_text()[-3000:]}")
        try:
            for _ in started:  # likely to reach each process once it answers
                http_get(base + "/accounts/login/", timeout=2)
            return started, base
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer: {log.read_text()[-3000:]}")


def start_profiler(pid: int, directory: str, name: str) -> subprocess.Popen[bytes]:
    """py-spy sampling a process (measurement only: `pip install py-spy`, not a dependency)."""
    out = Path(directory) / f"{name}.txt"
    command = [
        str(Path(sys.executable).parent / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        "100",
        "--gil",
        "-o",
        str(out),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Data ---------------------------------------------------------------------------------------


def setup_django(data_dir: str) -> None:
    os.environ.setdefault("SCE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    # The SDK notes every request at INFO; thousands of lines would only slow the clients.
    logging.getLogger("httpx2").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    cookie: str


def create_pages(offset: int, count: int) -> list[Page]:
    """N tenants, each with its owner and a conversation, routed to the platform's OpenAI
    provider (the emulator); the owners are logged in (a session each, as the login view
    makes). Each conversation's blueprint is named after it, so that its prompts, and hence
    the emulator's tokens, are its own."""
    from django.test import Client

    from conversations import services as conversation_services
    from conversations.blueprints.builtin import NETWORK_SERVICE
    from providers import services as provider_services
    from providers.interface import Task
    from tenants import services as tenant_services

    pages = []
    for index in range(offset, offset + count):
        name = label(index)
        user = tenant_services.user_create(
            email=f"{name}@bench.example", password=secrets.token_urlsafe(16), name=name
        )
        tenant = tenant_services.tenant_create(name=f"Bench {name}", owner=user)
        provider_services.route_set(tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": "openai"}])
        blueprint = NETWORK_SERVICE.model_copy(update={"name": f"Network service {name}"})
        conversation = conversation_services.conversation_create(
            tenant=tenant, owner=user, blueprint=blueprint
        )
        client = Client()
        client.force_login(user)
        path = f"/ws/t/{tenant.slug}/conversations/{conversation.pk}/?since=0"
        pages.append(Page(name, path, f"sessionid={client.cookies['sessionid'].value}"))
    return pages


# --- Running ------------------------------------------------------------------------------------


async def direct_streams(
    base_url: str, count: int, stagger: float, limit_seconds: float
) -> list[DirectRecord]:
    import openai

    # As the gateway builds its clients (providers/kinds/openai.py): the SDK's own pool limits.
    client = openai.AsyncOpenAI(api_key="sk-bench-direct", base_url=base_url, max_retries=0)
    records = [DirectRecord(f"d{index:05d}") for index in range(count)]
    start = time.monotonic() + 0.2
    deadline = start + stagger + limit_seconds
    await asyncio.gather(
        *(
            run_direct(client, record, start_at=start + stagger * index / count, deadline=deadline)
            for index, record in enumerate(records)
        )
    )
    await client.close()
    return records


async def page_streams(
    bases: list[str], pages: list[Page], stagger: float, limit_seconds: float
) -> list[PageRecord]:
    import aiohttp

    records = [PageRecord(page.label) for page in pages]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic() + 0.2
        deadline = start + stagger + limit_seconds
        await asyncio.gather(
            *(
                run_page(
                    session,
                    bases[index % len(bases)].replace("http://", "ws://") + page.path,
                    bases[index % len(bases)],
                    page.cookie,
                    record,
                    start_at=start + stagger * index / len(pages),
                    deadline=deadline,
                )
                for index, (page, record) in enumerate(zip(pages, records, strict=True))
            )
        )
    return records


def fetch_sent(base_url: str) -> dict[str, list[dict[str, Any]]]:
    sent: dict[str, list[dict[str, Any]]] = json.loads(
        http_get(base_url.removesuffix("/v1") + "/_bench/sent")
    )
    return sent


# --- Analysis -----------------------------------------------------------------------------------


@dataclass
class Result:
    streams: int
    processes: int
    sent: int
    received: int
    lost: int
    undelivered: int
    duplicated: int
    unexpected: int
    text_mismatches: int
    seq_gaps: int
    seq_repeats: int
    failed_pages: list[str]
    frames: int
    latency: list[float]
    latency_first: list[float]
    latency_second: list[float]
    direct_latency: list[float]
    ttft: list[float]
    direct_ttft: list[float]
    before_model: list[float]
    seconds: float
    server_cpu: float
    load: tuple[float, float, float]


def analyse(
    pages: list[PageRecord], direct: list[DirectRecord], sent: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    written: dict[str, float] = {}
    for streams in sent.values():
        for stream in streams:
            written.update(zip(stream["tokens"], stream["written_at"], strict=False))
    counts: dict[str, Any] = {
        "sent": 0, "received": 0, "lost": 0, "undelivered": 0, "duplicated": 0, "unexpected": 0,
        "text_mismatches": 0, "seq_gaps": 0, "seq_repeats": 0, "frames": 0,
        "latency": [], "latency_first": [], "latency_second": [], "ttft": [], "before_model": [],
        "failed": [],
    }  # fmt: skip
    for page in pages:
        streams = sent.get(page.label, [])
        expected = [token.strip() for stream in streams for token in stream["tokens"]]
        received = [token for token, _ in page.tokens]
        counts["sent"] += len(expected)
        counts["received"] += len(received)
        # A page that gave up at the time limit did not lose what it had not yet been sent.
        missing = len(set(expected) - set(received))
        counts["lost" if page.finished else "undelivered"] += missing
        counts["duplicated"] += len(received) - len(set(received))
        counts["unexpected"] += len(set(received) - set(expected))
        # The text each message assembled, in order, against each stream's text.
        texts = [page.texts[key] for key in sorted(page.texts)]
        if texts != ["".join(stream["tokens"]) for stream in streams]:
            counts["text_mismatches"] += 1
        numbers = page.seqs
        counts["seq_repeats"] += len(numbers) - len(set(numbers))
        if numbers:
            counts["seq_gaps"] += len(set(range(1, max(numbers) + 1)) - set(numbers))
        counts["frames"] += page.frames
        for token, arrived in page.tokens:
            if f" {token}" in written:
                latency = (arrived - written[f" {token}"]) * 1000
                counts["latency"].append(latency)
                # The first question streams while pages connect, the second after answers.
                counts["latency_first" if "s1t" in token else "latency_second"].append(latency)
        if page.answered_at and page.first_token_after_answer:
            counts["ttft"].append((page.first_token_after_answer - page.answered_at) * 1000)
            if len(streams) >= 2:
                counts["before_model"].append((streams[1]["requested_at"] - page.answered_at) * 1000)
        if page.error or page.notices or not page.finished:
            counts["failed"].append(f"{page.label}: {page.error or 'unfinished'} {page.notices[:2]}")
    direct_latency = [
        (arrived - written[f" {token}"]) * 1000
        for record in direct
        for token, arrived in record.tokens
        if f" {token}" in written
    ]
    direct_ttft = [(r.first_token - r.started_at) * 1000 for r in direct if r.first_token]
    counts["direct_latency"] = direct_latency
    counts["direct_ttft"] = direct_ttft
    counts["direct_failed"] = [f"{r.label}: {r.error}" for r in direct if r.error or not r.first_token]
    return counts


def run_once(
    count: int,
    processes: int,
    args: argparse.Namespace,
    base_url: str,
    pages: list[Page],
    warm_pages: list[Page],
    log_dir: Path,
) -> Result:
    load = os.getloadavg()
    print(f"\nN={count}, {processes} daphne process(es); load average before: {load[0]:.2f} {load[1]:.2f}")
    direct = asyncio.run(direct_streams(base_url, count, args.stagger, args.timeout))
    with ExitStack() as stack:
        servers, base = start_daphne(log_dir, args.channel_layer, processes, stack)
        if args.profile:
            for number, process in enumerate(servers):
                profiler = start_profiler(process.pid, args.profile, f"daphne-n{count}-p{processes}-{number}")
                stack.callback(stop_profiler, profiler)
        # Warm the processes (first imports of the SDK, templates, connections) with a page per
        # process that goes through both questions: the run measures the steady state.
        bases = [base]
        warm = asyncio.run(page_streams(bases, warm_pages, 0.0, args.timeout))
        if any(not record.finished for record in warm):
            print("  warm-up failed:", [record.error or record.notices for record in warm])
        cpu_before = sum(cpu_seconds(process.pid) for process in servers)
        started = time.monotonic()
        records = asyncio.run(page_streams(bases, pages, args.stagger, args.timeout))
        seconds = time.monotonic() - started
        server_cpu = sum(cpu_seconds(process.pid) for process in servers) - cpu_before
    counts = analyse(records, direct, fetch_sent(base_url))
    for line in (counts["failed"] + counts["direct_failed"])[:5]:
        print("  problem:", line)
    return Result(
        streams=count,
        processes=processes,
        sent=counts["sent"],
        received=counts["received"],
        lost=counts["lost"],
        undelivered=counts["undelivered"],
        duplicated=counts["duplicated"],
        unexpected=counts["unexpected"],
        text_mismatches=counts["text_mismatches"],
        seq_gaps=counts["seq_gaps"],
        seq_repeats=counts["seq_repeats"],
        failed_pages=counts["failed"],
        frames=counts["frames"],
        latency=counts["latency"],
        latency_first=counts["latency_first"],
        latency_second=counts["latency_second"],
        direct_latency=counts["direct_latency"],
        ttft=counts["ttft"],
        direct_ttft=counts["direct_ttft"],
        before_model=counts["before_model"],
        seconds=seconds,
        server_cpu=server_cpu,
        load=load,
    )


def report(result: Result) -> None:
    r = result
    ok = "ok" if r.lost == r.duplicated == r.unexpected == r.seq_gaps == r.seq_repeats == 0 else "PROBLEM"
    print(
        f"  tokens sent {r.sent}, received {r.received}: lost {r.lost}, duplicated {r.duplicated}, "
        f"not yet delivered when a page gave up {r.undelivered}, "
        f"unexpected {r.unexpected}; texts differing {r.text_mismatches}; "
        f"sequence gaps {r.seq_gaps}, repeats {r.seq_repeats} [{ok}]; pages failed {len(r.failed_pages)}"
    )
    print(
        f"  {r.frames} frames in {r.seconds:.1f} s ({r.received / max(r.frames, 1):.2f} tokens per frame); "
        f"daphne CPU {r.server_cpu:.1f} s ({r.server_cpu / r.seconds:.0%} of one core)"
    )
    columns = ["p50", "p99", "max"]
    print(f"  {'':38}" + "".join(f"{column:>11}" for column in columns))

    def row(name: str, values: list[float]) -> None:
        cells = [percentile(values, 0.5), percentile(values, 0.99), max(values, default=float("nan"))]
        print(f"  {name:38}" + "".join(f"{cell:9.1f}ms" for cell in cells))

    row("frame latency, direct SDK", r.direct_latency)
    row("frame latency, socket", r.latency)
    row("  first question (pages connecting)", r.latency_first)
    row("  second question (after the answers)", r.latency_second)
    row("time to first token, direct SDK", r.direct_ttft)
    row("time to first token, socket", r.ttft)
    row("  of which: answer -> model asked", r.before_model)
    added50 = percentile(r.ttft, 0.5) - percentile(r.direct_ttft, 0.5)
    added99 = percentile(r.ttft, 0.99) - percentile(r.direct_ttft, 0.99)
    print(f"  added time to first token: p50 {added50:.1f} ms, p99 {added99:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 1000], help="N, one run each")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1], help="daphne processes, one run each"
    )
    parser.add_argument("--tokens", type=int, default=40, help="tokens per streamed reply")
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--stagger", type=float, default=2.0, help="seconds over which pages open")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take at most")
    parser.add_argument(
        "--channel-layer",
        choices=sorted(SETTINGS),
        default="configured",
        help="configured: RedisPubSubChannelLayer; lists: the list-based RedisChannelLayer, for comparison",
    )
    parser.add_argument("--log-dir", help="keep the daphne and emulator logs here (default: thrown away)")
    parser.add_argument("--profile", help="directory for py-spy profiles of daphne (py-spy must be on PATH)")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="sce-bench-") as data_dir, ExitStack() as stack:
        setup_django(data_dir)
        from django.conf import settings

        from core import embedded_redis
        from core import processes as children

        if settings.EMBEDDED_REDIS:
            redis_process = embedded_redis.start(
                socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
            )
            stack.callback(children.stop, redis_process)
        mode = "SQLite" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "PostgreSQL"
        mode += ", embedded Redis" if settings.EMBEDDED_REDIS else ", Redis over TCP"
        print(f"mode: {mode}; {args.tokens} tokens per stream at {args.tokens_per_second:g}/s")
        log_dir = Path(args.log_dir or data_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        emulator, base_url = start_emulator(args.tokens, args.tokens_per_second, log_dir / "emulator.log")
        stack.callback(stop, emulator)
        # The platform provider every tenant routes its conversations to (daphne inherits it).
        os.environ.update(OPENAI_API_KEY="sk-bench-platform", OPENAI_BASE_URL=base_url)
        gc.collect()
        gc.freeze()
        created = 0
        for count in args.streams:
            for processes in args.processes:
                # Fresh conversations for every run: a conversation asks its first question once.
                started = time.monotonic()
                pages = create_pages(created, count + processes)
                created += count + processes
                print(
                    f"created {count} tenants, users and conversations in {time.monotonic() - started:.1f} s"
                )
                result = run_once(
                    count, processes, args, base_url, pages[processes:], pages[:processes], log_dir
                )
                report(result)


if __name__ == "__main__":
    main()
