"""A volume tenant's gateway calls: ProviderLog rows as the gateway leaves them, and the
per-minute metrics the app's own rollup (providers.metrics.rollup) makes from them.

Rows are written in bulk — the gateway writes one row per call through its group-commit
writer, and 300,000 real calls would take hours — but each is built the gateway's way: the
pending row from `providers.logs.pending_row` (its request record, links, provider, model),
closed with every column the gateway's closing writes (`providers.logs.CLOSING_COLUMNS`):
state, attempts, tokens, cost at the model's recorded price (`providers.pricing`), the
latency, the gateway's overhead, the error and the stored reply. A failed call is followed,
as routing does, by the next provider under the same request id (`fallback_from`). All
tenants' rows go in in the order the calls started, so the table's physical order is a
production table's (a tenant's day of calls spread among everyone else's).
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, Min
from django.utils import timezone

from providers import metrics
from providers.errors import ErrorCode
from providers.interface import GatewayRequest, Message, Task
from providers.logs import CLOSING_COLUMNS, LogOpening, pending_row
from providers.models import LogState, ProviderLog
from providers.pricing import PriceTable, lookup, price_table
from tenants.models import Tenant


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str
    models: tuple[str, ...]
    weight: int
    ms_per_token: tuple[int, int]


# The tenant's own keys (bench.volume.people.CREDENTIALS) and the platform's providers.
PROVIDERS = [
    Provider("team-anthropic", "anthropic", ("claude-sonnet-5-5", "claude-haiku-5-5"), 40, (8, 20)),
    Provider("anthropic", "anthropic", ("claude-sonnet-5-5",), 12, (8, 20)),
    Provider("team-openai", "openai", ("gpt-6-sol", "gpt-6-luna"), 18, (6, 18)),
    Provider("openai", "openai", ("gpt-6-sol",), 5, (6, 18)),
    Provider("embedded", "embedded", ("smollm2-135m-instruct",), 15, (20, 60)),
    Provider("local-llama", "openai_compatible", ("llama-3.1-8b-instruct",), 10, (12, 30)),
]
TASKS = [
    (Task.CONVERSATION, 55),
    (Task.WORKFLOW, 10),
    (Task.CODEGEN, 8),
    (Task.DOCS, 4),
    (Task.TESTS, 4),
    (Task.API, 14),
    (Task.RUN, 5),
]
FAILURES = [
    (ErrorCode.RATE_LIMITED, "the provider is rate limiting this key", 40),
    (ErrorCode.TIMEOUT, "did not answer in time", 20),
    (ErrorCode.OVERLOADED, "the provider is overloaded", 15),
    (ErrorCode.SERVER_ERROR, "the provider failed: 500", 15),
    (ErrorCode.CIRCUIT_OPEN, "is failing; a probe is let through in 24s", 7),
    (ErrorCode.BUDGET_EXCEEDED, "the monthly token budget is spent", 3),
]
SYSTEM_PROMPTS = {
    Task.CONVERSATION: "You interview a telecom operator about the service they want built. "
    "Ask one question at a time, in plain words, and offer the options given. " * 6,
    Task.WORKFLOW: "You design workflows in SCE's workflow DSL. Answer with one JSON document "
    "that follows the schema: nodes, edges, variables, triggers and an error policy. " * 8,
    Task.CODEGEN: "You write one file of a Python FastAPI service from its plan. Answer with "
    "the file's content only, typed, tested, with no placeholder left. " * 8,
    Task.API: "You are a helpful assistant.",
}
QUESTIONS = [
    "Which kind of network service do you want to offer?",
    "Which vendor's products should the service run on?",
    "How should customers be billed for the service?",
    "Summarise the requirements below as a list of steps.",
    "Write the handler for POST /orders with validation of the body.",
]
REPLY = "Thanks — noted. Next, tell me which regions the service must run in and who operates it. "
PENDING_ROWS = 3  # calls still running at the moment the volume is made
HOURS = [(hour, 3 if 8 <= hour < 19 else 1) for hour in range(24)]  # UTC; working hours busier


def _weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    return rng.choices([choice for choice, _ in choices], weights=[weight for _, weight in choices])[0]


def _moment(rng: random.Random, now: datetime, days: int) -> datetime:
    """A start time within the last `days` days, busier in working hours (UTC), as traffic is."""
    day = rng.randrange(days)
    hour = _weighted(rng, HOURS)
    start = (now - timedelta(days=day)).replace(hour=hour, minute=0, second=0, microsecond=0)
    moment = start + timedelta(seconds=rng.uniform(0, 3600))
    if moment > now - timedelta(minutes=PENDING_ROWS + 2):  # the last minutes hold the running calls
        moment -= timedelta(days=1)
    return moment


@dataclass
class LogContext:
    """A tenant's calls to make: how many, over how many days, and what they link to."""

    tenant: Tenant
    count: int
    days: int
    rng: random.Random
    user_ids: list[int]
    conversation_ids: list[int]
    workflow_ids: list[int]
    api_key_prefixes: list[str]


