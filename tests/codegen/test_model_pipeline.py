"""The pipeline in model mode, against the Anthropic wire emulator: a generation written from
scripted replies (the plan, each file, fixes, the review, the docs), one call at a time.

What the model gets wrong is checked and sent back (a syntax error, an invented import, a
requirement or an endpoint missing across files); what it sends that is hostile (unsafe or
cyclic plans, oversized or binary files) is refused or kept marked, never written outside
storage; a gateway failure fails the generation with the gateway's code; a cancel stops the
call in flight. The sandbox is `ScriptedRunner`, except in the one test that runs the
model's tests for real.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from codegen import artifacts, jobs, selectors, services
from codegen.checks.plan import plan_layers
from codegen.models import FileVersion, GeneratedFile, Generation, GenerationEvent
from providers.models import LogState, ProviderLog
from tests.codegen.fixtures import Message, ScriptedRunner, order_flow, sent
from tests.codegen.model_replies import (
    CALL_COST_USD,
    FILES,
    INPUT_TOKENS,
    MAIN,
    MODELS,
    OUTPUT_TOKENS,
    PLAN_REPLY,
    REQUIREMENTS_TXT,
    STORED,
    TESTS,
    WRITE_ORDER,
    anthropic,
    asked_for,
    enterprise_model_generation_fields,
    plan_reply,
    reply,
    review_and_docs,
    user_text,
    whole_generation,
    writes,
)
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError, Outcome
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import (
    anthropic_emulator,
    anthropic_emulator_server,
    fast_gateway,
    fresh_gateway_state,
    model_prices,
    openai_emulator,
    openai_emulator_server,
    platform,
)
from tests.threads import database_thread

__all__ = [
    "anthropic", "anthropic_emulator", "anthropic_emulator_server", "fast_gateway", "fresh_gateway_state",
    "model_prices", "openai_emulator", "openai_emulator_server", "platform", "sent",
]  # fmt: skip

pytestmark = pytest.mark.django_db(transaction=True)

State = Generation.State
Status = GeneratedFile.Status
GO_PATH = "workflow/workflow.go"


@pytest.fixture(autouse=True)
def one_call_at_a_time(settings: Any) -> None:
    """The files of a layer written one after the other: the calls come in a fixed order."""
    settings.CODEGEN_CONCURRENCY = 1


def create(tenant_users: TenantUsers, sent: list[Message], **overrides: Any) -> tuple[Generation, str]:
    """A model-mode generation with the workflow (its compiled Go file is in the plan)."""
    fields = enterprise_model_generation_fields(tenant_users, workflow_document=order_flow(), **overrides)
    generation = services.generation_create(**fields)
    return generation, sent[-1][1]


def run(generation: Generation, lease: str, runner: ScriptedRunner | None = None) -> Generation:
    ended = jobs.generation_run(
        generation_id=generation.pk, lease=lease, runner=runner if runner is not None else ScriptedRunner()
    )
    assert ended is not None
    return ended


def row(generation: Generation) -> Generation:
    return Generation.objects.for_tenant(generation.tenant).get(pk=generation.pk)


def logs(generation: Generation) -> list[ProviderLog]:
    return list(
        ProviderLog.objects.for_tenant(generation.tenant)
        .filter(links__generation=str(generation.pk))
        .order_by("pk")
    )


def calls(generation: Generation) -> list[tuple[str, str, str | None]]:
    """(task, step, file) of each gateway call made for the generation, in order."""
    return [(log.task, log.links["step"], log.links.get("file")) for log in logs(generation)]


def files(generation: Generation) -> dict[str, GeneratedFile]:
    return {file.path: file for file in selectors.files_of(generation)}


def version_kinds(generation: Generation) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    versions = FileVersion.objects.for_tenant(generation.tenant).filter(file__generation=generation)
    for version in versions.select_related("file").order_by("file_id", "number"):
        kinds.setdefault(version.file.path, []).append(version.kind)
    return kinds


def events(generation: Generation, kind: str | None = None) -> list[GenerationEvent]:
    rows = GenerationEvent.objects.for_tenant(generation.tenant).filter(generation=generation).order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def codes(file: GeneratedFile) -> set[str]:
    return {finding["code"] for finding in file.findings if finding["severity"] == "error"}


WRITES = [
    ("codegen", "write", "requirements.txt"),
    ("codegen", "write", "app/__init__.py"),
    ("codegen", "write", "app/models.py"),
    ("codegen", "write", "app/main.py"),
    ("tests", "write", "tests/test_api.py"),
]
REVIEW_AND_DOCS = [("codegen", "review", None), ("docs", "docs", "README.md"), ("docs", "docs", "API.md")]


# --- A generation written by the model ---------------------------------------------------------


def test_a_model_generation_stores_each_planned_file_as_the_model_wrote_it(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(*whole_generation())
    runner = ScriptedRunner()

    ended = run(generation, lease, runner)

    assert ended.state == State.COMPLETED, ended.error_message
    assert ended.mode == "model"
    # One call per file in the plan's order, the Go workflow copied without one; the tests
    # and the docs through their own tasks; every call linked to the generation.
    assert calls(ended) == [("codegen", "plan", None), *WRITES, *REVIEW_AND_DOCS]
    assert len(anthropic.requests) == len(calls(ended)) == 9
    assert [asked_for(request) for request in anthropic.requests[1:6]] == list(WRITE_ORDER)
    assert all(log.state == LogState.COMPLETED for log in logs(ended))
    assert {log.user_id for log in logs(ended)} == {tenant_users.member.pk}
    # Each file stored once, as the model wrote it (Python formatted by ruff).
    stored = artifacts.latest_contents(ended)
    assert list(stored) == [*WRITE_ORDER[:3], GO_PATH, *WRITE_ORDER[3:], "README.md", "API.md"]
    assert {path: stored[path] for path in STORED} == STORED
    assert stored[GO_PATH] == jobs.setup_for(ended).spec.go_code
    assert {path: file.status for path, file in files(ended).items()} == dict.fromkeys(stored, Status.VALID)
    assert version_kinds(ended) == {path: ["generated"] for path in stored}
    # Tokens and cost summed on the generation, as the gateway logged them.
    assert ended.model_calls == 9
    assert (ended.input_tokens, ended.output_tokens) == (9 * INPUT_TOKENS, 9 * OUTPUT_TOKENS)
    assert ended.cost_usd == Decimal(str(round(9 * CALL_COST_USD, 6)))
    assert ended.cost_usd == sum(log.cost_usd for log in logs(ended))
    # The sandbox was given the project as stored.
    [project] = runner.projects
    assert project == stored
    [plan_event] = events(ended, "plan")
    assert plan_event.data["mode"] == "model"
    assert [endpoint["path"] for endpoint in plan_event.data["endpoints"]] == [
        endpoint["path"] for endpoint in PLAN_REPLY["endpoints"]
    ]


@pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is installed by scripts/ensure-system-tools"
)
def test_the_models_service_passes_its_own_tests_in_the_real_sandbox(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(*whole_generation())

    ended = jobs.generation_run(generation_id=generation.pk, lease=lease)

    assert ended is not None
    assert ended.state == State.COMPLETED, ended.error_message
    test_run = selectors.last_test_run(ended)
    assert test_run is not None
    assert test_run.outcome == "passed", test_run.output[-3000:]
    assert (ended.tests_passed, ended.tests_failed) == (2, 0)


# --- What the checks send back -------------------------------------------------------------------

BROKEN_MODELS = MODELS.replace(
    "def find_order(order_id: int) -> Order | None:", "def find_order(order_id: int)"
)
INVENTED_IMPORT = MAIN.replace(
    "from fastapi import FastAPI, HTTPException\n",
    "import fastapi_magic\nfrom fastapi import FastAPI, HTTPException\n",
).replace(
    'app = FastAPI(title="Order fulfilment")\n',
    'app = FastAPI(title="Order fulfilment")\nfastapi_magic.enable(app)\n',
)


def test_a_file_that_does_not_parse_is_sent_back_with_the_finding_and_fixed(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(plan_reply(), *writes({"app/models.py": BROKEN_MODELS}), reply(MODELS), *review_and_docs())

    ended = run(generation, lease)

    assert ended.state == State.COMPLETED, ended.error_message
    assert calls(ended) == [
        ("codegen", "plan", None),
        *WRITES,
        ("codegen", "fix", "app/models.py"),
        *REVIEW_AND_DOCS,
    ]
    fix = anthropic.requests[6]
    assert asked_for(fix) == "app/models.py"
    assert "app/models.py:16: syntax_error: expected ':'" in user_text(fix)
    assert "def find_order(order_id: int)\n" in user_text(fix), "the broken content is sent back"
    models = files(ended)["app/models.py"]
    assert (models.status, models.findings) == (Status.FIXED, [])
    assert version_kinds(ended)["app/models.py"] == ["generated", "fixed"]
    assert artifacts.latest_contents(ended)["app/models.py"] == STORED["app/models.py"]


def test_an_invented_import_the_model_keeps_leaves_the_file_failing_and_the_generation_complete(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(
        plan_reply(),
        *writes({"app/main.py": INVENTED_IMPORT}),
        reply(INVENTED_IMPORT),
        reply(INVENTED_IMPORT),
        *review_and_docs(),
    )

    ended = run(generation, lease)

    assert ended.state == State.COMPLETED, ended.error_message
    fixes = [("codegen", "fix", "app/main.py")] * 2
    assert calls(ended) == [("codegen", "plan", None), *WRITES, *fixes, *REVIEW_AND_DOCS]
    for request in anthropic.requests[6:8]:
        assert asked_for(request) == "app/main.py"
        assert "unresolved_import: `fastapi_magic` is neither in the standard library" in user_text(request)
    main = files(ended)["app/main.py"]
    assert main.status == Status.FAILING
    assert codes(main) == {"unresolved_import"}
    assert version_kinds(ended)["app/main.py"] == ["generated", "fixed", "fixed"]
    # Kept as the model left it, marked; the other files are fine and everything is downloadable.
    assert "import fastapi_magic" in artifacts.latest_contents(ended)["app/main.py"]
    assert {path for path, file in files(ended).items() if file.status != Status.VALID} == {"app/main.py"}
    names = zipfile.ZipFile(io.BytesIO(artifacts.zip_generation(ended))).namelist()
    assert "order_fulfilment/app/main.py" in names
    stored = [event.data for event in events(ended, "file_generated") if event.data["path"] == "app/main.py"]
    assert [(event["status"], event["errors"]) for event in stored] == [("failing", 1)] * 3


POST_ROUTE = '@app.post("/orders", status_code=201)\ndef create_order(item: str) -> Order:\n'
MAIN_WITHOUT_POST = MAIN.replace(POST_ROUTE + "    return add_order(item)\n\n\n", "")


@pytest.mark.parametrize(
    ("path", "written", "fixed", "finding"),
    [
        (
            "requirements.txt",
            "httpx==0.29.0\npydantic==2.14.4\n",
            REQUIREMENTS_TXT,
            "missing_requirement: requirements.txt does not list fastapi",
        ),
        ("app/main.py", MAIN_WITHOUT_POST, MAIN, "missing_endpoint: the plan's POST /orders has no route"),
    ],
    ids=["requirement", "endpoint"],
)
def test_a_cross_file_issue_is_sent_to_the_file_it_is_about_and_fixed(
    tenant_users: TenantUsers,
    sent: list[Message],
    anthropic: EmulatorServer,
    path: str,
    written: str,
    fixed: str,
    finding: str,
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(plan_reply(), *writes({path: written}), reply(fixed), *review_and_docs())

    ended = run(generation, lease)

    assert ended.state == State.COMPLETED, ended.error_message
    assert calls(ended) == [("codegen", "plan", None), *WRITES, ("codegen", "fix", path), *REVIEW_AND_DOCS]
    fix = anthropic.requests[6]
    assert asked_for(fix) == path
    assert finding in user_text(fix)
    # Found by the checking stage, after the file's own checks passed.
    checking = next(event for event in events(ended, "progress") if event.data["state"] == State.CHECKING)
    assert logs(ended)[6].started_at >= checking.created_at
    file = files(ended)[path]
    assert file.status == Status.FIXED
    assert codes(file) == set()
    assert version_kinds(ended)[path] == ["generated", "fixed"]
    assert artifacts.latest_contents(ended)[path] == fixed


# --- What the model sends that is hostile ----------------------------------------------------------


def hostile_plan(kind: str, escape: str) -> dict[str, Any]:
    plan = {**PLAN_REPLY, "files": [dict(row) for row in PLAN_REPLY["files"]]}
    if kind == "absolute":
        plan["files"].insert(
            1,
            {
                "path": f"{tempfile.gettempdir()}/{escape}.py",
                "purpose": "x",
                "language": "python",
                "depends_on": [],
            },
        )
    elif kind == "parent":
        plan["files"].insert(
            1, {"path": f"../../{escape}.py", "purpose": "x", "language": "python", "depends_on": []}
        )
    else:
        models = next(row for row in plan["files"] if row["path"] == "app/models.py")
        models["depends_on"] = ["app/main.py"]
    return plan


def skeleton_replies(generation: Generation) -> list[Outcome]:
    """The replies of the default skeleton's files, in the order they are written: what the
    template generator writes for them (the Go workflow is copied without a call)."""
    setup = jobs.setup_for(generation)
    skeleton = setup.target.skeleton(setup.spec, setup.options)
    rendered = setup.target.render(setup.spec, setup.options, skeleton)
    docs = setup.target.render_docs(setup.spec, skeleton, rendered)
    ordered = [
        planned.path for layer in plan_layers(skeleton) for planned in layer if planned.path != GO_PATH
    ]
    return [
        *(reply(rendered[path]) for path in ordered),
        *review_and_docs()[:1],
        *(reply(docs[planned.path]) for planned in skeleton.docs),
    ]


def assert_nothing_unsafe_stored(generation: Generation) -> None:
    storage = artifacts.storage()
    assert isinstance(storage, FileSystemStorage)
    root = Path(storage.location).resolve()
    versions = FileVersion.objects.for_tenant(generation.tenant).filter(file__generation=generation)
    for version in versions:
        assert version.storage_name.startswith(f"tenant-{generation.tenant_id}/generation-{generation.pk}/")
        assert Path(storage.path(version.storage_name)).resolve().is_relative_to(root)
    archive = zipfile.ZipFile(io.BytesIO(artifacts.zip_generation(generation)))
    for name in archive.namelist():
        assert name.startswith("order_fulfilment/")
        assert ".." not in name.split("/")
    for info in archive.infolist():
        assert (info.external_attr >> 16) & 0o170000 == 0o100000, "regular files only"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("absolute", "is not a safe relative path"),
        ("parent", "is not a safe relative path"),
        ("cycle", "the dependencies go round in a cycle: app/"),
    ],
)
def test_an_unsafe_or_cyclic_plan_is_refused_visibly_and_the_skeleton_used(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer, kind: str, reason: str
) -> None:
    escape = f"sce-escape-{uuid.uuid4().hex}"
    generation, lease = create(tenant_users, sent)
    anthropic.push(plan_reply(hostile_plan(kind, escape)), *skeleton_replies(row(generation)))
    runner = ScriptedRunner()

    ended = run(generation, lease, runner)

    assert ended.state == State.COMPLETED, ended.error_message
    messages = [event.data["message"] for event in events(ended, "progress")]
    [refusal] = [message for message in messages if "refused" in message]
    assert refusal.startswith("The proposed plan was refused (")
    assert reason in refusal
    assert refusal.endswith("using the default structure.")
    setup = jobs.setup_for(ended)
    skeleton = setup.target.skeleton(setup.spec, setup.options)
    assert [planned["path"] for planned in (ended.plan or {})["files"]] == [
        planned.path for planned in skeleton.files
    ]
    assert anthropic.pending() == 0, "every skeleton file was asked for"
    assert {file.status for file in files(ended).values()} <= {Status.VALID}
    # Nothing of the refused plan reached the disk: not where its paths point from the
    # working directory or from the storage, nor in the temporary directory.
    storage_root = Path(artifacts.storage().path(""))
    for where in {Path(tempfile.gettempdir()), *Path.cwd().parents, *storage_root.parents}:
        assert not list(where.glob(f"{escape}*"))
    [project] = runner.projects
    assert not any(escape in path for path in project)
    assert_nothing_unsafe_stored(ended)


@pytest.mark.parametrize("payload", ["oversized", "binary"])
def test_an_oversized_or_binary_file_is_kept_failing_within_its_limits(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer, settings: Any, payload: str
) -> None:
    settings.CODEGEN_MAX_FILE_BYTES = limit = 20_000
    if payload == "oversized":
        hostile = TESTS + '\nPADDING = "' + "x" * (2 * limit) + '"\n'
    else:
        hostile = TESTS.replace("client = TestClient(app)\n", "client = TestClient(app)\x00\x00\x7f\n")
    generation, lease = create(tenant_users, sent)
    anthropic.push(
        plan_reply(),
        *writes({"tests/test_api.py": hostile}),
        reply(hostile),
        reply(hostile),
        *review_and_docs(),
    )

    ended = run(generation, lease)

    assert ended.state == State.COMPLETED, ended.error_message
    tests = files(ended)["tests/test_api.py"]
    assert tests.status == Status.FAILING
    assert codes(tests) == {"too_large" if payload == "oversized" else "binary_content"}
    assert version_kinds(ended)["tests/test_api.py"] == ["generated", "fixed", "fixed"]
    versions = FileVersion.objects.for_tenant(ended.tenant).filter(file=tests)
    content = artifacts.latest_contents(ended)["tests/test_api.py"]
    if payload == "oversized":
        assert all(version.size <= limit for version in versions)
        assert content == hostile[:limit], "cut at the limit"
    else:
        assert "\x00" not in content
        assert "\x7f" not in content
        assert content == TESTS
    assert_nothing_unsafe_stored(ended)


# --- Failures and cancel ---------------------------------------------------------------------------


def test_a_gateway_failure_mid_generation_fails_it_with_the_gateways_code_and_keeps_the_files(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(plan_reply(), reply(REQUIREMENTS_TXT), reply(FILES["app/__init__.py"]), HttpError(401))

    ended = run(generation, lease)

    assert ended.state == State.FAILED
    failed = logs(ended)[-1]
    assert (failed.state, failed.links["file"]) == (LogState.FAILED, "app/models.py")
    # The gateway's own code and message (its log row adds the provider's detail).
    message = "anthropic answered HTTP 401: the provider refused the API key"
    assert (ended.error_code, ended.error_message) == ("auth", message)
    assert failed.error_message.startswith(message)
    assert events(ended)[-1].kind == "failed"
    assert events(ended)[-1].data == {"code": "auth", "message": ended.error_message}
    assert version_kinds(ended) == {"requirements.txt": ["generated"], "app/__init__.py": ["generated"]}
    assert artifacts.latest_contents(ended) == {
        path: FILES[path] for path in ("requirements.txt", "app/__init__.py")
    }
    assert ended.quota_counted, "it produced files: the month's generation stays used"


def test_a_file_whose_write_was_cut_short_is_not_shown_generating_after_the_run(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    anthropic.push(plan_reply(), reply(REQUIREMENTS_TXT), reply(FILES["app/__init__.py"]), HttpError(401))

    ended = run(generation, lease)

    assert ended.state == State.FAILED
    statuses = {path: file.status for path, file in files(ended).items()}
    assert Status.GENERATING not in statuses.values(), "nothing is being written any more"
    assert statuses["app/models.py"] == Status.PLANNED, "it has no version: still to write"


def test_a_gateway_failure_at_the_plan_gives_the_months_generation_back(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer
) -> None:
    generation, lease = create(tenant_users, sent)
    assert row(generation).quota_counted
    anthropic.push(HttpError(401))

    ended = run(generation, lease)

    assert (ended.state, ended.error_code) == (State.FAILED, "auth")
    assert calls(ended) == [("codegen", "plan", None)]
    assert version_kinds(ended) == {}
    assert not ended.quota_counted


def test_cancel_during_a_slow_model_call_ends_the_run_within_seconds_and_nothing_is_written_after(
    tenant_users: TenantUsers, sent: list[Message], anthropic: EmulatorServer, settings: Any
) -> None:
    latency = 5.0
    settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS = 30  # the slow reply is not a timeout
    generation, lease = create(tenant_users, sent)
    slow = writes()
    slow[3] = reply(MAIN, first_token_latency=latency)  # app/main.py
    anthropic.push(plan_reply(), *slow, *review_and_docs())
    results: list[Generation | None] = []
    thread = database_thread(
        lambda: results.append(
            jobs.generation_run(generation_id=generation.pk, lease=lease, runner=ScriptedRunner())
        )
    )
    try:
        deadline = time.monotonic() + 30
        while len(anthropic.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        [*_, in_flight] = anthropic.requests
        assert asked_for(in_flight) == "app/main.py", "the slow call is in flight"
        cancelled_at = time.monotonic()
        services.generation_cancel(generation=row(generation), actor=tenant_users.member)
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert time.monotonic() - cancelled_at < 2, "ended within two seconds"
    finally:
        thread.join(timeout=10)
    [ended] = results
    assert ended is not None
    assert ended.state == State.CANCELLED
    assert events(ended)[-1].kind == "cancelled"
    written = version_kinds(ended)
    assert set(written) == {"requirements.txt", "app/__init__.py", "app/models.py", GO_PATH}
    seen = [event.pk for event in events(ended)]
    # Past the moment the reply would have come: nothing more was asked, received or written.
    time.sleep(max(0.0, in_flight.received_at + latency + 0.5 - time.monotonic()))
    assert len(anthropic.requests) == 5
    after = row(generation)
    assert (after.state, after.model_calls) == (State.CANCELLED, 4)
    assert version_kinds(after) == written
    assert [event.pk for event in events(after)] == seen
    assert files(after)["app/main.py"].status != Status.VALID
    main_log = logs(after)[-1]
    # The call was cancelled, and its log row says so (not left pending for the reaper).
    assert (main_log.links["file"], main_log.state) == ("app/main.py", LogState.CANCELLED)
    assert after.quota_counted, "files were produced"
