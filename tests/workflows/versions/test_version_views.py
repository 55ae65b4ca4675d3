"""Publishing, the versions list, one version, restoring, and diffs between documents."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.template.loader import render_to_string

from tests.conftest import TenantUsers
from tests.workflows import samples
from tests.workflows.version_records import cyclic_document, edited, make_workflow, url, valid_document
from workflows import selectors, services
from workflows.dsl.document_types import WorkflowDocument
from workflows.models import Workflow, WorkflowChange, WorkflowVersion
from workflows.versions.diff import diff_documents

pytestmark = pytest.mark.django_db


def versions_of(workflow: Workflow) -> list[WorkflowVersion]:
    return list(selectors.versions_of(workflow))


def reloaded(workflow: Workflow) -> Workflow:
    return Workflow.objects.for_tenant(workflow.tenant).get(pk=workflow.pk)


def test_members_publish_the_draft_with_a_note(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(url("workflow_publish", workflow), {"note": "  First cut  "})

    assert response.status_code == 302
    assert response["Location"] == url("workflow_versions", workflow)
    [version] = versions_of(workflow)
    assert (version.number, version.note, version.created_by) == (1, "First cut", tenant_users.member)
    assert version.document["version"] == 1
    workflow = reloaded(workflow)
    assert (workflow.published_version, workflow.has_changes) == (1, False)
    page = client.get(response["Location"]).content.decode()
    assert "Published version 1." in page
    row = re.search(r'<tr data-testid="version-row" data-number="1">.*?</tr>', page, re.S)
    assert row is not None
    assert "First cut" in row.group(0)
    assert tenant_users.member.get_full_name() in row.group(0)
    assert url("workflow_version", workflow, number=1) in row.group(0)
    assert "Restore as draft" in row.group(0)


def test_viewers_read_versions_but_cannot_publish_or_restore(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    viewer = tenant_users.client_for(tenant_users.viewer)

    page = viewer.get(url("workflow_versions", workflow))
    assert page.status_code == 200
    assert b'data-testid="version-row"' in page.content
    assert b"Restore as draft" not in page.content
    assert viewer.post(url("workflow_publish", workflow)).status_code == 403
    assert viewer.post(url("workflow_restore", workflow, number=1)).status_code == 403
    assert len(versions_of(workflow)) == 1
    assert not WorkflowChange.objects.for_tenant(tenant_users.tenant).exists()


def test_outsiders_see_no_versions_of_another_tenant(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    outsider = tenant_users.client_for(tenant_users.outsider)
    pages: list[tuple[str, dict[str, Any]]] = [
        ("workflow_versions", {}),
        ("workflow_version", {"number": 1}),
        ("workflow_diff", {}),
    ]
    for name, kwargs in pages:
        assert outsider.get(url(name, workflow, **kwargs)).status_code == 404
        assert outsider.get(url(name, workflow, slug="globex", **kwargs)).status_code == 404
    assert outsider.post(url("workflow_publish", workflow, slug="globex")).status_code == 404
    assert outsider.post(url("workflow_restore", workflow, slug="globex", number=1)).status_code == 404


def test_publishing_is_refused_while_the_draft_has_errors(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant, document=cyclic_document())
    response = tenant_users.client_for(tenant_users.owner).post(url("workflow_publish", workflow))

    assert response.status_code == 422
    page = response.content.decode()
    assert "was not published" in page
    assert 'data-code="cyclic_graph"' in page
    assert "cycle <code>" in page
    assert versions_of(workflow) == []
    assert reloaded(workflow).published_version == 0


def test_publishing_an_unchanged_draft_makes_no_empty_version(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    client = tenant_users.client_for(tenant_users.member)
    assert client.post(url("workflow_publish", workflow)).status_code == 302

    response = client.post(url("workflow_publish", workflow), {"note": "again"})

    assert response.status_code == 409
    assert "Nothing to publish: the draft is version 1, unchanged." in response.content.decode()
    assert len(versions_of(workflow)) == 1


def test_a_version_page_shows_what_it_contains_and_links_to_its_code(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=tenant_users.owner, note="Launch")
    edited(workflow, lambda document: document["nodes"][0].update(label="Renamed later"))
    client = tenant_users.client_for(tenant_users.viewer)

    page = client.get(url("workflow_version", workflow, number=1)).content.decode()

    nodes = re.search(r'data-testid="version-nodes">.*?</table>', page, re.S)
    assert nodes is not None
    assert "Receive" in nodes.group(0)
    assert "Renamed later" not in nodes.group(0), "the version, not the draft"
    assert "Launch" in page
    assert url("workflow_code", workflow) + "?version=1" in page
    assert url("workflow_export", workflow) + "?version=1" in page
    assert client.get(url("workflow_version", workflow, number=2)).status_code == 404


def test_restoring_a_version_is_an_undoable_change_and_versions_stay_as_published(
    tenant_users: TenantUsers,
) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    published = json.dumps(versions_of(workflow)[0].document, sort_keys=True)
    workflow = edited(workflow, lambda document: document["nodes"][1].update(label="Check twice"))
    services.workflow_publish(workflow=workflow, actor=None)
    workflow = edited(workflow, lambda document: document["nodes"].append(samples.node("extra")))
    before_restore = reloaded(workflow).document

    response = tenant_users.client_for(tenant_users.member).post(url("workflow_restore", workflow, number=1))

    assert response.status_code == 302
    assert response["Location"] == url("workflow_detail", workflow)
    workflow = reloaded(workflow)
    version_1, version_2 = sorted(versions_of(workflow), key=lambda version: version.number)
    assert {**workflow.document, "version": 1} == version_1.document
    assert workflow.has_changes, "a restored version is a draft to publish again"
    assert workflow.document["version"] == 3
    change = selectors.last_change(workflow)
    assert change is not None
    assert (change.summary, change.created_by) == ("Restored version 1", tenant_users.member)
    assert json.dumps(version_1.document, sort_keys=True) == published, "versions are immutable"
    assert version_2.document["nodes"][1]["label"] == "Check twice"

    services.workflow_undo(workflow=workflow)

    assert reloaded(workflow).document == before_restore
    assert len(versions_of(workflow)) == 2
    assert json.dumps(versions_of(workflow)[1].document, sort_keys=True) == published


def test_restoring_a_missing_version_is_404(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    response = tenant_users.client_for(tenant_users.member).post(url("workflow_restore", workflow, number=1))
    assert response.status_code == 404
    assert not WorkflowChange.objects.for_tenant(tenant_users.tenant).exists()


def two_versions(users: TenantUsers) -> Workflow:
    """Version 1, then version 2 with a node added, one removed, one changed, and a new variable."""
    workflow = make_workflow(users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)

    def change(document: WorkflowDocument) -> None:
        nodes = document["nodes"]
        nodes[0]["label"] = "Receive <b>order</b>"
        nodes[0]["config"]["input_mapping"]["order"] = "{{ order_id }}"
        del nodes[1]
        nodes.append(samples.node("ship", activity_name="Ship"))
        document["edges"] = samples.chain("receive", "ship")
        document["variables"].append(samples.variable("priority", "number"))

    workflow = edited(workflow, change)
    services.workflow_publish(workflow=workflow, actor=None)
    return reloaded(workflow)


def changes_on(page: str) -> dict[tuple[str, str], str]:
    """(section, key) → kind of every change the diff partial rendered."""
    found = re.findall(
        r'data-testid="diff-change" data-kind="(\w+)" data-section="(\w+)" data-key="([^"]+)"', page
    )
    return {(section, html.unescape(key)): kind for kind, section, key in found}


def test_the_diff_shows_what_was_added_removed_and_changed(tenant_users: TenantUsers) -> None:
    workflow = two_versions(tenant_users)

    response = tenant_users.client_for(tenant_users.viewer).get(
        url("workflow_diff", workflow), {"from": "1", "to": "2"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "version 1 → version 2" in page
    assert changes_on(page) == {
        ("nodes", "receive"): "changed",
        ("nodes", "check"): "removed",
        ("nodes", "ship"): "added",
        ("edges", "e_receive_check"): "removed",
        ("edges", "e_receive_ship"): "added",
        ("variables", "priority"): "added",
    }
    assert "3 added, 2 removed, 1 changed" in page
    receive = re.search(r'data-key="receive">.*?</li>', page, re.S)
    assert receive is not None
    paths = re.findall(r'data-testid="diff-field" data-path="([^"]+)"', receive.group(0))
    assert paths == ["config.input_mapping.order", "label"]
    # Values are JSON, pretty-printed and escaped.
    assert "&quot;Receive &lt;b&gt;order&lt;/b&gt;&quot;" in receive.group(0)
    assert "<b>order</b>" not in page
    assert "&quot;{{order_id}}&quot;" in receive.group(0)
    assert "&quot;{{ order_id }}&quot;" in receive.group(0)
    ship = re.search(r'data-key="ship">.*?</li>', page, re.S)
    assert ship is not None
    assert "\n  &quot;id&quot;: &quot;ship&quot;,\n" in ship.group(0)


def test_the_diff_compares_the_latest_version_with_the_draft_by_default(tenant_users: TenantUsers) -> None:
    workflow = two_versions(tenant_users)
    client = tenant_users.client_for(tenant_users.member)

    unchanged = client.get(url("workflow_diff", workflow)).content.decode()
    assert "version 2 → the draft" in unchanged
    assert 'data-testid="diff-empty"' in unchanged
    # A null optional field and a missing one are the same workflow: no difference to show.
    workflow = edited(workflow, lambda document: document["nodes"][0]["config"].pop("output_variable"))
    assert 'data-testid="diff-empty"' in client.get(url("workflow_diff", workflow)).content.decode()

    edited(workflow, lambda document: document.update(name="Order intake, faster"))
    page = client.get(url("workflow_diff", workflow)).content.decode()
    assert changes_on(page) == {("workflow", "name"): "changed"}
    assert "&quot;Order intake, faster&quot;" in page
    backwards = client.get(url("workflow_diff", workflow), {"from": "draft", "to": "1"}).content.decode()
    assert changes_on(backwards)[("nodes", "check")] == "added"
    assert 'value="1" selected' in backwards, "the picker shows what is compared"


def test_without_versions_the_diff_page_says_there_is_nothing_to_compare(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    response = tenant_users.client_for(tenant_users.member).get(url("workflow_diff", workflow))
    assert response.status_code == 200
    assert b'data-testid="diff-nothing"' in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "one"}, "“from” takes a version number or “draft”, not “one”."),
        ({"from": "1", "to": "-2"}, "“to” takes a version number or “draft”, not “-2”."),
        ({"from": "1.0"}, "not “1.0”"),
        ({"from": "²"}, "not “²”"),
        ({"to": "9" * 30}, "not “" + "9" * 30 + "”"),
        ({"from": "3"}, "“from”: this workflow has no version 3; it has versions 1 to 2."),
        ({"to": "0"}, "this workflow has no version 0"),
        ({"from": "<script>"}, "not “&lt;script&gt;”"),
    ],
)
def test_bad_diff_parameters_are_a_400_that_says_which(
    tenant_users: TenantUsers, query: dict[str, str], message: str
) -> None:
    workflow = two_versions(tenant_users)
    response = tenant_users.client_for(tenant_users.member).get(url("workflow_diff", workflow), query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_diff_partial_renders_any_diff_on_its_own() -> None:
    """Proposals (generate and enhance) show their diff with the same partial."""
    before = valid_document()
    after = valid_document()
    after["nodes"][1]["config"]["activity_name"] = "CheckStock</pre><script>x()</script>"
    after["error_policy"] = {"on_error": "ignore"}

    rendered = render_to_string("workflows/partials/diff.html", {"diff": diff_documents(before, after)})

    assert changes_on(rendered) == {("workflow", "error_policy"): "changed", ("nodes", "check"): "changed"}
    assert "<script>" not in rendered
    assert "&lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;" in rendered
    assert 'data-path="on_error"' in rendered
    assert 'data-path="compensation_workflow_id"' in rendered, "a key only one side has"
    assert "not set" in rendered
    empty = render_to_string("workflows/partials/diff.html", {"diff": diff_documents(before, before)})
    assert 'data-testid="diff-empty"' in empty


def test_restoring_the_latest_version_leaves_nothing_to_publish(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    edited(workflow, lambda document: document["nodes"][0].update(label="Changed"))
    client = tenant_users.client_for(tenant_users.member)

    assert client.post(url("workflow_restore", workflow, number=1)).status_code == 302

    workflow = reloaded(workflow)
    assert (workflow.has_changes, workflow.document["version"]) == (False, 1)
    assert client.post(url("workflow_publish", workflow)).status_code == 409
    services.workflow_undo(workflow=workflow)
    assert reloaded(workflow).has_changes
