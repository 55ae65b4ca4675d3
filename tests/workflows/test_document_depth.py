"""A document nested too deeply is refused the same way wherever it comes in, never with a 500.

The depth is counted in objects and lists from the document itself (MAX_DOCUMENT_DEPTH, 128).
The documents here nest a trigger's config: at 125 levels the document is 128 deep, at the
limit; the probe's 299, 300 and 301 levels (300 made the import page answer 500) and 5,000
(deeper than Python's JSON reader goes) are over it.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import TenantUsers
from tests.workflows.samples import chain, load_fixture, node, variable, workflow
from tests.workflows.version_records import make_workflow, url, valid_document
from workflows import services
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.dsl.documents import MAX_DOCUMENT_DEPTH, parse_workflow, read_document
from workflows.dsl.findings import DSLValidationError, Finding
from workflows.models import Workflow
from workflows.proposals.generation import read_reply

MESSAGE = (
    "the document is nested too deeply: a workflow document may have at most 128 levels of objects and lists"
)
TOO_DEEP = [299, 300, 301, 5000]
# The trigger config's levels that make the document exactly as deep as allowed.
AT_THE_LIMIT = MAX_DOCUMENT_DEPTH - 3


def nested(levels: int) -> str:
    """JSON text of `levels` objects, each inside the one before."""
    return '{"deeper": ' * levels + "null" + "}" * levels


def document_text(config_levels: int, base: dict[str, Any] | None = None) -> str:
    """A valid workflow's JSON text whose trigger config is nested `config_levels` deep."""
    document = base or workflow([node("start"), node("finish")], chain("start", "finish"))
    document["triggers"] = [{"trigger_type": "webhook", "config": "CONFIG"}]
    return json.dumps(document).replace('"CONFIG"', nested(config_levels))


def assert_too_deep(findings: list[Finding] | list[dict[str, Any]]) -> None:
    [finding] = findings
    data = finding.as_dict() if isinstance(finding, Finding) else finding
    assert (data["severity"], data["code"], data["message"]) == ("error", "invalid_document", MESSAGE)


@pytest.mark.parametrize("levels", TOO_DEEP)
def test_reading_parsing_validating_and_compiling_refuse_it_alike(levels: int) -> None:
    text = document_text(levels)

    read = read_document(text)

    assert isinstance(read, Finding)
    assert_too_deep([read])
    assert_too_deep(parse_workflow(text).findings)
    assert_too_deep(validate_workflow(text, known_workflow_ids=set()).findings)
    assert_too_deep(validate_workflow(text.encode(), known_workflow_ids=set()).findings)
    with pytest.raises(DSLValidationError) as refused:
        compile_workflow(text, known_workflow_ids=set())
    assert_too_deep(refused.value.findings)
    if levels < 900:  # decoded data, as the database or Python code hands it over
        assert_too_deep(validate_workflow(json.loads(text), known_workflow_ids=set()).findings)


def test_a_document_at_the_limit_is_read_and_its_deep_config_reported_as_usual() -> None:
    findings = validate_workflow(document_text(AT_THE_LIMIT), known_workflow_ids=set()).findings
    assert [(finding.code, finding.message) for finding in findings if finding.severity == "error"] == [
        ("invalid_document", "triggers[0].config is nested more than 64 levels deep")
    ]
    assert_too_deep(validate_workflow(document_text(AT_THE_LIMIT + 1), known_workflow_ids=set()).findings)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["validate", "compile"])
@pytest.mark.parametrize("levels", TOO_DEEP)
def test_the_api_answers_400_with_the_finding(tenant_users: TenantUsers, endpoint: str, levels: int) -> None:
    client = tenant_users.client_for(tenant_users.member)

    response = client.post(
        f"/api/v1/workflows/{endpoint}", document_text(levels), content_type="application/json"
    )

    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["message"]) == ("invalid_document", MESSAGE)
    assert_too_deep(body["details"])


@pytest.mark.django_db
@pytest.mark.parametrize("levels", TOO_DEEP)
def test_the_import_page_answers_422_with_the_finding_and_imports_nothing(
    tenant_users: TenantUsers, levels: int
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    upload = SimpleUploadedFile("deep.json", document_text(levels).encode(), "application/json")

    response = client.post(url("workflow_import"), {"file": upload})

    assert response.status_code == 422
    page = response.content.decode()
    assert "deep.json was not imported." in page
    assert MESSAGE in page
    assert not Workflow.objects.for_tenant(tenant_users.tenant).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["validate", "compile"])
@pytest.mark.parametrize("levels", TOO_DEEP)
def test_the_cli_exits_2_with_the_finding(monkeypatch: pytest.MonkeyPatch, command: str, levels: int) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(document_text(levels).encode())))

    with pytest.raises(CommandError) as failure:
        call_command("workflow", command, "-", stdout=io.StringIO(), stderr=io.StringIO())

    assert failure.value.returncode == 2
    assert str(failure.value) == f"cannot read <stdin>: {MESSAGE}"