def _links(task: Task, context: LogContext, rng: random.Random) -> dict[str, str]:
    if task == Task.CONVERSATION and context.conversation_ids:
        return {"conversation": str(rng.choice(context.conversation_ids))}
    if task == Task.WORKFLOW and context.workflow_ids:
        links = {"workflow": str(rng.choice(context.workflow_ids))}
        if context.conversation_ids:
            links["conversation"] = str(rng.choice(context.conversation_ids))
        return links
    if task in (Task.CODEGEN, Task.DOCS, Task.TESTS):
        return {"generation": str(rng.randint(1, 400)), "file": "app/main.py"}
    if task == Task.API and context.api_key_prefixes:
        return {"api_key": rng.choice(context.api_key_prefixes)}
    if task == Task.RUN:
        return {"run": str(rng.randint(1, 2_000)), "node": f"n{rng.randint(1, 24)}"}
    return {}


def _opening(
    task: Task, provider: Provider, model: str, request_id: str, context: LogContext, rng: random.Random
) -> LogOpening:
    portal = task in (Task.CONVERSATION, Task.WORKFLOW)
    request = GatewayRequest(
        task=task,
        messages=(Message(role="user", content=rng.choice(QUESTIONS) * rng.randint(1, 4)),),
        tenant_id=context.tenant.pk,
        user_id=rng.choice(context.user_ids) if portal else None,
        system=SYSTEM_PROMPTS.get(task, SYSTEM_PROMPTS[Task.CODEGEN]),
        max_tokens=4096 if task in (Task.WORKFLOW, Task.CODEGEN) else 1024,
        links=_links(task, context, rng),
    )
    return LogOpening(
        request=request,
        request_id=request_id,
        provider=provider.name,
        kind=provider.kind,
        model=model,
        streamed=task in (Task.CONVERSATION, Task.API) and rng.random() < 0.8,
        store_content=True,
    )


