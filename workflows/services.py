"""Writes of workflows: drafts, edits with undo, publishing, restoring, importing."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation
from tenants.models import Tenant, User
from workflows import selectors, signals
from workflows.analysis.limits import current_limits, size_findings
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.documents import parse_object, parse_workflow, read_document, too_deep
from workflows.dsl.files import canonical_document
from workflows.dsl.findings import DSLValidationError, Finding, error
from workflows.models import Workflow, WorkflowChange, WorkflowVersion

# Undo goes back this many changes; older ones are dropped.
KEEP_CHANGES = 50
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def tenant_uuid(tenant: Tenant) -> str:
    """The tenant's id in workflow documents (the DSL names tenants by UUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sce:tenant:{tenant.pk}"))


def blank_document(*, workflow_uuid: uuid.UUID, tenant: Tenant, name: str) -> WorkflowDocument:
    return {
        "id": str(workflow_uuid),
        "name": name,
        "tenant_id": tenant_uuid(tenant),
        "version": 1,
        "nodes": [],
        "edges": [],
        "variables": [],
        "triggers": [{"trigger_type": "manual", "config": {}}],
        "error_policy": {"on_error": "fail"},
    }


def _refuse_too_deep(document: WorkflowDocument) -> None:
    """Drafts are stored as they are, valid or not, but never nested deeper than a document
    can be read back (the editor, export and diff recurse into them): the same finding as
    when such a document is imported or sent to the API."""
    problem = too_deep(document)
    if problem is not None:
        raise DSLValidationError([problem])


def _owned(document: WorkflowDocument, workflow: Workflow) -> WorkflowDocument:
    """The document with the identity the workflow gives it: its id, tenant, version."""
    owned = dict(document)
    owned["id"] = str(workflow.uuid)
    owned["tenant_id"] = tenant_uuid(workflow.tenant)
    owned["version"] = workflow.published_version + (1 if workflow.has_changes else 0) or 1
    return owned


@transaction.atomic
def workflow_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    document: WorkflowDocument | None = None,
    source_conversation: Conversation | None = None,
    workflow_uuid: uuid.UUID | None = None,
) -> Workflow:
    """A new draft; raises DSLValidationError for a document nested too deeply to store."""
    if document is not None:
        _refuse_too_deep(document)
    workflow = Workflow(
        tenant=tenant,
        uuid=workflow_uuid or uuid.uuid4(),
        name=name[:200],
        created_by=actor,
        source_conversation=source_conversation,
    )
    base = (
        document
        if document is not None
        else blank_document(workflow_uuid=workflow.uuid, tenant=tenant, name=name)
    )
    workflow.document = _owned({**base, "name": name[:200]}, workflow)
    workflow.save(force_insert=True)
    return workflow


@transaction.atomic
def workflow_edit(
    *, workflow: Workflow, actor: User | None, document: WorkflowDocument, summary: str
) -> Workflow:
    """Replace the draft, remembering the one before so the change can be undone.

    Raises DSLValidationError for a document nested too deeply to store.
    """
    _refuse_too_deep(document)
    locked = Workflow.objects.for_tenant(workflow.tenant).select_for_update().get(pk=workflow.pk)
    WorkflowChange.objects.create(
        tenant=locked.tenant, workflow=locked, summary=summary[:200], before=locked.document, created_by=actor
    )
    stale = (
        WorkflowChange.objects.for_tenant(locked.tenant).filter(workflow=locked).values_list("pk", flat=True)
    )
    WorkflowChange.objects.for_tenant(locked.tenant).filter(pk__in=list(stale[KEEP_CHANGES:])).delete()
    name = document.get("name")
    if isinstance(name, str) and name.strip():
        locked.name = name.strip()[:200]
    locked.has_changes = True
    locked.document = _owned(document, locked)
    latest = selectors.latest_version(locked)
    if latest is not None and same_workflow(_comparable(locked.document, latest.document), latest.document):
        # Back to the latest version (restoring it, importing its export): nothing to publish.
        locked.has_changes = False
        locked.document = _comparable(locked.document, latest.document)
    locked.updated_at = timezone.now()
    locked.save(update_fields=["name", "document", "has_changes", "updated_at"])
    return locked


@transaction.atomic
def workflow_change(
    *,
    workflow: Workflow,
    actor: User | None,
    change: Callable[[WorkflowDocument], WorkflowDocument],
    summary: str,
) -> Workflow:
    """Edit the draft as it is now: `change` gets the document read under the row lock, so
    two people editing at once do not undo each other's changes. Undoable like any edit."""
    locked = Workflow.objects.for_tenant(workflow.tenant).select_for_update().get(pk=workflow.pk)
    return workflow_edit(workflow=locked, actor=actor, document=change(locked.document), summary=summary)


