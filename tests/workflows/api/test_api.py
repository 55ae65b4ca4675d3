"""The workflow API under /api/v1/workflows/: validate, compile and schema, over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workflow_shapes import decision_ladder, fan_out
from tenants.access import LAST_TENANT_SESSION_KEY
from tenants.models import Role, Tenant, User
from tests.conftest import TenantUsers
from tests.factories import MembershipFactory, TenantFactory
from tests.workflows.analysis.test_properties import json_values, mutated_fixtures
from tests.workflows.samples import KNOWN_WORKFLOW_IDS, chain, edge, load_fixture, node, variable, workflow
from workflows.api.views import MAX_DOCUMENT_BYTES
from workflows.compiler import compile_workflow
from workflows.dsl.models import workflow_json_schema
from workflows.services import workflow_create

if TYPE_CHECKING:
    # What the test client returns: an HttpResponse with .json() and friends, in django-stubs.
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/workflows/validate"
COMPILE = "/api/v1/workflows/compile"
SCHEMA = "/api/v1/workflows/schema"
ROLES = ["owner", "admin", "member", "viewer"]
# The subflow fixture runs these two workflows; they must be workflows of the caller's tenant.
SUBFLOW_IDS = ("44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555")

CYCLIC = workflow(
    [node("start"), node("a"), node("b"), node("c")],
    [*chain("start", "a", "b", "c"), edge("back", "c", "a")],
)


def post(client: Client, url: str, document: object, **extra: Any) -> TestResponse:
    """POST a document as JSON: bytes as they are, anything else encoded first."""
    body = document if isinstance(document, bytes) else json.dumps(document)
    return client.post(url, body, content_type="application/json", **extra)


def error_body(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """The JSON error body of a response, checked to be `{error, message, details?}`."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) <= {"error", "message", "details"}
    assert body["error"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def tenant_workflows(tenant: Tenant, ids: tuple[str, ...] = SUBFLOW_IDS) -> None:
    for workflow_id in ids:
        workflow_create(
            tenant=tenant, actor=None, name=f"Flow {workflow_id[:4]}", workflow_uuid=uuid.UUID(workflow_id)
        )


def codes(body: dict[str, Any], key: str = "findings") -> list[str]:
    return [finding["code"] for finding in body[key]]


# --- Who may call -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_it_validates_for_members_of_every_role(tenant_users: TenantUsers, role: str) -> None:
    tenant_workflows(tenant_users.tenant, tuple(sorted(KNOWN_WORKFLOW_IDS)))
    client = tenant_users.client_for(getattr(tenant_users, role))
    response = post(client, VALIDATE, load_fixture("order_approval"))
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert all(finding["severity"] == "warning" for finding in body["findings"])


@pytest.mark.parametrize("role", ROLES)
def test_it_compiles_for_members_of_every_role(tenant_users: TenantUsers, role: str) -> None:
    tenant_workflows(tenant_users.tenant, tuple(sorted(KNOWN_WORKFLOW_IDS)))
    client = tenant_users.client_for(getattr(tenant_users, role))
    document = load_fixture("order_approval")
    response = post(client, COMPILE, document)
    assert response.status_code == 200
    body = response.json()
    expected = compile_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    assert body == {
        "code": expected.code,
        "activity_stubs": expected.activity_stubs,
        "required_workers": expected.required_workers,
        "warnings": [finding.as_dict() for finding in expected.warnings],
    }
    assert body["code"].startswith("// Code generated")
    assert body["activity_stubs"]


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
def test_anonymous_callers_get_401_not_a_login_redirect(url: str) -> None:
    for client in (Client(), Client(enforce_csrf_checks=True)):
        error_body(post(client, url, load_fixture("linear")), 401, "not_authenticated")


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
def test_an_outsider_naming_the_tenant_gets_the_same_404_as_for_no_such_tenant(
    tenant_users: TenantUsers, url: str
) -> None:
    client = tenant_users.client_for(tenant_users.outsider)
    document = load_fixture("linear")
    foreign = error_body(post(client, f"{url}?tenant=acme", document), 404, "not_found")
    by_header = error_body(post(client, url, document, headers={"X-SCE-Tenant": "acme"}), 404, "not_found")
    missing = error_body(post(client, f"{url}?tenant=acmf", document), 404, "not_found")
    assert foreign == by_header
    assert foreign["message"] == missing["message"].replace("acmf", "acme")
    own = post(client, f"{url}?tenant=globex", document)
    assert own.status_code == 200


def test_the_tenant_in_the_query_and_the_header_must_agree(tenant_users: TenantUsers) -> None:
    MembershipFactory.create(tenant=tenant_users.other_tenant, user=tenant_users.member, role=Role.VIEWER)
    client = tenant_users.client_for(tenant_users.member)
    response = post(
        client, f"{VALIDATE}?tenant=acme", load_fixture("linear"), headers={"X-SCE-Tenant": "globex"}
    )
    error_body(response, 400, "tenant_conflict")
    agreeing = post(
        client, f"{VALIDATE}?tenant=acme", load_fixture("linear"), headers={"X-SCE-Tenant": "acme"}
    )
    assert agreeing.status_code == 200


def test_a_user_of_several_tenants_names_one_or_uses_the_last_one_visited(tenant_users: TenantUsers) -> None:
    tenant_workflows(tenant_users.tenant)
    MembershipFactory.create(tenant=tenant_users.other_tenant, user=tenant_users.member, role=Role.MEMBER)
    client = tenant_users.client_for(tenant_users.member)
    document = load_fixture("subflow")

    body = error_body(post(client, VALIDATE, document), 400, "tenant_required")
    assert "X-SCE-Tenant" in body["message"]

    assert post(client, VALIDATE, document, headers={"X-SCE-Tenant": "acme"}).json()["valid"] is True
    globex = post(client, f"{VALIDATE}?tenant=globex", document).json()
    assert codes(globex).count("unknown_subflow") == 2

    assert client.get("/t/globex/").status_code == 200  # the portal remembers the last tenant
    assert client.session[LAST_TENANT_SESSION_KEY] == "globex"
    assert codes(post(client, VALIDATE, document).json()).count("unknown_subflow") == 2
    assert client.get("/t/acme/").status_code == 200
    assert post(client, VALIDATE, document).json()["valid"] is True


def test_a_last_tenant_the_user_has_left_is_not_used(tenant_users: TenantUsers) -> None:
    MembershipFactory.create(tenant=TenantFactory.create(slug="initech"), user=tenant_users.member)
    client = tenant_users.client_for(tenant_users.member)
    session = client.session
    session[LAST_TENANT_SESSION_KEY] = "globex"
    session.save()
    error_body(post(client, VALIDATE, load_fixture("linear")), 400, "tenant_required")


def test_a_user_without_tenants_is_told_so(db: None) -> None:
    client = Client()
    client.force_login(User.objects.create_user("lonely@example.com", "pw"))
    body = error_body(post(client, VALIDATE, load_fixture("linear")), 400, "tenant_required")
    assert "not a member" in body["message"]


def test_a_suspended_tenant_gets_403(tenant_users: TenantUsers) -> None:
    tenant_users.tenant.status = Tenant.Status.SUSPENDED
    tenant_users.tenant.save(update_fields=["status"])
    client = tenant_users.client_for(tenant_users.owner)
    for url in (VALIDATE, COMPILE):
        error_body(post(client, url, load_fixture("linear")), 403, "tenant_suspended")


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
def test_session_callers_need_the_csrf_token(tenant_users: TenantUsers, url: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_users.member)
    body = error_body(post(client, url, load_fixture("linear")), 403, "csrf_failed")
    assert "X-CSRFToken" in body["message"]
    assert body["details"]["reason"]

    assert client.get("/t/acme/").status_code == 200  # a portal page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    error_body(
        post(client, url, load_fixture("linear"), headers={"X-CSRFToken": "x" * 32}), 403, "csrf_failed"
    )
    assert post(client, url, load_fixture("linear"), headers={"X-CSRFToken": token}).status_code == 200


