"""The workflow editor through HTTP: the list, new drafts, the editor page and its side-panel
forms for nodes, edges, variables, triggers, the error policy and the name; undo; roles."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import TenantUsers
from tests.workflows import samples
from workflows import selectors, services
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.models import NODE_TYPES, WorkflowDSL
from workflows.editor.node_forms import NODE_FORMS
from workflows.models import Workflow, WorkflowChange

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def first_match(pattern: str, text: str) -> str:
    """The first group of the pattern's first match in `text` (failing the test if none)."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not found"
    return match.group(1)


def make(users: TenantUsers, name: str = "Order flow", document: WorkflowDocument | None = None) -> Workflow:
    return services.workflow_create(tenant=users.tenant, actor=users.member, name=name, document=document)


def url(name: str, workflow: Workflow | None = None, **kwargs: object) -> str:
    if workflow is not None:
        kwargs["workflow_id"] = workflow.pk
    name = name if ":" in name else f"workflows:{name}"
    return reverse(name, kwargs={"tenant_slug": "acme", **kwargs})


def fresh(workflow: Workflow) -> Workflow:
    return Workflow.objects.for_tenant(workflow.tenant).get(pk=workflow.pk)


def node_of(workflow: Workflow, node_id: str) -> dict[str, Any]:
    return next(node for node in fresh(workflow).document["nodes"] if node["id"] == node_id)


def chain_document(*node_ids: str, **extra: Any) -> WorkflowDocument:
    return samples.workflow(
        [samples.node(node_id) for node_id in node_ids], samples.chain(*node_ids), **extra
    )


def node_classes(body: str, node_id: str) -> list[str]:
    found = re.search(rf'<g class="([^"]*)" data-testid="node-{re.escape(node_id)}"', body)
    assert found is not None, f"node {node_id} is not drawn"
    return found.group(1).split()


# Form data for a new node of each type, and a change to make when editing it.
NEW_NODES: dict[str, dict[str, str]] = {
    "activity": {
        "label": "Charge card",
        "activity_name": "ChargeCard",
        "input_mapping-key": "order",
        "input_mapping-value": "{{order_id}}",
        "output_variable": "charge",
        "timeout_seconds": "30",
    },
    "subflow": {"label": "Ship it"},
    "ai_action": {
        "label": "Summarise",
        "provider": "anthropic",
        "model": "claude-haiku",
        "prompt_template": "Summarise {{order_id}}",
        "temperature": "0.3",
        "max_tokens": "200",
        "output_schema": '{"type": "object"}',
        "output_variable": "summary",
    },
    "n8n": {
        "label": "Notify",
        "workflow_id": "notify-flow",
        "webhook_path": "/hooks/notify",
        "wait_for_completion": "on",
        "timeout_seconds_config": "120",
    },
    "decision": {
        "label": "Big order?",
        "condition_expression": "",
        "branch-TOTAL_FORMS": "2",
        "branch-INITIAL_FORMS": "0",
        "branch-0-id": "big",
        "branch-0-condition": "amount > 1000",
        "branch-0-label": "Large",
        "branch-1-id": "",
        "branch-1-condition": "",
        "branch-1-label": "",
        "default_branch": "start",
    },
    "parallel": {"label": "Fan out", "wait_for_all": "on"},
    "wait": {"label": "Cool off", "wait_type": "timer", "duration_seconds": "3600"},
    "human_task": {
        "label": "Approve",
        "task_type": "approval",
        "title": "Approve the order",
        "description": "Check the amount.",
        "assignee_expression": "{{owner}}",
        "form_schema": '{"type": "object"}',
        "timeout_seconds_config": "86400",
        "retry": "on",
        "retry_max_attempts": "3",
        "retry_initial_interval_ms": "1000",
        "retry_backoff_coefficient": "2",
        "retry_max_interval_ms": "60000",
    },
}

