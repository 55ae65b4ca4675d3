"""The tasks inbox and a task's page: who sees and who may answer which task, the form drawn
from the task's schema, answers that do not fit, and Temporal not taking the answer."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs import services
from runs.models import HumanTask, Run
from tests.conftest import TenantUsers
from tests.runs.conftest import WorkerThread, wait_for_run
from tests.runs.task_factories import APPROVAL_SCHEMA, make_task
from tests.workflows import samples

pytestmark = pytest.mark.django_db

CLOSED_PORT = "127.0.0.1:1"  # nothing listens there: Temporal is unreachable at once


def inbox_url(slug: str = "acme", query: str = "") -> str:
    return reverse("runs:task_list", kwargs={"tenant_slug": slug}) + query


def task_url(task: HumanTask, slug: str = "acme") -> str:
    return reverse("runs:task_detail", kwargs={"tenant_slug": slug, "task_id": task.pk})


class Inputs(HTMLParser):
    """The form controls of a page: name -> list of (tag, attributes, text) in page order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.controls: dict[str, list[dict[str, Any]]] = {}
        self._open: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value if value is not None else "" for key, value in attrs}
        if tag in ("input", "select", "textarea") and "name" in attributes:
            control = {"tag": tag, **attributes, "text": "", "options": []}
            self.controls.setdefault(attributes["name"], []).append(control)
            self._open = control if tag == "textarea" else None
            self._select = control if tag == "select" else self._select
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._open = None
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def one(self, name: str) -> dict[str, Any]:
        (control,) = self.controls[name]
        return control


def field_error(page: str, name: str) -> str:
    """The error shown under the field for property `name`, "" when none."""
    block = re.search(
        rf'data-name="{re.escape(name)}".*?(?=data-testid="task-field"|<label for="task-comment")', page, re.S
    )
    assert block is not None, f"no field {name}"
    error = re.search(r'data-testid="field-error">([^<]*)<', block.group(0))
    return error.group(1) if error else ""


def schema_task(users: TenantUsers, **fields: Any) -> HumanTask:
    return make_task(users.tenant, form_schema=APPROVAL_SCHEMA, **fields)


