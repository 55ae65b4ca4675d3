"""A member finds the task a running workflow waits on in the tenant's inbox, fills its form
wrong and then right, and the run carries on: in a real Chromium, against a daphne whose
Temporal is the test session's dev server, with an SCE worker in the test process. On a phone,
a task whose run Temporal does not know refuses the answer and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from runs import services
from runs.models import HumanTask, Run
from tests import servers
from tests.conftest import TenantUsers
from tests.factories import PASSWORD
from tests.runs.conftest import WorkerThread, run_worker, wait_for_run
from tests.runs.task_factories import APPROVAL_SCHEMA, make_task
from tests.temporal import TemporalServer
from tests.workflows import samples

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
__all__ = ["run_worker"]  # the runs tests' worker fixture, used here too


@pytest.fixture
def portal(temporal_server: TemporalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A daphne of this test's own that signals the session's Temporal server (the shared live
    server was started before that server existed, and points at the embedded one)."""
    for name, value in temporal_server.env().items():
        monkeypatch.setenv(name, value)
    with servers.daphne_server(tmp_path) as url:
        yield url


def no_wider_than_the_screen(page: Page) -> None:
    # Against the viewport asked for: a phone's browser widens its layout to fit what overflows.
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page is {width}px wide on a {viewport['width']}px screen"


def log_in(page: Page, portal: str, email: str) -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{portal}/t/acme/")


@pytest.fixture
def credit_run(tenant_users: TenantUsers, run_worker: WorkerThread) -> Run:
    """A run of a credit check that stops at a human task for the member. Started before the
    browser: Playwright's event loop would refuse the service's call into Temporal's client."""
    users = tenant_users
    approve = samples.node(
        "approve",
        "human_task",
        title="Approve credit for {{customer}}",
        description="{{customer}} asks for a higher credit limit. Check the ledger before approving.",
        assignee_expression="{{approver}}",
        form_schema=APPROVAL_SCHEMA,
        output_variable="decision",
        timeout_seconds=3600,
    )
    after = samples.node("record", activity_name="log", input_mapping={"message": "limit {{decision.limit}}"})
    document = samples.workflow(
        [approve, after],
        samples.chain("approve", "record"),
        [samples.variable("customer", required=True), samples.variable("approver", required=True)],
        name="Credit check",
    )
    run = services.run_start(
        tenant=users.tenant, document=document, inputs={"customer": "Initech", "approver": "member@acme.test"}
    )
    return wait_for_run(run, lambda current: current.status == Run.Status.WAITING)


