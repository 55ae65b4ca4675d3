"""From a user's answer to the first visible word of the next question, per path and setup.

    .venv/bin/python -m bench.answer_latency [--repeat 8] [--first-token-latency 0.4] [--tokens-per-second 30]

The interview engine is driven in this process as the web process drives it: the answer is
handed to `conversations.interview.turn.answer` and the clock stops at the first frame
published to the conversation's page (`conversations.interview.frames.publish`, wrapped to
note when Redis has taken each frame) that shows the next question's text: a tokens frame
of the new question, or its message_replaced frame when it is shown whole.

Paths (a Network service interview; the answers before the asked question are preset):
  chip           a chip for "Pricing model" (no model reads it)
  short          "Per user" typed (at most 4 words the field accepts: no model reads it)
  long, prefetch a sentence about the pricing, read by a model; the next question (free text,
                 which no reading fills) is worded while it is read
  long           a sentence about authentication, read by a model; the next question is a
                 select field the reading might fill, so its wording waits for the reading
Setups:
  offline        the tenant routes to the embedded model alone (llama.cpp SmolLM2-135M in this
                 process, fit for extraction only: questions are asked in the blueprint's words)
  capable        the platform OpenAI provider, fit for everything, served by the OpenAI wire
                 emulator in its own process (first token after --first-token-latency, then
                 --tokens-per-second); it words each question in 8 tokens up to its question
                 mark and 8 more, and reads answers as a model would (the option named)

The baseline, measured in the same run, is the bare gateway call(s) the path cannot avoid
(the same requests the engine builds): for a long answer the extraction completion; when a
capable model words the question, its stream until the question mark (the engine shows a
phrasing only once it asks about its field). Gateway calls per turn are counted from the
conversation's ProviderLog rows. Setup "capable", long with prefetch, also runs with
`asking.prefetch` patched to return None, to show what prefetching saves.

Own data directory, SQLite and the bundled Redis (or DATABASE_URL / REDIS_URL when set);
everything on 127.0.0.1; every turn bounded by --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.emulators.openai_api import OpenAIApp
from tests.emulators.script import Outcome, Reply
from tests.emulators.tokens import split_tokens
from tests.emulators.wire import Incoming

if TYPE_CHECKING:
    from conversations.interview.understanding import Understood
    from conversations.models import Conversation, Message

ROOT = Path(__file__).resolve().parent.parent

# --- The emulator (its own process) -------------------------------------------------------------

# What the interview's prompts say (conversations/interview/prompts.py), read back to answer
# as a model would.
WORDING = re.compile(
    r"The standard wording is: “(?P<question>.*?)” and the reason it matters: “(?P<why>.*?)”", re.S
)
ASKED = re.compile(r"The user was asked about: (?P<key>\S+) \(")
QUESTION_TOKENS = 8


def phrased(question: str, why: str) -> list[str]:
    """A question worded in QUESTION_TOKENS tokens up to its question mark, then as many for
    the rest and the reason: every question becomes visible after the same number of tokens."""
    asked, mark, rest = question.partition("?")
    return split_tokens(asked + mark, QUESTION_TOKENS) + split_tokens(
        f"{rest}\n\nWhy: {why}", QUESTION_TOKENS
    )


def extracted(system: str, user_text: str) -> dict[str, str]:
    """What a capable model reads from an answer to a select field: the option it names."""
    asked = ASKED.search(system)
    if asked is None:
        return {}
    key = asked.group("key")
    listed = re.search(rf"^- {re.escape(key)}: .*? — one of: (?P<options>.*)$", system, re.M)
    if listed is None:
        return {}
    said = user_text.casefold()
    named = [option for option in listed.group("options").split("; ") if option.casefold() in said]
    return {key: named[0]} if named else {}


class InterviewOpenAIApp(OpenAIApp):
    """The OpenAI wire emulator answering the interview's phrasing and extraction requests
    from their prompts, at the emulator's latency settings; anything else gets its default."""

    def choose(self, incoming: Incoming) -> Outcome | None:
        outcome = self.answer(incoming.body)
        self._log_incoming(incoming, "derived" if outcome else "default")
        return outcome

    @staticmethod
    def answer(body: Any) -> Outcome | None:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list):
            return None
        system = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        user = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        if wording := WORDING.search(system):
            return Reply(tokens=phrased(wording.group("question"), wording.group("why")))
        if "extract requirement values" in system:
            return Reply(text=json.dumps(extracted(system, user)))
        return None


