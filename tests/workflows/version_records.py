"""Workflows for the version, code and import/export tests, made through the services."""

from __future__ import annotations

import copy
from typing import Any

from django.urls import reverse

from tenants.models import Tenant, User
from tests.workflows import samples
from workflows import services
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import Workflow


def valid_document(name: str = "Order intake") -> WorkflowDocument:
    """Two activities in a row, reading a declared variable: compiles without errors."""
    nodes = [
        samples.node("receive", activity_name="ReceiveOrder", input_mapping={"order": "{{order_id}}"}),
        samples.node("check", activity_name="CheckStock"),
    ]
    return samples.workflow(
        nodes, samples.chain("receive", "check"), [samples.variable("order_id", required=True)], name=name
    )


def cyclic_document(name: str = "Loops") -> WorkflowDocument:
    """A workflow whose two nodes lead back to each other: an error, it cannot compile."""
    document = valid_document(name)
    document["edges"].append(samples.edge("back", "check", "receive"))
    return document


def make_workflow(
    tenant: Tenant, actor: User | None = None, document: WorkflowDocument | None = None
) -> Workflow:
    document = copy.deepcopy(document) if document is not None else valid_document()
    return services.workflow_create(tenant=tenant, actor=actor, name=document["name"], document=document)


def edited(workflow: Workflow, change: Any, summary: str = "Edited") -> Workflow:
    """The workflow after `change(document)` was applied to a copy of its draft."""
    document = copy.deepcopy(workflow.document)
    change(document)
    return services.workflow_edit(workflow=workflow, actor=None, document=document, summary=summary)


def url(name: str, workflow: Workflow | None = None, slug: str = "acme", **kwargs: Any) -> str:
    if workflow is not None:
        kwargs["workflow_id"] = workflow.pk
    name = name if ":" in name else f"workflows:{name}"
    return reverse(name, kwargs={"tenant_slug": slug, **kwargs})
