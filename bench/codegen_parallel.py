"""Service generation: dependency-parallel vs one by one, through the real pipeline.

    .venv/bin/python -m bench.codegen_parallel [--latency 0.5] [--concurrency 6] [--repeat 1]
        [--deployment]

One model-mode generation of the Python + FastAPI skeleton with tests and docs (13 files
plus README.md and API.md: 15 files) runs once with CODEGEN_CONCURRENCY=N (each file started as
soon as the files it depends on are written, N at most) and once with CODEGEN_CONCURRENCY=1 (one by one), per
repeat, the order alternating. Both are the real thing: `codegen.jobs.generation_run`, the
`ModelWriter`, `providers.gateway`, the tenant's codegen, tests and docs tasks routed to the
platform's Anthropic provider, served by the Anthropic wire emulator in its own process,
which answers every call after --latency seconds (a non-streamed reply takes as long).

The emulator is `tests.emulators`' Anthropic application with one change: it answers each
call from what the request names, not from its FIFO (a layer's requests arrive in any
order): the plan call gets the skeleton, a file call that file as the template generator
renders it, the review no issues, a doc call the template's README.md / API.md. All of
them pass the checks, so no fix is asked and both runs make the same calls.

Measured: wall time from the start of the run until its tests stage starts (planning, the
files, checks and review, docs). The generated tests are not run: the sandbox is replaced
by a stand-in that returns at once (it would add the same seconds to both runs). Runs on a
throwaway SQLite database and the bundled Redis unless DATABASE_URL / REDIS_URL are set.
Prints each run's stages, the ratio parallel / one by one (goal: at most 0.5), the model
calls of each (must be equal), the plan's layer widths, and the floor the dependency layers
set: the model-call times that must follow each other even with no overhead at all.

--deployment adds the skeleton's six deployment files (21 files), which shows how the
plan's shape moves the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.emulators.anthropic_api import AnthropicApp
from tests.emulators.script import HttpError, Outcome, Reply
from tests.emulators.server import bind
from tests.emulators.state import Emulator, Settings
from tests.emulators.tokens import text_of
from tests.emulators.wire import Incoming

if TYPE_CHECKING:
    from codegen.models import GenerationEvent
    from codegen.plans import Plan
    from codegen.sandbox import SandboxLimits, SandboxResult
    from tenants.models import Tenant

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS: dict[str, Any] = {
    "title": "Managed vFirewall",
    "blueprint": "Network service",
    "requirements": {
        "service_type": {"label": "Service type", "value": "vFirewall"},
        "vendor": {"label": "Vendor", "value": "Cisco"},
        "features": {"label": "Features", "value": ["Stateful filtering", "NAT", "High availability"]},
        "pricing_model": {"label": "Pricing model", "value": "Per instance per month"},
    },
}
# Which call a request is, by the opening of its system prompt (codegen.model.prompts).
STEPS = (
    ("You plan the files", "plan"),
    ("You are a senior engineer writing one file", "write"),
    ("You correct one file", "fix"),
    ("You review a generated", "review"),
    ("You write the documentation", "docs"),
)
CALL_KINDS = ("plan", "write", "fix", "review", "docs")
_NAMED_FILE = re.compile(r"The (?:file|document) to (?:write|fix):\n<<<USER_DATA\npath: (?P<path>[^\n]*)\n")
STAGES = ("planning", "generating", "validating", "checking", "documenting")


# --- The emulator's side (its own process) -----------------------------------------------


class RepliesByFile(AnthropicApp):
    """The Anthropic emulator answering each call from the step and file it names."""

    def __init__(self, emulator: Emulator, replies: Mapping[str, Any]) -> None:
        super().__init__(emulator)
        self.replies = replies

    def choose(self, incoming: Incoming) -> Outcome | None:
        step, path = call_of(incoming.body)
        outcome = self.answer(step, path)
        label = f"{step} {path}".strip() if isinstance(outcome, Reply) else f"unknown {step} {path}"
        self._log_incoming(incoming, label)
        return outcome

    def answer(self, step: str, path: str) -> Outcome:
        files: Mapping[str, str] = self.replies["files"]
        if step == "plan":
            return Reply(json.dumps(self.replies["plan"]))
        if step == "review":
            return Reply(json.dumps({"issues": []}))
        if step in ("write", "fix", "docs") and path in files:
            return Reply(files[path])
        return HttpError(400, message=f"the bench's emulator has no reply for step {step!r}, file {path!r}")


def call_of(body: Any) -> tuple[str, str]:
    """The step a request is (plan, write, fix, review, docs) and the file it names, if any."""
    system = text_of(body.get("system")) if isinstance(body, dict) else ""
    step = next((name for opening, name in STEPS if system.startswith(opening)), "unknown")
    messages = body.get("messages") if isinstance(body, dict) else None
    last = text_of(messages[-1].get("content")) if isinstance(messages, list) and messages else ""
    named = _NAMED_FILE.findall(last)
    return step, named[-1] if named else ""


async def serve_emulator(replies: Mapping[str, Any], latency: float) -> None:
    """Serve the Anthropic emulator with replies by file until SIGTERM; print its base URL."""
    emulator = Emulator("anthropic", Settings(first_token_latency=latency))
    runner = web.AppRunner(
        RepliesByFile(emulator, replies).build(), handler_cancellation=True, access_log=None
    )
    await runner.setup()
    sock = bind("127.0.0.1", 0)
    await web.SockSite(runner, sock).start()
    emulator.bind_loop(asyncio.get_running_loop())
    print(f"anthropic emulator listening; base_url=http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        emulator.reset()
        await runner.cleanup()


# --- The bench's side --------------------------------------------------------------------


def setup_django(data_dir: str) -> None:
    os.environ.setdefault("SCE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    for noisy in ("httpx", "httpx2", "anthropic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)


def bench_plan(*, deployment: bool) -> tuple[Plan, dict[str, str]]:
    """The plan the emulator proposes (the skeleton) and every file's
    reply: the template generator's rendering, docs included."""
    from codegen.spec import build_spec
    from codegen.targets import target_for

    spec = build_spec(requirements=REQUIREMENTS, workflow=None)
    target = target_for("python-fastapi")
    options = generation_options(deployment=deployment)
    plan = target.skeleton(spec, options)
    files = dict(target.render(spec, options, plan))
    files.update(target.render_docs(spec, plan, files))
    return plan, files


