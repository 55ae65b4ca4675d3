"""Reads of workflow proposals, always within one tenant."""

from __future__ import annotations

from providers import gateway
from providers.interface import Task
from tenants.models import Tenant
from workflows.models import WorkflowProposal
from workflows.proposals.generation import NEEDS


def proposal_of_tenant(tenant: Tenant, proposal_id: int) -> WorkflowProposal | None:
    return WorkflowProposal.objects.for_tenant(tenant).filter(pk=proposal_id).first()


def proposal_for_page(tenant: Tenant, proposal_id: int) -> WorkflowProposal | None:
    """A proposal with what its page shows beside it (the workflow, the conversation, who)."""
    return (
        WorkflowProposal.objects.for_tenant(tenant)
        .select_related("tenant", "workflow", "conversation", "created_by", "decided_by")
        .filter(pk=proposal_id)
        .first()
    )


def model_can_write_workflows(tenant: Tenant) -> bool:
    """Whether a provider the tenant may use for the workflow task is declared fit to write
    a workflow (no model is called): without one, generating builds the starter workflow."""
    return gateway.fit_for_sync(tenant_id=tenant.pk, task=Task.WORKFLOW, needs=NEEDS)