EXPECTED_CONFIG: dict[str, dict[str, Any]] = {
    "activity": {
        "type": "activity",
        "activity_name": "ChargeCard",
        "input_mapping": {"order": "{{order_id}}"},
        "output_variable": "charge",
    },
    "subflow": {"type": "subflow", "workflow_id": "", "input_mapping": {}},
    "ai_action": {
        "type": "ai_action",
        "provider": "anthropic",
        "model": "claude-haiku",
        "prompt_template": "Summarise {{order_id}}",
        "temperature": 0.3,
        "max_tokens": 200,
        "use_local_model": False,
        "output_schema": {"type": "object"},
        "output_variable": "summary",
    },
    "n8n": {
        "type": "n8n",
        "workflow_id": "notify-flow",
        "webhook_path": "/hooks/notify",
        "input_mapping": {},
        "wait_for_completion": True,
        "timeout_seconds": 120,
    },
    "decision": {
        "type": "decision",
        "condition_expression": "",
        "default_branch": "start",
        "branches": [{"id": "big", "condition": "amount > 1000", "label": "Large"}],
    },
    "parallel": {"type": "parallel", "branches": ["start"], "wait_for_all": True},
    "wait": {"type": "wait", "wait_type": "timer", "duration_seconds": 3600},
    "human_task": {
        "type": "human_task",
        "task_type": "approval",
        "title": "Approve the order",
        "description": "Check the amount.",
        "assignee_expression": "{{owner}}",
        "form_schema": {"type": "object"},
        "timeout_seconds": 86400,
    },
}

# One field of each type's form to change when editing, and the config key it lands in.
EDITS: dict[str, tuple[str, str, Any]] = {
    "activity": ("activity_name", "RefundCard", "RefundCard"),
    "subflow": ("output_variable", "shipment", "shipment"),
    "ai_action": ("temperature", "0.9", 0.9),
    "n8n": ("workflow_id", "other-flow", "other-flow"),
    "decision": ("condition_expression", "amount", "amount"),
    "parallel": ("wait_for_all", "", False),
    "wait": ("duration_seconds", "60", 60),
    "human_task": ("title", "Approve, please", "Approve, please"),
}


def test_every_node_type_has_a_form() -> None:
    assert tuple(NODE_FORMS) == NODE_TYPES


# The list and new drafts