def _closed(
    row: ProviderLog, state: LogState, provider: Provider, prices: PriceTable, rng: random.Random
) -> ProviderLog:
    """The row as the gateway's closing leaves it (every column of CLOSING_COLUMNS)."""
    started = row.started_at
    values: dict[str, Any]
    if state == LogState.FAILED:
        code, message, _ = _weighted(rng, [(failure, failure[2]) for failure in FAILURES])
        refused = code in (ErrorCode.CIRCUIT_OPEN, ErrorCode.BUDGET_EXCEEDED)
        duration = (
            0
            if refused
            else (30_000 + rng.randint(0, 2_000) if code == ErrorCode.TIMEOUT else rng.randint(80, 900))
        )
        values = {
            "state": state, "attempts": 0 if refused else rng.randint(1, 3), "input_tokens": 0,
            "output_tokens": 0, "usage_estimated": False, "cost_usd": Decimal(0), "price_version": "",
            "first_token_at": None, "duration_ms": duration, "gateway_overhead_ms": None,
            "error_code": code.value, "error_message": f"{provider.name} {message}", "response_json": None,
        }  # fmt: skip
    else:
        input_tokens = rng.randint(150, 4_000)
        output_tokens = rng.randint(10, 1_200) if state == LogState.COMPLETED else rng.randint(1, 200)
        first_token_ms = rng.randint(180, 1_500)
        duration = first_token_ms + output_tokens * rng.randint(*provider.ms_per_token)
        price = lookup(prices, provider.kind, row.model)
        estimated = provider.kind == "openai_compatible" and row.streamed and rng.random() < 0.3
        values = {
            "state": state, "attempts": 1, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "usage_estimated": estimated, "cost_usd": price.cost_usd(input_tokens, output_tokens),
            "price_version": price.version,
            "first_token_at": started + timedelta(milliseconds=first_token_ms) if row.streamed else None,
            "duration_ms": duration, "gateway_overhead_ms": round(rng.uniform(1.2, 9.0), 3),
            "error_code": "" if state == LogState.COMPLETED else ErrorCode.CANCELLED.value
            if state == LogState.CANCELLED else ErrorCode.CONNECTION.value,
            "error_message": "" if state == LogState.COMPLETED else "the stream ended early",
            "response_json": {"text": REPLY * max(1, output_tokens // 60), "finish_reason": "end_turn"},
        }  # fmt: skip
    values["finished_at"] = started + timedelta(milliseconds=values["duration_ms"])
    if set(values) != set(CLOSING_COLUMNS):  # the gateway's closing changed: follow it here
        raise RuntimeError(f"closing columns differ: {sorted(set(values) ^ set(CLOSING_COLUMNS))}")
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _request_rows(
    context: LogContext, prices: PriceTable, rng: random.Random, started: datetime
) -> list[ProviderLog]:
    """The rows of one request: one per provider tried, the failed ones falling back."""
    task = _weighted(rng, TASKS)
    request_id = f"req_{uuid.UUID(int=rng.getrandbits(128)).hex}"
    rows: list[ProviderLog] = []
    fallback_from = ""
    providers = [(provider, provider.weight) for provider in PROVIDERS]
    while True:
        provider = _weighted(rng, providers)
        opening = _opening(task, provider, rng.choice(provider.models), request_id, context, rng)
        row = pending_row(opening)
        row.fallback_from = fallback_from
        row.started_at = started
        state = _weighted(
            rng,
            [
                (LogState.COMPLETED, 920),
                (LogState.FAILED, 50),
                (LogState.FAILED_PARTIAL, 15),
                (LogState.CANCELLED, 15),
            ],
        )
        rows.append(_closed(row, state, provider, prices, rng))
        if state != LogState.FAILED or len(rows) == 3 or rng.random() < 0.3:
            return rows
        fallback_from = provider.name
        providers = [(other, weight) for other, weight in providers if other is not provider]
        started = (row.finished_at or started) + timedelta(milliseconds=rng.randint(1, 40))


def _rows_in_time_order(context: LogContext, prices: PriceTable, now: datetime) -> Iterator[ProviderLog]:
    """The tenant's `count` rows by start time: a request's fallback takes the next row's place,
    and the last few are calls still running (none of a handful)."""
    rng = context.rng
    pending = min(PENDING_ROWS, context.count // 10)
    moments = sorted(_moment(rng, now, context.days) for _ in range(context.count - pending))
    index = 0
    while index < len(moments):
        rows = _request_rows(context, prices, rng, moments[index])[: len(moments) - index]
        index += len(rows)
        yield from rows
    for index in range(pending):
        provider = PROVIDERS[0]
        request_id = f"req_{uuid.UUID(int=rng.getrandbits(128)).hex}"
        row = pending_row(_opening(Task.CONVERSATION, provider, provider.models[0], request_id, context, rng))
        row.started_at = now - timedelta(seconds=20 * (pending - index))
        yield row


def add_logs(contexts: list[LogContext]) -> int:
    """The tenants' calls, written in the order they started across all tenants, as the gateway
    writes them: a time range of one tenant's calls is spread over the table as in production,
    not packed together. Returns the rows written."""
    now = timezone.now()
    prices = price_table()  # read once: the test settings do not cache it
    streams = [_rows_in_time_order(context, prices, now) for context in contexts]
    batch: list[ProviderLog] = []
    written = 0
    for row in heapq.merge(*streams, key=lambda row: row.started_at):
        batch.append(row)
        if len(batch) == 5_000:
            written += _insert(batch)
            batch = []
    return written + _insert(batch)


def _insert(rows: list[ProviderLog]) -> int:
    # Rows of several tenants in one statement, each row carrying its own tenant.
    ProviderLog.objects.dangerously_unscoped().bulk_create(rows, batch_size=1_000)
    return len(rows)


def rollup_days(*, since: datetime, until: datetime) -> int:
    """The app's per-minute rollup over [since, until), a day at a time as its periodic task
    goes a few minutes at a time; returns the metric rows written."""
    written = 0
    start = since
    while start < until:
        end = min(start + timedelta(days=1), until)
        written += metrics.rollup(since=start, until=end)
        start = end
    return written


def first_call(tenants: list[Tenant]) -> datetime | None:
    """When the earliest call of the tenants started."""
    logs = ProviderLog.objects.dangerously_unscoped().filter(tenant__in=tenants)
    first: datetime | None = logs.aggregate(first=Min("started_at"))["first"]
    return first


def bring_forward(tenants: list[Tenant]) -> timedelta:
    """Move the tenants' calls forward so the newest started a moment ago: a reused volume
    would otherwise age out of the Usage page's windows. Whole minutes, so each row keeps its
    place within its minute; the caller rolls the minutes up again."""
    logs = ProviderLog.objects.dangerously_unscoped().filter(tenant__in=tenants)
    last = logs.aggregate(last=Max("started_at"))["last"]
    if last is None:
        return timedelta(0)
    shift = timedelta(minutes=int((timezone.now() - last).total_seconds() // 60))
    # Within the hour the windows barely change; moving rewrites every row (dead tuples to vacuum).
    if shift < timedelta(hours=1):
        return timedelta(0)
    logs.update(
        started_at=F("started_at") + shift,
        first_token_at=F("first_token_at") + shift,
        finished_at=F("finished_at") + shift,
    )
    return shift
