"""The tenant's inbox of human tasks: the list, and one task with the form its schema asks for.

A task is answered by a plain form post (no script needed): the form's text is typed by the
task's schema (runs.task_forms), checked, and handed to `services.human_task_answer`, which
delivers it to the waiting run. Whatever is refused comes back on the same page with what was
typed still in the form: 422 for an answer that does not fit, 403 for someone who may not
answer, 409 for a task already closed, 502/503 when Temporal does not take it (the task then
stays open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.http import require_GET, require_http_methods

from runs import services, task_forms, task_selectors
from runs.models import HumanTask
from runs.task_forms import TaskField
from tenants.access import TenantRequest, tenant_view
from tenants.models import Membership, Role

OPEN_SHOWN = 100  # open tasks listed at once, the soonest due first
CLOSED_SHOWN = 20  # recently closed tasks listed under them
COMMENT_MAX = 1000  # HumanTask.comment's length

# The status each refusal of the service is answered with.
REFUSAL_STATUS = {
    "bad_input": 422,
    "not_yours": 403,
    "closed": 409,
    "temporal_error": 502,
    "temporal_unavailable": 503,
}
ROLE_ASSIGNEES = {
    Role.MEMBER.value: "Any member",
    Role.ADMIN.value: "Admins and owners",
    Role.OWNER.value: "Owners",
}


def assignee_text(task: HumanTask, membership: Membership) -> str:
    """Who the task waits for, in words: "you", a role, an address, or any member."""
    assignee = task.assignee.strip()
    if not assignee:
        return "Any member"
    if assignee.lower() == membership.user.email.lower():
        return "You"
    return ROLE_ASSIGNEES.get(assignee.lower(), assignee)


def broken_form(fault: str) -> str:
    """What a task whose schema cannot check answers says, and what can be done."""
    return (
        f"This task's form cannot check answers ({fault}). Reject it with a comment, "
        "or ask whoever maintains the workflow to fix the form."
    )


def refusal_for(task: HumanTask, membership: Membership) -> str:
    """Why this member may not answer the task, or "" when they may."""
    if not membership.can(Role.MEMBER):
        return "Viewers can see tasks but not answer them. An admin can give you the member role."
    if not services.may_answer(task, membership):
        return f"This task is assigned to someone else ({task.assignee}); they, or an admin, can answer it."
    return ""


@dataclass(frozen=True)
class Due:
    """When an open task is due, in words: "in 4 hours", "overdue by 10 minutes"."""

    at: datetime
    text: str
    overdue: bool


def due_of(task: HumanTask, now: datetime) -> Due | None:
    """The task's deadline as the pages say it; None when it has none or is closed."""
    if task.due_at is None or task.status != HumanTask.Status.OPEN:
        return None
    if task.due_at <= now:
        return Due(task.due_at, f"overdue by {timesince(task.due_at, now, depth=1)}", overdue=True)
    return Due(task.due_at, f"in {timeuntil(task.due_at, now, depth=1)}", overdue=False)


@dataclass(frozen=True)
class TaskRow:
    task: HumanTask
    assignee: str
    yours: bool  # this member may answer it
    due: Due | None


def _rows(tasks: list[HumanTask], membership: Membership) -> list[TaskRow]:
    now = timezone.now()
    return [
        TaskRow(
            task, assignee_text(task, membership), services.may_answer(task, membership), due_of(task, now)
        )
        for task in tasks
    ]


@tenant_view()
@require_GET
def task_list(request: TenantRequest) -> HttpResponse:
    """Open tasks first (the soonest due on top), then the latest closed ones; `?assigned=me`
    keeps only the tasks that name this member. htmx asks for the task lists alone."""
    mine = request.GET.get("assigned") == "me"
    assigned_to = request.membership if mine else None
    open_query = task_selectors.open_tasks(tenant=request.tenant, assigned_to=assigned_to)
    open_tasks = list(open_query[:OPEN_SHOWN])
    open_count = len(open_tasks) if len(open_tasks) < OPEN_SHOWN else open_query.count()
    closed = list(task_selectors.closed_tasks(tenant=request.tenant, assigned_to=assigned_to)[:CLOSED_SHOWN])
    context = {
        "mine": mine,
        "open_rows": _rows(open_tasks, request.membership),
        "open_count": open_count,
        "closed_rows": _rows(closed, request.membership),
        "is_viewer": not request.membership.can(Role.MEMBER),
    }
    template = "runs/inbox.html#inbox-tasks" if request.htmx else "runs/inbox.html"
    return render(request, template, context)


