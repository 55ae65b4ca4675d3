"""Reads for the gateway's portal pages, always for one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from providers import breaker
from providers.interface import Capability, Task
from providers.kinds import EMBEDDINGS_ONLY_KINDS, capabilities_of, credential_breaker_key
from providers.metrics import CHARGED_STATES, CallFigures, ProviderStats, call_figures_by_hour, provider_stats
from providers.models import GatewaySettings, ProviderCredential, ProviderLog, TaskRoute
from providers.routing import limits_for, platform_providers
from tenants.models import Tenant


def credentials_of_tenant(*, tenant: Tenant) -> QuerySet[ProviderCredential]:
    return ProviderCredential.objects.for_tenant(tenant).order_by("name")


def routes_of_tenant(*, tenant: Tenant) -> dict[Task, list[dict[str, str]]]:
    routes = {Task(route.task): list(route.targets) for route in TaskRoute.objects.for_tenant(tenant)}
    return {task: routes.get(task, []) for task in Task}


def gateway_settings_of(*, tenant: Tenant) -> GatewaySettings | None:
    return GatewaySettings.objects.for_tenant(tenant).first()


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    kind: str
    default_model: str
    platform: bool
    breaker: str
    credential: ProviderCredential | None = None
    # What its model is declared fit for (providers.interface.Capability), in words, in a fixed order.
    capabilities: tuple[str, ...] = ()

    @property
    def embeddings_only(self) -> bool:
        """Whether it only embeds (Voyage): never routed a completion, so not offered in "Try it"."""
        return self.kind in EMBEDDINGS_ONLY_KINDS


def _breaker_state(key: str) -> str:
    try:
        return breaker.status(key).state.value
    except RedisError:
        return "unknown"


def _in_order(capabilities: frozenset[Capability]) -> tuple[str, ...]:
    return tuple(
        capability.value.replace("_", " ") for capability in Capability if capability in capabilities
    )


def provider_statuses(*, tenant: Tenant) -> list[ProviderStatus]:
    """The providers a tenant can route to: its credentials, then the platform's."""
    statuses = [
        ProviderStatus(
            name=credential.name,
            kind=credential.kind,
            default_model=credential.default_model,
            platform=False,
            breaker=_breaker_state(credential_breaker_key(credential.pk)),
            credential=credential,
            capabilities=_in_order(capabilities_of(credential.kind, credential.capabilities)),
        )
        for credential in credentials_of_tenant(tenant=tenant)
    ]
    own = {status.name for status in statuses}
    for name, config in platform_providers().items():
        if name not in own:
            statuses.append(
                ProviderStatus(
                    name=name,
                    kind=config.kind,
                    default_model=config.default_model,
                    platform=True,
                    breaker=_breaker_state(config.breaker_key),
                    capabilities=_in_order(config.capabilities),
                )
            )
    return statuses


def calls_since(*, tenant: Tenant | None, since: datetime) -> QuerySet[ProviderLog]:
    """Every log row started at or after `since`, in any state: the one selection behind the
    Usage page's figures, the Logs page's count for a window and `provider stats`.

    `tenant=None` selects the platform's own calls (the operators' CLI), which belong to no
    tenant. There is no upper bound: a call cannot start later than now, and one written by a
    process whose clock is a little ahead must still be counted.
    """
    logs = ProviderLog.objects.for_platform() if tenant is None else ProviderLog.objects.for_tenant(tenant)
    return logs.filter(started_at__gte=since)


# What a row of the Logs page shows: the stored prompt, reply and links (most of a row's
# bytes) stay in the table.
_LOG_LIST_FIELDS = (
    "started_at", "provider", "fallback_from", "model", "task", "state", "error_code",
    "input_tokens", "output_tokens", "usage_estimated", "cost_usd", "duration_ms",
)  # fmt: skip


