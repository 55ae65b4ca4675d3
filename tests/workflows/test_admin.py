"""Operators' admin of workflows, versions and changes: every tenant's rows, read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import User
from tests.conftest import TenantUsers
from tests.workflows.version_records import edited, make_workflow, valid_document
from workflows import services
from workflows.models import Workflow, WorkflowChange, WorkflowProposal, WorkflowVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(tenant_users: TenantUsers) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@sce.test", password="x" * 20))
    return client


@pytest.fixture
def workflows(tenant_users: TenantUsers) -> tuple[Workflow, Workflow]:
    ours = make_workflow(tenant_users.tenant, actor=tenant_users.member)
    services.workflow_publish(workflow=ours, actor=tenant_users.member, note="First")
    edited(ours, lambda document: document.update(name="Order intake, revised"), summary="Renamed")
    theirs = make_workflow(tenant_users.other_tenant, document=valid_document("Globex pipeline"))
    return ours, theirs


@pytest.mark.parametrize(
    ("url", "shown", "hidden"),
    [
        ("/admin/workflows/workflow/", ["Order intake, revised", "Globex pipeline"], []),
        ("/admin/workflows/workflow/?q=globex", ["Globex pipeline"], ["Order intake"]),
        ("/admin/workflows/workflow/?published=yes", ["Order intake, revised"], ["Globex pipeline"]),
        ("/admin/workflows/workflow/?published=no", ["Globex pipeline"], ["Order intake"]),
        ("/admin/workflows/workflow/?has_changes__exact=1", ["Order intake, revised", "Globex"], []),
        ("/admin/workflows/workflowversion/?q=acme", ["First"], []),
        ("/admin/workflows/workflowchange/?q=renamed", ["Renamed"], []),
        ("/admin/workflows/workflowchange/?q=globex", ["0 results"], ["Renamed"]),
    ],
)
def test_operators_list_search_and_filter_every_tenants_workflows(
    operator: Client, workflows: tuple[Workflow, Workflow], url: str, shown: list[str], hidden: list[str]
) -> None:
    response = operator.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for text in shown:
        assert text in page
    for text in hidden:
        assert text not in page


def test_operators_read_a_workflow_and_its_versions_without_changing_them(
    operator: Client, workflows: tuple[Workflow, Workflow]
) -> None:
    ours, _ = workflows
    version = WorkflowVersion.objects.for_tenant(ours.tenant).get(workflow=ours)
    change = WorkflowChange.objects.for_tenant(ours.tenant).get(workflow=ours)

    page = operator.get(f"/admin/workflows/workflow/{ours.pk}/change/")
    assert page.status_code == 200
    assert b"&quot;Order intake, revised&quot;" in page.content, "the draft, as JSON"
    assert f"/admin/workflows/workflowversion/?workflow__id__exact={ours.pk}".encode() in page.content
    assert b'name="_save"' not in page.content
    for path in (
        f"/admin/workflows/workflowversion/{version.pk}/change/",
        f"/admin/workflows/workflowchange/{change.pk}/change/",
    ):
        assert operator.get(path).status_code == 200
        assert operator.post(path, {"note": "rewritten", "summary": "rewritten"}).status_code == 403
    assert operator.post(f"/admin/workflows/workflow/{ours.pk}/change/", {"name": "x"}).status_code == 403
    assert operator.get("/admin/workflows/workflowversion/add/").status_code == 403
    assert operator.get("/admin/workflows/workflow/add/").status_code == 403
    assert WorkflowVersion.objects.for_tenant(ours.tenant).get(pk=version.pk).note == "First"


def test_operators_delete_a_workflow_with_its_versions(
    operator: Client, workflows: tuple[Workflow, Workflow]
) -> None:
    ours, theirs = workflows
    version = WorkflowVersion.objects.for_tenant(ours.tenant).get(workflow=ours)
    assert (
        operator.post(f"/admin/workflows/workflowversion/{version.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    confirm = operator.get(f"/admin/workflows/workflow/{ours.pk}/delete/")
    assert confirm.status_code == 200
    response = operator.post(f"/admin/workflows/workflow/{ours.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Workflow.objects.for_tenant(ours.tenant).exists()
    assert not WorkflowVersion.objects.for_tenant(ours.tenant).exists()
    assert not WorkflowChange.objects.for_tenant(ours.tenant).exists()
    assert Workflow.objects.for_tenant(theirs.tenant).get() == theirs


def test_tenant_members_who_are_not_staff_see_no_admin(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).get("/admin/workflows/workflow/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_operators_see_failed_ai_proposals_of_every_tenant_and_change_none(
    operator: Client, tenant_users: TenantUsers
) -> None:
    failed = WorkflowProposal.objects.create(
        tenant=tenant_users.tenant,
        kind=WorkflowProposal.Kind.ENHANCE,
        state=WorkflowProposal.State.FAILED,
        instruction="Add an approval step",
        base_document={},
        attempts=3,
        error_code="overloaded",
        error_message="every provider was overloaded",
    )
    WorkflowProposal.objects.create(
        tenant=tenant_users.other_tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        state=WorkflowProposal.State.RUNNING,
        base_document={},
    )
    listing = operator.get("/admin/workflows/workflowproposal/?state__exact=failed")
    assert listing.status_code == 200
    theirs = str(tenant_users.other_tenant).encode()
    assert b"overloaded" in listing.content
    assert theirs not in listing.content
    running = operator.get("/admin/workflows/workflowproposal/?state__exact=running")
    assert theirs in running.content, "another tenant's stuck job is there too"
    assert str(tenant_users.tenant).encode() not in running.content
    path = f"/admin/workflows/workflowproposal/{failed.pk}/change/"
    page = operator.get(path)
    assert page.status_code == 200
    assert b"every provider was overloaded" in page.content
    assert operator.post(path, {"state": "ready"}).status_code == 403
    assert WorkflowProposal.objects.for_tenant(tenant_users.tenant).get(pk=failed.pk).state == "failed"
