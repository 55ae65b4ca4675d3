"""The editor in words, not ids: connections dragged in the graph, a decision's branch chosen
from a list, plain edge labels, inputs as key/value rows, findings that say what to do."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TenantUsers
from tests.workflows import samples
from tests.workflows.editor.test_editor_views import (
    HTMX,
    chain_document,
    fresh,
    make,
    node_classes,
    node_of,
    url,
)
from workflows import selectors
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import WorkflowChange

pytestmark = pytest.mark.django_db


def decision_document() -> WorkflowDocument:
    """start -> route (a decision with branches big/small) and two unconnected nodes."""
    route = samples.node(
        "route",
        "decision",
        branches=[
            {"id": "big", "condition": "amount > 1000", "label": "Large order"},
            {"id": "small", "condition": "amount <= 1000", "label": "Small order"},
        ],
    )
    return samples.workflow(
        [samples.node("start"), route, samples.node("approve"), samples.node("ship")],
        [samples.edge("e1", "start", "route")],
        variables=[samples.variable("amount", "number")],
    )


def options_of(body: str, name: str) -> list[tuple[str, str]]:
    """The (value, text) options of the select named `name` in the body."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert select is not None, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))


# 1. Connecting by dragging


def test_members_get_a_graph_to_drag_connections_in_and_viewers_do_not(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    member = (
        tenant_users.client_for(tenant_users.member).get(url("workflow_detail", workflow)).content.decode()
    )
    assert 'data-connectable="true"' in member
    assert member.count('class="connect-port"') == 2
    form = re.search(r'<form[^>]*data-testid="connect-form"[^>]*>(.*?)</form>', member, re.S)
    assert form is not None
    assert f'hx-post="{url("workflow_edge_new", workflow)}"' in form.group(0)
    assert all(f'name="{name}"' in form.group(1) for name in ("connect", "source", "target"))
    assert "drag from one onto the other" in member

    viewer = (
        tenant_users.client_for(tenant_users.viewer).get(url("workflow_detail", workflow)).content.decode()
    )
    assert "data-connectable" not in viewer
    assert "connect-port" not in viewer
    assert 'data-testid="connect-form"' not in viewer


def test_a_dragged_connection_is_added_like_the_edge_form_adds_one(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    client = tenant_users.client_for(tenant_users.member)
    posted = {"connect": "1", "source": "finish", "target": "start"}
    response = client.post(url("workflow_edge_new", workflow), posted, headers=HTMX)
    assert response.status_code == 200
    assert fresh(workflow).document["edges"][-1] == {
        "id": "finish_to_start",
        "source": "finish",
        "target": "start",
    }
    assert 'data-testid="edge-finish_to_start"' in response.content.decode()
    assert (
        tenant_users.client_for(tenant_users.viewer)
        .post(url("workflow_edge_new", workflow), posted)
        .status_code
        == 403
    )


def test_a_connection_dragged_out_of_a_decision_asks_for_its_branch_first(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=decision_document())
    client = tenant_users.client_for(tenant_users.member)
    posted = {"connect": "1", "source": "route", "target": "approve"}
    response = client.post(url("workflow_edge_new", workflow), posted, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Which branch of “Route” leads to “Approve”?" in body
    assert options_of(body, "source_handle") == [
        ("", "— none —"),
        ("big", "Large order"),
        ("small", "Small order"),
    ]
    assert re.search(r'<option value="route" selected>', body), "the form keeps the dragged ends"
    assert re.search(r'<option value="approve" selected>', body)
    assert len(fresh(workflow).document["edges"]) == 1, "nothing is added before the branch is chosen"
    assert not WorkflowChange.objects.for_tenant(tenant_users.tenant).exists()

    chosen = {"source": "route", "target": "approve", "source_handle": "big"}
    assert client.post(url("workflow_edge_new", workflow), chosen, headers=HTMX).status_code == 200
    assert fresh(workflow).document["edges"][-1] == {
        "id": "route_to_approve",
        "source": "route",
        "target": "approve",
        "source_handle": "big",
    }


# 2. A decision's branch from a list


def test_the_branch_is_chosen_from_the_decisions_branches(tenant_users: TenantUsers) -> None:
    document = decision_document()
    document["edges"].append(samples.edge("e2", "route", "ship", handle="small"))
    workflow = make(tenant_users, document=document)
    client = tenant_users.client_for(tenant_users.member)

    edit = client.get(url("workflow_edge", workflow, edge_id="e2"), headers=HTMX).content.decode()
    assert 'name="source_handle"' in edit
    assert "Source handle" not in edit
    assert options_of(edit, "source_handle") == [
        ("", "— none —"),
        ("big", "Large order"),
        ("small", "Small order"),
    ]
    assert '<option value="small" selected>' in edit
    assert "<div data-branch-field>" in edit, "shown: the edge comes from a decision"
    # Every decision's branches travel with the form, for the page to show when From changes.
    assert (
        '<template data-branch-options><optgroup data-source="route"><option value="big">Large order</option>'
        in edit
    )
    assert "data-branch-source" in edit

    new = client.get(url("workflow_edge_new", workflow), {"source": "start"}, headers=HTMX).content.decode()
    assert "<div data-branch-field hidden>" in new, "hidden: an activity has no branches"
    assert options_of(new, "source_handle") == [("", "— none —")]
    new = client.get(url("workflow_edge_new", workflow), {"source": "route"}, headers=HTMX).content.decode()
    assert [value for value, _ in options_of(new, "source_handle")] == ["", "big", "small"]

    refused = client.post(
        url("workflow_edge_new", workflow),
        {"source": "start", "target": "ship", "source_handle": "big"},
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert "Choose one of the branches of the node the edge comes from." in refused.content.decode()


def test_a_decisions_default_is_chosen_from_its_branches_or_a_node(tenant_users: TenantUsers) -> None:
    document = decision_document()
    document["nodes"][1]["config"]["default_branch"] = "e_kept"  # an edge id, as the DSL allows
    workflow = make(tenant_users, document=document)
    client = tenant_users.client_for(tenant_users.member)
    node_url = url("workflow_node", workflow, node_id="route")

    edit = client.get(node_url, headers=HTMX).content.decode()
    assert "Default branch" not in edit
    assert options_of(edit, "default_branch") == [
        ("", "None: the edge without a branch"),
        ("big", "The “Large order” branch"),
        ("small", "The “Small order” branch"),
        ("start", "Go to “Start”"),
        ("approve", "Go to “Approve”"),
        ("ship", "Go to “Ship”"),
        ("e_kept", "e_kept (as stored)"),
    ]
    assert '<option value="e_kept" selected>' in edit

    def posted(default: str) -> dict[str, str]:
        """The node saved with a branch added in the same form, and `default`."""
        rows = [("big", "amount > 1000", "Large order"), ("rush", "express", "Rush"), ("", "", "")]
        form = {
            "node_type": "decision",
            "label": "Route",
            "condition_expression": "",
            "default_branch": default,
            "branch-TOTAL_FORMS": str(len(rows)),
            "branch-INITIAL_FORMS": "0",
        }
        for index, (branch_id, condition, label) in enumerate(rows):
            form |= {
                f"branch-{index}-id": branch_id,
                f"branch-{index}-condition": condition,
                f"branch-{index}-label": label,
            }
        return form

    assert client.post(node_url, posted("rush"), headers=HTMX).status_code == 200
    assert node_of(fresh(workflow), "route")["config"]["default_branch"] == "rush"
    assert client.post(node_url, posted(""), headers=HTMX).status_code == 200
    assert "default_branch" not in node_of(fresh(workflow), "route")["config"]

    client.post(node_url, {**posted(""), "branch-1-id": "small"}, headers=HTMX)
    refused = client.post(node_url, posted("small"), headers=HTMX)  # stored, but its row is gone
    assert refused.status_code == 422
    assert "Choose one of the listed branches or nodes." in refused.content.decode()
    assert "default_branch" not in node_of(fresh(workflow), "route")["config"]


# 3. A plain label


def test_a_label_without_a_condition_is_a_plain_label_on_the_edge(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    client = tenant_users.client_for(tenant_users.member)
    edge_url = url("workflow_edge", workflow, edge_id="e_start_finish")
    response = client.post(
        edge_url, {"source": "start", "target": "finish", "label": "then ship"}, headers=HTMX
    )
    assert response.status_code == 200
    edge = fresh(workflow).document["edges"][0]
    assert edge == {"id": "e_start_finish", "source": "start", "target": "finish", "label": "then ship"}
    assert "condition" not in edge
    graph = re.search(r'data-testid="edge-e_start_finish".*?</g>', response.content.decode(), re.S)
    assert graph is not None
    assert ">then ship</text>" in graph.group(0)
    assert 'value="then ship"' in client.get(edge_url, headers=HTMX).content.decode()
    assert selectors.analysis_of(fresh(workflow)).is_valid

    client.post(
        edge_url,
        {"source": "start", "target": "finish", "label": "big", "condition_expression": "1 > 0"},
        headers=HTMX,
    )
    assert fresh(workflow).document["edges"][0]["condition"] == {"expression": "1 > 0", "label": "big"}


# 4. Key/value rows


def test_inputs_are_edited_as_rows_and_stored_as_a_mapping(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start"))
    client = tenant_users.client_for(tenant_users.member)
    form = client.get(url("workflow_node_new", workflow), {"type": "activity"}, headers=HTMX).content.decode()
    assert "JSON" not in form.split('data-testid="node-form"')[1].split("</form>")[0]
    assert 'name="input_mapping-key"' in form
    assert 'name="input_mapping-value"' in form
    assert "data-kv-add" in form
    assert "<template data-kv-template>" in form

    posted = {
        "node_type": "activity",
        "id": "charge",
        "label": "Charge card",
        "activity_name": "ChargeCard",
        "input_mapping-key": ["order", "", "amount "],
        "input_mapping-value": ["{{order_id}}", "", " {{amount}}"],
    }
    assert client.post(url("workflow_node_new", workflow), posted, headers=HTMX).status_code == 200
    assert node_of(workflow, "charge")["config"]["input_mapping"] == {
        "order": "{{order_id}}",
        "amount": "{{amount}}",
    }

    shown = client.get(url("workflow_node", workflow, node_id="charge"), headers=HTMX).content.decode()
    rows = re.findall(
        r'name="input_mapping-key" value="([^"]*)".*?name="input_mapping-value" value="([^"]*)"', shown, re.S
    )
    assert rows[:3] == [("order", "{{order_id}}"), ("amount", "{{amount}}"), ("", "")], (
        "and a blank row to fill"
    )

    wrong = {
        **posted,
        "input_mapping-key": ["order", "order", ""],
        "input_mapping-value": ["a", "b", "{{c}}"],
    }
    refused = client.post(url("workflow_node", workflow, node_id="charge"), wrong, headers=HTMX)
    body = refused.content.decode()
    assert refused.status_code == 422
    assert "“order” is in two rows: keep one." in body
    assert "The value “{{c}}” has no input name: write one." in body
    assert 'value="{{c}}"' in body, "the rows are shown again as typed"
    assert node_of(workflow, "charge")["config"]["input_mapping"] == {
        "order": "{{order_id}}",
        "amount": "{{amount}}",
    }


def test_trigger_settings_are_rows_unless_they_are_not_text(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", triggers=[]))
    client = tenant_users.client_for(tenant_users.member)
    form = client.get(url("workflow_trigger_new", workflow), headers=HTMX).content.decode()
    assert 'name="config-key"' in form
    assert "Configuration (JSON)" not in form
    data = {
        "trigger_type": "webhook",
        "config-key": ["path", "secret_header"],
        "config-value": ["/hook", "X-Sig"],
    }
    client.post(url("workflow_trigger_new", workflow), data, headers=HTMX)
    assert fresh(workflow).document["triggers"] == [
        {"trigger_type": "webhook", "config": {"path": "/hook", "secret_header": "X-Sig"}}
    ]

    # Settings that are not all text stay JSON, and saving keeps them.
    stored = {"trigger_type": "event", "config": {"filter": {"type": "order"}, "retries": 3}}
    nested = make(tenant_users, "Nested", chain_document("start", triggers=[stored]))
    trigger = url("workflow_trigger", nested, trigger_index=0)
    assert "Settings (JSON)" in client.get(trigger, headers=HTMX).content.decode()
    kept = client.post(
        trigger,
        {"trigger_type": "event", "config": '{"filter": {"type": "order"}, "retries": 3}'},
        headers=HTMX,
    )
    assert kept.status_code == 200
    assert fresh(nested).document["triggers"][0]["config"] == {"filter": {"type": "order"}, "retries": 3}


# 7. Findings in words


def test_a_node_not_connected_is_explained_with_what_to_do_and_links(tenant_users: TenantUsers) -> None:
    document = chain_document("start", "finish")
    document["nodes"].insert(0, samples.node("stray"))  # first, yet not the start to connect from
    document["nodes"][0]["label"] = "Send receipt"
    workflow = make(tenant_users, document=document)
    client = tenant_users.client_for(tenant_users.member)
    body = client.get(url("workflow_detail", workflow)).content.decode()
    finding = re.search(r'<li class="finding[^"]*"[^>]*data-code="isolated_node".*?</li>', body, re.S)
    assert finding is not None
    text = finding.group(0)
    assert 'data-node-id="stray"' in text
    assert "“Send receipt” is not connected." in text
    assert (
        "If it belongs in the flow, connect it from “Start” or a step after it; otherwise remove it." in text
    )
    assert "has no edges:" not in text, "the analysis' sentence is replaced by the editor's words"
    connect = f"{url('workflow_edge_new', workflow)}?source=start&amp;target=stray"
    assert f'href="{connect}"' in text
    assert "Connect from “Start”" in text
    select = url("workflow_node", workflow, node_id="stray")
    assert f'hx-get="{select}"' in text
    assert 'data-testid="finding-node-stray"' in text

    # The link selects the node in the graph; the connect link opens a prefilled edge form.
    opened = client.get(select, headers=HTMX).content.decode()
    assert "is-selected" in node_classes(opened, "stray")
    prefilled = client.get(connect.replace("&amp;", "&"), headers=HTMX).content.decode()
    assert re.search(r'<option value="start" selected>', prefilled)
    assert re.search(r'<option value="stray" selected>', prefilled)

    viewer = (
        tenant_users.client_for(tenant_users.viewer).get(url("workflow_detail", workflow)).content.decode()
    )
    assert "Connect from" not in viewer, "viewers are not offered a change"
    assert "“Send receipt” is not connected." in viewer


def test_a_node_finding_names_the_form_field_and_links_to_the_node(tenant_users: TenantUsers) -> None:
    document = chain_document("start", "finish")
    document["nodes"][1]["config"]["activity_name"] = ""
    workflow = make(tenant_users, document=document)
    body = tenant_users.client_for(tenant_users.member).get(url("workflow_detail", workflow)).content.decode()
    finding = re.search(r'<li class="finding[^"]*"[^>]*data-code="invalid_node".*?</li>', body, re.S)
    assert finding is not None
    assert "“Finish” is not set up right." in finding.group(0)
    assert "“Activity name” is required" in finding.group(0)
    assert 'data-testid="finding-node-finish"' in finding.group(0)
    assert "activity_name" not in finding.group(0)