def logs_of_tenant(
    *, tenant: Tenant, filters: dict[str, Any], window: UsageWindow | None = None
) -> QuerySet[ProviderLog]:
    """The tenant's log rows, newest first, narrowed by the Logs page's filters and, when
    given, to a Usage window (so the page counts the same calls as the Usage page).

    Only the columns the list shows are loaded; each filter has an index of its own on
    (tenant, filter, started_at, id), so a page of them reads a page of index entries.
    """
    logs = (
        calls_since(tenant=tenant, since=window.since)
        if window is not None
        else ProviderLog.objects.for_tenant(tenant)
    ).only(*_LOG_LIST_FIELDS)
    if filters.get("provider"):
        logs = logs.filter(provider=filters["provider"])
    if filters.get("state"):
        logs = logs.filter(state=filters["state"])
    if filters.get("task"):
        logs = logs.filter(task=filters["task"])
    if isinstance(filters.get("since"), date):
        logs = logs.filter(
            started_at__gte=datetime.combine(
                filters["since"], time.min, tzinfo=timezone.get_current_timezone()
            )
        )
    if isinstance(filters.get("until"), date):
        end = datetime.combine(
            filters["until"], time.min, tzinfo=timezone.get_current_timezone()
        ) + timedelta(days=1)
        logs = logs.filter(started_at__lt=end)
    return logs.order_by("-started_at", "-pk")


@dataclass(frozen=True)
class LogCursor:
    """A place in the Logs page's order: the row (started_at, id) a page starts after."""

    started_at: datetime
    id: int

    @classmethod
    def of(cls, entry: ProviderLog) -> LogCursor:
        return cls(started_at=entry.started_at, id=entry.pk)

    @classmethod
    def parse(cls, token: str) -> LogCursor:
        """The cursor `token()` wrote; raises ValueError for anything else."""
        micros, _, row_id = token.partition(".")
        if not (micros.isdigit() and row_id.isdigit()) or len(micros) > 18 or len(row_id) > 18:
            raise ValueError(token)
        return cls(started_at=_EPOCH + timedelta(microseconds=int(micros)), id=int(row_id))

    def token(self) -> str:
        # Whole microseconds since the epoch: exact, unlike a float timestamp, and URL-safe.
        return f"{(self.started_at - _EPOCH) // timedelta(microseconds=1)}.{self.id}"


@dataclass(frozen=True)
class LogPage:
    """One page of log rows, newest first, and where the pages beside it start (None: none)."""

    rows: list[ProviderLog]
    newer: LogCursor | None
    older: LogCursor | None


def log_page(
    logs: QuerySet[ProviderLog],
    *,
    before: LogCursor | None = None,
    after: LogCursor | None = None,
    size: int = 50,
) -> LogPage:
    """The `size` rows of `logs` (ordered as `logs_of_tenant` orders them) just older than
    `before`, just newer than `after`, or the newest ones.

    Keyset pagination: each page is one index range read however deep it is, where an
    OFFSET would read and skip every row before it. The redundant bound on started_at alone
    is what lets the database start the index scan at the cursor.
    """
    if after is not None:
        newer_rows = list(
            logs.filter(started_at__gte=after.started_at)
            .filter(Q(started_at__gt=after.started_at) | Q(started_at=after.started_at, pk__gt=after.id))
            .order_by("started_at", "pk")[: size + 1]
        )
        if newer_rows:
            rows = newer_rows[:size][::-1]
            more = len(newer_rows) > size
            return LogPage(
                rows=rows, newer=LogCursor.of(rows[0]) if more else None, older=LogCursor.of(rows[-1])
            )
        before = None  # Nothing is newer (any more): the newest page.
    if before is not None:
        logs = logs.filter(started_at__lte=before.started_at).filter(
            Q(started_at__lt=before.started_at) | Q(started_at=before.started_at, pk__lt=before.id)
        )
    found = list(logs[: size + 1])
    rows = found[:size]
    newer = None if before is None else (LogCursor.of(rows[0]) if rows else before)
    return LogPage(rows=rows, newer=newer, older=LogCursor.of(rows[-1]) if len(found) > size else None)


# Past this many, the Logs page says "more than" rather than count every matching row.
LOG_COUNT_LIMIT = 1000


