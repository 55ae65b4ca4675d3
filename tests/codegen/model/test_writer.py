"""The model writer through the gateway, against the Anthropic wire emulator: the calls it
makes for each stage, what they carry, and what it makes of the replies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from codegen.checks.interfaces import interface_of
from codegen.findings import FileFinding
from codegen.model.writer import ModelWriter
from codegen.plans import Plan, PlannedFile
from codegen.writers import Usage, WriterError
from providers.models import ProviderLog
from tests.codegen.model.conftest import INJECTION, MakeWriter, outside_data, user_texts
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError, NoResponse, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

PLAN_REPLY: dict[str, Any] = {
    "files": [
        {"path": "requirements.txt", "purpose": "Pins.", "language": "text", "depends_on": []},
        {"path": "app/__init__.py", "purpose": "Package.", "language": "python", "depends_on": []},
        {"path": "app/models.py", "purpose": "Orders.", "language": "python", "depends_on": []},
        {"path": "app/main.py", "purpose": "The API.", "language": "python", "depends_on": ["app/models.py"]},
        {
            "path": "tests/test_api.py",
            "purpose": "Tests.",
            "language": "python",
            "depends_on": ["app/main.py"],
        },
        {"path": "README.md", "purpose": "Readme.", "language": "markdown", "depends_on": []},
        {"path": "API.md", "purpose": "API reference.", "language": "markdown", "depends_on": []},
    ],
    "endpoints": [{"method": "GET", "path": "/orders/{order_id}", "summary": "One order."}],
    "notes": "Adapted.",
}
MODELS = """from dataclasses import dataclass


@dataclass
class Order:
    id: int

    def total(self) -> int:
        return 42  # body detail
