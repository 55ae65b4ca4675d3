"""The run pages: the lists, the run page with its graph and event log, the Run form, and the
actions; who may see and do what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs.models import Run
from tests.conftest import TenantUsers
from tests.runs.builders import add_event, half_run, make_run, node_ran, open_task, order_document, published
from workflows import services as workflow_services
from workflows.models import WorkflowVersion

HTMX = {"HX-Request": "true", "HX-Target": "run-table"}


def url(name: str, slug: str = "acme", **kwargs: Any) -> str:
    return reverse(f"runs:{name}", kwargs={"tenant_slug": slug, **kwargs})


def run_url(run: Run, action: str = "run_detail", slug: str = "acme") -> str:
    return url(action, slug, run_id=run.pk)


def form_url(version: WorkflowVersion, slug: str = "acme") -> str:
    return url("run_new", slug, workflow_id=version.workflow_id, number=version.number)


def text(response: Any) -> str:
    return str(response.content.decode())


def node_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="run-node" data-node-id="([^"]+)" data-state="(\w+)"', html))


@pytest.fixture
def version(tenant_users: TenantUsers) -> WorkflowVersion:
    return published(tenant_users)


# --- Who may see and do what ----------------------------------------------------------------


def test_outsiders_get_404_on_every_page_and_action(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    run = make_run(version, status=Run.Status.SUCCEEDED)
    outsider = tenant_users.client_for(tenant_users.outsider)
    pages = [
        url("run_list"),
        run_url(run),
        form_url(version),
        url("workflow_runs", workflow_id=version.workflow_id),
    ]
    for page in pages:
        assert outsider.get(page).status_code == 404, page
    # Through the outsider's own organization, the run and the workflow do not exist.
    for page in pages[1:]:
        assert outsider.get(page.replace("/t/acme/", "/t/globex/")).status_code == 404, page
    own_list = text(outsider.get(url("run_list", "globex")))
    assert 'data-testid="run-row"' not in own_list
    assert "Order check" not in own_list
    for action in ("run_cancel", "run_terminate", "run_rerun"):
        assert outsider.post(run_url(run, action)).status_code == 404
        assert outsider.post(run_url(run, action, slug="globex")).status_code == 404
    assert outsider.post(form_url(version, slug="globex"), {"input-0": "A-1"}).status_code == 404
    assert not Run.objects.for_tenant(tenant_users.other_tenant).exists()


def test_viewers_see_every_page_but_start_and_change_nothing(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    unfinished = make_run(version)
    finished = make_run(version, status=Run.Status.SUCCEEDED)
    viewer = tenant_users.client_for(tenant_users.viewer)
    page = viewer.get(run_url(unfinished))
    assert page.status_code == 200
    assert 'data-testid="run-cancel"' not in text(page)
    assert "Your role can follow this run, not change it." in text(page)
    assert 'data-testid="run-again"' not in text(viewer.get(run_url(finished)))
    form = viewer.get(form_url(version))
    assert form.status_code == 200
    assert 'data-testid="run-start" disabled' in text(form)
    assert viewer.post(form_url(version), {"input-0": "A-1"}).status_code == 403
    for action in ("run_cancel", "run_terminate"):
        assert viewer.post(run_url(unfinished, action), {"confirm": "terminate"}).status_code == 403
    assert viewer.post(run_url(finished, "run_rerun"), {"node_id": "check"}).status_code == 403
    assert Run.objects.for_tenant(tenant_users.tenant).count() == 2


def test_members_are_offered_the_actions_that_fit_the_run(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    member = tenant_users.client_for(tenant_users.member)
    going = text(member.get(run_url(make_run(version))))
    assert 'data-testid="run-cancel"' in going
    assert 'data-testid="run-terminate-confirm"' in going
    assert 'data-testid="run-again"' not in going
    ended = text(member.get(run_url(make_run(version, status=Run.Status.FAILED))))
    assert 'data-testid="run-cancel"' not in ended
    offered = re.findall(
        r'<option value="([^"]+)">', ended.split('id="run-again-node"')[1].split("</select>")[0]
    )
    # Nodes inside the parallel block's branches cannot start a run on their own.
    assert offered == ["check", "route", "review", "fan_out", "ship"]


# --- The lists ------------------------------------------------------------------------------


def test_the_runs_list_filters_by_status_workflow_and_trigger(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    other = published(tenant_users, name="Refunds")
    make_run(version, status=Run.Status.SUCCEEDED)
    make_run(version, status=Run.Status.FAILED, trigger=Run.Trigger.SCHEDULE)
    make_run(other, status=Run.Status.FAILED)
    make_run(version, status=Run.Status.FAILED).delete()  # gone: not counted
    foreign = published_elsewhere(tenant_users)
    make_run(foreign, status=Run.Status.FAILED)
    client = tenant_users.client_for(tenant_users.viewer)

    def rows(**query: Any) -> list[str]:
        page = text(client.get(url("run_list"), query))
        return re.findall(r'data-testid="run-row" data-status="(\w+)"', page)

    assert sorted(rows()) == ["failed", "failed", "succeeded"]
    assert rows(status="failed") == ["failed", "failed"]
    assert rows(status="failed", workflow=str(version.workflow_id)) == ["failed"]
    assert rows(trigger="schedule") == ["failed"]
    assert rows(workflow=str(other.workflow_id), trigger="schedule") == []
    assert client.get(url("run_list"), {"status": "exploded"}).status_code == 400
    # A workflow of another tenant is not a choice: refused, never listed.
    assert client.get(url("run_list"), {"workflow": str(foreign.workflow_id)}).status_code == 400
    fragment = client.get(url("run_list"), {"status": "succeeded"}, headers=HTMX)
    assert text(fragment).lstrip().startswith('<section class="card" id="run-table">')


def published_elsewhere(tenant_users: TenantUsers) -> WorkflowVersion:
    workflow = workflow_services.workflow_create(
        tenant=tenant_users.other_tenant,
        actor=tenant_users.outsider,
        name="Secret",
        document=order_document(),
    )
    return workflow_services.workflow_publish(workflow=workflow, actor=tenant_users.outsider)


def test_the_list_pages_by_thirty_and_its_queries_do_not_grow(
    tenant_users: TenantUsers, version: WorkflowVersion, django_assert_max_num_queries: Any
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    make_run(version, started_by=tenant_users.member)
    client.get(url("run_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("run_list"))
    for _ in range(35):
        make_run(version, status=Run.Status.SUCCEEDED, started_by=tenant_users.owner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(url("run_list"))
    assert text(first).count('data-testid="run-row"') == 30
    assert text(client.get(url("run_list"), {"page": "2"})).count('data-testid="run-row"') == 6


def test_a_workflows_runs_are_listed_on_its_own_page(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    other = published(tenant_users, name="Refunds")
    make_run(version)
    make_run(other)
    page = text(
        tenant_users.client_for(tenant_users.member).get(
            url("workflow_runs", workflow_id=version.workflow_id)
        )
    )
    assert page.count('data-testid="run-row"') == 1
    assert "Runs of Order check" in page
    assert form_url(version) in page


# --- The run page ---------------------------------------------------------------------------


def test_the_run_page_draws_each_nodes_state_and_the_event_log(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    run = half_run(version, tenant_users)
    page = text(tenant_users.client_for(tenant_users.viewer).get(run_url(run)))
    assert node_states(page) == {
        "check": "succeeded",
        "route": "succeeded",
        "review": "pending",
        "fan_out": "running",
        "invoice": "succeeded",
        "notify": "running",
        "ship": "pending",
    }
    assert 'class="workflow-graph"' in page, "the editor's drawing is under the states"
    kinds = re.findall(r'data-testid="run-event" data-order="\d+" data-kind="(\w+)"', page)
    assert kinds == [
        "workflow_started",
        "node_started",
        "node_finished",
        "node_started",
        "node_finished",
        "node_started",
        "node_started",
        "node_started",
        "node_finished",
    ]
    assert "&quot;in_stock&quot;: true" in page, "a node's output is in its line's details"
    assert "Small order" in page
    assert run.temporal_workflow_id in page
    assert f'ws-connect="/ws/t/acme/runs/{run.pk}/?since=0"' in page


def test_a_finished_run_shows_skipped_nodes_and_what_it_ended_with(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    run = make_run(
        version, status=Run.Status.SUCCEEDED, outputs={"order_id": "A-1", "shipment": {"carrier": "DHL"}}
    )
    add_event(run, "workflow_started")
    node_ran(run, "check")
    add_event(run, "node_started", "route")
    add_event(run, "workflow_finished", status="succeeded", variables=run.outputs)
    page = text(tenant_users.client_for(tenant_users.member).get(run_url(run)))
    states = node_states(page)
    assert states["check"] == "succeeded"
    assert states["route"] == "cancelled", "still running when the run ended"
    assert states["ship"] == "skipped"
    assert 'data-testid="run-succeeded"' in page
    assert "&quot;carrier&quot;: &quot;DHL&quot;" in page
    assert "ws-connect" not in page, "a finished run has nothing more to stream"


def test_a_failed_run_says_why_in_words(tenant_users: TenantUsers, version: WorkflowVersion) -> None:
    run = make_run(
        version,
        status=Run.Status.FAILED,
        error_code="test_error",
        error_message="The warehouse is closed.",
        failed_node="check",
    )
    add_event(run, "node_finished", "check", "failed", error="The warehouse is closed.", code="test_error")
    page = text(tenant_users.client_for(tenant_users.member).get(run_url(run)))
    failure = page.split('data-testid="run-failure"')[1].split("</div>")[0]
    assert "The run failed at “Check stock”." in failure
    assert "The warehouse is closed." in failure
    assert '<p class="event-error">The warehouse is closed.</p>' in page


def test_a_waiting_run_links_to_its_open_task(tenant_users: TenantUsers, version: WorkflowVersion) -> None:
    run = make_run(version, status=Run.Status.WAITING)
    task = open_task(run)
    add_event(run, "node_waiting", "review", task=task.title)
    page = text(tenant_users.client_for(tenant_users.viewer).get(run_url(run)))
    assert url("task_detail", task_id=task.pk) in page
    assert node_states(page)["review"] == "waiting"


def test_the_run_page_escapes_what_the_document_and_events_hold(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    document = order_document()
    document["nodes"][0]["label"] = "<script>alert(1)</script>"
    run = make_run(published(tenant_users, document, name="<b>bold</b>"), status=Run.Status.FAILED)
    add_event(run, "node_finished", "check", "failed", error="<img src=x onerror=alert(1)>")
    page = text(tenant_users.client_for(tenant_users.member).get(run_url(run)))
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_missing_run_is_404(tenant_users: TenantUsers) -> None:
    assert (
        tenant_users.client_for(tenant_users.member).get(url("run_detail", run_id=987654)).status_code == 404
    )


# --- The Run form ---------------------------------------------------------------------------


def test_the_form_asks_for_each_variable_with_its_type_and_for_test_outputs(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    page = text(tenant_users.client_for(tenant_users.member).get(form_url(version)))
    inputs = re.findall(r'data-testid="run-input" data-name="(\w+)"', page)
    assert inputs == ["order_id", "amount", "express", "lines"]
    assert '<code>amount</code> <span class="badge">number</span>' in page
    assert '<code>lines</code> <span class="badge">JSON list</span>' in page
    tests = re.findall(r'data-testid="run-test" data-key="(\w+)"', page)
    # The built-in `log` runs for real: no test output is asked for it.
    assert tests == ["CheckStock", "ReviewOrder", "notify", "ShipOrder"]


def test_bad_test_outputs_are_422_next_to_their_fields_with_nothing_lost(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    posted = {
        "input-0": "A-7",
        "input-1": "250",
        "test-0-mode": "output",
        "test-0-text": "{not json",
        "test-2-mode": "error",
        "test-2-text": "  ",
    }
    response = tenant_users.client_for(tenant_users.member).post(form_url(version), posted)
    assert response.status_code == 422
    page = text(response)
    problems = re.findall(r'data-testid="run-test-problem">([^<]+)<', page)
    assert len(problems) == 2
    assert problems[0].startswith("This is not JSON")
    assert problems[1] == "Say what the error is."
    assert 'value="A-7"' in page
    assert 'value="250"' in page
    assert "{not json</textarea>" in page
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


def test_inputs_of_the_wrong_type_are_422_next_to_their_fields(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    posted = {"input-0": "", "input-1": "lots", "input-3": '{"not": "a list"}'}
    response = tenant_users.client_for(tenant_users.member).post(form_url(version), posted)
    assert response.status_code == 422
    page = text(response)
    chunks = page.split('data-testid="run-input" data-name="')[1:]
    with_problems = [chunk.split('"')[0] for chunk in chunks if 'data-testid="run-input-problem"' in chunk]
    assert with_problems == ["order_id", "amount", "lines"]
    assert 'value="lots"' in page
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_started_while_temporal_is_away_is_kept_and_says_so(
    tenant_users: TenantUsers, version: WorkflowVersion, settings: Any
) -> None:
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"  # nothing listens there
    settings.EMBEDDED_TEMPORAL = False
    client = tenant_users.client_for(tenant_users.member)
    posted = {
        "input-0": "A-9",
        "input-1": "12.5",
        "test-0-mode": "output",
        "test-0-text": '{"in_stock": true}',
    }
    response = client.post(form_url(version), posted)
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == run_url(run)
    assert (run.status, run.error_code) == (Run.Status.FAILED, "temporal_unavailable")
    assert run.inputs == {"order_id": "A-9", "amount": 12.5}
    assert run.canned == {"CheckStock": {"output": {"in_stock": True}}}
    assert (run.workflow_id, run.version_id, run.started_by) == (
        version.workflow_id,
        version.pk,
        tenant_users.member,
    )
    page = text(client.get(run_url(run)))
    assert "temporal_unavailable" in page
    assert "Nothing ran" in page


# --- Actions --------------------------------------------------------------------------------


def test_terminating_needs_a_confirmation(tenant_users: TenantUsers, version: WorkflowVersion) -> None:
    run = make_run(version)
    response = tenant_users.client_for(tenant_users.member).post(run_url(run, "run_terminate"))
    assert response.status_code == 400
    assert "Confirm that the run is to be terminated." in text(response)
    assert Run.objects.for_tenant(tenant_users.tenant).get().status == Run.Status.RUNNING


def test_cancelling_while_temporal_is_away_is_503_with_the_reason(
    tenant_users: TenantUsers, version: WorkflowVersion, settings: Any
) -> None:
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    settings.EMBEDDED_TEMPORAL = False
    run = make_run(version)
    response = tenant_users.client_for(tenant_users.member).post(run_url(run, "run_cancel"))
    assert response.status_code == 503
    assert "could not be asked to stop" in text(response)


def test_running_again_is_refused_from_a_branch_node_or_while_the_run_goes_on(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    finished = make_run(version, status=Run.Status.SUCCEEDED)
    assert client.post(run_url(finished, "run_rerun"), {"node_id": "invoice"}).status_code == 422
    assert client.post(run_url(finished, "run_rerun"), {"node_id": "nowhere"}).status_code == 422
    going = make_run(version)
    response = client.post(run_url(going, "run_rerun"), {"node_id": "check"})
    assert response.status_code == 409
    assert "has not finished yet" in text(response)
    assert Run.objects.for_tenant(tenant_users.tenant).count() == 2


# --- Where runs appear ----------------------------------------------------------------------


def test_workflow_pages_offer_run_and_the_portal_lists_runs(
    tenant_users: TenantUsers, version: WorkflowVersion
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    workflow_id = version.workflow_id
    runs_of_workflow = url("workflow_runs", workflow_id=workflow_id)
    versions = text(
        client.get(
            reverse("workflows:workflow_versions", kwargs={"tenant_slug": "acme", "workflow_id": workflow_id})
        )
    )
    assert f'href="{form_url(version)}"' in versions
    assert f'href="{runs_of_workflow}"' in versions
    one = text(
        client.get(
            reverse(
                "workflows:workflow_version",
                kwargs={"tenant_slug": "acme", "workflow_id": workflow_id, "number": version.number},
            )
        )
    )
    assert f'href="{form_url(version)}"' in one
    editor = text(
        client.get(
            reverse("workflows:workflow_detail", kwargs={"tenant_slug": "acme", "workflow_id": workflow_id})
        )
    )
    assert f'href="{form_url(version)}"' in editor
    make_run(version, status=Run.Status.SUCCEEDED)
    dashboard = client.get(reverse("tenants:dashboard", kwargs={"tenant_slug": "acme"}))
    assert [link.label for link in dashboard.context["portal_nav"]][2:5] == ["Workflows", "Runs", "Tasks"]
    assert "Workflow runs" in text(dashboard)
    assert run_url(Run.objects.for_tenant(tenant_users.tenant).get()) in text(dashboard)


def test_a_never_published_workflow_offers_no_run(tenant_users: TenantUsers) -> None:
    workflow = workflow_services.workflow_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="Draft only"
    )
    editor = text(
        tenant_users.client_for(tenant_users.member).get(
            reverse("workflows:workflow_detail", kwargs={"tenant_slug": "acme", "workflow_id": workflow.pk})
        )
    )
    assert "/run/" not in editor
    assert url("workflow_runs", workflow_id=workflow.pk) in editor
