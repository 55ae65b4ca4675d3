"""A volume tenant's workflows: drafts made, published, edited and published again through
workflows.services, from the generator of bench/workflow_generator.py."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

from django.utils import timezone

from bench.workflow_generator import SUBFLOW_ID, generate_workflow
from conversations.models import Conversation
from tenants.models import Tenant, User
from workflows import services
from workflows.models import Workflow, WorkflowVersion

SIZES = [4, 6, 10, 10, 16, 16, 24, 40]  # nodes; most workflows are small
PROCESSES = ["Order intake", "Refund approval", "Site survey", "Device onboarding", "Incident triage"]
PUBLISHED_SHARE = 0.7


def generated_document(nodes: int, *, seed: int, subflow: uuid.UUID | None) -> dict[str, object]:
    """A generated workflow whose subflow nodes run `subflow` (a workflow of the tenant); with
    none yet, one that has no subflow node."""
    while True:
        text = json.dumps(generate_workflow(nodes, seed))
        if subflow is not None:
            return dict(json.loads(text.replace(SUBFLOW_ID, str(subflow))))
        if SUBFLOW_ID not in text:
            return dict(json.loads(text))
        seed += 1_000


def add_workflows(
    *, tenant: Tenant, users: list[User], count: int, days: int, rng: random.Random
) -> list[int]:
    """`count` workflows of `tenant`, most of them published, some edited since; returns their ids."""
    complete = list(
        Conversation.objects.for_tenant(tenant)
        .filter(status=Conversation.Status.COMPLETE)
        .values_list("pk", flat=True)[:count]
    )
    now = timezone.now()
    made: list[Workflow] = []
    versions: list[WorkflowVersion] = []
    subflow: uuid.UUID | None = None
    # Made in id order, as workflows are.
    starts = sorted(now - timedelta(seconds=rng.uniform(3600, days * 86400)) for _ in range(count))
    for index, created in enumerate(starts):
        # The first is the same in every tenant, published twice with an edit between: the
        # one its detail pages are read for (bench.volume.reads.anchors_of).
        first = index == 0
        actor = rng.choice(users)
        name = f"{rng.choice(PROCESSES)} {index + 1}"
        document = (
            generated_document(16, seed=0, subflow=None)
            if first
            else generated_document(rng.choice(SIZES), seed=rng.getrandbits(32), subflow=subflow)
        )
        source = (
            Conversation.objects.for_tenant(tenant).get(pk=rng.choice(complete))
            if complete and rng.random() < 0.3
            else None
        )
        workflow = services.workflow_create(
            tenant=tenant, actor=actor, name=name, document=document, source_conversation=source
        )
        subflow = subflow or workflow.uuid
        if first or rng.random() < PUBLISHED_SHARE:
            versions.append(services.workflow_publish(workflow=workflow, actor=actor, note="first version"))
            if first or rng.random() < 0.3:
                edited = {**workflow.document, "name": f"{name} (revised)"}
                workflow = services.workflow_edit(
                    workflow=workflow, actor=actor, document=edited, summary="Renamed"
                )
                if first or rng.random() < 0.5:
                    versions.append(services.workflow_publish(workflow=workflow, actor=actor))
        workflow.refresh_from_db()
        # Stamped as if made over the last `days` days (the services stamp now).
        workflow.created_at = created
        workflow.updated_at = min(workflow.created_at + timedelta(hours=rng.uniform(0, 48)), now)
        made.append(workflow)
    Workflow.objects.for_tenant(tenant).bulk_update(made, ["created_at", "updated_at"], batch_size=500)
    stamps = {workflow.pk: workflow.updated_at for workflow in made}
    for version in versions:
        version.created_at = stamps[version.workflow_id]
    WorkflowVersion.objects.for_tenant(tenant).bulk_update(versions, ["created_at"], batch_size=500)
    return [workflow.pk for workflow in made]
