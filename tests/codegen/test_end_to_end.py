"""Template mode end to end: the offline baseline generates a service whose own tests pass
in the real sandbox (bubblewrap), from the portal's services and from the command line."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from codegen import jobs, selectors, services
from codegen.models import GeneratedFile, Generation
from codegen.spec import Options
from tests.codegen.fixtures import REQUIREMENTS, Message, order_flow, sent
from tests.conftest import TenantUsers

__all__ = ["sent"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap is installed by scripts/ensure-system-tools"
    ),
]


@pytest.fixture(autouse=True)
def enterprise(tenant_users: TenantUsers) -> None:
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save()


def test_the_template_service_passes_its_own_tests_in_the_sandbox(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    generation = services.generation_create(
        tenant=tenant_users.tenant,
        actor=tenant_users.member,
        options=Options(),
        mode=Generation.Mode.TEMPLATE,
        requirements=dict(REQUIREMENTS),
        workflow_document=order_flow(),
    )
    ended = jobs.generation_run(generation_id=generation.pk, lease=sent[0][1])
    assert ended is not None
    assert ended.state == Generation.State.COMPLETED, ended.error_message
    run = selectors.last_test_run(ended)
    assert run is not None
    assert run.outcome == "passed", run.output[-3000:]
    assert ended.tests_passed >= 5
    assert ended.tests_failed == 0
    assert not selectors.files_of(ended).filter(status=GeneratedFile.Status.FAILING).exists()


def run_command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("codegen", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_the_command_line_writes_the_files_and_a_report_and_exits_0_when_tests_pass(
    tenant_users: TenantUsers, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.json"
    requirements.write_text(json.dumps(REQUIREMENTS))
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps(order_flow()))
    out = tmp_path / "out"
    code, printed, errors = run_command(
        "generate", "--tenant", "acme", "--requirements", str(requirements), "--workflow", str(workflow),
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, errors + printed[-3000:]
    lines = [json.loads(line) for line in printed.splitlines()]
    assert {"progress", "plan", "file_generated", "test_result", "completed"} <= {
        line["event"] for line in lines
    }
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert report["state"] == "completed"
    assert report["tests"]["outcome"] == "passed"
    assert {file["path"] for file in report["files"]} <= {
        str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()
    }
    assert (out / "app" / "main.py").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"title": "x"}', "requirements"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tenant_users: TenantUsers, tmp_path: Path, content: str | None, message: str
) -> None:
    requirements = tmp_path / "requirements.json"
    if content is not None:
        requirements.write_text(content)
    code, _printed, errors = run_command(
        "generate", "--tenant", "acme", "--requirements", str(requirements), "--out", str(tmp_path / "out")
    )
    assert code == 2
    assert message in errors


def test_an_unknown_tenant_exits_2(tmp_path: Path, db: None) -> None:
    requirements = tmp_path / "requirements.json"
    requirements.write_text(json.dumps(REQUIREMENTS))
    code, _printed, errors = run_command(
        "generate", "--tenant", "nobody", "--requirements", str(requirements), "--out", str(tmp_path / "out")
    )
    assert code == 2
    assert "no tenant" in errors
