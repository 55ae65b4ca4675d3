"""Exporting workflows as JSON files and importing them back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from bench.workflow_shapes import fan_out
from tests.conftest import TenantUsers
from tests.workflows import samples
from tests.workflows.version_records import edited, make_workflow, url, valid_document
from workflows import selectors, services
from workflows.models import Workflow, WorkflowChange
from workflows.versions.transfer_views import MAX_IMPORT_REQUEST_BYTES

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def upload(client: Client, data: bytes, name: str = "workflow.json") -> Any:
    return client.post(url("workflow_import"), {"file": SimpleUploadedFile(name, data, "application/json")})


def workflows_of(users: TenantUsers) -> list[Workflow]:
    return list(Workflow.objects.for_tenant(users.tenant).order_by("pk"))


def test_the_export_is_the_draft_as_a_json_attachment(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)

    response = tenant_users.client_for(tenant_users.viewer).get(url("workflow_export", workflow))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="order_intake.json"'
    exported = json.loads(response.content)
    assert (exported["id"], exported["version"]) == (str(workflow.uuid), 1)
    # The DSL's canonical form: what import stores, without the nulls of optional fields.
    assert exported["nodes"][0]["config"] == {
        "type": "activity",
        "activity_name": "ReceiveOrder",
        "input_mapping": {"order": "{{order_id}}"},
    }
    assert exported["edges"] == [{"id": "e_receive_check", "source": "receive", "target": "check"}]
    assert response.content.endswith(b"}\n")
    assert b'\n  "name": "Order intake",\n' in response.content


def test_a_version_exports_as_it_was_published(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    edited(workflow, lambda document: document.update(name="Renamed"))

    response = tenant_users.client_for(tenant_users.member).get(
        url("workflow_export", workflow), {"version": "1"}
    )

    assert response["Content-Disposition"] == 'attachment; filename="order_intake_v1.json"'
    assert json.loads(response.content)["name"] == "Order intake"
    assert json.loads(response.content)["version"] == 1


@pytest.mark.parametrize("published", [False, True])
def test_export_then_import_gives_back_the_same_file(tenant_users: TenantUsers, published: bool) -> None:
    workflow = make_workflow(tenant_users.tenant)
    if published:
        services.workflow_publish(workflow=workflow, actor=None)
    client = tenant_users.client_for(tenant_users.member)
    exported = client.get(url("workflow_export", workflow)).content

    again = upload(client, exported, "order_intake.json")

    assert again.status_code == 200
    assert "is now the draft of “Order intake”" in again.content.decode()
    assert workflows_of(tenant_users) == [workflow]
    assert not WorkflowChange.objects.for_tenant(tenant_users.tenant).exists(), "nothing changed"
    assert client.get(url("workflow_export", workflow)).content == exported
    # The file brings a draft that moved on back to what was exported, as an undoable change.
    workflow = edited(workflow, lambda document: document["nodes"].append(samples.node("later")))
    assert upload(client, exported).status_code == 200
    assert client.get(url("workflow_export", workflow)).content == exported
    change = selectors.last_change(workflow)
    assert change is not None
    assert change.summary == "Imported from a file"


def test_another_tenant_imports_a_copy_with_its_own_identity(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    exported = tenant_users.client_for(tenant_users.owner).get(url("workflow_export", workflow)).content
    outsider = tenant_users.client_for(tenant_users.outsider)

    response = outsider.post(
        url("workflow_import", slug="globex"), {"file": SimpleUploadedFile("w.json", exported)}
    )

    assert response.status_code == 200
    assert "as a new workflow, “Order intake”" in response.content.decode()
    [copy] = Workflow.objects.for_tenant(tenant_users.other_tenant)
    assert copy.uuid != workflow.uuid, "another tenant's id stays theirs"
    copied = outsider.get(url("workflow_export", copy, slug="globex")).content
    original, imported = json.loads(exported), json.loads(copied)
    assert imported["tenant_id"] != original["tenant_id"]
    assert copied == (
        exported.replace(str(workflow.uuid).encode(), str(copy.uuid).encode()).replace(
            original["tenant_id"].encode(), imported["tenant_id"].encode()
        )
    ), "the same bytes but for the workflow's and the tenant's ids"


def test_importing_a_new_workflow_reports_its_findings(tenant_users: TenantUsers) -> None:
    document = valid_document("Fresh import")
    document["id"] = "7f9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"
    document["nodes"][1]["config"]["input_mapping"] = {"sku": "{{sku}}"}  # undeclared: an error
    client = tenant_users.client_for(tenant_users.member)

    response = upload(client, json.dumps(document).encode())

    assert response.status_code == 200
    page = response.content.decode()
    assert "as a new workflow, “Fresh import”" in page
    assert 'data-code="undefined_variable"' in page
    [workflow] = workflows_of(tenant_users)
    assert str(workflow.uuid) == document["id"]
    assert (workflow.name, workflow.created_by, workflow.published_version) == (
        "Fresh import",
        tenant_users.member,
        0,
    )
    assert url("workflow_detail", workflow) in page


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"name: not json", "the document is not JSON"),
        (b"\xff\xfe{}", "the document is not UTF-8 text"),
        (b"[1, 2]", "a workflow document must be a JSON object"),
        (b'{"name": "half a workflow"}', "nodes: Field required"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason_and_create_nothing(
    tenant_users: TenantUsers, data: bytes, reason: str
) -> None:
    response = upload(tenant_users.client_for(tenant_users.member), data, "bad.json")

    assert response.status_code == 422
    error = re.search(r'data-testid="import-error">(.*?)</div>', response.content.decode(), re.S)
    assert error is not None
    assert "bad.json was not imported." in error.group(1)
    assert reason in error.group(1)
    assert workflows_of(tenant_users) == []


def test_a_file_over_2_mb_is_refused(tenant_users: TenantUsers) -> None:
    document = valid_document()
    document["nodes"][0]["label"] = "x" * (2 * MB)
    data = json.dumps(document).encode()
    assert 2 * MB < len(data) < MAX_IMPORT_REQUEST_BYTES - 1024, (
        "within the request limit: the file check answers"
    )

    response = upload(tenant_users.client_for(tenant_users.member), data, "big.json")

    assert response.status_code == 422
    assert "big.json is 2.0 MB; at most 2 MB can be imported." in response.content.decode()
    assert workflows_of(tenant_users) == []


@override_settings(WORKFLOW_MAX_BRANCHES=3)
def test_a_workflow_over_the_size_limits_is_refused_with_the_finding(tenant_users: TenantUsers) -> None:
    data = json.dumps(fan_out(4)).encode()

    response = upload(tenant_users.client_for(tenant_users.member), data, "wide.json")

    assert response.status_code == 422
    page = response.content.decode()
    assert "wide.json was not imported." in page
    assert "too_large" in page
    assert (
        "node &#x27;n2&#x27; has 4 branches; at most 3 are allowed (the WORKFLOW_MAX_BRANCHES setting)"
        in page
    )
    assert workflows_of(tenant_users) == []


@pytest.mark.parametrize(
    "content_type", ["multipart", "application/x-www-form-urlencoded", "application/json"]
)
def test_a_request_over_the_limit_is_turned_away_before_it_is_read(
    tenant_users: TenantUsers, content_type: str
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    body = b"{" + b" " * (3 * MB) + b"}"
    if content_type == "multipart":
        response = upload(client, body, "huge.json")
    else:
        response = client.post(url("workflow_import"), body, content_type=content_type)

    assert response.status_code == 413
    assert "The upload is 3.0 MB; at most 2 MB can be imported." in response.content.decode()
    assert workflows_of(tenant_users) == []


def test_a_form_without_a_file_is_refused(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.member).post(url("workflow_import"), {"note": "x"})
    assert response.status_code == 422
    assert "Choose a .json file to import." in response.content.decode()


def test_the_import_form_needs_the_csrf_token_and_the_member_role(tenant_users: TenantUsers) -> None:
    data = json.dumps(valid_document()).encode()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(tenant_users.member)
    form = strict.get(url("workflow_import"))
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    assert token is not None

    assert (
        strict.post(url("workflow_import"), {"file": SimpleUploadedFile("w.json", data)}).status_code == 403
    )
    assert workflows_of(tenant_users) == []
    accepted = strict.post(
        url("workflow_import"),
        {"file": SimpleUploadedFile("w.json", data), "csrfmiddlewaretoken": token.group(1)},
    )
    assert accepted.status_code == 200
    assert len(workflows_of(tenant_users)) == 1

    viewer = tenant_users.client_for(tenant_users.viewer)
    assert viewer.get(url("workflow_import")).status_code == 200
    assert upload(viewer, data).status_code == 403
    assert tenant_users.client_for(tenant_users.outsider).post(url("workflow_import")).status_code == 404
    assert len(workflows_of(tenant_users)) == 1
