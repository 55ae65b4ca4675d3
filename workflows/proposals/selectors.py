"""Reads of workflow proposals, always within one tenant."""

from __future__ import annotations

from django.db.models import Sum

from providers import gateway
from providers.interface import Task
from providers.models import ProviderLog
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
        .exclude(kind=WorkflowProposal.Kind.SERVICE)  # the API's alone: no page
        .filter(pk=proposal_id)
        .first()
    )


def api_proposal_of_tenant(tenant: Tenant, proposal_id: int) -> WorkflowProposal | None:
    """A proposal the public API made for the tenant (its jobs); None for the portal's."""
    return (
        WorkflowProposal.objects.for_tenant(tenant)
        .select_related("tenant")
        .exclude(api_key="")
        .filter(pk=proposal_id)
        .first()
    )


def proposal_tokens(proposal: WorkflowProposal) -> int:
    """The tokens the gateway calls of a proposal's runs used, input and output."""
    totals = (
        ProviderLog.objects.for_tenant(proposal.tenant)
        .filter(links__workflow_proposal=str(proposal.pk))
        .aggregate(input=Sum("input_tokens"), output=Sum("output_tokens"))
    )
    return int(totals["input"] or 0) + int(totals["output"] or 0)


def model_can_write_workflows(tenant: Tenant) -> bool:
    """Whether a provider the tenant may use for the workflow task is declared fit to write
    a workflow (no model is called): without one, generating builds the starter workflow."""
    return gateway.fit_for_sync(tenant_id=tenant.pk, task=Task.WORKFLOW, needs=NEEDS)