def good_answer(**changes: str | list[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "answer.decision": "0",
        "answer.limit": "1200",
        "answer.contact": "ada@example.com",
        "answer.review_on": "2030-03-01",
        "answer.notify": "on",
        "answer.regions": ["0", "2"],
        "answer.terms": '{"net_days": 30}',
        "answer.reason": "Good payer",
        "comment": "Looks fine",
        "outcome": "completed",
    }
    answer.update(
        {
            f"answer.{name}" if name not in ("comment", "outcome") else name: value
            for name, value in changes.items()
        }
    )
    return answer


def still_open(task: HumanTask) -> bool:
    return HumanTask.objects.for_tenant(task.tenant).get(pk=task.pk).status == HumanTask.Status.OPEN


# The inbox ------------------------------------------------------------------------------------


def test_it_lists_open_tasks_soonest_due_first_then_recently_closed_ones(tenant_users: TenantUsers) -> None:
    later = make_task(tenant_users.tenant, title="Due tomorrow", due_in=timedelta(days=1))
    sooner = make_task(tenant_users.tenant, title="Due in an hour", due_in=timedelta(hours=1))
    undated = make_task(tenant_users.tenant, title="No deadline", due_in=None)
    done = make_task(tenant_users.tenant, title="Already approved", status=HumanTask.Status.COMPLETED)
    make_task(tenant_users.other_tenant, title="Globex secret approval")

    response = tenant_users.client_for(tenant_users.viewer).get(inbox_url())

    assert response.status_code == 200
    page = response.content.decode()
    open_part, closed_part = page.split('data-testid="closed-tasks"')
    assert re.findall(r'data-task-id="(\d+)"', open_part) == [str(sooner.pk), str(later.pk), str(undated.pk)]
    assert re.findall(r'data-task-id="(\d+)"', closed_part) == [str(done.pk)]
    assert "3 open tasks" in page
    assert "Globex secret approval" not in page
    assert "you can read tasks but not answer them" in page


def test_overdue_tasks_say_so(tenant_users: TenantUsers) -> None:
    make_task(tenant_users.tenant, title="Late", due_in=-timedelta(minutes=90))
    page = tenant_users.client_for(tenant_users.member).get(inbox_url()).content.decode()
    assert re.search(r'<time class="due overdue"[^>]*>overdue by 1\xa0hour</time>', page)


def test_assigned_to_me_keeps_the_tasks_naming_me_by_address_or_role(tenant_users: TenantUsers) -> None:
    by_address = make_task(tenant_users.tenant, title="For the member", assignee="MEMBER@acme.test")
    by_role = make_task(
        tenant_users.tenant, title="For members", node_id="b", run=by_address.run, assignee="member"
    )
    make_task(tenant_users.tenant, title="For the admin", assignee="admin@acme.test")
    make_task(tenant_users.tenant, title="For anyone")
    client = tenant_users.client_for(tenant_users.member)

    page = client.get(inbox_url(query="?assigned=me")).content.decode()

    assert sorted(re.findall(r'data-task-id="(\d+)"', page)) == sorted([str(by_address.pk), str(by_role.pk)])
    assert "For the admin" not in page
    assert "For anyone" not in page
    assert "2 open tasks assigned to you" in page
    everything = client.get(inbox_url()).content.decode()
    assert "For the admin" in everything
    assert "For anyone" in everything


def test_it_marks_the_tasks_i_may_answer(tenant_users: TenantUsers) -> None:
    mine = make_task(tenant_users.tenant, title="Anyone", assignee="")
    theirs = make_task(tenant_users.tenant, title="Theirs", assignee="owner")
    page = tenant_users.client_for(tenant_users.member).get(inbox_url()).content.decode()
    row = dict(re.findall(r'data-task-id="(\d+)"(.*?)</tr>', page, re.S))
    assert 'data-testid="task-yours"' in row[str(mine.pk)]
    assert 'data-testid="task-yours"' not in row[str(theirs.pk)]
    assert "Owners" in row[str(theirs.pk)]


def test_htmx_gets_the_task_lists_alone(tenant_users: TenantUsers) -> None:
    make_task(tenant_users.tenant, title="Approve the credit limit")
    response = tenant_users.client_for(tenant_users.member).get(
        inbox_url(query="?assigned=me"), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="inbox-tasks"')
    assert "<html" not in page
    assert "Nothing is waiting for you." in page


def test_the_inbox_costs_the_same_queries_for_one_task_or_many(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    make_task(tenant_users.tenant, title="First", assignee="owner@acme.test")
    make_task(
        tenant_users.tenant, title="Closed", status=HumanTask.Status.REJECTED, decided_by=tenant_users.owner
    )
    client.get(inbox_url())  # the first visit also remembers the tenant in the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(inbox_url()).status_code == 200
    for number in range(6):
        make_task(tenant_users.tenant, title=f"Task {number}", assignee="admin@acme.test")
        make_task(tenant_users.tenant, title=f"Done {number}", status=HumanTask.Status.COMPLETED)
    with CaptureQueriesContext(connection) as many:
        assert client.get(inbox_url()).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_outsider_gets_404_for_the_inbox(tenant_users: TenantUsers) -> None:
    assert tenant_users.client_for(tenant_users.outsider).get(inbox_url()).status_code == 404


def test_someone_signed_out_is_sent_to_log_in(tenant_users: TenantUsers) -> None:
    response = Client().get(inbox_url())
    assert response.status_code == 302
    assert "/login" in response["Location"]


# One task: what it shows --------------------------------------------------------------------


def test_the_task_page_shows_the_task_and_a_form_drawn_from_its_schema(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users, description="Customer ACME asks for more credit.", assignee="member")

    response = tenant_users.client_for(tenant_users.member).get(task_url(task))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Approve the credit limit" in page
    assert "Customer ACME asks for more credit." in page
    assert "Credit check" in page, "the workflow's title"
    assert "<code>approve</code>" in page, "the step of the workflow"
    assert "Any member" in page
    assert "due</span> <time" in page
    assert "in 3" in page
    assert reverse("runs:run_detail", kwargs={"tenant_slug": "acme", "run_id": task.run_id}) in page
    controls = Inputs(page)
    decision = controls.one("answer.decision")
    assert decision["tag"] == "select"
    assert "required" in decision
    assert [option["value"] for option in decision["options"]] == ["", "0", "1"]
    limit = controls.one("answer.limit")
    assert (limit["type"], limit["min"], limit["max"], limit["step"]) == ("number", "0", "5000", "any")
    assert controls.one("answer.contact")["type"] == "email"
    assert controls.one("answer.review_on")["type"] == "date"
    notify = controls.one("answer.notify")
    assert notify["type"] == "checkbox"
    assert "checked" in notify, "the schema's default"
    assert [box["value"] for box in controls.controls["answer.regions"]] == ["0", "1", "2"]
    assert controls.one("answer.terms")["tag"] == "textarea"
    assert "code" in controls.one("answer.terms")["class"]
    assert controls.one("answer.reason")["tag"] == "textarea"
    assert controls.one("comment")["tag"] == "textarea"
    assert 'value="completed"' in page
    assert ">Complete</button>" in page
    assert 'value="rejected"' in page
    assert ">Reject</button>" in page
    assert "Credit limit" in page, "titles as labels"
    assert "In euros, at most 5000." in page, "descriptions as help"
    assert page.count("(required)") == 2


def test_a_task_without_a_schema_asks_only_for_a_decision(tenant_users: TenantUsers) -> None:
    task = make_task(tenant_users.tenant)
    page = tenant_users.client_for(tenant_users.member).get(task_url(task)).content.decode()
    assert "This task asks for no details" in page
    assert list(Inputs(page).controls) == ["csrfmiddlewaretoken", "comment"]


def test_a_viewer_sees_the_task_but_no_form(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    page = tenant_users.client_for(tenant_users.viewer).get(task_url(task)).content.decode()
    assert "Approve the credit limit" in page
    assert "Viewers can see tasks but not answer them" in page
    assert 'data-testid="task-form"' not in page


def test_a_member_sees_that_a_task_for_someone_else_is_not_theirs(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users, assignee="owner@acme.test")
    page = tenant_users.client_for(tenant_users.member).get(task_url(task)).content.decode()
    assert "assigned to someone else" in page
    assert 'data-testid="task-form"' not in page
    admin_page = tenant_users.client_for(tenant_users.admin).get(task_url(task)).content.decode()
    assert 'data-testid="task-form"' in admin_page, "an admin may act for the assignee"


def test_a_closed_task_shows_its_answer_and_who_gave_it(tenant_users: TenantUsers) -> None:
    task = schema_task(
        tenant_users,
        status=HumanTask.Status.COMPLETED,
        # Keys sorted, as Temporal and PostgreSQL hand them back; shown in the form's order.
        answer={
            "decision": "escalate",
            "extra": "kept",
            "limit": 900,
            "notify": False,
            "regions": ["EU", "APAC"],
            "terms": {"net_days": 30},
        },
        comment="Checked the ledger",
        decided_by=tenant_users.admin,
    )
    page = tenant_users.client_for(tenant_users.viewer).get(task_url(task)).content.decode()
    assert 'data-testid="task-form"' not in page
    lines = re.findall(r'<dt>([^<]*)</dt><dd data-testid="answer-value">(.*?)</dd>', page, re.S)
    assert [(label, html.unescape(value)) for label, value in lines] == [
        ("Decision", "escalate"),
        ("Credit limit", "900"),
        ("Tell the customer", "No"),
        ("Regions", "EU, APAC"),
        ("Special terms", '{"net_days": 30}'),
        ("extra", "kept"),
    ]
    assert "Checked the ledger" in page
    assert f"by {tenant_users.admin.get_full_name()}" in page


# Isolation ------------------------------------------------------------------------------------


def test_an_outsider_gets_404_for_a_task_of_another_tenant(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    outsider = tenant_users.client_for(tenant_users.outsider)
    assert outsider.get(task_url(task)).status_code == 404
    assert outsider.post(task_url(task), good_answer()).status_code == 404
    # Through their own tenant's address the task does not exist either.
    assert outsider.get(task_url(task, slug="globex")).status_code == 404
    assert outsider.post(task_url(task, slug="globex"), good_answer()).status_code == 404
    assert still_open(task)


def test_a_member_gets_404_for_another_tenants_task_under_their_own_tenant(tenant_users: TenantUsers) -> None:
    foreign = make_task(tenant_users.other_tenant, title="Globex secret approval")
    member = tenant_users.client_for(tenant_users.member)
    response = member.get(task_url(foreign))
    assert response.status_code == 404
    assert "Globex secret approval" not in response.content.decode()
    assert member.post(task_url(foreign), {"outcome": "rejected"}).status_code == 404
    assert still_open(foreign)


def test_a_task_number_past_any_id_is_404(tenant_users: TenantUsers) -> None:
    url = reverse("runs:task_detail", kwargs={"tenant_slug": "acme", "task_id": 10**30})
    member = tenant_users.client_for(tenant_users.member)
    assert member.get(url).status_code == 404
    assert member.post(url, {"outcome": "rejected"}).status_code == 404


# Answering: refusals -------------------------------------------------------------------------


def test_a_viewer_cannot_answer(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.viewer).post(task_url(task), good_answer())
    assert response.status_code == 403
    assert "Viewers can see tasks but not answer them" in response.content.decode()
    assert still_open(task)


def test_a_member_cannot_answer_a_task_assigned_to_someone_elses_address(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users, assignee="owner@acme.test")
    response = tenant_users.client_for(tenant_users.member).post(task_url(task), good_answer())
    assert response.status_code == 403
    assert "This task is assigned to someone else" in response.content.decode()
    assert still_open(task)


def test_a_closed_task_cannot_be_answered(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users, status=HumanTask.Status.TIMED_OUT)
    response = tenant_users.client_for(tenant_users.member).post(task_url(task), good_answer())
    assert response.status_code == 409
    assert "This task is already timed out; it takes no more answers." in response.content.decode()
    task.refresh_from_db()
    assert task.status == HumanTask.Status.TIMED_OUT
    assert task.answer is None


def test_text_that_is_not_a_number_is_refused_on_its_field_and_nothing_typed_is_lost(
    tenant_users: TenantUsers,
) -> None:
    task = schema_task(tenant_users)
    posted = good_answer(limit="lots", decision="", terms="{net_days: 30}", contact="not-an-address")

    response = tenant_users.client_for(tenant_users.member).post(task_url(task), posted)

    assert response.status_code == 422
    page = response.content.decode()
    assert field_error(page, "limit") == "Enter a number."
    assert field_error(page, "decision") == "This field is required."
    assert field_error(page, "terms").startswith("This is not JSON:")
    assert field_error(page, "reason") == ""
    controls = Inputs(page)
    assert controls.one("answer.limit")["value"] == "lots"
    assert controls.one("answer.terms")["text"] == "{net_days: 30}"
    assert controls.one("answer.contact")["value"] == "not-an-address"
    assert controls.one("answer.reason")["text"] == "Good payer"
    assert controls.one("answer.review_on")["value"] == "2030-03-01"
    assert [box["value"] for box in controls.controls["answer.regions"] if "checked" in box] == ["0", "2"]
    assert controls.one("comment")["text"] == "Looks fine"
    assert still_open(task)


def test_an_answer_outside_the_schema_is_refused_by_the_schema_on_its_field(
    tenant_users: TenantUsers,
) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.member).post(task_url(task), good_answer(limit="9000"))
    assert response.status_code == 422
    page = response.content.decode()
    assert field_error(page, "limit") == "9000 is greater than the maximum of 5000"
    assert Inputs(page).one("answer.limit")["value"] == "9000"
    assert still_open(task)


def test_schema_problems_show_alongside_text_that_could_not_be_read(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.member).post(
        task_url(task), good_answer(limit="-5", terms="not json")
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert field_error(page, "limit") == "-5 is less than the minimum of 0"
    assert field_error(page, "terms").startswith("This is not JSON:")


def test_a_comment_too_long_is_refused_and_kept(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.member).post(
        task_url(task), good_answer(comment="x" * 1001)
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Keep the comment to 1000 characters (it has 1001)." in page
    assert Inputs(page).one("comment")["text"] == "x" * 1001


def test_a_post_without_complete_or_reject_is_refused(tenant_users: TenantUsers) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.member).post(task_url(task), good_answer(outcome="maybe"))
    assert response.status_code == 422
    assert "Press Complete or Reject." in response.content.decode()
    assert still_open(task)


def test_a_task_whose_schema_cannot_check_answers_says_so_and_refuses_to_complete(
    tenant_users: TenantUsers,
) -> None:
    broken = {"type": "object", "properties": {"limit": {"type": "number", "minimum": "5"}}}
    task = make_task(tenant_users.tenant, form_schema=broken)
    client = tenant_users.client_for(tenant_users.member)
    page = client.get(task_url(task)).content.decode()
    assert (
        "This task&#x27;s form cannot check answers (&#x27;5&#x27; is not of type &#x27;number&#x27;)" in page
    )

    response = client.post(task_url(task), {"answer.limit": "3", "outcome": "completed"})

    assert response.status_code == 422
    assert "Reject it with a comment" in response.content.decode()
    assert Inputs(response.content.decode()).one("answer.limit")["value"] == "3"
    assert still_open(task)


# Answering: Temporal unreachable --------------------------------------------------------------


@pytest.fixture
def temporal_down(settings: Any) -> None:
    settings.TEMPORAL_ADDRESS = CLOSED_PORT
    settings.EMBEDDED_TEMPORAL = False


def test_a_good_answer_that_temporal_cannot_take_keeps_the_task_open_and_says_so(
    tenant_users: TenantUsers, temporal_down: None
) -> None:
    task = schema_task(tenant_users, assignee="member@acme.test")

    response = tenant_users.client_for(tenant_users.member).post(task_url(task), good_answer())

    assert response.status_code == 503
    page = response.content.decode()
    assert "Your answer was not sent: the workflow engine (Temporal) cannot be reached." in page
    assert CLOSED_PORT in page, "Temporal's own words, for whoever looks after it"
    assert Inputs(page).one("answer.limit")["value"] == "1200"
    assert Inputs(page).one("comment")["text"] == "Looks fine"
    task.refresh_from_db()
    assert task.status == HumanTask.Status.OPEN
    assert task.answer is None
    assert task.decided_by is None


def test_rejecting_needs_no_required_fields_and_reaches_for_temporal(
    tenant_users: TenantUsers, temporal_down: None
) -> None:
    task = schema_task(tenant_users)
    response = tenant_users.client_for(tenant_users.admin).post(
        task_url(task), {"outcome": "rejected", "comment": "Not this quarter"}
    )
    assert response.status_code == 503, "past the form: only Temporal stopped it"
    assert "cannot be reached" in response.content.decode()
    assert still_open(task)


# Answering on the real Temporal dev server ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_task_completed_from_the_inbox_resumes_its_run(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    schema = {
        "type": "object",
        "required": ["limit"],
        "properties": {"limit": {"type": "integer", "title": "Credit limit", "minimum": 0}},
    }
    approve = samples.node(
        "approve",
        "human_task",
        title="Approve {{customer}}",
        assignee_expression="{{approver}}",
        form_schema=schema,
        output_variable="decision",
    )
    after = samples.node("after", activity_name="log", input_mapping={"message": "limit {{decision.limit}}"})
    document = samples.workflow(
        [approve, after],
        samples.chain("approve", "after"),
        [samples.variable("customer", required=True), samples.variable("approver", required=True)],
    )
    run = services.run_start(
        tenant=tenant_users.tenant,
        document=document,
        inputs={"customer": "ACME", "approver": "member@acme.test"},
    )
    run = wait_for_run(run, lambda current: current.status == Run.Status.WAITING)
    task = HumanTask.objects.for_tenant(tenant_users.tenant).get(run=run)
    member = tenant_users.client_for(tenant_users.member)
    inbox = member.get(inbox_url(query="?assigned=me")).content.decode()
    assert f'data-task-id="{task.pk}"' in inbox
    assert "Approve ACME" in inbox

    wrong = member.post(task_url(task), {"answer.limit": "a lot", "outcome": "completed"})
    assert wrong.status_code == 422
    assert field_error(wrong.content.decode(), "limit") == "Enter a whole number."

    answered = member.post(task_url(task), {"answer.limit": "750", "outcome": "completed", "comment": "Fine"})
    assert answered.status_code == 302
    assert answered["Location"] == task_url(task)
    page = member.get(answered["Location"]).content.decode()
    assert "Task completed." in page
    assert 'data-testid="task-status">Completed<' in page
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert run.outputs is not None
    assert run.outputs["decision"]["limit"] == 750
    assert run.outputs["decision"]["decided_by"] == "member@acme.test"
    assert run.outputs["decision"]["comment"] == "Fine"
