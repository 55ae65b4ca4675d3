"""Reads of workflows, always within one tenant."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from tenants.models import Tenant
from workflows.analysis.validation import WorkflowAnalysis, validate_workflow
from workflows.compiler import CompiledWorkflow, compile_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import Workflow, WorkflowChange, WorkflowVersion


def workflows_of_tenant(*, tenant: Tenant, query: str = "") -> QuerySet[Workflow]:
    workflows = Workflow.objects.for_tenant(tenant).select_related("created_by")
    if query:
        workflows = workflows.filter(Q(name__icontains=query))
    return workflows.defer("document")


def recent_workflows_of_tenant(*, tenant: Tenant, limit: int) -> list[Workflow]:
    """The tenant's `limit` most recently changed workflows, without their drafts."""
    return list(Workflow.objects.for_tenant(tenant).defer("document").order_by("-updated_at", "-pk")[:limit])


def workflow_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """(uuid, name) of the tenant's workflows by name: what subflows and compensation may run."""
    rows = Workflow.objects.for_tenant(tenant).order_by("name", "pk").values_list("uuid", "name")
    return [(str(workflow_uuid), name) for workflow_uuid, name in rows]


def workflow_by_uuid(*, tenant: Tenant, workflow_uuid: uuid.UUID) -> Workflow | None:
    return Workflow.objects.for_tenant(tenant).filter(uuid=workflow_uuid).first()


def known_workflow_ids(tenant: Tenant) -> set[str]:
    """The ids subflows and compensation may name: the tenant's workflows."""
    return {str(value) for value in Workflow.objects.for_tenant(tenant).values_list("uuid", flat=True)}


def analysis_of(workflow: Workflow) -> WorkflowAnalysis:
    return validate_workflow(workflow.document, known_workflow_ids=known_workflow_ids(workflow.tenant))


def validated(tenant: Tenant, document: WorkflowDocument) -> WorkflowAnalysis:
    """Every finding in a document sent to one of the APIs, its subflows checked against the
    tenant's workflows; never raises for bad input."""
    return validate_workflow(document, known_workflow_ids=known_workflow_ids(tenant))


def compiled(
    tenant: Tenant, document: WorkflowDocument, *, version_label: str | None = None
) -> CompiledWorkflow:
    """Raises DSLValidationError when the document has errors. `version_label`: what the
    header calls a draft (see workflows.versions.draft_state)."""
    return compile_workflow(
        document, known_workflow_ids=known_workflow_ids(tenant), version_label=version_label
    )


def versions_of(workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return (
        WorkflowVersion.objects.for_tenant(workflow.tenant)
        .filter(workflow=workflow)
        .select_related("created_by")
    )


def latest_version(workflow: Workflow) -> WorkflowVersion | None:
    return versions_of(workflow).first()


def version_of(workflow: Workflow, number: int) -> WorkflowVersion | None:
    return versions_of(workflow).filter(number=number).first()


def last_change(workflow: Workflow) -> WorkflowChange | None:
    return WorkflowChange.objects.for_tenant(workflow.tenant).filter(workflow=workflow).first()


def published_versions_of_tenant(tenant: Tenant) -> QuerySet[WorkflowVersion]:
    """The tenant's published versions by workflow name, newest first, without documents."""
    return (
        WorkflowVersion.objects.for_tenant(tenant)
        .select_related("workflow")
        .defer("document", "workflow__document")
        .order_by("workflow__name", "-number")
    )
