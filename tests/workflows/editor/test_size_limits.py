"""The editor and large workflows: the limits when adding, pages that stay linear."""

from __future__ import annotations

import functools

import pytest
from django.test import override_settings

from bench.workflow_shapes import SHAPES, fan_out
from tests.conftest import TenantUsers
from tests.workflows.analysis.test_scaling import lines_executed
from tests.workflows.editor.test_editor_views import HTMX, NEW_NODES, chain_document, fresh, make, url

pytestmark = pytest.mark.django_db


@override_settings(WORKFLOW_MAX_NODES=2)
def test_a_node_is_not_added_to_a_draft_at_the_node_limit(tenant_users: TenantUsers) -> None:
    workflow = make(tenant_users, document=chain_document("start", "finish"))
    before = fresh(workflow).document
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(
        url("workflow_node_new", workflow), {"node_type": "wait", **NEW_NODES["wait"]}, headers=HTMX
    )

    assert response.status_code == 422
    assert (
        "The workflow has 2 nodes, the most it may have (the WORKFLOW_MAX_NODES setting): "
        "delete some before adding more."
    ) in response.content.decode()
    assert fresh(workflow).document == before
    with override_settings(WORKFLOW_MAX_NODES=3):
        added = client.post(url("workflow_node_new", workflow), {"node_type": "wait", **NEW_NODES["wait"]})
        assert added.status_code == 302
        assert len(fresh(workflow).document["nodes"]) == 3


@override_settings(WORKFLOW_MAX_EDGES=1)
def test_an_edge_is_not_added_to_a_draft_at_the_edge_limit(tenant_users: TenantUsers) -> None:
    document = chain_document("start", "finish")
    document["nodes"].append({**document["nodes"][0], "id": "other"})
    workflow = make(tenant_users, document=document)
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(
        url("workflow_edge_new", workflow), {"source": "start", "target": "other"}, headers=HTMX
    )

    assert response.status_code == 422
    assert "The workflow has 1 edge, the most it may have (the WORKFLOW_MAX_EDGES setting)" in (
        response.content.decode()
    )
    assert len(fresh(workflow).document["edges"]) == 1


@override_settings(WORKFLOW_MAX_BRANCHES=3)
def test_a_draft_over_the_limits_still_opens_with_the_finding_and_its_graph(
    tenant_users: TenantUsers,
) -> None:
    workflow = make(tenant_users, document=fan_out(4))

    response = tenant_users.client_for(tenant_users.viewer).get(url("workflow_detail", workflow))

    assert response.status_code == 200
    page = response.content.decode()
    assert "has 4 branches; at most 3 are allowed (the WORKFLOW_MAX_BRANCHES setting)" in page
    assert page.count('class="wf-node ') == len(fan_out(4)["nodes"])


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_editor_page_does_the_same_work_per_node_and_edge_at_any_size(
    tenant_users: TenantUsers, shape: str
) -> None:
    """No clock: the lines of workflow code run for the page (analysis, drawing, panel) are
    counted; at 4x the size, the work per node and edge stays the same."""
    client = tenant_users.client_for(tenant_users.member)
    work = []
    for size in (60, 240):
        document = SHAPES[shape](size)
        workflow = make(tenant_users, name=f"{shape} {size}", document=document)
        page = url("workflow_detail", workflow)
        assert client.get(page).status_code == 200
        lines = lines_executed(functools.partial(client.get, page))
        work.append(lines / (len(document["nodes"]) + len(document["edges"])))

    assert work[1] <= 1.25 * work[0], f"{work[1] / work[0]:.2f}x the work per element at 4x the size"