def log_count(logs: QuerySet[ProviderLog], *, exact: bool) -> tuple[int, bool]:
    """How many rows `logs` holds, and whether there are more than that.

    Exact when asked (a Usage window's calls, which the Usage page counts too, bounded by
    the window); otherwise counted up to LOG_COUNT_LIMIT, a bounded index range.
    """
    if exact:
        return logs.order_by().count(), False
    counted = logs.order_by()[: LOG_COUNT_LIMIT + 1].count()
    return min(counted, LOG_COUNT_LIMIT), counted > LOG_COUNT_LIMIT


def log_providers_of_tenant(*, tenant: Tenant) -> list[str]:
    """The provider names in the tenant's log rows, sorted.

    A loose index scan on (tenant, provider, …): one index probe per name found, however
    many rows each has. `DISTINCT` would read every row (the database has no skip scan).
    """
    table = connection.ops.quote_name(ProviderLog._meta.db_table)
    sql = f"""
        WITH RECURSIVE names(provider) AS (
            SELECT MIN(provider) FROM {table} WHERE tenant_id = %s
            UNION ALL
            SELECT (SELECT MIN(provider) FROM {table} WHERE tenant_id = %s AND provider > names.provider)
            FROM names WHERE names.provider IS NOT NULL
        )
        SELECT provider FROM names WHERE provider IS NOT NULL
    """  # noqa: S608 - the table name is the model's own, never input.
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant.pk, tenant.pk])
        return sorted(row[0] for row in cursor.fetchall())


# Each window's span and the width of its chart's buckets.
USAGE_WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class UsageWindow:
    """The last `name` (24h, 7d, 30d): calls started at or after `since`, charted in buckets
    of `step` aligned in UTC (hours, 6-hour quarters of a day, days), the last one holding now."""

    name: str
    since: datetime
    step: timedelta
    starts: tuple[datetime, ...]


def usage_window(name: str, *, now: datetime | None = None) -> UsageWindow:
    """The window called `name`, ending now; raises KeyError for an unknown name."""
    span, step = USAGE_WINDOWS[name]
    now = now or timezone.now()
    since = now - span
    first = _EPOCH + ((since - _EPOCH) // step) * step
    count = (now - first) // step + 1
    return UsageWindow(
        name=name, since=since, step=step, starts=tuple(first + step * index for index in range(count))
    )


@dataclass(frozen=True)
class UsagePoint:
    start: datetime
    figures: CallFigures


def usage_series(*, tenant: Tenant, window: UsageWindow) -> list[UsagePoint]:
    """The tenant's calls in `window`, summed per bucket, oldest first.

    Read from the log rows themselves, pending ones included, so that the buckets add up to
    what the Logs page lists for the same window, the moment a call is written.
    """
    points = [UsagePoint(start=start, figures=CallFigures()) for start in window.starts]
    first = window.starts[0]
    for hour, figures in call_figures_by_hour(calls_since(tenant=tenant, since=window.since)).items():
        # A row from a process whose clock runs a little ahead still lands in the last bucket.
        index = min(max(int((hour - first) // window.step), 0), len(points) - 1)
        points[index].figures.add(figures)
    return points


def unpriced_models(*, tenant: Tenant, window: UsageWindow, limit: int = 3) -> list[str]:
    """Models of the window's charged calls that have no recorded price (counted at $0)."""
    rows = calls_since(tenant=tenant, since=window.since).filter(state__in=CHARGED_STATES, price_version="")
    return list(rows.order_by("model").values_list("model", flat=True).distinct()[:limit])


def stats_since(*, tenant: Tenant | None, since: datetime) -> list[ProviderStats]:
    """Per-provider figures of the calls since `since` (tenant None: the platform's)."""
    return provider_stats(calls_since(tenant=tenant, since=since))


def month_spend(*, tenant: Tenant) -> dict[str, Any]:
    """This month's usage against the tenant's limits, for the Usage page."""
    from providers import quotas

    limits = limits_for(tenant, gateway_settings_of(tenant=tenant))
    try:
        usage: quotas.MonthUsage | None = quotas.month_usage(tenant_id=tenant.pk)
    except RedisError:
        usage = None
    return {"limits": limits, "usage": usage}
