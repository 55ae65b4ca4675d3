"""Service generations: a job that turns requirements (and a workflow) into a tested project.

A generation keeps snapshots of what it was made from (the requirements in the interview's
JSON download format, the workflow document), so it runs the same from the portal, the
command line or the API, and later edits of the interview or the workflow do not change it.
Every file keeps its versions (generated, then fixed); the contents are in Django's storage
(codegen.artifacts), the rows say where.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.storable import StorableJSONEncoder
from tenants.scoping import TenantOwnedModel


class Generation(TenantOwnedModel):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PLANNING = "planning", "Planning"
        GENERATING = "generating", "Generating files"
        VALIDATING = "validating", "Validating"
        CHECKING = "checking", "Checking consistency"
        DOCUMENTING = "documenting", "Writing docs"
        TESTING = "testing", "Running tests"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Mode(models.TextChoices):
        TEMPLATE = "template", "Templates (offline)"
        MODEL = "model", "AI model"

    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    workflow_version = models.ForeignKey(
        "workflows.WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    # The interview's JSON download format: {title, blueprint, requirements: {key: {label, value}}}.
    requirements: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        encoder=StorableJSONEncoder
    )
    workflow_document: models.JSONField[dict[str, Any] | None, dict[str, Any] | None] = models.JSONField(
        encoder=StorableJSONEncoder, null=True, blank=True
    )
    target = models.CharField(max_length=40, default="python-fastapi")
    include_tests = models.BooleanField(default=True)
    include_docs = models.BooleanField(default=True)
    include_deployment = models.BooleanField(default=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.TEMPLATE)

    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    # Every change of state with its time: [{"state": "planning", "at": "2026-…"}].
    transitions: models.JSONField[list[dict[str, str]], list[dict[str, str]]] = models.JSONField(
        encoder=StorableJSONEncoder, default=list, blank=True
    )
    plan: models.JSONField[dict[str, Any] | None, dict[str, Any] | None] = models.JSONField(
        encoder=StorableJSONEncoder, null=True, blank=True
    )
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    model_calls = models.PositiveIntegerField(default=0)
    tests_passed = models.PositiveIntegerField(default=0)
    tests_failed = models.PositiveIntegerField(default=0)
    tests_skipped = models.PositiveIntegerField(default=0)
    test_runs = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    # The plan's generations per month: reserved when the job is created, given back when it
    # fails before producing any file.
    quota_month = models.DateField(null=True, blank=True)
    quota_counted = models.BooleanField(default=False)

    # What the next run does: the whole generation (resuming from the files already stored),
    # only the tests again, or one file again (then its checks and the tests).
    class Action(models.TextChoices):
        GENERATE = "generate", "Generate"
        TESTS = "tests", "Run tests again"
        REGENERATE_FILE = "regenerate_file", "Regenerate a file"

    action = models.CharField(max_length=20, choices=Action.choices, default=Action.GENERATE)
    action_path = models.CharField(max_length=255, blank=True)

    # The job's lease and liveness (see codegen.services and codegen.recovery).
    run_token = models.CharField(max_length=40, blank=True)
    cancel_requested = models.BooleanField(default=False)
    resumptions = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    ACTIVE_STATES = frozenset(
        {
            State.QUEUED, State.PLANNING, State.GENERATING, State.VALIDATING, State.CHECKING,
            State.DOCUMENTING, State.TESTING,
        }
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "quota_month", "quota_counted"]),
            models.Index(fields=["state", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_state_display()})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class GeneratedFile(TenantOwnedModel):
    """One file of a generation's plan, with the status of its latest version."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        GENERATING = "generating", "Generating"
        VALID = "valid", "Valid"
        FIXED = "fixed", "Fixed"
        FAILING = "failing", "Failing"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=255)
    purpose = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=40, blank=True)
    depends_on: models.JSONField[list[str], list[str]] = models.JSONField(
        encoder=StorableJSONEncoder, default=list, blank=True
    )
    position = models.PositiveIntegerField(default=0)
    layer = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    # The latest version's findings: [{"path", "code", "message", "line", "severity"}].
    findings: models.JSONField[list[dict[str, Any]], list[dict[str, Any]]] = models.JSONField(
        encoder=StorableJSONEncoder, default=list, blank=True
    )
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "path"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "path"], name="generated_file_unique_path")
        ]

    def __str__(self) -> str:
        return self.path

    @classmethod
    def status_of(cls, kind: str, *, has_errors: bool) -> str:
        """The status a version of `kind` gives its file."""
        if has_errors:
            return cls.Status.FAILING
        return cls.Status.FIXED if kind == "fixed" else cls.Status.VALID


class FileVersion(TenantOwnedModel):
    """One version of a file's content: as generated, then each fix."""

    class Kind(models.TextChoices):
        GENERATED = "generated", "Generated"
        FIXED = "fixed", "Fixed"

    file = models.ForeignKey(GeneratedFile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    storage_name = models.CharField(max_length=400)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    findings: models.JSONField[list[dict[str, Any]], list[dict[str, Any]]] = models.JSONField(
        encoder=StorableJSONEncoder, default=list, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["file", "number"]
        constraints = [models.UniqueConstraint(fields=["file", "number"], name="file_version_unique")]


class TestRun(TenantOwnedModel):
    """One run of a generation's tests in the sandbox."""

    __test__ = False  # not a pytest class

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not run"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="test_runs_set")
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    exit_code = models.IntegerField(null=True, blank=True)
    timed_out = models.BooleanField(default=False)
    # What the sandbox printed (the end of it) and why it stopped, for the page.
    output = models.TextField(blank=True)
    reason = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["generation", "-number"]
        constraints = [models.UniqueConstraint(fields=["generation", "number"], name="test_run_unique")]


class TestResult(TenantOwnedModel):
    """One test case of a run, read from its JUnit XML."""

    __test__ = False

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=300)
    classname = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    duration_ms = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]


class GenerationEvent(TenantOwnedModel):
    """One event of a generation, as programs read it (seed 002's names): `progress`,
    `file_generated`, `test_result`, `completed`, `failed`, and `plan`, `file_started`,
    `cancelled`. Kept in the database, so the API and the command line replay them from any
    point (the id is the event's number); the portal gets them as HTML frames."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        encoder=StorableJSONEncoder, default=dict
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["generation", "pk"]