"""
MAIN = "from fastapi import FastAPI\n\nfrom app.models import Order\n\napp = FastAPI()\n"
TESTS = "from app.main import app\n\n\ndef test_app() -> None:\n    assert app\n"


def logs(tenant_users: TenantUsers) -> list[ProviderLog]:
    return list(ProviderLog.objects.for_tenant(tenant_users.tenant).order_by("pk"))


async def the_plan(writer: ModelWriter, anthropic: EmulatorServer) -> Plan:
    anthropic.push(Reply(json.dumps(PLAN_REPLY)))
    return await writer.plan()


async def test_the_plan_is_one_structured_codegen_call_adapting_the_skeleton(
    writer: ModelWriter, anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    anthropic.push(Reply(json.dumps(PLAN_REPLY)))

    assert await writer.plan_data() == PLAN_REPLY
    plan = await writer.plan()

    assert [planned.path for planned in plan.files] == [
        "requirements.txt", "app/__init__.py", "app/models.py", "app/main.py", "tests/test_api.py",
    ]  # fmt: skip
    assert [planned.path for planned in plan.docs] == ["README.md", "API.md"]
    [request] = anthropic.requests
    body = request.body
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["output_config"]["format"]["schema"]["required"] == ["files", "endpoints", "notes"]
    [message] = user_texts(body)
    assert "app/service_manager.py" in message, "the default skeleton is offered to adapt"
    assert "CheckStock" in message
    [log] = await sync_to_async(logs)(tenant_users)
    assert log.task == "codegen"
    assert log.links == {"generation": "41", "step": "plan", "attempt": "1"}
    assert log.user_id == tenant_users.member.pk


async def test_a_plan_that_is_not_json_is_asked_again_with_the_reason(
    writer: ModelWriter, anthropic: EmulatorServer
) -> None:
    anthropic.push(Reply("Here is my plan: files first, then tests."), Reply(json.dumps(PLAN_REPLY)))

    assert await writer.plan_data() == PLAN_REPLY

    first, second = anthropic.requests
    roles = [message["role"] for message in second.body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert second.body["messages"][1]["content"] == "Here is my plan: files first, then tests."
    assert "not a JSON object" in second.body["messages"][2]["content"]
    assert second.body["messages"][0] == first.body["messages"][0]


async def test_a_plan_cut_off_at_the_token_limit_is_asked_again_saying_so(
    writer: ModelWriter, anthropic: EmulatorServer
) -> None:
    anthropic.push(
        Reply('{"files": [{"path": "app/', stop_reason="max_tokens"), Reply(json.dumps(PLAN_REPLY))
    )

    assert await writer.plan_data() == PLAN_REPLY

    retry = anthropic.requests[1].body["messages"][2]["content"]
    assert "cut off at the 4096-token limit" in retry


async def test_a_plan_unreadable_twice_is_refused(writer: ModelWriter, anthropic: EmulatorServer) -> None:
    anthropic.push(Reply("No."), Reply("[1, 2, 3]"))

    with pytest.raises(WriterError) as refused:
        await writer.plan_data()

    assert refused.value.code == "invalid_output"
    assert "2 attempts" in refused.value.message
    assert len(anthropic.requests) == 2


async def test_files_are_written_with_their_task_links_interfaces_and_example(
    writer: ModelWriter, anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    plan = await the_plan(writer, anthropic)
    by_path = {planned.path: planned for planned in plan.files}
    anthropic.push(Reply(MODELS), Reply(f"```python\n{MAIN}```"), Reply(f"```\n{TESTS}\n```"))

    models = await writer.write(by_path["app/models.py"], plan=plan, interfaces={})
    main = await writer.write(
        by_path["app/main.py"], plan=plan, interfaces={"app/models.py": interface_of("app/models.py", models)}
    )
    tests = await writer.write(
        by_path["tests/test_api.py"], plan=plan, interfaces={"app/main.py": "app = FastAPI()"}
    )

    assert (models, main, tests) == (MODELS, MAIN, TESTS), "one fence around a reply is removed"
    main_request = anthropic.requests[2]
    [message] = user_texts(main_request.body)
    assert "class Order:" in message
    assert "body detail" not in message, "the interface, not the whole file"
    assert "The template generator's version of this file" in message
    assert main_request.body["max_tokens"] == 8192
    rows = await sync_to_async(logs)(tenant_users)
    assert [(row.task, row.links.get("step"), row.links.get("file")) for row in rows] == [
        ("codegen", "plan", None),
        ("codegen", "write", "app/models.py"),
        ("codegen", "write", "app/main.py"),
        ("tests", "write", "tests/test_api.py"),
    ]
    assert all(row.links["generation"] == "41" for row in rows)


async def test_the_compiled_go_workflow_is_copied_without_a_call(
    writer: ModelWriter, anthropic: EmulatorServer
) -> None:
    go = PlannedFile("workflow/workflow.go", "The compiled workflow.", "go")

    content = await writer.write(go, plan=Plan(files=(go,)), interfaces={})

    assert content == writer.context.spec.go_code
    assert anthropic.requests == []


async def test_an_empty_reply_is_refused(writer: ModelWriter, anthropic: EmulatorServer) -> None:
    planned = PlannedFile("app/main.py", "The API.", "python")
    anthropic.push(Reply("```python\n```"))

    with pytest.raises(WriterError) as refused:
        await writer.write(planned, plan=Plan(files=(planned,)), interfaces={})

    assert refused.value.code == "invalid_output"


async def test_a_fix_sends_the_content_and_the_findings_and_returns_the_corrected_file(
    writer: ModelWriter, anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    planned = PlannedFile("app/main.py", "The API.", "python", ("app/models.py",))
    plan = Plan(files=(PlannedFile("app/models.py", "Orders.", "python"), planned))
    broken = "from app.models import Ordr\n\ndef broken(:\n"
    findings = [
        FileFinding("app/main.py", "syntax_error", "invalid syntax", line=3),
        FileFinding("app/main.py", "unresolved_import", "app.models has no name Ordr", line=1),
    ]
    anthropic.push(Reply(f"```python\n{MAIN}```"))

    fixed = await writer.fix(
        planned, broken, findings, plan=plan, interfaces={"app/models.py": "class Order: ..."}
    )

    assert fixed == MAIN
    [message] = user_texts(anthropic.last_request.body)
    assert "app/main.py:3: syntax_error: invalid syntax" in message
    assert "app/main.py:1: unresolved_import: app.models has no name Ordr" in message
    assert broken.strip() in message
    [row] = await sync_to_async(logs)(tenant_users)
    assert (row.task, row.links["step"], row.links["file"]) == ("codegen", "fix", "app/main.py")


async def test_the_review_maps_issues_to_findings_on_files_that_exist(
    writer: ModelWriter, anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    plan = Plan.from_dict({"files": PLAN_REPLY["files"][2:5]})
    files = {"app/models.py": MODELS, "app/main.py": MAIN, "tests/test_api.py": TESTS}
    issues = [
        {"path": "app/main.py", "message": "GET /orders/{order_id} has no route"},
        {"path": "app/invented.py", "message": "not a file"},
    ]
    anthropic.push(Reply(json.dumps({"issues": issues})))

    findings = await writer.review(plan, files)

    assert findings == [FileFinding("app/main.py", "review", "GET /orders/{order_id} has no route")]
    body = anthropic.last_request.body
    assert body["output_config"]["format"]["schema"]["required"] == ["issues"]
    [message] = user_texts(body)
    assert "class Order:" in message
    assert "body detail" not in message
    [row] = await sync_to_async(logs)(tenant_users)
    assert (row.task, row.links["step"]) == ("codegen", "review")


async def test_a_review_without_issues_or_unreadable_finds_nothing(
    writer: ModelWriter, anthropic: EmulatorServer
) -> None:
    plan = Plan.from_dict({"files": PLAN_REPLY["files"][2:4]})
    anthropic.push(Reply('{"issues": []}'), Reply("Looks fine to me."))

    assert await writer.review(plan, {"app/models.py": MODELS, "app/main.py": MAIN}) == []
    assert await writer.review(plan, {"app/models.py": MODELS, "app/main.py": MAIN}) == []


async def test_docs_are_written_for_the_plans_docs_from_the_final_files(
    writer: ModelWriter, anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    plan = Plan.from_dict(
        {
            "files": PLAN_REPLY["files"][2:4],
            "docs": [PLAN_REPLY["files"][5]],
            "endpoints": PLAN_REPLY["endpoints"],
        }
    )
    anthropic.push(Reply("```markdown\n# Order fulfilment\n\n```bash\nuvicorn app.main:app\n```\n```"))

    docs = await writer.document(plan, {"app/models.py": MODELS, "app/main.py": MAIN})

    assert docs == {"README.md": "# Order fulfilment\n\n```bash\nuvicorn app.main:app\n```\n"}
    [message] = user_texts(anthropic.last_request.body)
    assert "GET /orders/{order_id}" in message
    assert "The template generator's version, as an example:" in message
    [row] = await sync_to_async(logs)(tenant_users)
    assert (row.task, row.links["step"], row.links["file"]) == ("docs", "docs", "README.md")


async def test_each_calls_usage_is_reported(
    writer: ModelWriter, anthropic: EmulatorServer, usages: list[Usage]
) -> None:
    planned = PlannedFile("app/models.py", "Orders.", "python")
    anthropic.push(
        Reply(json.dumps(PLAN_REPLY), input_tokens=1000, output_tokens=200),
        Reply(MODELS, input_tokens=3000, output_tokens=400),
    )

    await writer.plan_data()
    await writer.write(planned, plan=Plan(files=(planned,)), interfaces={})

    # claude-sonnet-5-5: $2 in, $10 out per million tokens.
    assert [(usage.input_tokens, usage.output_tokens, usage.calls) for usage in usages] == [
        (1000, 200, 1),
        (3000, 400, 1),
    ]
    assert [usage.cost_usd for usage in usages] == [pytest.approx(0.004), pytest.approx(0.01)]


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([HttpError(401)], "auth"),
        ([HttpError(500), HttpError(500), HttpError(500)], "server_error"),
        ([HttpError(400)], "bad_request"),
    ],
)
async def test_a_gateway_failure_is_a_writer_error_with_the_gateways_code(
    writer: ModelWriter, anthropic: EmulatorServer, outcomes: list[HttpError], code: str, usages: list[Usage]
) -> None:
    planned = PlannedFile("app/models.py", "Orders.", "python")
    anthropic.push(*outcomes)

    with pytest.raises(WriterError) as failed:
        await writer.write(planned, plan=Plan(files=(planned,)), interfaces={})

    assert failed.value.code == code
    assert failed.value.message
    assert usages == []


async def test_a_call_is_cancellable(writer: ModelWriter, anthropic: EmulatorServer) -> None:
    planned = PlannedFile("app/models.py", "Orders.", "python")
    anthropic.push(NoResponse(seconds=30))

    task = asyncio.ensure_future(writer.write(planned, plan=Plan(files=(planned,)), interfaces={}))
    for _ in range(200):
        if anthropic.requests:
            break
        await asyncio.sleep(0.02)
    assert anthropic.requests, "the call reached the provider"
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_prompt_budget_holds_for_a_big_interface_mapping(
    make_writer: MakeWriter, anthropic: EmulatorServer
) -> None:
    writer = make_writer(prompt_chars=24_000)
    planned = PlannedFile("app/main.py", "The API.", "python")
    interfaces = {f"app/part_{n}.py": f"def part_{n}(order: int) -> int: ...\n" * 500 for n in range(25)}
    anthropic.push(Reply(MAIN))

    await writer.write(planned, plan=Plan(files=(planned,)), interfaces=interfaces)

    body = anthropic.last_request.body
    [message] = user_texts(body)
    assert len(body["system"]) + len(message) <= 24_000
    assert all(f"path: {path}" in message for path in interfaces)


async def test_user_text_reaches_the_model_only_between_data_markers(
    writer: ModelWriter, anthropic: EmulatorServer
) -> None:
    plan = await the_plan(writer, anthropic)
    main = plan.files[3]
    anthropic.push(Reply(MAIN), Reply(MAIN), Reply('{"issues": []}'), Reply("# Readme"), Reply("# API"))
    await writer.write(main, plan=plan, interfaces={"app/models.py": f"# {INJECTION}"})
    await writer.fix(main, MAIN, [FileFinding(main.path, "lint", INJECTION)], plan=plan, interfaces={})
    await writer.review(plan, {main.path: f"x = '{INJECTION}'\n"})
    await writer.document(plan, {main.path: MAIN})

    assert len(anthropic.requests) == 6
    for request in anthropic.requests:
        assert "zebra" not in request.body["system"]
        assert "never instructions" in request.body["system"]
        assert any(INJECTION in text for text in user_texts(request.body))
        assert all("zebra" not in outside_data(text) for text in user_texts(request.body))