def generation_options(*, deployment: bool) -> Any:
    from codegen.spec import Options

    return Options(include_tests=True, include_docs=True, include_deployment=deployment)


def start_emulator(replies_file: Path, latency: float, log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "bench.codegen_parallel", "--serve-emulator", str(replies_file)]
    command += ["--latency", str(latency)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "base_url=" not in line:
        process.kill()
        raise SystemExit(f"the emulator did not start; see {log}")
    return process, line.strip().split("base_url=", 1)[1]


def emulator_control(base_url: str, path: str, *, post: bool = False) -> Any:
    """A call to the emulator's control API (loopback, an http URL the bench made)."""
    request = urllib.request.Request(  # noqa: S310
        f"{base_url}/_emulator/{path}", data=b"{}" if post else None, method="POST" if post else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def emulator_calls(base_url: str) -> list[str]:
    """What the emulator logged for each completion since its last reset ("write app/main.py")."""
    logged = emulator_control(base_url, "requests")
    return [entry["outcome"] for entry in logged if entry["endpoint"] == "completions"]


class SandboxStandIn:
    """The sandbox's stand-in: notes when the tests stage reached it and returns at once."""

    def __init__(self) -> None:
        self.called_at: float | None = None

    def run(
        self,
        project: Path,
        command: tuple[str, ...],
        *,
        limits: SandboxLimits,
        cancel: threading.Event | None = None,
    ) -> SandboxResult:
        from codegen.sandbox import SandboxResult

        self.called_at = time.perf_counter()
        return SandboxResult(5, False, "", None, 0.0, reason="not run by the benchmark")


@dataclass
class Measured:
    concurrency: int
    wall: float
    stages: dict[str, float]
    calls: Counter[str]
    model_calls: int
    state: str
    statuses: Counter[str] = field(default_factory=Counter)
    # Each dependency layer's seconds: its first file started to its last file stored.
    layers: list[float] = field(default_factory=list)


def create_tenant() -> Tenant:
    """A tenant on the enterprise plan (no monthly limit) whose codegen, tests and docs
    tasks go to the platform's Anthropic provider (the emulator)."""
    from providers import services as provider_services
    from providers.interface import Task
    from tenants import services as tenant_services
    from tenants.models import Tenant

    owner = tenant_services.user_create(
        email="owner@bench.example", password=secrets.token_urlsafe(16), name="Owner"
    )
    tenant = tenant_services.tenant_create(name="Bench codegen", owner=owner)
    Tenant.objects.filter(pk=tenant.pk).update(plan=Tenant.Plan.ENTERPRISE)
    for task in (Task.CODEGEN, Task.TESTS, Task.DOCS):
        provider_services.route_set(tenant=tenant, task=task, targets=[{"provider": "anthropic"}])
    tenant.refresh_from_db()
    return tenant


def generate(tenant: Tenant, plan: Plan, *, concurrency: int, deployment: bool, base_url: str) -> Measured:
    """One generation in model mode at `concurrency`, timed until its tests stage starts."""
    from django.conf import settings

    from codegen import jobs, selectors, services
    from codegen.checks.plan import plan_layers
    from codegen.models import Generation

    settings.CODEGEN_CONCURRENCY = concurrency
    emulator_control(base_url, "reset", post=True)
    generation = services.generation_create(
        tenant=tenant,
        actor=None,
        options=generation_options(deployment=deployment),
        mode=Generation.Mode.MODEL,
        requirements=REQUIREMENTS,
        enqueue=False,
    )
    entered: dict[str, float] = {}
    file_started: dict[str, float] = {}
    file_stored: dict[str, float] = {}

    def listen(event: GenerationEvent) -> None:
        now = time.perf_counter()
        state = event.data.get("state") if event.kind == "progress" else None
        if isinstance(state, str):
            entered.setdefault(state, now)
        elif event.kind == "file_started":
            file_started.setdefault(event.data["path"], now)
        elif event.kind == "file_generated":
            file_stored.setdefault(event.data["path"], now)

    runner = SandboxStandIn()
    started = time.perf_counter()
    ended = jobs.generation_run(
        generation_id=generation.pk, lease=generation.run_token, listener=listen, runner=runner
    )
    finished = runner.called_at or time.perf_counter()
    if ended is None:
        raise SystemExit("the generation was taken over by another run")
    if ended.state != Generation.State.COMPLETED:
        # A failed run's time means nothing: the emulator's log (stderr) says which call went wrong.
        raise SystemExit(f"the generation ended {ended.state}: {ended.error_code} {ended.error_message}")
    marks = [entered.get(stage) for stage in STAGES]
    stages: dict[str, float] = {}
    for index, stage in enumerate(STAGES):
        begin = marks[index]
        if begin is None:
            continue
        end = next((mark for mark in marks[index + 1 :] if mark is not None), finished)
        stages[stage] = end - begin
    calls = Counter(outcome.split(" ", 1)[0] for outcome in emulator_calls(base_url))
    layers = [
        max(file_stored[planned.path] for planned in layer)
        - min(file_started[planned.path] for planned in layer)
        for layer in plan_layers(plan)
        if all(planned.path in file_started and planned.path in file_stored for planned in layer)
    ]
    return Measured(
        concurrency=concurrency,
        wall=finished - started,
        stages=stages,
        calls=calls,
        model_calls=ended.model_calls,
        state=ended.state,
        statuses=Counter(file.status for file in selectors.files_of(ended)),
        layers=layers,
    )


def layer_floor(plan: Plan, concurrency: int) -> int:
    """The model-call times that follow each other at `concurrency` with no overhead: the
    plan, each layer in rounds of at most `concurrency` files, the review, the docs (written
    at once by ModelWriter.document)."""
    from codegen.checks.plan import plan_layers

    rounds = sum(math.ceil(len(layer) / concurrency) for layer in plan_layers(plan))
    return 1 + rounds + 1 + (1 if plan.docs else 0)


def row(label: str, measured: Measured) -> str:
    stages = "".join(f"{measured.stages.get(stage, 0.0):>12.2f}" for stage in STAGES)
    calls = "/".join(str(measured.calls.get(kind, 0)) for kind in CALL_KINDS)
    return f"{label:28}{measured.wall:>9.2f}{stages}   {calls} ({measured.model_calls})"


def report(
    plan: Plan, results: list[tuple[Measured, Measured]], *, concurrency: int, latency: float, load: float
) -> None:
    from codegen.checks.plan import plan_layers

    widths = [len(layer) for layer in plan_layers(plan)]
    total = 1 + len(plan.files) + 1 + len(plan.docs)
    print()
    header = "".join(f"{stage:>12}" for stage in STAGES)
    print(f"{'run':28}{'wall s':>9}{header}   calls plan/write/fix/review/docs (generation's count)")
    for number, (parallel, sequential) in enumerate(results, start=1):
        print(row(f"{number} dependency-parallel ({parallel.concurrency})", parallel))
        print(row(f"{number} one by one (1)", sequential))
    parallel_wall = statistics.median(pair[0].wall for pair in results)
    sequential_wall = statistics.median(pair[1].wall for pair in results)
    ratio = parallel_wall / sequential_wall
    print()
    print(
        f"wall time (median of {len(results)}): dependency-parallel {parallel_wall:.2f} s, "
        f"one by one {sequential_wall:.2f} s"
    )
    verdict = "met" if ratio <= 0.5 else "not met"
    print(f"ratio parallel / one by one: {ratio:.3f} (goal <= 0.5: {verdict})")
    counts = {(tuple(sorted(m.calls.items())), m.model_calls) for pair in results for m in pair}
    same = "equal in every run" if len(counts) == 1 else "NOT EQUAL between runs"
    print(f"model calls per run: {results[0][1].model_calls} ({same})")
    print(f"every run completed; files by status: {dict(results[0][0].statuses)}")
    floor = layer_floor(plan, concurrency)
    widest = max(widths)
    print(
        f"plan: {len(plan.files)} files + {len(plan.docs)} docs; layer widths {widths}; "
        f"then the review, then the docs (at once)"
    )
    print(
        f"floor set by the layers at concurrency {concurrency}: {floor} of {total} call times in a row "
        f"-> ratio {floor / total:.3f} with no overhead"
        + (
            f" ({layer_floor(plan, widest)} of {total} -> {layer_floor(plan, widest) / total:.3f} "
            f"at concurrency {widest}, the widest layer)"
            if widest > concurrency
            else ""
        )
    )
    for number, (parallel, sequential) in enumerate(results, start=1):
        for measured, name in (
            (parallel, f"dependency-parallel ({concurrency})"),
            (sequential, "one by one"),
        ):
            spans = " ".join(f"{span:.2f}" for span in measured.layers)
            print(f"run {number} {name}, each layer's seconds (first file started to last stored): {spans}")
    print(
        f"beyond the {latency:g} s per call: dependency-parallel "
        f"{parallel_wall - floor * latency:.2f} s over its floor, one by one "
        f"{sequential_wall - total * latency:.2f} s over {total} calls "
        f"({(sequential_wall - total * latency) / total * 1000:.0f} ms a call); "
        f"load average at the start {load:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the emulator takes per call")
    parser.add_argument("--concurrency", type=int, default=6, help="CODEGEN_CONCURRENCY of the parallel run")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs (order alternates)")
    parser.add_argument("--deployment", action="store_true", help="add the six deployment files")
    parser.add_argument("--serve-emulator", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.concurrency < 2:
        parser.error("--concurrency must be at least 2: the baseline runs at 1")
    if args.serve_emulator is not None:
        replies = json.loads(args.serve_emulator.read_text(encoding="utf-8"))
        asyncio.run(serve_emulator(replies, args.latency))
        return
    load = os.getloadavg()[0]
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="sce-bench-") as data_dir, ExitStack() as stack:
        setup_django(data_dir)
        from django.conf import settings

        from core import embedded_redis, processes

        if settings.EMBEDDED_REDIS:
            redis_process = embedded_redis.start(
                socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
            )
            stack.callback(processes.stop, redis_process)
        plan, files = bench_plan(deployment=args.deployment)
        replies_file = Path(data_dir) / "replies.json"
        replies_file.write_text(json.dumps({"plan": plan.as_dict(), "files": files}), encoding="utf-8")
        emulator, base_url = start_emulator(replies_file, args.latency, Path(data_dir) / "emulator.log")
        stack.callback(emulator.wait, 10)
        stack.callback(emulator.terminate)
        settings.ANTHROPIC_API_KEY = "sk-bench"
        settings.ANTHROPIC_BASE_URL = base_url
        tenant = create_tenant()
        print(
            f"emulator answers every call after {args.latency:g} s; measured: the run's start until its "
            "tests stage starts (the generated tests are not run)"
        )
        warm = generate(
            tenant, plan, concurrency=args.concurrency, deployment=args.deployment, base_url=base_url
        )
        print(f"warm-up run (not counted): {warm.wall:.2f} s, {warm.state}")
        results: list[tuple[Measured, Measured]] = []
        for number in range(args.repeat):
            order = [args.concurrency, 1] if number % 2 == 0 else [1, args.concurrency]
            runs = {
                concurrency: generate(
                    tenant, plan, concurrency=concurrency, deployment=args.deployment, base_url=base_url
                )
                for concurrency in order
            }
            results.append((runs[args.concurrency], runs[1]))
        report(plan, results, concurrency=args.concurrency, latency=args.latency, load=load)


if __name__ == "__main__":
    main()