@transaction.atomic
def workflow_undo(*, workflow: Workflow) -> WorkflowChange | None:
    """Put the draft back as it was before its last change; None when there is nothing to undo."""
    locked = Workflow.objects.for_tenant(workflow.tenant).select_for_update().get(pk=workflow.pk)
    last = WorkflowChange.objects.for_tenant(locked.tenant).filter(workflow=locked).first()
    if last is None:
        return None
    locked.document = last.before
    name = last.before.get("name")
    if isinstance(name, str) and name.strip():
        locked.name = name.strip()[:200]
    latest = selectors.latest_version(locked)
    locked.has_changes = latest is None or latest.document != _comparable(locked.document, latest.document)
    locked.updated_at = timezone.now()
    locked.save(update_fields=["name", "document", "has_changes", "updated_at"])
    last.delete()
    return last


def same_workflow(first: WorkflowDocument, second: WorkflowDocument) -> bool:
    """Whether two documents are the same workflow, written alike or not (a null optional
    field or none at all); documents that do not parse are compared as they are."""
    if first == second:
        return True
    parsed_first, parsed_second = parse_workflow(first).workflow, parse_workflow(second).workflow
    return parsed_first is not None and parsed_first == parsed_second


def _comparable(draft: WorkflowDocument, published: WorkflowDocument) -> WorkflowDocument:
    """The draft as it would be published (its version number is the published one's)."""
    return {**draft, "version": published.get("version")}


class PublishRefused(Exception):
    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(f"{len(findings)} error(s) in the workflow")


@transaction.atomic
def workflow_publish(*, workflow: Workflow, actor: User | None, note: str = "") -> WorkflowVersion:
    """Freeze the draft as the next version; refused while the draft has errors."""
    locked = Workflow.objects.for_tenant(workflow.tenant).select_for_update().get(pk=workflow.pk)
    analysis = selectors.analysis_of(locked)
    if not analysis.is_valid:
        raise PublishRefused(analysis.errors)
    number = locked.published_version + 1
    document = {**locked.document, "version": number}
    version = WorkflowVersion.objects.create(
        tenant=locked.tenant,
        workflow=locked,
        number=number,
        document=document,
        note=note[:200],
        created_by=actor,
    )
    locked.published_version = number
    locked.has_changes = False
    locked.document = document
    locked.updated_at = timezone.now()
    locked.save(update_fields=["published_version", "has_changes", "document", "updated_at"])
    # Apps above this one act on it (runs: its schedule) once the version is there for them.
    transaction.on_commit(
        lambda: signals.version_published.send_robust(sender=WorkflowVersion, version=version)
    )
    return version


def workflow_restore(*, workflow: Workflow, version: WorkflowVersion, actor: User | None) -> Workflow:
    """Make a published version the draft again (an ordinary change: it can be undone)."""
    return workflow_edit(
        workflow=workflow,
        actor=actor,
        document=copy.deepcopy(version.document),
        summary=f"Restored version {version.number}",
    )


@transaction.atomic
def workflow_rename(*, workflow: Workflow, actor: User | None, name: str) -> Workflow:
    return workflow_edit(
        workflow=workflow, actor=actor, document={**workflow.document, "name": name}, summary="Renamed"
    )


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    workflow.delete()


@dataclass
class Imported:
    workflow: Workflow | None
    findings: list[Finding] = field(default_factory=list)
    created: bool = False  # False: the file updated (or matched) the draft it was exported from


def workflow_import(*, tenant: Tenant, actor: User | None, data: bytes) -> Imported:
    """A workflow from an exported JSON file: a new draft, or a new draft of the workflow it
    was exported from when that is one of the tenant's. Unreadable files import nothing."""
    if len(data) > MAX_IMPORT_BYTES:
        size = f"{len(data) / 1024 / 1024:.1f} MB"
        return Imported(
            None, [error("invalid_document", f"the file is {size}; at most 2 MB can be imported")]
        )
    read = read_document(data)  # not JSON, not an object, nested too deeply: a finding
    if isinstance(read, Finding):
        return Imported(None, [read])
    # A document over the size limits is not stored: it could not be analysed or drawn.
    too_large = size_findings(read, current_limits())
    if too_large:
        return Imported(None, too_large)
    parsed = parse_object(read)
    if parsed.workflow is None:
        return Imported(None, parsed.findings)
    document = canonical_document(parsed.workflow)
    existing = selectors.workflow_by_uuid(tenant=tenant, workflow_uuid=parsed.workflow.id)
    created = existing is None
    if existing is not None:
        unchanged = same_workflow(_owned(document, existing), existing.document)
        # Re-importing what was exported changes nothing: no undo step, no unpublished change.
        summary = "Imported from a file"
        workflow = (
            existing
            if unchanged
            else workflow_edit(workflow=existing, actor=actor, document=document, summary=summary)
        )
    else:
        taken = Workflow.objects.dangerously_unscoped().filter(uuid=parsed.workflow.id).exists()
        workflow = workflow_create(
            tenant=tenant,
            actor=actor,
            name=parsed.workflow.name or "Imported workflow",
            document=document,
            # Another tenant's id stays theirs: the copy gets its own.
            workflow_uuid=None if taken else parsed.workflow.id,
        )
    return Imported(workflow, selectors.analysis_of(workflow).findings, created=created)