def serve_emulator(first_token_latency: float, tokens_per_second: float) -> None:
    """Serve the emulator until SIGTERM / SIGINT, after printing its base URL."""
    from tests.emulators.server import base_url_for, bind
    from tests.emulators.state import Emulator, Settings

    async def serve() -> None:
        import signal

        from aiohttp import web

        settings = Settings(token_latency=1.0 / tokens_per_second, first_token_latency=first_token_latency)
        app = InterviewOpenAIApp(Emulator("openai", settings))
        sock = bind("127.0.0.1", 0)
        runner = web.AppRunner(app.build(), handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        print(f"base_url={base_url_for('openai', f'http://127.0.0.1:{sock.getsockname()[1]}')}", flush=True)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


def start_emulator(first_token_latency: float, tokens_per_second: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "bench.answer_latency", "--serve-emulator"]
    command += [
        "--first-token-latency",
        str(first_token_latency),
        "--tokens-per-second",
        str(tokens_per_second),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "base_url=" not in line:
        process.kill()
        raise RuntimeError("the emulator did not start")
    return process, line.strip().split("base_url=", 1)[1]


# --- Paths and setups ---------------------------------------------------------------------------

EARLY = {"service_type": "vFirewall", "vendor": "Fortinet", "features": ["Stateful filtering"]}
LATER = {**EARLY, "pricing_model": "Per user", "api_docs": "The FortiOS REST API reference"}


@dataclass(frozen=True)
class AnswerPath:
    key: str
    label: str
    preset: dict[str, Any]  # the answers given before: the asked field is the next one
    asked: str
    next_field: str
    text: str | None = None
    value: Any = None
    prefetch: bool = True  # False: asking.prefetch is patched to return None


PATHS = (
    AnswerPath("chip", "(1) chip", EARLY, "pricing_model", "api_docs", value="Per instance per month"),
    AnswerPath("short", "(2) short typed", EARLY, "pricing_model", "api_docs", text="Per user"),
    AnswerPath(
        "long-prefetch", "(3) long typed, prefetch applies", EARLY, "pricing_model", "api_docs",
        text="We bill per instance per month, invoiced yearly",
    ),
    AnswerPath(
        "long", "(4) long typed, no prefetch", LATER, "authentication", "logging_monitoring",
        text="Customers should sign in with their API keys",
    ),
)  # fmt: skip
NO_PREFETCH = AnswerPath(
    "long-prefetch-off", "(3) with prefetch disabled", EARLY, "pricing_model", "api_docs",
    text=PATHS[2].text, prefetch=False,
)  # fmt: skip


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    provider: str
    paths: tuple[AnswerPath, ...]


SETUPS = (
    Setup("offline", "(a) offline: embedded SmolLM2-135M only", "embedded", PATHS),
    Setup("capable", "(b) capable provider (OpenAI emulator)", "openai", (*PATHS, NO_PREFETCH)),
)


@dataclass(frozen=True)
class Tenant:
    tenant_id: int
    user_id: int


def setup_django(data_dir: str, base_url: str) -> None:
    os.environ.setdefault("SCE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    # The platform OpenAI provider (fit for every capability by default) is the emulator.
    os.environ.update(OPENAI_API_KEY="sk-bench-platform", OPENAI_BASE_URL=base_url)
    import logging

    import django

    django.setup()
    from django.core.management import call_command

    logging.getLogger("httpx2").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)


def tenant_create(provider: str) -> Tenant:
    """A tenant whose conversations route to `provider` alone, with its owner."""
    from providers import services as provider_services
    from providers.interface import Task
    from tenants import services as tenant_services
    from tenants.models import Tenant as TenantModel

    user = tenant_services.user_create(
        email=f"{provider}@bench.example", password=secrets.token_urlsafe(16), name=provider
    )
    tenant = tenant_services.tenant_create(name=f"Bench {provider}", owner=user)
    # No requests-per-minute quota: a round makes more calls a minute than the free plan's 20.
    TenantModel.objects.filter(pk=tenant.pk).update(plan=TenantModel.Plan.ENTERPRISE)
    provider_services.route_set(tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": provider}])
    return Tenant(tenant.pk, user.pk)


def conversation_create(tenant: Tenant, preset: dict[str, Any]) -> int:
    """A Network service interview with `preset` answered (its question not asked yet)."""
    from conversations import services
    from conversations.blueprints.builtin import NETWORK_SERVICE
    from tenants.models import Tenant as TenantModel
    from tenants.models import User

    owner = User.objects.get(pk=tenant.user_id)
    conversation = services.conversation_create(
        tenant=TenantModel.objects.get(pk=tenant.tenant_id), owner=owner, blueprint=NETWORK_SERVICE
    )
    services.answers_apply(conversation=conversation, values=preset)
    return conversation.pk


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class Watch:
    """One turn's moments: the answer read (typed answers), the next question placed on the
    page (empty), and the first frame showing its text."""

    after_message: int  # messages up to this id existed before the answer
    started: float
    read_at: float | None = None
    question_at: float | None = None
    visible_at: float | None = None
    shown_as: str = ""


_watches: dict[int, Watch] = {}


def watch_turns() -> None:
    """Note, for a watched conversation, when its typed answer is read and when each frame
    about its next question is published (Redis has numbered, kept and sent it)."""
    from conversations.interview import frames, turn

    # The turn module calls the name it imported: that is the one to wrap (through the
    # module's namespace: it does not re-export the name).
    namespace = vars(turn)
    publish, understand = frames.publish, namespace["understand"]

    async def read(conversation: Conversation, *args: Any) -> Understood:
        understood: Understood = await understand(conversation, *args)
        if (watch := _watches.get(conversation.pk)) is not None:
            watch.read_at = time.perf_counter()
        return understood

    async def noted(conversation: Conversation, template: str, context: dict[str, Any]) -> int:
        seq = await publish(conversation, template, context)
        watch = _watches.get(conversation.pk)
        message: Message | None = context.get("message")
        if (
            watch is None
            or message is None
            or message.role != "assistant"
            or message.pk <= watch.after_message
        ):
            return seq
        now = time.perf_counter()
        if template.endswith("message_added.html") and watch.question_at is None:
            watch.question_at = now
        shown = template.endswith("tokens.html") or (
            template.endswith("message_replaced.html") and message.state == "done"
        )
        if shown and watch.visible_at is None:
            watch.visible_at = now
            if template.endswith("tokens.html"):
                watch.shown_as = "model's tokens"
            else:
                watch.shown_as = "model's words, whole" if message.provider else "blueprint's words"
        return seq

    frames.publish = noted
    namespace["understand"] = read


@contextlib.contextmanager
def prefetch_disabled() -> Iterator[None]:
    from conversations.interview import asking

    prefetch = asking.prefetch
    asking.prefetch = lambda *args, **kwargs: None
    try:
        yield
    finally:
        asking.prefetch = prefetch


@dataclass
class Turn:
    visible_ms: float
    read_ms: float | None  # None: a chip, read with the answer's database call
    question_ms: float
    calls: int
    shown_as: str
    next_field: str
    understood: bool


def _conversation(tenant: Tenant, conversation_id: int) -> Conversation:
    from conversations import selectors

    conversation = selectors.conversation_for_turn(tenant.tenant_id, conversation_id)
    if conversation is None:
        raise LookupError(f"conversation {conversation_id} is gone")
    return conversation


def _turn_facts(tenant: Tenant, conversation_id: int, asked: str) -> tuple[int, int, str, bool]:
    """Last message id, ProviderLog rows of the conversation, its open question's field and
    whether the asked field is answered."""
    from conversations import selectors
    from providers.models import ProviderLog

    conversation = _conversation(tenant, conversation_id)
    last = selectors.messages_of(conversation).last()
    question = selectors.current_question(conversation)
    rows = ProviderLog.objects.for_tenant(conversation.tenant).filter(
        links__conversation=str(conversation_id)
    )
    return (
        last.pk if last else 0,
        rows.count(),
        question.field_key if question else "",
        asked in conversation.answers,
    )


async def answer_turn(tenant: Tenant, conversation_id: int, path: AnswerPath, limit_seconds: float) -> Turn:
    from conversations.interview import turn
    from core.db import database_sync_to_async

    before, calls_before, _field, _done = await database_sync_to_async(_turn_facts)(
        tenant, conversation_id, path.asked
    )
    watch = _watches[conversation_id] = Watch(after_message=before, started=0.0)
    if path.text is None:
        answer = turn.answer(
            tenant.tenant_id, conversation_id, user_id=tenant.user_id, field=path.asked, value=path.value
        )
    else:
        answer = turn.answer(tenant.tenant_id, conversation_id, user_id=tenant.user_id, text=path.text)
    with prefetch_disabled() if not path.prefetch else contextlib.nullcontext():
        watch.started = time.perf_counter()
        async with asyncio.timeout(limit_seconds):
            await answer
    del _watches[conversation_id]
    _last, calls, next_field, understood = await database_sync_to_async(_turn_facts)(
        tenant, conversation_id, path.asked
    )
    if watch.visible_at is None or watch.question_at is None:
        raise RuntimeError(f"{path.key}: no next question was shown")
    return Turn(
        visible_ms=(watch.visible_at - watch.started) * 1000,
        read_ms=None if watch.read_at is None else (watch.read_at - watch.started) * 1000,
        question_ms=(watch.question_at - watch.started) * 1000,
        calls=calls - calls_before,
        shown_as=watch.shown_as,
        next_field=next_field,
        understood=understood,
    )


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def bare_extraction(tenant: Tenant, conversation_id: int, asked: str, text: str) -> float:
    """One extraction completion as `understanding.understand` asks for it, through the gateway."""
    from conversations.interview import prompts
    from core.db import database_sync_to_async
    from providers import gateway
    from providers.interface import Capability

    conversation = await database_sync_to_async(_conversation)(tenant, conversation_id)
    blueprint = conversation.schema()
    system, messages = prompts.extraction(blueprint, blueprint.field(asked), text)
    request = prompts.gateway_request(
        conversation, tenant.user_id, system, messages,
        json_schema=blueprint.extraction_schema(), json_schema_name="requirements", max_tokens=600,
        needs=frozenset({Capability.EXTRACTION}),
    )  # fmt: skip
    return await timed(lambda: gateway.complete(request))


async def bare_phrasing(tenant: Tenant, conversation_id: int, key: str) -> float:
    """A question's phrasing stream through the gateway until what came asks about its field
    (`asking.on_topic`, where the engine starts showing it); the rest is read, not timed."""
    from conversations.interview import asking
    from core.db import database_sync_to_async
    from providers import gateway
    from providers.interface import ErrorEvent, TokenEvent

    conversation = await database_sync_to_async(_conversation)(tenant, conversation_id)
    asked = conversation.schema().field(key)
    assert asked is not None
    request = asking.phrasing_request(conversation, asked, tenant.user_id)
    started, shown, text = time.perf_counter(), None, ""
    async for event in gateway.stream(request):
        if isinstance(event, ErrorEvent):
            raise RuntimeError(f"the phrasing of {key} failed: {event}")
        if isinstance(event, TokenEvent):
            text += event.text
            if shown is None and asking.on_topic(text, asked):
                shown = time.perf_counter()
    if shown is None:
        raise RuntimeError(f"the phrasing of {key} never asked about it: {text!r}")
    return (shown - started) * 1000


# --- Running ------------------------------------------------------------------------------------


@dataclass
class Series:
    turns: list[Turn] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)  # ms, per repetition
    phrasing: list[float] = field(default_factory=list)  # the next question's, to its '?'
    floor: list[float] = field(default_factory=list)


async def prepare(tenant: Tenant, paths: tuple[AnswerPath, ...], count: int) -> dict[str, list[int]]:
    """`count` conversations per path, each with its asked question on the page."""
    from conversations.interview import turn
    from core.db import database_sync_to_async

    made: dict[str, list[int]] = {}
    for path in paths:
        made[path.key] = [
            await database_sync_to_async(conversation_create)(tenant, path.preset) for _ in range(count)
        ]
    every = [(path, pk) for path in paths for pk in made[path.key]]
    limit = asyncio.Semaphore(8)

    async def ask(pk: int) -> None:
        async with limit:
            await turn.ensure_progress(tenant.tenant_id, pk, user_id=tenant.user_id)

    await asyncio.gather(*(ask(pk) for _path, pk in every))
    for path, pk in every:
        _last, _calls, asked, _done = await database_sync_to_async(_turn_facts)(tenant, pk, path.asked)
        if asked != path.asked:
            raise RuntimeError(f"{path.key}: conversation {pk} asks {asked!r}, not {path.asked!r}")
    return made


async def run_setup(setup: Setup, tenant: Tenant, repeat: int, limit_seconds: float) -> dict[str, Series]:
    """Warm-up round, then `repeat` rounds; each round answers every path once, then makes
    the bare gateway calls of the baselines."""
    from core.db import database_sync_to_async

    conversations = await prepare(tenant, setup.paths, repeat + 1)
    spare = await database_sync_to_async(conversation_create)(tenant, EARLY)
    capable = setup.provider != "embedded"
    long_paths = [path for path in PATHS if path.text and len(path.text.split()) > 4]
    results = {path.key: Series() for path in setup.paths}
    for round_ in range(repeat + 1):
        turns = {}
        for path in setup.paths:
            turns[path.key] = await answer_turn(tenant, conversations[path.key][round_], path, limit_seconds)
        extraction = {
            path.key: await bare_extraction(tenant, spare, path.asked, str(path.text)) for path in long_paths
        }
        phrasing = (
            {key: await bare_phrasing(tenant, spare, key) for key in ("api_docs", "logging_monitoring")}
            if capable
            else {"api_docs": 0.0, "logging_monitoring": 0.0}
        )
        if round_ == 0:
            continue  # the warm-up: SDK clients, templates, prepared statements
        for path in setup.paths:
            read = extraction.get(path.key.removesuffix("-off"), 0.0)
            word = phrasing[path.next_field]
            series = results[path.key]
            series.turns.append(turns[path.key])
            series.phrasing.append(word)
            if path.key == "long-prefetch":
                # The calls overlap: the baseline is the reading; the floor is the longer.
                series.baseline.append(read)
                series.floor.append(max(read, word))
            else:
                series.baseline.append(read + word)
                series.floor.append(read + word)
        print(f"  {setup.key}: round {round_}/{repeat} done", flush=True)
    return results


async def warm_embedded(tenant: Tenant) -> float:
    """Load the embedded model (the first call loads it from disk): its time, in ms."""
    from core.db import database_sync_to_async

    spare = await database_sync_to_async(conversation_create)(tenant, EARLY)
    return await bare_extraction(tenant, spare, "pricing_model", "warming up the model, per user")


async def run_all(args: argparse.Namespace) -> dict[str, dict[str, Series]]:
    from asgiref.sync import sync_to_async

    watch_turns()
    results = {}
    for setup in SETUPS:
        tenant = await sync_to_async(tenant_create)(setup.provider)
        if setup.provider == "embedded":
            print(f"loading the embedded model (first call, not timed): {await warm_embedded(tenant):.0f} ms")
        gc.collect()
        gc.freeze()
        results[setup.key] = await run_setup(setup, tenant, args.repeat, args.timeout)
    return results


# --- Reporting ----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


BASELINES = {
    ("offline", "chip"): "none",
    ("offline", "short"): "none",
    ("offline", "long-prefetch"): "1 embedded extraction",
    ("offline", "long"): "1 embedded extraction",
    ("capable", "chip"): "phrasing, to its '?'",
    ("capable", "short"): "phrasing, to its '?'",
    ("capable", "long-prefetch"): "1 extraction",
    ("capable", "long"): "extraction, then phrasing to its '?'",
    ("capable", "long-prefetch-off"): "extraction, then phrasing to its '?'",
}


def ms(values: list[float]) -> str:
    return f"{percentile(values, 0.5):,.0f}" if values else "n/a"


def report(results: dict[str, dict[str, Series]]) -> None:
    print()
    print(
        "| setup | path | answer → first visible p50 / p90 | answer read p50 | question placed p50 "
        "| baseline: bare gateway calls | baseline p50 / p90 | **added p50** | ratio p50 "
        "| gateway calls per turn | shown as | answer understood |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for setup in SETUPS:
        for path in setup.paths:
            series = results[setup.key][path.key]
            visible = [turn.visible_ms for turn in series.turns]
            read = [turn.read_ms for turn in series.turns if turn.read_ms is not None]
            v50, v90 = percentile(visible, 0.5), percentile(visible, 0.9)
            b50, b90 = percentile(series.baseline, 0.5), percentile(series.baseline, 0.9)
            cells = [
                setup.label.split(":")[0],
                path.label,
                f"{v50:,.0f} / {v90:,.0f} ms",
                f"{ms(read)} ms" if read else "n/a",
                f"{ms([turn.question_ms for turn in series.turns])} ms",
                BASELINES[setup.key, path.key],
                f"{b50:,.0f} / {b90:,.0f} ms" if b50 else "0 calls",
                f"**{v50 - b50:,.0f} ms**",
                f"{v50 / b50:.2f}x" if b50 else "n/a",
                "/".join(map(str, sorted({turn.calls for turn in series.turns}))),
                ", ".join(sorted({turn.shown_as for turn in series.turns})),
                f"{sum(turn.understood for turn in series.turns)}/{len(series.turns)}",
            ]
            print("| " + " | ".join(cells) + " |")
    capable = results["capable"]
    prefetched = capable["long-prefetch"]
    on = [turn.visible_ms for turn in prefetched.turns]
    off = [turn.visible_ms for turn in capable["long-prefetch-off"].turns]
    print(
        f"\n(b)(3): the next question's phrasing alone, to its '?': p50 {ms(prefetched.phrasing)} ms; "
        f"the floor with prefetch (the longer of it and the extraction, per round): "
        f"p50 {ms(prefetched.floor)} ms; first visible "
        f"{percentile(on, 0.5) - percentile(prefetched.floor, 0.5):,.0f} ms after it (p50s)"
    )
    print(
        f"prefetch saves (capable, long typed answer, free-text next question): "
        f"p50 {percentile(off, 0.5) - percentile(on, 0.5):,.0f} ms "
        f"({percentile(off, 0.5):,.0f} → {percentile(on, 0.5):,.0f} ms), "
        f"p90 {percentile(off, 0.9) - percentile(on, 0.9):,.0f} ms "
        f"({percentile(off, 0.9):,.0f} → {percentile(on, 0.9):,.0f} ms)"
    )


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--repeat", type=int, default=8, help="timed rounds per setup (after one warm-up round)"
    )
    parser.add_argument(
        "--first-token-latency", type=float, default=0.4, help="the emulated provider's, seconds"
    )
    parser.add_argument("--tokens-per-second", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a turn may take at most")
    parser.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        serve_emulator(args.first_token_latency, args.tokens_per_second)
        return
    print(machine())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sce-bench-") as data_dir, contextlib.ExitStack() as stack:
        emulator, base_url = start_emulator(args.first_token_latency, args.tokens_per_second)
        stack.callback(emulator.wait, 10)
        stack.callback(emulator.terminate)
        setup_django(data_dir, base_url)
        from django.conf import settings

        from core import embedded_redis, processes

        if settings.EMBEDDED_REDIS:
            redis_process = embedded_redis.start(
                socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR
            )
            stack.callback(processes.stop, redis_process)
        mode = "SQLite" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "PostgreSQL"
        mode += ", embedded Redis" if settings.EMBEDDED_REDIS else ", Redis over TCP"
        print(
            f"mode: {mode}; emulated provider: first token after {args.first_token_latency:g} s, "
            f"{args.tokens_per_second:g} tokens/s; {args.repeat} rounds per setup after one warm-up round"
        )
        results = asyncio.run(run_all(args))
        report(results)
    print(f"\nran in {time.monotonic() - started:.0f} s; {machine()}")


if __name__ == "__main__":
    main()