@dataclass(frozen=True)
class FieldView:
    """One input as the page draws it: the field, what it holds, and what is wrong with it."""

    field: TaskField
    value: Any
    error: str
    input_id: str

    @property
    def described_by(self) -> str:
        """The ids of the help and the error shown under the input."""
        ids = []
        if self.field.help or self.field.kind == task_forms.JSON:
            ids.append(f"{self.input_id}-help")
        if self.error:
            ids.append(f"{self.input_id}-error")
        return " ".join(ids)


def _field_views(
    fields: list[TaskField], entered: dict[str, Any] | None, errors: dict[str, str]
) -> list[FieldView]:
    return [
        FieldView(
            field=task_field,
            value=entered[task_field.name]
            if entered is not None and task_field.name in entered
            else task_field.initial(),
            error=errors.get(task_field.name, ""),
            input_id=f"task-field-{index}",
        )
        for index, task_field in enumerate(fields)
    ]


@dataclass(frozen=True)
class AnswerLine:
    """One property of a given answer, labelled as its form field was."""

    label: str
    value: str


def _answer_lines(task: HumanTask, fields: list[TaskField]) -> list[AnswerLine]:
    answer = task.answer if isinstance(task.answer, dict) else {}
    by_name = {task_field.name: task_field for task_field in fields}
    # In the form's order (the stored answer's keys may come back sorted), then anything else.
    names = [name for name in by_name if name in answer] + [name for name in answer if name not in by_name]
    return [
        AnswerLine(
            by_name[name].label if name in by_name else name, _answer_text(by_name.get(name), answer[name])
        )
        for name in names
    ]


def _answer_text(task_field: TaskField | None, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if task_field is not None and task_field.kind in (task_forms.SELECT, task_forms.CHECKBOXES):
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(choice.label for choice in task_field.choices if choice.value in chosen) or "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _task_page(
    request: TenantRequest,
    task: HumanTask,
    *,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    refusal: str = "",
    failure: str = "",
    failure_detail: str = "",
    comment: str = "",
    comment_error: str = "",
    status: int = 200,
) -> HttpResponse:
    fields = task_forms.task_fields(task.form_schema)
    is_open = task.status == HumanTask.Status.OPEN
    if is_open and general is None:
        # Said before anyone types an answer the form could not check.
        fault = task_forms.schema_fault(task.form_schema, {})
        general = [broken_form(fault)] if fault else None
    context = {
        "task": task,
        "run": task.run,
        "fields": _field_views(fields, entered, errors or {}),
        "general_errors": general or [],
        "refusal": refusal or (refusal_for(task, request.membership) if is_open else ""),
        "failure": failure,
        "failure_detail": failure_detail,
        "comment": comment,
        "comment_max": COMMENT_MAX,
        "comment_error": comment_error,
        "assignee": assignee_text(task, request.membership),
        "answer_lines": [] if is_open else _answer_lines(task, fields),
        "due": due_of(task, timezone.now()),
        "error_count": len(errors or {}) + (1 if comment_error else 0),
    }
    return render(request, "runs/task.html", context, status=status)


def _task_or_404(request: TenantRequest, task_id: int) -> HumanTask:
    task = task_selectors.task_for_page(tenant=request.tenant, task_id=task_id)
    if task is None:
        raise Http404("No such task")
    return task