@pytest.mark.parametrize("levels", TOO_DEEP)
def test_an_ai_reply_gets_the_finding(levels: int) -> None:
    identity = {"id": "5b0f3c2e-8d4a-4f7e-9c1b-2a6d8e4f1c30", "name": "Deep", "tenant_id": "x", "version": 1}

    reading = read_reply(document_text(levels), identity=identity, known_workflow_ids=set())

    assert reading.document is None
    assert_too_deep(reading.findings)


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [299, 300, 301])  # 5,000: deeper than Python code can make
def test_the_services_refuse_to_store_a_draft_that_deep(tenant_users: TenantUsers, levels: int) -> None:
    document = json.loads(document_text(levels))
    existing = make_workflow(tenant_users.tenant)

    with pytest.raises(DSLValidationError) as on_create:
        services.workflow_create(tenant=tenant_users.tenant, actor=None, name="Deep", document=document)
    with pytest.raises(DSLValidationError) as on_edit:
        services.workflow_edit(workflow=existing, actor=None, document=document, summary="Deep")

    assert_too_deep(on_create.value.findings)
    assert_too_deep(on_edit.value.findings)
    assert Workflow.objects.for_tenant(tenant_users.tenant).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "levels_above"),
    [("trigger config", 3), ("variable default", 3), ("output schema", 4)],
)
@pytest.mark.parametrize("over", [1, 299 - AT_THE_LIMIT, 5000])
def test_the_editors_json_fields_refuse_a_value_that_would_nest_the_draft_too_deeply(
    tenant_users: TenantUsers, field: str, levels_above: int, over: int
) -> None:
    document = valid_document()
    # A trigger's settings are rows of text, which cannot nest, unless stored settings are
    # not all text: those are edited as JSON.
    document["triggers"] = [{"trigger_type": "webhook", "config": {"retries": 3}}]
    workflow_ = make_workflow(tenant_users.tenant, document=document)
    before = workflow_.document
    client = tenant_users.client_for(tenant_users.member)
    levels = MAX_DOCUMENT_DEPTH - levels_above + over
    path, data = _form(field, nested(levels))
    where: dict[str, Any] = {"trigger_index": 0} if field == "trigger config" else {}

    response = client.post(url(path, workflow_, **where), data)

    assert response.status_code == 422
    assert f"The JSON is {MESSAGE.removeprefix('the document is ')}." in response.content.decode()
    assert Workflow.objects.for_tenant(tenant_users.tenant).get().document == before

    at_the_limit = client.post(url(path, workflow_, **where), _form(field, nested(levels - over))[1])
    assert at_the_limit.status_code == 302, at_the_limit.content.decode()[:2000]


def _form(field: str, value: str) -> tuple[str, dict[str, str]]:
    if field == "trigger config":
        return "workflow_trigger", {"trigger_type": "webhook", "config": value}
    if field == "variable default":
        return "workflow_variable_new", {"name": "deep", "variable_type": "object", "default_value": value}
    return "workflow_node_new", {
        "node_type": "ai_action",
        "label": "Summarise",
        "provider": "anthropic",
        "model": "claude-haiku",
        "prompt_template": "Hello",
        "temperature": "0.3",
        "max_tokens": "200",
        "output_schema": value,
    }


@pytest.mark.django_db
def test_every_page_of_a_draft_at_the_limit_renders(tenant_users: TenantUsers) -> None:
    document = json.loads(document_text(AT_THE_LIMIT, load_fixture("linear")))
    workflow_ = services.workflow_create(
        tenant=tenant_users.tenant, actor=None, name="Deep", document=document
    )
    client = tenant_users.client_for(tenant_users.member)
    pages = {
        "editor": url("workflows:workflow_detail", workflow_),
        "trigger panel": url("workflow_trigger", workflow_, trigger_index=0),
        "code": url("workflow_code", workflow_),
        "export": url("workflow_export", workflow_),
        "versions": url("workflow_versions", workflow_),
    }
    for name, page in pages.items():
        response = client.get(page)
        assert response.status_code == 200, name
    trigger_panel = client.get(pages["trigger panel"]).content.decode()
    assert trigger_panel.count("&quot;deeper&quot;: {") == AT_THE_LIMIT - 1, "the config, pretty-printed"
    exported = client.get(pages["export"]).content
    assert read_document(exported) == json.loads(exported)
    assert "nested more than 64 levels deep" in client.get(pages["code"]).content.decode()


@pytest.mark.django_db
def test_every_page_of_a_version_as_deep_as_a_valid_workflow_goes_renders(tenant_users: TenantUsers) -> None:
    document = json.loads(document_text(64, load_fixture("linear")))
    document["variables"].append(variable("nested", "object", default_value=json.loads(nested(32))))
    workflow_ = services.workflow_create(
        tenant=tenant_users.tenant, actor=None, name="Deep", document=document
    )
    version = services.workflow_publish(workflow=workflow_, actor=None)
    services.workflow_edit(
        workflow=workflow_, actor=None, document={**workflow_.document, "name": "Deeper"}, summary="Renamed"
    )
    client = tenant_users.client_for(tenant_users.member)

    for page in [
        url("workflow_version", workflow_, number=version.number),
        url("workflow_diff", workflow_),
        url("workflow_code", workflow_) + "?version=1",
        url("workflow_export", workflow_) + "?version=1",
        url("workflows:workflow_detail", workflow_),
        url("workflow_variable", workflow_, variable_index=len(document["variables"]) - 1),
    ]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert not re.search(r"Traceback|RecursionError", response.content.decode())
    restored = client.post(url("workflow_restore", workflow_, number=version.number))
    assert restored.status_code == 302
