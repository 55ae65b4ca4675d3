"""`manage.py workflow run` and `manage.py workflow signal`, on the real Temporal dev server
with an SCE worker in a thread (tests/runs/conftest.py), or the embedded server the command
starts for itself."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import temporal_server
from runs.models import Run, RunEvent
from tests.conftest import TenantUsers
from tests.runs import builders
from tests.runs.conftest import WorkerThread, wait_for_run
from tests.servers import free_port
from tests.temporal import TemporalServer
from tests.workflows import samples

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]
# Runs that should finish at once: a hung one fails the test quickly, with the command's words.
WAIT = ("--timeout", "60")


def activity(node_id: str, name: str, output: str | None = None, **inputs: str) -> dict[str, Any]:
    return samples.node(node_id, activity_name=name, input_mapping=inputs, output_variable=output)


def order_file(tmp_path: Path) -> str:
    """A charge (an activity SCE lacks: given a test output) and a log line."""
    document = samples.workflow(
        [
            activity("charge", "ChargeCard", "charge", order="{{order_id}}"),
            activity("note", "log", None, message="paid {{order_id}}"),
        ],
        samples.chain("charge", "note"),
        [samples.variable("order_id", required=True), samples.variable("amount", "number")],
    )
    return write(tmp_path, document)


def waiting_document() -> dict[str, Any]:
    wait = samples.node("hold", "wait", wait_type="signal", signal_name="paid", timeout_seconds=60)
    return samples.workflow([wait, activity("go", "log", None, message="go")], samples.chain("hold", "go"))


def write(tmp_path: Path, document: Any, name: str = "flow.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def workflow(*args: str) -> tuple[str, str]:
    """Run `manage.py workflow ARGS`; its stdout and stderr (CommandError passes through)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("workflow", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> CommandError:
    with pytest.raises(CommandError) as raised:
        workflow(*args)
    return raised.value


def test_it_runs_a_file_and_prints_each_event_until_it_succeeds(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    out, _ = workflow(
        "run", order_file(tmp_path), "--tenant", "acme", "--input", "order_id=A-1", "--input", "amount=12.5",
        "--activity-output", 'ChargeCard={"ok": true}', "--wait", *WAIT,
    )  # fmt: skip
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert run.status == Run.Status.SUCCEEDED
    assert run.trigger == Run.Trigger.COMMAND
    assert run.inputs == {"order_id": "A-1", "amount": 12.5}  # typed by the variables
    assert f"Run {run.pk} (queued), Temporal workflow id {run.temporal_workflow_id}" in out
    lines = out.splitlines()
    events = [line.split()[1] for line in lines if line[:2].isdigit()]
    assert events[0] == "workflow_started"
    assert events[-1] == "workflow_finished"
    assert (
        events.count("node_finished")
        == 2
        == RunEvent.objects.for_tenant(run.tenant).filter(run=run, kind="node_finished").count()
    )
    finished = [line for line in lines if "node_finished" in line]
    assert "Charge (charge)  succeeded" in finished[0]
    assert f"Run {run.pk} succeeded" in out
    assert '"charge": {"ok": true}' in out  # the variables it ended with


def test_a_run_that_fails_exits_1_naming_the_node_and_the_error(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    error = refused(
        "run", order_file(tmp_path), "--tenant", "acme", "--input", "order_id=A-1",
        "--activity-error", "ChargeCard=card declined", "--wait", *WAIT,
    )  # fmt: skip
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert run.status == Run.Status.FAILED
    assert error.returncode == 1
    assert f"run {run.pk} failed at node charge: " in str(error)
    assert "card declined" in str(error)


def test_json_lines_describe_the_run_then_each_event(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    out, _ = workflow(
        "run", order_file(tmp_path), "--tenant", "acme", "--input", "order_id=A-1",
        "--activity-output", "ChargeCard=7", "--wait", "--json", *WAIT,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.splitlines()]
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert lines[0]["run_id"] == run.pk
    assert lines[0]["temporal_workflow_id"] == run.temporal_workflow_id
    events = lines[1:]
    stored = list(
        RunEvent.objects.for_tenant(run.tenant).filter(run=run).order_by("id").values_list("kind", flat=True)
    )
    assert [line["event"] for line in events] == stored  # each once, in order
    charged = next(
        line for line in events if line["event"] == "node_finished" and line["node_id"] == "charge"
    )
    assert charged["status"] == "succeeded"
    assert charged["node_label"] == "Charge"
    assert isinstance(charged["duration_ms"], int)
    assert events[-1]["data"]["variables"]["charge"] == 7


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tenant", "nobody"], "no tenant with slug 'nobody'"),
        (["--tenant", "acme", "--input", "order_id"], "--input takes NAME=VALUE, not 'order_id'"),
        (["--tenant", "acme", "--input", "order_id=A", "--input", "order_id=B"], "given twice"),
        (
            ["--tenant", "acme", "--input", "order_id=A", "--input", "amount=lots"],
            "the run was not started:\n  amount: ",
        ),
        (["--tenant", "acme", "--input", "amount=3"], "\n  order_id: "),  # required, missing
        (
            ["--tenant", "acme", "--input", "order_id=A", "--activity-output", "ChargeCard=done"],
            "is not JSON",
        ),
        (["--tenant", "acme", "--input", "order_id=A", "--activity-output", "ChargeCrad=1"], "ChargeCrad"),
        (["--tenant", "acme", "--input", "order_id=A", "--activity-error", "ChargeCard="], "needs the error"),
        (["--tenant", "acme", "--input", "order_id=A", "--wait", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_starts_nothing(
    tenant_users: TenantUsers,
    temporal_settings: TemporalServer,
    tmp_path: Path,
    arguments: list[str],
    message: str,
) -> None:
    error = refused("run", order_file(tmp_path), *arguments)
    assert error.returncode == 2
    assert message in str(error)
    assert not Run.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),  # no such file
        ("{not json", "cannot read"),
        (json.dumps(samples.workflow([activity("a", "log")], samples.chain("a", "missing"))), "has errors"),
    ],
)
def test_an_unreadable_or_invalid_file_exits_2(
    tenant_users: TenantUsers,
    temporal_settings: TemporalServer,
    tmp_path: Path,
    content: str | None,
    message: str,
) -> None:
    path = str(tmp_path / "absent.json") if content is None else write(tmp_path, content)
    error = refused("run", path, "--tenant", "acme")
    assert error.returncode == 2
    assert message in str(error)
    assert not Run.objects.dangerously_unscoped().exists()


def test_names_from_the_file_cannot_drive_the_terminal(
    tenant_users: TenantUsers, temporal_settings: TemporalServer, tmp_path: Path
) -> None:
    error = refused("run", order_file(tmp_path), "--tenant", "acme", "--activity-output", "\x1b[2J=1")
    assert "\\x1b[2J" in str(error)
    assert "\x1b" not in str(error)


def test_without_temporal_it_exits_1_saying_so(
    tenant_users: TenantUsers, settings: Any, tmp_path: Path
) -> None:
    settings.TEMPORAL_ADDRESS, settings.EMBEDDED_TEMPORAL = "127.0.0.1:1", False
    error = refused("run", order_file(tmp_path), "--tenant", "acme", "--input", "order_id=A-1")
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert error.returncode == 1
    assert f"run {run.pk} could not start" in str(error)
    assert "127.0.0.1:1" in str(error)
    assert run.error_code == "temporal_unavailable"


def test_a_waiting_run_is_followed_until_the_timeout_and_resumed_by_a_signal(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    path = write(tmp_path, waiting_document())
    error = refused("run", path, "--tenant", "acme", "--wait", "--timeout", "3")
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert error.returncode == 1
    assert f"stopped following run {run.pk} after 3 s: it is waiting" in str(error)

    out, _ = workflow("signal", str(run.pk), "paid", "--payload", '{"amount": 3}', "--tenant", "acme")
    assert f"Sent the signal 'paid' to run {run.pk}." in out
    run = wait_for_run(run)
    assert run.status == Run.Status.SUCCEEDED
    held = RunEvent.objects.for_tenant(run.tenant).get(run=run, node_id="hold", kind="node_finished")
    assert held.data["output"] == {"amount": 3}  # the payload, as the wait node's output


def test_following_a_waiting_run_says_how_to_resume_it(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "workflow", "run", write(tmp_path, waiting_document()), "--tenant", "acme",
            "--wait", "--timeout", "3", stdout=out, stderr=err,
        )  # fmt: skip
    run = Run.objects.for_tenant(tenant_users.tenant).get()
    assert "node_waiting" in out.getvalue()
    assert f"manage.py workflow signal {run.pk} paid --tenant acme" in err.getvalue()
    workflow("signal", str(run.pk), "paid", "--tenant", "acme")
    assert wait_for_run(run).status == Run.Status.SUCCEEDED


def test_without_wait_it_exits_0_once_the_run_started(
    tenant_users: TenantUsers, run_worker: WorkerThread, tmp_path: Path
) -> None:
    out, _ = workflow("run", write(tmp_path, waiting_document()), "--tenant", "acme", "--json")
    line = json.loads(out)
    run = Run.objects.for_tenant(tenant_users.tenant).get(pk=line["run_id"])
    assert wait_for_run(run, lambda current: current.status == Run.Status.WAITING)
    workflow("signal", str(run.pk), "paid", "--tenant", "acme")
    assert wait_for_run(run).status == Run.Status.SUCCEEDED


def waiting_run(users: TenantUsers, status: str = Run.Status.WAITING) -> Run:
    version = builders.published(users, waiting_document(), name="Hold")
    return builders.make_run(version, status=status)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["paid", "--tenant", "globex"], "tenant globex has no run"),  # another tenant's run
        (["late", "--tenant", "acme"], "no wait node of run"),
        (["paid", "--payload", "{oops", "--tenant", "acme"], "--payload is not JSON"),
    ],
)
def test_signal_refuses_bad_input_with_exit_2(
    tenant_users: TenantUsers, temporal_settings: TemporalServer, arguments: list[str], message: str
) -> None:
    run = waiting_run(tenant_users)
    error = refused("signal", str(run.pk), *arguments)
    assert error.returncode == 2
    assert message in str(error)


def test_signal_to_a_finished_run_exits_2(
    tenant_users: TenantUsers, temporal_settings: TemporalServer
) -> None:
    run = waiting_run(tenant_users, status=Run.Status.SUCCEEDED)
    error = refused("signal", str(run.pk), "paid", "--tenant", "acme")
    assert error.returncode == 2
    assert "finished" in str(error)


def test_signal_help_sends_human_tasks_to_the_inbox(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("workflow", "signal", "--help")
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert "Human tasks are not answered here: only in the tenant's inbox" in shown


def test_in_embedded_mode_it_starts_temporal_and_a_worker_for_itself(
    tenant_users: TenantUsers, settings: Any, tmp_path: Path
) -> None:
    port = free_port()
    settings.TEMPORAL_ADDRESS, settings.EMBEDDED_TEMPORAL = "", True
    settings.TEMPORAL_EMBEDDED_PORT, settings.TEMPORAL_EMBEDDED_DB = port, tmp_path / "temporal.sqlite"
    settings.TEMPORAL_NAMESPACE, settings.TEMPORAL_TASK_QUEUE = "cli-test", f"cli-{uuid.uuid4().hex[:8]}"
    for name in (
        "TEMPORAL_TLS_CLIENT_CERT",
        "TEMPORAL_TLS_CLIENT_KEY",
        "TEMPORAL_TLS_SERVER_CA",
        "TEMPORAL_API_KEY",
    ):
        setattr(settings, name, "")
    settings.TEMPORAL_TLS = False
    _, err = workflow(
        "run", order_file(tmp_path), "--tenant", "acme", "--input", "order_id=A-1",
        "--activity-output", "ChargeCard=1", "--wait", *WAIT,
    )  # fmt: skip
    assert "starting the embedded server and an SCE worker for this command" in err
    assert Run.objects.for_tenant(tenant_users.tenant).get().status == Run.Status.SUCCEEDED
    assert not temporal_server.is_answering(f"127.0.0.1:{port}", "cli-test")  # stopped with the command
