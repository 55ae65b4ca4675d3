"""Fixtures and builders for the AI proposal tests (generation, views, socket).

Imported by those test modules: the gateway fixtures route the tenant's `workflow` task to
the Anthropic wire emulator, Celery tasks run inline where a test says so, and the kept
frames of proposals are forgotten between tests (ids come again after a flush).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from config.celery import app
from conversations import services as conversation_services
from conversations.blueprints.builtin import BUSINESS_PROCESS
from conversations.models import Conversation
from core.redis import sync_redis
from providers.interface import Task
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_alone,
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import Workflow
from workflows.proposals.frames import STREAM

__all__ = [
    "anthropic_emulator",
    "anthropic_emulator_server",
    "fast_gateway",
    "fresh_gateway_state",
    "model_prices",
    "openai_emulator",
    "openai_emulator_server",
    "platform",
]

SEQ = re.compile(r'id="proposal-seq" data-seq="(\d+)"')

ANSWERS: dict[str, Any] = {
    "trigger": "A webhook call",
    "steps": "Check the order's stock, then charge the card, then send a confirmation email.",
    "integrations": ["Salesforce", "Email"],
    "ai_actions": ["Summarize"],
    "human_approvals": False,
    "timeouts_slas": "Orders are confirmed within an hour.",
    "error_handling": "Stop and alert",
}


@pytest.fixture(autouse=True)
def forget_proposal_frames() -> None:
    client = sync_redis()
    for key in client.scan_iter(match=f"{STREAM.prefix}*"):
        client.delete(key)


@pytest.fixture
def run_tasks_inline() -> Iterator[None]:
    """Celery tasks run where they are enqueued (on commit), so a test sees them finish."""
    eager, propagates = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = eager, propagates


@pytest.fixture
def anthropic(platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers) -> EmulatorServer:
    """The tenant's workflow task answered by the Anthropic emulator alone (no fallback)."""
    return anthropic_alone(platform, tenant_users.tenant, Task.WORKFLOW)


def complete_conversation(tenant_users: TenantUsers, title: str = "Order fulfilment") -> Conversation:
    conversation = conversation_services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=BUSINESS_PROCESS, title=title
    )
    conversation = conversation_services.answers_apply(conversation=conversation, values=dict(ANSWERS))
    assert conversation.is_complete
    return conversation


@pytest.fixture
def conversation(tenant_users: TenantUsers) -> Conversation:
    return complete_conversation(tenant_users)


def order_flow(**fields: Any) -> WorkflowDocument:
    """A valid workflow: check stock, charge, confirm."""
    nodes = [
        samples.node(
            "check_stock", activity_name="CheckStock", input_mapping={"order": "{{order_id}}"},
            output_variable="stock",
        ),
        samples.node("charge", activity_name="ChargeCard", input_mapping={"stock": "{{stock}}"}),
        samples.node("confirm", activity_name="SendConfirmation", input_mapping={"order": "{{order_id}}"}),
    ]  # fmt: skip
    variables = [samples.variable("order_id", required=True)]
    return samples.workflow(
        nodes, samples.chain("check_stock", "charge", "confirm"), variables, name="Orders", **fields
    )


def cyclic_flow() -> WorkflowDocument:
    """order_flow with a back edge from confirm to charge: a cycle."""
    document = order_flow()
    document["edges"].append(samples.edge("e_back", "confirm", "charge"))
    return document


def reply_of(document: WorkflowDocument, tokens: int = 8) -> Reply:
    return Reply(json.dumps(document), tokens=tokens)


@pytest.fixture
def draft(tenant_users: TenantUsers) -> Workflow:
    """A valid draft of the tenant, to enhance."""
    return workflow_services.workflow_create(
        tenant=tenant_users.tenant, actor=tenant_users.member, name="Orders", document=order_flow()
    )


def with_approval(document: WorkflowDocument) -> WorkflowDocument:
    """The document with a manager approval between charging and confirming."""
    changed = copy.deepcopy(document)
    changed["nodes"].append(
        samples.node("approve", "human_task", title="Manager approval", timeout_seconds=3600)
    )
    changed["edges"] = [edge for edge in changed["edges"] if edge["id"] != "e_charge_confirm"]
    changed["edges"] += samples.chain("charge", "approve", "confirm")
    return changed


def numbers(frames: list[str]) -> list[int]:
    return [int(match.group(1)) for frame in frames if (match := SEQ.search(frame))]
