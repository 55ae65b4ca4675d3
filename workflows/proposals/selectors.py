"""Reads of workflow proposals, always within one tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from conversations.models import Conversation
from tenants.models import Tenant
from workflows.models import WorkflowProposal


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


def proposals_of_conversation(conversation: Conversation) -> QuerySet[WorkflowProposal]:
    return (
        WorkflowProposal.objects.for_tenant(conversation.tenant)
        .filter(conversation=conversation)
        .select_related("created_by")
        .defer("base_document", "document")
        .order_by("-created_at", "-pk")
    )
