"""Reads of generations, always scoped to a tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from codegen import quotas
from codegen.models import FileVersion, GeneratedFile, Generation, GenerationEvent, TestResult, TestRun
from conversations.models import Conversation
from tenants.models import Tenant


def generations_of_tenant(tenant: Tenant) -> QuerySet[Generation]:
    return Generation.objects.for_tenant(tenant).select_related("conversation", "created_by")


def recent_generations_of_tenant(*, tenant: Tenant, limit: int) -> list[Generation]:
    """The tenant's `limit` newest generations, with only what a summary line shows (the
    requirements, plan and workflow they carry are left in the database)."""
    return list(
        Generation.objects.for_tenant(tenant)
        .only("pk", "tenant", "title", "state", "created_at")
        .order_by("-created_at", "-pk")[:limit]
    )


def generations_of_conversation(conversation: Conversation) -> QuerySet[Generation]:
    return Generation.objects.for_tenant(conversation.tenant).filter(conversation=conversation)


def generation_of_tenant(tenant: Tenant, generation_id: int) -> Generation | None:
    return (
        Generation.objects.for_tenant(tenant)
        .select_related("tenant", "conversation", "workflow_version", "created_by")
        .filter(pk=generation_id)
        .first()
    )


def files_of(generation: Generation) -> QuerySet[GeneratedFile]:
    return GeneratedFile.objects.for_tenant(generation.tenant).filter(generation=generation)


def file_of(generation: Generation, path: str) -> GeneratedFile | None:
    return files_of(generation).filter(path=path).first()


def versions_of(file: GeneratedFile) -> QuerySet[FileVersion]:
    return FileVersion.objects.for_tenant(file.tenant).filter(file=file)


def latest_versions(generation: Generation) -> dict[str, FileVersion]:
    """Each file's latest version, by path (one query)."""
    versions = (
        FileVersion.objects.for_tenant(generation.tenant)
        .filter(file__generation=generation)
        .select_related("file")
        .order_by("file_id", "number")
    )
    return {version.file.path: version for version in versions}


def last_test_run(generation: Generation) -> TestRun | None:
    return (
        TestRun.objects.for_tenant(generation.tenant)
        .filter(generation=generation)
        .order_by("-number")
        .first()
    )


def results_of(run: TestRun) -> QuerySet[TestResult]:
    return TestResult.objects.for_tenant(run.tenant).filter(run=run)


def events_of(generation: Generation, *, after: int = 0) -> QuerySet[GenerationEvent]:
    return GenerationEvent.objects.for_tenant(generation.tenant).filter(generation=generation, pk__gt=after)


def quota_status(tenant: Tenant) -> quotas.QuotaStatus:
    month = quotas.current_month()
    used = Generation.objects.for_tenant(tenant).filter(quota_month=month, quota_counted=True).count()
    return quotas.QuotaStatus(month=month, used=used, limit=quotas.monthly_limit(tenant))
