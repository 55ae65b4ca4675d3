"""Make (or keep) the big and the small volume tenant, and roll their calls up."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from api.models import ApiKey
from bench.volume import api_requests, drafts, interviews, people, provider_logs
from bench.volume.spec import BIG, SMALL, Spec
from conversations.models import Conversation, Message
from providers.models import LogState, ProviderLog, ProviderMetric
from tenants.models import Membership, Tenant, User
from workflows.models import Workflow, WorkflowVersion

SLUGS = {"big": "volume-big", "small": "volume-small"}


@dataclass(frozen=True)
class VolumeTenant:
    label: str  # "big" or "small"
    tenant: Tenant
    owner: User
    spec: Spec


@dataclass(frozen=True)
class Shape:
    """What a volume tenant holds, counted from the database."""

    conversations: int
    messages: int
    workflows: int
    versions: int
    log_rows: int
    metric_rows: int
    metric_requests: int  # the calls the per-minute metrics count
    members: int
    api_keys: int

    def fits(self, spec: Spec) -> bool:
        """Whether this is the volume `spec` asks for."""
        return (self.conversations, self.workflows, self.log_rows, self.members) == (
            spec.conversations,
            spec.workflows,
            spec.log_rows,
            spec.members + 1,
        )


def shape_of(tenant: Tenant) -> Shape:
    metric_rows = ProviderMetric.objects.filter(tenant=tenant)
    return Shape(
        conversations=Conversation.objects.for_tenant(tenant).count(),
        messages=Message.objects.for_tenant(tenant).count(),
        workflows=Workflow.objects.for_tenant(tenant).count(),
        versions=WorkflowVersion.objects.for_tenant(tenant).count(),
        log_rows=ProviderLog.objects.for_tenant(tenant).count(),
        metric_rows=metric_rows.count(),
        metric_requests=metric_rows.aggregate(total=Sum("requests"))["total"] or 0,
        members=Membership.objects.for_tenant(tenant).count(),
        api_keys=ApiKey.objects.for_tenant(tenant).count(),
    )


def finished_calls(tenant: Tenant) -> int:
    """The calls the rollup counts (it leaves pending ones out)."""
    return ProviderLog.objects.for_tenant(tenant).exclude(state=LogState.PENDING).count()


def _complete(tenant: Tenant, spec: Spec) -> bool:
    """Whether the tenant holds the volume `spec` asks for, its calls all rolled up."""
    shape = shape_of(tenant)
    return shape.fits(spec) and shape.metric_requests == finished_calls(tenant)


def drop(slug: str) -> None:
    """Delete a volume tenant and its users (a bench's own data: no service deletes tenants)."""
    Tenant.objects.filter(slug=slug).delete()
    User.objects.filter(email__endswith=f"@{people.email_domain(slug)}").delete()


def build(slug: str, spec: Spec, *, seed: int, report: Callable[[str], None]) -> provider_logs.LogContext:
    """The tenant `slug` with everything `spec` counts but its calls, made afresh; returns
    what its calls are to be made of."""
    rng = random.Random(f"{seed}:{slug}")  # reproducible data, not secrets
    started = time.monotonic()
    made = people.tenant_with_people(slug=slug, spec=spec, rng=rng)
    tenant = made.tenant
    users = [membership.user for membership in Membership.objects.for_tenant(tenant).select_related("user")]
    conversation_ids = interviews.add_conversations(
        tenant=tenant, users=users, count=spec.conversations, days=spec.days, rng=rng
    )
    workflow_ids = drafts.add_workflows(
        tenant=tenant, users=users, count=spec.workflows, days=spec.days, rng=rng
    )
    api_requests.add_api_requests(tenant=tenant)
    report(
        f"  {slug}: {len(conversation_ids)} conversations, {len(workflow_ids)} workflows"
        f" ({time.monotonic() - started:.0f} s)"
    )
    return provider_logs.LogContext(
        tenant=tenant,
        count=spec.log_rows,
        days=spec.days,
        rng=rng,
        user_ids=[user.pk for user in users],
        conversation_ids=conversation_ids,
        workflow_ids=workflow_ids,
        api_key_prefixes=made.api_key_prefixes,
    )


def ensure_volumes(
    *, scale: float = 1.0, reuse: bool = False, seed: int = 17, report: Callable[[str], None] = print
) -> list[VolumeTenant]:
    """The big and the small tenant at `scale`, and the per-minute metrics the app's rollup
    makes of their calls.

    With `reuse`, tenants that already hold the volume are kept, their calls moved forward to
    end now. Otherwise both are made afresh: their calls are written together, in the order
    they started (see provider_logs.add_logs), so one cannot be remade without the other.
    """
    specs = {"big": BIG.scaled(scale), "small": SMALL.scaled(scale)}
    existing = {label: Tenant.objects.filter(slug=SLUGS[label]).first() for label in specs}
    tenants = {label: tenant for label, tenant in existing.items() if tenant is not None}
    if (
        reuse
        and len(tenants) == len(specs)
        and all(_complete(tenants[label], specs[label]) for label in specs)
    ):
        for tenant in tenants.values():
            report(f"  {tenant.slug}: kept")
        since = provider_logs.first_call(list(tenants.values()))
        shift = provider_logs.bring_forward(list(tenants.values()))
        if shift and since is not None:
            report(f"  their calls moved forward by {shift}")
            _rollup(since, report)
    else:
        started = time.monotonic()
        for slug in SLUGS.values():
            drop(slug)
        contexts = [build(SLUGS[label], spec, seed=seed, report=report) for label, spec in specs.items()]
        tenants = {label: context.tenant for label, context in zip(specs, contexts, strict=True)}
        rows = provider_logs.add_logs(contexts)
        report(f"  {rows} log rows ({time.monotonic() - started:.0f} s)")
        since = provider_logs.first_call(list(tenants.values()))
        if since is not None:
            _rollup(since, report)
    return [
        VolumeTenant(
            label=label,
            tenant=tenant,
            owner=User.objects.get(email=f"owner@{people.email_domain(tenant.slug)}"),
            spec=specs[label],
        )
        for label, tenant in tenants.items()
    ]


def _rollup(since: datetime, report: Callable[[str], None]) -> None:
    started = time.monotonic()
    rows = provider_logs.rollup_days(since=since, until=timezone.now() + timedelta(minutes=1))
    report(f"  rollup: {rows} per-minute metric rows ({time.monotonic() - started:.0f} s)")
    _settle()


def _settle() -> None:
    """Vacuum and analyze what was just written, as autovacuum would shortly: measured right
    after a bulk write, the planner has no statistics and every row's visibility is unknown
    (counts read the table, not the index). Not inside a transaction (the tests')."""
    if connection.in_atomic_block:
        return
    tables = [ProviderLog._meta.db_table, ProviderMetric._meta.db_table]
    tables += [Conversation._meta.db_table, Message._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        else:
            cursor.execute("ANALYZE")