def test_csrf_failures_outside_the_api_still_get_the_portal_page(tenant_users: TenantUsers) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_users.member)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{", "not JSON"),
        (b"   ", "not JSON"),
        (b'{"name": NaN}', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b"[]", "JSON object"),
        (b"42", "JSON object"),
        (b'"a workflow"', "JSON object"),
        (b"null", "JSON object"),
    ],
)
def test_a_body_without_a_json_object_is_an_invalid_document(
    tenant_users: TenantUsers, url: str, body: bytes, says: str
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    answer = error_body(post(client, url, body), 400, "invalid_document")
    assert says in answer["message"]
    [finding] = answer["details"]
    assert finding["code"] == "invalid_document"
    assert finding["severity"] == "error"


def test_an_empty_json_body_is_an_invalid_document(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    # The test client drops the content type of an empty body; a real client sends it.
    response = client.post(VALIDATE, b"", content_type="application/json", CONTENT_TYPE="application/json")
    assert "not JSON" in error_body(response, 400, "invalid_document")["message"]


def test_a_readable_object_that_is_not_a_workflow_gets_findings(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    response = post(client, VALIDATE, {"name": 3})
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert "invalid_document" in codes(response.json())
    body = error_body(post(client, COMPILE, {"name": 3}), 400, "invalid_document")
    assert {finding["path"][0] for finding in body["details"]} >= {"name", "nodes"}


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
def test_a_body_over_2_mb_gets_413(tenant_users: TenantUsers, url: str) -> None:
    client = tenant_users.client_for(tenant_users.member)
    document = json.dumps(load_fixture("linear")).encode()
    at_the_limit = document + b" " * (MAX_DOCUMENT_BYTES - len(document))
    assert post(client, url, at_the_limit).status_code == 200
    body = error_body(post(client, url, at_the_limit + b" "), 413, "payload_too_large")
    assert body["details"] == {"limit_bytes": 2 * 1024 * 1024}


def wide_parallel(branches: int) -> bytes:
    """One parallel node with `branches` one-step branches, as compact JSON."""
    timer = {"type": "wait", "wait_type": "timer", "duration_seconds": 1}
    at = {"x": 0, "y": 0}
    steps = [
        {"id": f"b{index}", "node_type": "wait", "label": f"Branch {index}", "position": at, "config": timer}
        for index in range(branches)
    ]
    split = node("p", "parallel", branches=[step["id"] for step in steps])
    edges = [{"id": f"e{step['id']}", "source": "p", "target": step["id"]} for step in steps]
    return json.dumps(workflow([split, *steps], edges), separators=(",", ":")).encode()


def test_the_8000_branch_document_is_refused_as_too_large_at_once(tenant_users: TenantUsers) -> None:
    """The probe's 1.9 MB document (one parallel node of 8,000 branches): compiling it took
    112 s; now its counts refuse it before it is parsed."""
    client = tenant_users.client_for(tenant_users.member)
    body = wide_parallel(8000)
    assert 1.5 * 1024 * 1024 < len(body) <= MAX_DOCUMENT_BYTES

    refused = error_body(post(client, COMPILE, body), 400, "too_large")

    assert [finding["message"] for finding in refused["details"]] == [
        "the workflow has 8,001 nodes; at most 2,000 are allowed (the WORKFLOW_MAX_NODES setting): "
        "not analysed further",
        "the workflow has 8,000 edges; at most 4,000 are allowed (the WORKFLOW_MAX_EDGES setting): "
        "not analysed further",
    ]
    validated = post(client, VALIDATE, body).json()
    assert validated["valid"] is False
    assert codes(validated) == ["too_large", "too_large"]
    with override_settings(WORKFLOW_MAX_NODES=9000, WORKFLOW_MAX_EDGES=9000):
        [branches] = post(client, VALIDATE, body).json()["findings"]
    assert branches["message"].startswith("node 'p' has 8,000 branches; at most 200 are allowed")


@override_settings(WORKFLOW_MAX_BRANCHES=3, WORKFLOW_MAX_DEPTH=1)
@pytest.mark.parametrize(
    ("document", "setting"),
    [(fan_out(4), "WORKFLOW_MAX_BRANCHES"), (decision_ladder(2), "WORKFLOW_MAX_DEPTH")],
    ids=["branches", "nesting"],
)
def test_the_limits_are_the_settings(
    tenant_users: TenantUsers, document: dict[str, Any], setting: str
) -> None:
    client = tenant_users.client_for(tenant_users.member)
    refused = error_body(post(client, COMPILE, document), 400, "too_large")
    assert f"(the {setting} setting)" in refused["message"]
    with override_settings(**{setting: 4}):
        assert post(client, COMPILE, document).status_code == 200


def test_a_content_length_that_is_not_a_number_gets_400(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    response = post(client, VALIDATE, load_fixture("linear"), CONTENT_LENGTH="12abc")
    error_body(response, 400, "invalid_request")


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options"])
def test_other_methods_get_405(tenant_users: TenantUsers, url: str, method: str) -> None:
    client = tenant_users.client_for(tenant_users.member)
    response = getattr(client, method)(url)
    body = error_body(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
    assert body["details"] == {"allowed": ["POST"]}


@pytest.mark.parametrize("url", [VALIDATE, COMPILE])
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/json; charset=latin-1",
    ],
)
def test_other_content_types_get_415(tenant_users: TenantUsers, url: str, content_type: str) -> None:
    client = tenant_users.client_for(tenant_users.member)
    response = client.post(url, json.dumps(load_fixture("linear")), content_type=content_type)
    error_body(response, 415, "unsupported_media_type")


def test_a_form_upload_gets_415(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    error_body(client.post(VALIDATE, {"document": "{}"}), 415, "unsupported_media_type")


def test_json_with_a_utf8_charset_is_accepted(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    body = json.dumps(load_fixture("linear"))
    response = client.post(VALIDATE, body, content_type="application/json; charset=UTF-8")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/workflows", "/api/v1/workflows/validate/", "/api/v1/nope", "/api/v2/x"]
)
def test_unknown_api_paths_get_a_json_404(tenant_users: TenantUsers, path: str) -> None:
    for client in (Client(), Client(enforce_csrf_checks=True)):
        error_body(client.get(path), 404, "not_found")
        error_body(client.post(path, "{}", content_type="application/json"), 404, "not_found")


# --- Validation and compilation -------------------------------------------------------------


def test_validate_reports_every_finding_of_a_cycle(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    body = post(client, VALIDATE, CYCLIC).json()
    assert body["valid"] is False
    [cycle] = [finding for finding in body["findings"] if finding["code"] == "cyclic_graph"]
    assert cycle["path"] == ["a", "b", "c", "a"]
    assert cycle["node_id"] == "a"


def test_compiling_a_cycle_is_a_400_with_the_cycle_path(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    body = error_body(post(client, COMPILE, CYCLIC), 400, "cyclic_graph")
    assert "'a' -> 'b' -> 'c' -> 'a'" in body["message"]
    [cycle] = [finding for finding in body["details"] if finding["code"] == "cyclic_graph"]
    assert cycle["path"] == ["a", "b", "c", "a"]


def test_compiling_a_bad_node_or_edge_names_the_problem(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    bad_node = workflow([node("start"), node("choose", "decision")], chain("start", "choose"))
    assert (
        error_body(post(client, COMPILE, bad_node), 400, "invalid_node")["details"][0]["node_id"] == "choose"
    )
    bad_edge = workflow([node("start")], [edge("loop", "start", "start")])
    assert error_body(post(client, COMPILE, bad_edge), 400, "invalid_edge")["details"][0]["edge_id"] == "loop"


def test_subflows_must_be_workflows_of_the_callers_tenant(tenant_users: TenantUsers) -> None:
    document = load_fixture("subflow")
    member = tenant_users.client_for(tenant_users.member)
    outsider = tenant_users.client_for(tenant_users.outsider)

    before = post(member, VALIDATE, document).json()
    assert before["valid"] is False
    assert codes(before).count("unknown_subflow") == 2
    error_body(post(member, COMPILE, document), 400, "unknown_subflow")

    tenant_workflows(tenant_users.tenant)
    assert post(member, VALIDATE, document).json() == {"valid": True, "findings": []}
    compiled = post(member, COMPILE, document)
    assert compiled.status_code == 200
    assert "workflow.ExecuteChildWorkflow" in compiled.json()["code"]

    # The same ids mean nothing in another tenant.
    assert codes(post(outsider, VALIDATE, document).json()).count("unknown_subflow") == 2
    error_body(post(outsider, COMPILE, document), 400, "unknown_subflow")


def test_compile_returns_the_warnings(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.member)
    document = workflow([node("a")], variables=[variable("never_read")])
    body = post(client, COMPILE, document).json()
    assert codes(body, "warnings") == ["unused_variable"]
    assert body["warnings"][0]["severity"] == "warning"


# --- Schema -------------------------------------------------------------------------------


def test_the_schema_is_the_dsls_json_schema_for_anyone(tenant_users: TenantUsers) -> None:
    for client in (Client(), tenant_users.client_for(tenant_users.viewer)):
        response = client.get(SCHEMA)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.json() == workflow_json_schema()
    assert client.head(SCHEMA).status_code == 200
    response = client.post(SCHEMA, "{}", content_type="application/json")
    error_body(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


# --- Never a 500 --------------------------------------------------------------------------

PROPERTIES = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def assert_answered_in_json(response: TestResponse) -> None:
    assert response.status_code in (200, 400), response.content[:500]
    body = json.loads(response.content)
    if response.status_code == 400:
        assert isinstance(body["error"], str)
        assert isinstance(body["message"], str)
        assert isinstance(body["details"], list)


@PROPERTIES
@given(document=json_values | mutated_fixtures())
def test_any_json_value_gets_200_or_400_in_json(tenant_users: TenantUsers, document: Any) -> None:
    client = tenant_users.client_for(tenant_users.member)
    for url in (VALIDATE, COMPILE):
        assert_answered_in_json(post(client, url, document))


@PROPERTIES
@given(body=st.binary(min_size=1, max_size=200) | st.text(min_size=1, max_size=200).map(str.encode))
def test_any_bytes_get_200_or_400_in_json(tenant_users: TenantUsers, body: bytes) -> None:
    client = tenant_users.client_for(tenant_users.member)
    for url in (VALIDATE, COMPILE):
        assert_answered_in_json(post(client, url, body))