# Viewers may post: the view, not the decorator, refuses them, so they get the task page with
# the reason instead of a bare "needs the member role".
@tenant_view(write=Role.VIEWER)
@require_http_methods(["GET", "POST"])
def task_detail(request: TenantRequest, task_id: int) -> HttpResponse:
    """The task, its form (from its schema), and once answered, the answer; POST answers it
    with the button pressed: "completed" or "rejected"."""
    task = _task_or_404(request, task_id)
    if request.method == "GET":
        return _task_page(request, task)

    outcome = request.POST.get("outcome", "")
    comment = request.POST.get("comment", "")
    fields = task_forms.task_fields(task.form_schema)
    read = task_forms.read_answer(fields, dict(request.POST.lists()), check_required=outcome == "completed")

    refusal = refusal_for(task, request.membership)
    if refusal:
        return _task_page(request, task, entered=read.entered, comment=comment, refusal=refusal, status=403)
    if task.status != HumanTask.Status.OPEN:
        message = f"This task is already {task.get_status_display().lower()}; it takes no more answers."
        return _task_page(request, task, failure=message, status=409)
    if outcome not in ("completed", "rejected"):
        return _task_page(
            request,
            task,
            entered=read.entered,
            comment=comment,
            general=["Press Complete or Reject."],
            status=422,
        )

    broken = task_forms.schema_fault(task.form_schema, read.answer) if outcome == "completed" else ""
    if broken:
        return _task_page(
            request, task, entered=read.entered, comment=comment, general=[broken_form(broken)], status=422
        )

    comment_error = (
        f"Keep the comment to {COMMENT_MAX} characters (it has {len(comment)})."
        if len(comment) > COMMENT_MAX
        else ""
    )
    if read.problems or comment_error:
        problems = dict(read.problems)
        if outcome == "completed":
            # Also what the schema says about the inputs that could be read, so one round
            # shows every problem; its "required" remarks are already on their fields.
            for where, message in services.form_problems(task.form_schema, read.answer).items():
                head = where.split(".", 1)[0]
                if head in read.entered and head not in problems:
                    problems[head] = message
        return _task_page(
            request,
            task,
            entered=read.entered,
            comment=comment,
            errors=problems,
            comment_error=comment_error,
            status=422,
        )

    try:
        answered = services.human_task_answer(
            task=task, membership=request.membership, outcome=outcome, answer=read.answer, comment=comment
        )
    except services.TaskRefused as refused:
        return _refused_page(request, task, fields, refused, entered=read.entered, comment=comment)
    done = "completed" if answered.status == HumanTask.Status.COMPLETED else "rejected"
    messages.success(request, f"Task {done}. The run has been told and carries on from here.")
    return redirect("runs:task_detail", tenant_slug=request.tenant.slug, task_id=answered.pk)


def _refused_page(
    request: TenantRequest,
    task: HumanTask,
    fields: list[TaskField],
    refused: services.TaskRefused,
    *,
    entered: dict[str, Any],
    comment: str,
) -> HttpResponse:
    """The task again (read afresh: it may have closed meanwhile), saying why the answer was
    not taken, with what was typed still in the form."""
    fresh = _task_or_404(request, task.pk)
    status = REFUSAL_STATUS.get(refused.code, 422)
    if refused.code == "bad_input":
        on_fields, general = task_forms.problems_by_field(fields, refused.problems)
        if not on_fields and not general:
            general = [refused.message]
        return _task_page(
            request, fresh, entered=entered, comment=comment, errors=on_fields, general=general, status=status
        )
    if refused.code == "not_yours":
        return _task_page(
            request, fresh, entered=entered, comment=comment, refusal=refused.message, status=status
        )
    # Temporal's own words go under the sentence, for whoever looks after the server.
    detail = refused.message if refused.code.startswith("temporal") else ""
    return _task_page(
        request,
        fresh,
        entered=entered,
        comment=comment,
        failure=_failure_text(refused),
        failure_detail=detail,
        status=status,
    )


def _failure_text(refused: services.TaskRefused) -> str:
    if refused.code == "temporal_unavailable":
        return (
            "Your answer was not sent: the workflow engine (Temporal) cannot be reached. "
            "The task is still open and your answer is kept below; try again in a moment."
        )
    if refused.code == "temporal_error":
        return "Your answer was not sent: the run did not take it. The task is still open."
    return refused.message