def test_a_task_answered_from_the_inbox_resumes_its_run(
    credit_run: Run, people: Any, portal: str, tenant_users: TenantUsers
) -> None:
    run = credit_run
    task = HumanTask.objects.for_tenant(tenant_users.tenant).get(run=run)
    make_task(
        tenant_users.tenant,
        title="Sign off the firewall change",
        assignee="admin@acme.test",
        due_in=timedelta(days=2),
    )
    make_task(tenant_users.tenant, title="Confirm the delivery date", status=HumanTask.Status.COMPLETED)

    desk = people("desktop", viewport={"width": 1280, "height": 900})
    page = desk.page
    log_in(page, portal, "member@acme.test")
    page.goto(f"{portal}/t/acme/tasks/")
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    open_rows = page.get_by_test_id("open-tasks").get_by_test_id("task-row")
    expect(open_rows).to_have_count(2)
    expect(page.get_by_test_id("closed-tasks").get_by_test_id("task-row")).to_have_count(1)
    expect(open_rows.first).to_contain_text("Approve credit for Initech")
    expect(open_rows.first.get_by_test_id("task-yours")).to_be_visible()
    desk.shot("01-inbox")

    page.get_by_test_id("filter-mine").click()
    expect(page).to_have_url(f"{portal}/t/acme/tasks/?assigned=me")
    expect(open_rows).to_have_count(1)
    expect(page.get_by_test_id("open-count")).to_have_text("1 open task assigned to you")
    desk.shot("02-assigned-to-me")

    open_rows.first.get_by_role("link", name="Approve credit for Initech").click()
    expect(page.get_by_test_id("task-title")).to_have_text("Approve credit for Initech")
    expect(page.get_by_test_id("task-description")).to_contain_text("Initech asks for a higher credit limit")
    expect(page.get_by_test_id("task-assignee")).to_have_text("You")
    expect(page.get_by_test_id("task-workflow")).to_have_text("Credit check")
    form = page.get_by_test_id("task-form")
    expect(form.get_by_label("Tell the customer")).to_be_checked()
    desk.shot("03-task")

    # Wrong: no decision, a limit under the minimum, JSON that does not parse.
    form.get_by_label("Credit limit").fill("-5")
    form.get_by_label("Contact address").fill("ops@initech.test")
    form.get_by_label("Review on").fill("2030-03-01")
    form.get_by_label("APAC").check()
    form.get_by_label("Special terms").fill("{net_days: 30}")
    form.get_by_label("Comment").fill("Ledger checked, no late payments.")
    form.get_by_role("button", name="Complete").click()
    errors = page.get_by_test_id("field-error")
    expect(errors).to_have_count(3)
    decision = page.locator('[data-testid="task-field"][data-name="decision"]')
    expect(decision.get_by_test_id("field-error")).to_have_text("This field is required.")
    limit = page.locator('[data-testid="task-field"][data-name="limit"]')
    expect(limit.get_by_test_id("field-error")).to_have_text("-5 is less than the minimum of 0")
    terms = page.locator('[data-testid="task-field"][data-name="terms"]')
    expect(terms.get_by_test_id("field-error")).to_contain_text("This is not JSON")
    form = page.get_by_test_id("task-form")
    expect(form.get_by_label("Credit limit")).to_have_value("-5")
    expect(form.get_by_label("Contact address")).to_have_value("ops@initech.test")
    expect(form.get_by_label("APAC")).to_be_checked()
    expect(form.get_by_label("Comment")).to_have_value("Ledger checked, no late payments.")
    assert HumanTask.objects.for_tenant(tenant_users.tenant).get(pk=task.pk).status == HumanTask.Status.OPEN
    # The refusal is a 422 page, which Chromium reports as a console error: expected here.
    assert len(desk.console_errors) == 1
    assert "status of 422" in desk.console_errors.pop()
    desk.shot("04-wrong")

    # Right.
    form.get_by_label("Decision").select_option(label="approve")
    form.get_by_label("Credit limit").fill("1200")
    form.get_by_label("Special terms").fill('{"net_days": 30}')
    form.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("Task completed.")
    expect(page.get_by_test_id("task-status")).to_have_text("Completed")
    expect(page.get_by_test_id("task-form")).to_have_count(0)
    expect(page.get_by_test_id("task-outcome")).to_contain_text("1200")
    desk.shot("05-completed")

    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert run.outputs is not None
    decision_output = run.outputs["decision"]
    assert decision_output["decision"] == "approve"
    assert decision_output["limit"] == 1200
    assert decision_output["regions"] == ["APAC"]
    assert decision_output["terms"] == {"net_days": 30}
    assert decision_output["decided_by"] == "member@acme.test"

    # The run page the task links to.
    page.get_by_test_id("task-run").click()
    expect(page).to_have_url(f"{portal}/t/acme/runs/{run.pk}/")

    # On a phone: a task whose run Temporal does not know cannot take the answer, and says so.
    orphan = make_task(
        tenant_users.tenant, title="Approve the loan for Umbrella", form_schema=APPROVAL_SCHEMA
    )
    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    small = phone.page
    log_in(small, portal, "member@acme.test")
    small.goto(f"{portal}/t/acme/tasks/")
    expect(small.get_by_test_id("open-tasks").get_by_test_id("task-row")).to_have_count(2)
    no_wider_than_the_screen(small)
    phone.shot("01-inbox")
    small.get_by_role("link", name="Approve the loan for Umbrella").click()
    no_wider_than_the_screen(small)
    phone.shot("02-task")
    small_form = small.get_by_test_id("task-form")
    small_form.get_by_label("Decision").select_option(label="escalate")
    small_form.get_by_label("Credit limit").fill("800")
    small_form.get_by_role("button", name="Complete").click()
    expect(small.get_by_test_id("task-failure")).to_contain_text(
        "Your answer was not sent: the run did not take it."
    )
    expect(small.get_by_test_id("task-form").get_by_label("Credit limit")).to_have_value("800")
    no_wider_than_the_screen(small)
    # Temporal's refusal is a 502 page, which Chromium reports as a console error: expected here.
    assert len(phone.console_errors) == 1
    assert "status of 502" in phone.console_errors.pop()
    phone.shot("03-not-taken")
    assert HumanTask.objects.for_tenant(tenant_users.tenant).get(pk=orphan.pk).status == HumanTask.Status.OPEN