def test_the_list_shows_status_owner_and_searches_by_name(tenant_users: TenantUsers) -> None:
    make(tenant_users, "Order flow")
    published = make(tenant_users, "Refunds", chain_document("start"))
    services.workflow_publish(workflow=published, actor=tenant_users.member)
    changed = make(tenant_users, "Returns", chain_document("start"))
    services.workflow_publish(workflow=changed, actor=tenant_users.member)
    services.workflow_rename(workflow=fresh(changed), actor=tenant_users.member, name="Returns desk")
    services.workflow_create(tenant=tenant_users.other_tenant, actor=None, name="Secret plan")
    client = tenant_users.client_for(tenant_users.viewer)

    page = client.get(url("workflow_list")).content.decode()
    rows = re.findall(r'<tr data-testid="workflow-row">(.*?)</tr>', page, re.S)
    assert len(rows) == 3
    text = {first_match(r">([^<]+)</a>", row): row for row in rows}
    assert ">draft<" in text["Order flow"]
    assert "published v1" in text["Refunds"]
    assert "v1 + unpublished changes" in text["Returns desk"]
    assert (
        tenant_users.member.email in text["Order flow"]
        or tenant_users.member.get_full_name() in text["Order flow"]
    )
    assert "Secret plan" not in page
    assert "New workflow" not in page, "viewers create nothing"

    found = client.get(url("workflow_list"), {"q": "REFUND"}).content.decode()
    assert "Refunds" in found
    assert "Order flow" not in found
    fragment = client.get(url("workflow_list"), {"q": "order"}, headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="workflow-table">')
    assert (
        "New workflow"
        in tenant_users.client_for(tenant_users.member).get(url("workflow_list")).content.decode()
    )


def test_the_list_pages_and_its_queries_do_not_grow_with_the_workflows(
    tenant_users: TenantUsers, django_assert_max_num_queries: Any
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    make(tenant_users, "First")
    client.get(url("workflow_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("workflow_list"))
    for index in range(40):
        make(tenant_users, f"Flow {index:02}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url("workflow_list"))
    assert response.content.count(b'data-testid="workflow-row"') == 30
    second = client.get(url("workflow_list"), {"page": "2"})
    assert second.content.count(b'data-testid="workflow-row"') == 11


def test_a_new_workflow_is_a_blank_draft_that_opens_in_the_editor(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    assert client.get(url("workflow_new")).status_code == 200
    response = client.post(url("workflow_new"), {"name": "  Onboarding  "})
    workflow = Workflow.objects.for_tenant(tenant_users.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == url("workflow_detail", workflow)
    assert workflow.name == "Onboarding"
    assert workflow.created_by == tenant_users.member
    assert workflow.document["nodes"] == []
    assert WorkflowDSL.model_validate(workflow.document).name == "Onboarding"


def test_a_new_workflow_needs_a_name_and_viewers_cannot_make_one(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("workflow_new"), {"name": "   "})
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert not Workflow.objects.for_tenant(tenant_users.tenant).exists()
    viewer = tenant_users.client_for(tenant_users.viewer)
    assert 'data-testid="read-only-note"' in viewer.get(url("workflow_new")).content.decode()
    assert viewer.post(url("workflow_new"), {"name": "Mine"}).status_code == 403
    assert not Workflow.objects.for_tenant(tenant_users.tenant).exists()


# The editor page


def test_the_editor_draws_the_graph_with_findings_and_forms_for_members(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    response = tenant_users.client_for(tenant_users.member).get(url("workflow_detail", workflow))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="workflow-graph"' in body
    assert 'data-testid="node-start"' in body
    assert 'data-testid="edge-e_start_finish"' in body
    assert 'data-testid="findings-panel" data-errors="0"' in body
    assert 'data-testid="palette-decision"' in body
    assert url("workflow_node", workflow, node_id="start") in body


def test_viewers_see_everything_read_only(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    client = tenant_users.client_for(tenant_users.viewer)
    body = client.get(url("workflow_detail", workflow)).content.decode()
    assert 'data-testid="node-start"' in body
    assert 'data-testid="palette-' not in body
    assert 'data-testid="undo-button"' not in body
    assert 'data-testid="read-only-note"' in body
    panels = [
        url("workflow_node", workflow, node_id="start"),
        url("workflow_edge", workflow, edge_id="e_start_finish"),
        url("workflow_trigger", workflow, trigger_index=0),
        url("workflow_error_policy", workflow),
        url("workflow_node_new", workflow) + "?type=activity",
        url("workflow_edge_new", workflow),
        url("workflow_variable_new", workflow),
    ]
    for panel in panels:
        response = client.get(panel, headers=HTMX)
        assert response.status_code == 200, panel
        assert 'hx-post="' not in response.content.decode().split('id="workflow-head"')[0], panel
    node = client.get(url("workflow_node", workflow, node_id="start"), headers=HTMX).content.decode()
    assert 'data-testid="node-settings"' in node
    assert "DoWork" in node
    assert client.post(url("workflow_node_delete", workflow, node_id="start")).status_code == 403
    assert client.post(url("workflow_undo", workflow)).status_code == 403
    assert len(fresh(workflow).document["nodes"]) == 2


def test_outsiders_and_foreign_ids_get_404(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    foreign = services.workflow_create(
        tenant=tenant_users.other_tenant, actor=None, name="Secret", document=chain_document("start")
    )
    outsider = tenant_users.client_for(tenant_users.outsider)
    assert outsider.get(url("workflow_detail", workflow)).status_code == 404
    owner = tenant_users.client_for(tenant_users.owner)
    assert owner.get(url("workflow_detail", foreign)).status_code == 404
    assert owner.post(url("workflow_node", foreign, node_id="start"), {"label": "x"}).status_code == 404
    assert owner.get(url("workflow_node", workflow, node_id="nope")).status_code == 404
    assert owner.get(url("workflow_edge", workflow, edge_id="nope")).status_code == 404
    assert owner.get(url("workflow_variable", workflow, variable_index=3)).status_code == 404
    assert owner.get(url("workflow_trigger", workflow, trigger_index=9)).status_code == 404


# Nodes


@pytest.mark.parametrize("node_type", NODE_TYPES)
def test_each_node_type_can_be_added_and_edited(tenant_users: TenantUsers, node_type: str) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client = tenant_users.client_for(tenant_users.member)
    form = client.get(url("workflow_node_new", workflow), {"type": node_type}, headers=HTMX)
    assert form.status_code == 200
    assert f'data-testid="node-form" data-node-type="{node_type}"' in form.content.decode()

    data = {"node_type": node_type, "id": "added", **NEW_NODES[node_type]}
    if node_type == "parallel":
        data["branches"] = "start"
    if node_type == "subflow":
        data["workflow_id"] = ""
    response = client.post(url("workflow_node_new", workflow), data, headers=HTMX)
    assert response.status_code == 200, response.content.decode()[:3000]
    body = response.content.decode()
    assert 'data-testid="node-added"' in body
    assert 'id="findings" class="card findings" hx-swap-oob="true"' in body
    node = node_of(workflow, "added")
    assert node["node_type"] == node_type
    assert node["label"] == NEW_NODES[node_type]["label"]
    assert node["config"] == EXPECTED_CONFIG[node_type]
    WorkflowDSL.model_validate(fresh(workflow).document)
    change = WorkflowChange.objects.for_tenant(tenant_users.tenant).get(workflow=workflow)
    assert change.summary.startswith("Added")
    assert change.created_by == tenant_users.member

    edit_form = client.get(url("workflow_node", workflow, node_id="added"), headers=HTMX).content.decode()
    assert NEW_NODES[node_type]["label"] in edit_form
    field, typed, stored = EDITS[node_type]
    edited = {**data, "label": "Renamed step", field: typed}
    response = client.post(url("workflow_node", workflow, node_id="added"), edited, headers=HTMX)
    assert response.status_code == 200, response.content.decode()[:3000]
    node = node_of(workflow, "added")
    assert node["label"] == "Renamed step"
    config_key = "timeout_seconds" if field == "timeout_seconds_config" else field
    assert node["config"][config_key] == stored
    assert {key: value for key, value in node["config"].items() if key != config_key} == {
        key: value for key, value in EXPECTED_CONFIG[node_type].items() if key != config_key
    }
    if node_type == "human_task":
        assert node["retry_policy"] == {
            "max_attempts": 3,
            "initial_interval_ms": 1000,
            "backoff_coefficient": 2.0,
            "max_interval_ms": 60000,
        }
    if node_type == "activity":
        assert node["timeout_seconds"] == 30


def test_a_node_without_an_id_gets_one_from_its_label(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("check_stock"))
    client = tenant_users.client_for(tenant_users.member)
    data = {"node_type": "wait", "label": "Check stock", "wait_type": "signal", "signal_name": "restocked"}
    assert client.post(url("workflow_node_new", workflow), data).status_code == 302
    node = node_of(workflow, "check_stock_2")
    assert node["config"] == {"type": "wait", "wait_type": "signal", "signal_name": "restocked"}


@pytest.mark.parametrize(
    ("node_type", "data", "field", "message"),
    [
        ("ai_action", {"temperature": "hot"}, "temperature", "Enter a number."),
        ("ai_action", {"temperature": "nan"}, "temperature", "Enter a number."),
        ("ai_action", {"max_tokens": "-1"}, "max_tokens", "greater than or equal to 0"),
        ("ai_action", {"output_schema": '{"type": '}, "output_schema", "Not valid JSON"),
        ("ai_action", {"output_schema": "NaN"}, "output_schema", "not a JSON number"),
        (
            "activity",
            {"input_mapping-key": "", "input_mapping-value": "{{order_id}}"},
            "input_mapping-key",
            "The value “{{order_id}}” has no input name: write one.",
        ),
        (
            "activity",
            {"input_mapping-key": "order", "input_mapping-value": ""},
            "input_mapping-value",
            "“order” has no value: write one, or remove the row.",
        ),
        (
            "activity",
            {"input_mapping-key": ["order", "order"], "input_mapping-value": ["{{a}}", "{{b}}"]},
            "input_mapping-key",
            "“order” is in two rows: keep one.",
        ),
        ("activity", {"id": "start"}, "id", "Another node has this id."),
        ("activity", {"id": "has space"}, "id", "Letters, digits"),
        ("activity", {"label": ""}, "label", "This field is required."),
        ("activity", {"timeout_seconds": "1.5"}, "timeout_seconds", "Enter a whole number."),
        ("wait", {"wait_type": "forever"}, "wait_type", "Select a valid choice."),
        ("human_task", {"retry_initial_interval_ms": ""}, "retry_initial_interval_ms", "Needed for a retry"),
        ("parallel", {"branches": "ghost"}, "branches", "Select a valid choice."),
        (
            "decision",
            {"branch-0-id": "big", "branch-0-condition": ""},
            "branch-0-condition",
            "needs a condition",
        ),
    ],
)
def test_a_form_with_a_wrong_shape_is_refused_with_422_and_nothing_is_stored(
    tenant_users: TenantUsers, node_type: str, data: dict[str, str], field: str, message: str
) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    before = copy.deepcopy(fresh(workflow).document)
    client = tenant_users.client_for(tenant_users.member)
    posted = {"node_type": node_type, **NEW_NODES[node_type], **data}
    response = client.post(url("workflow_node_new", workflow), posted, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert message in body
    assert 'data-testid="form-errors"' in body
    assert re.search(rf'name="{re.escape(field)}"', body), "the form is shown again"
    assert fresh(workflow).document == before
    assert not WorkflowChange.objects.for_tenant(tenant_users.tenant).exists()


def test_an_unknown_node_type_is_refused(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("workflow_node_new", workflow), {"node_type": "teleport", "label": "x"})
    assert response.status_code == 422
    assert len(fresh(workflow).document["nodes"]) == 1


def test_deleting_a_node_removes_its_edges_and_its_place_in_parallel_branches(
    tenant_users: TenantUsers,
) -> None:
    fork = samples.node("fork", "parallel", branches=["left", "right"])
    document = samples.workflow(
        [samples.node("start"), fork, samples.node("left"), samples.node("right"), samples.node("join")],
        [
            samples.edge("a", "start", "fork"),
            samples.edge("b", "fork", "left"),
            samples.edge("c", "fork", "right"),
            samples.edge("d", "left", "join"),
            samples.edge("e", "right", "join"),
        ],
    )
    workflow = make(tenant_users, document=document)
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("workflow_node_delete", workflow, node_id="left"), headers=HTMX)
    assert response.status_code == 200
    assert "Deleted node “Left” and its 2 edges." in response.content.decode()
    stored = fresh(workflow).document
    assert [node["id"] for node in stored["nodes"]] == ["start", "fork", "right", "join"]
    assert [edge["id"] for edge in stored["edges"]] == ["a", "c", "e"]
    assert node_of(workflow, "fork")["config"]["branches"] == ["right"]
    assert 'data-testid="node-left"' not in response.content.decode()


def test_nodes_with_ids_a_path_cannot_hold_are_still_reachable(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("orders/new", "~x", "ünï"))
    client = tenant_users.client_for(tenant_users.member)
    page = client.get(url("workflow_detail", workflow)).content.decode()
    for node_id in ("orders/new", "~x", "ünï"):
        link = url("workflow_node", workflow, node_id=node_id)
        assert link in page
        assert node_id in client.get(link, headers=HTMX).content.decode()


# Edges, the cycle, undo


def test_a_back_edge_shows_the_cycle_on_its_nodes_and_deleting_it_clears_it(
    tenant_users: TenantUsers,
) -> None:
    workflow = make(tenant_users, document=chain_document("start", "check", "fix", "done"))
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(
        url("workflow_edge_new", workflow),
        {
            "source": "fix",
            "target": "check",
            "condition_expression": "retries < 3",
            "label": "again",
        },
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="cyclic_graph"' in body
    for node_id in ("check", "fix"):
        assert "has-error" in node_classes(body, node_id)
        assert f'data-testid="finding-node-{node_id}"' in body
    for node_id in ("start", "done"):
        assert "has-error" not in node_classes(body, node_id)
    edge = fresh(workflow).document["edges"][-1]
    assert edge == {
        "id": "fix_to_check",
        "source": "fix",
        "target": "check",
        "condition": {"expression": "retries < 3", "label": "again"},
    }
    assert "back-edge" in first_match(r'<g class="([^"]*)" data-testid="edge-fix_to_check"', body)

    response = client.post(url("workflow_edge_delete", workflow, edge_id="fix_to_check"), headers=HTMX)
    body = response.content.decode()
    assert 'data-code="cyclic_graph"' not in body
    assert "has-error" not in node_classes(body, "check")
    assert 'data-errors="0"' in body


def test_edges_are_edited_and_their_shapes_checked(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    client = tenant_users.client_for(tenant_users.member)
    edge_url = url("workflow_edge", workflow, edge_id="e_start_finish")
    assert 'data-testid="edge-form"' in client.get(edge_url, headers=HTMX).content.decode()
    saved = client.post(
        edge_url, {"source": "start", "target": "finish", "condition_expression": "amount > 1"}, headers=HTMX
    )
    assert saved.status_code == 200
    assert fresh(workflow).document["edges"] == [
        {
            "id": "e_start_finish",
            "source": "start",
            "target": "finish",
            "condition": {"expression": "amount > 1"},
        }
    ]
    before = fresh(workflow).document
    for data, message in [
        ({"source": "start", "target": "ghost"}, "Select a valid choice"),
        (
            {"source": "start", "target": "finish", "source_handle": "yes"},
            "Choose one of the branches of the node the edge comes from.",
        ),
    ]:
        refused = client.post(edge_url, data, headers=HTMX)
        assert refused.status_code == 422
        assert message in refused.content.decode()
    duplicate = client.post(
        url("workflow_edge_new", workflow), {"id": "e_start_finish", "source": "start", "target": "finish"}
    )
    assert duplicate.status_code == 422
    assert fresh(workflow).document == before


def test_undo_restores_the_document_before_the_last_change_and_says_what_it_undid(
    tenant_users: TenantUsers,
) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    original = copy.deepcopy(fresh(workflow).document)
    client = tenant_users.client_for(tenant_users.member)
    client.post(url("workflow_node_new", workflow), {"node_type": "wait", **NEW_NODES["wait"]})
    after_add = copy.deepcopy(fresh(workflow).document)
    client.post(
        url("workflow_node", workflow, node_id="cool_off"),
        {"node_type": "wait", **NEW_NODES["wait"], "label": "Pause"},
    )
    page = client.get(url("workflow_detail", workflow)).content.decode()
    assert "Edited node “Pause”" in page

    response = client.post(url("workflow_undo", workflow), headers=HTMX)
    body = response.content.decode()
    assert "Undone: Edited node “Pause”." in body
    assert 'id="undo-bar" class="undo-bar" hx-swap-oob="true"' in body
    assert fresh(workflow).document == after_add
    client.post(url("workflow_undo", workflow), headers=HTMX)
    assert fresh(workflow).document == original
    nothing = client.post(url("workflow_undo", workflow), headers=HTMX)
    assert nothing.status_code == 200
    assert "There is nothing to undo." in nothing.content.decode()
    assert fresh(workflow).document == original


# Variables, triggers, the error policy, the name


def test_variables_are_added_edited_and_deleted(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client = tenant_users.client_for(tenant_users.member)
    data = {"name": "amount", "variable_type": "number", "default_value": "10", "required": "on"}
    assert client.post(url("workflow_variable_new", workflow), data, headers=HTMX).status_code == 200
    assert fresh(workflow).document["variables"] == [
        {"name": "amount", "variable_type": "number", "default_value": 10, "required": True}
    ]
    edit = url("workflow_variable", workflow, variable_index=0)
    assert "amount" in client.get(edit, headers=HTMX).content.decode()
    refused = client.post(edit, {**data, "default_value": "{oops"}, headers=HTMX)
    assert refused.status_code == 422
    assert "Not valid JSON" in refused.content.decode()
    client.post(edit, {**data, "default_value": '["a", 1.5]', "description": "How much"}, headers=HTMX)
    assert fresh(workflow).document["variables"][0]["default_value"] == ["a", 1.5]
    assert fresh(workflow).document["variables"][0]["description"] == "How much"
    client.post(url("workflow_variable_delete", workflow, variable_index=0), headers=HTMX)
    assert fresh(workflow).document["variables"] == []


def test_triggers_are_added_edited_and_deleted(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users)
    client = tenant_users.client_for(tenant_users.member)
    data = {"trigger_type": "schedule", "config-key": "cron", "config-value": "0 6 * * *"}
    assert client.post(url("workflow_trigger_new", workflow), data).status_code == 302
    assert fresh(workflow).document["triggers"][-1] == {
        "trigger_type": "schedule",
        "config": {"cron": "0 6 * * *"},
    }
    refused = client.post(url("workflow_trigger", workflow, trigger_index=1), {"trigger_type": "cron"})
    assert refused.status_code == 422
    client.post(url("workflow_trigger", workflow, trigger_index=1), {"trigger_type": "webhook"})
    assert fresh(workflow).document["triggers"][-1] == {"trigger_type": "webhook", "config": {}}
    client.post(url("workflow_trigger_delete", workflow, trigger_index=0))
    assert [trigger["trigger_type"] for trigger in fresh(workflow).document["triggers"]] == ["webhook"]


def test_the_error_policy_picks_a_compensation_workflow_of_the_tenant(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    undo_orders = make(tenant_users, "Undo orders")
    foreign = services.workflow_create(tenant=tenant_users.other_tenant, actor=None, name="Their undo")
    client = tenant_users.client_for(tenant_users.member)
    form = client.get(url("workflow_error_policy", workflow), headers=HTMX).content.decode()
    assert "Undo orders" in form
    assert "Their undo" not in form
    refused = client.post(
        url("workflow_error_policy", workflow),
        {"on_error": "compensate", "compensation_workflow_id": str(foreign.uuid)},
    )
    assert refused.status_code == 422
    response = client.post(
        url("workflow_error_policy", workflow),
        {
            "on_error": "compensate",
            "compensation_workflow_id": str(undo_orders.uuid),
            "notification_channel": "#ops",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert fresh(workflow).document["error_policy"] == {
        "on_error": "compensate",
        "compensation_workflow_id": str(undo_orders.uuid),
        "notification_channel": "#ops",
    }
    assert selectors.analysis_of(fresh(workflow)).is_valid


def test_renaming_changes_the_name_and_the_document(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client = tenant_users.client_for(tenant_users.member)
    assert client.post(url("workflow_rename", workflow), {"name": ""}, headers=HTMX).status_code == 422
    response = client.post(url("workflow_rename", workflow), {"name": "Order desk <b>"}, headers=HTMX)
    body = response.content.decode()
    assert 'data-testid="workflow-name">Order desk &lt;b&gt;</h1>' in body
    assert fresh(workflow).name == "Order desk <b>"
    assert fresh(workflow).document["name"] == "Order desk <b>"


def test_changes_without_htmx_redirect_back_to_the_editor(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client: Client = tenant_users.client_for(tenant_users.member)
    response = client.post(url("workflow_node_new", workflow), {"node_type": "wait", **NEW_NODES["wait"]})
    assert response.status_code == 302
    assert response["Location"] == url("workflow_detail", workflow)
    page = client.get(response["Location"]).content.decode()
    assert "Added node “Cool off”." in page
    assert 'data-testid="node-cool_off"' in page
    full = client.get(url("workflow_node", workflow, node_id="cool_off"))
    assert "<html" in full.content.decode()
    assert 'data-testid="node-form" data-node-type="wait"' in full.content.decode()


def test_an_edit_applies_to_the_draft_as_it_is_now_not_as_a_stale_copy_saw_it(
    tenant_users: TenantUsers,
) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    stale = fresh(workflow)
    services.workflow_edit(
        workflow=workflow,
        actor=tenant_users.owner,
        document={**workflow.document, "variables": [samples.variable("amount")]},
        summary="Added variable amount",
    )
    services.workflow_change(
        workflow=stale,
        actor=tenant_users.member,
        change=lambda document: {**document, "nodes": [*document["nodes"], samples.node("second")]},
        summary="Added node second",
    )
    stored = fresh(workflow).document
    assert [variable["name"] for variable in stored["variables"]] == ["amount"]
    assert [node["id"] for node in stored["nodes"]] == ["start", "second"]
    services.workflow_undo(workflow=workflow)
    assert [node["id"] for node in fresh(workflow).document["nodes"]] == ["start"]
    assert [variable["name"] for variable in fresh(workflow).document["variables"]] == ["amount"]
