"""The compiled code page and the Go file download."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bench.workflow_shapes import dense_joins
from tests.conftest import TenantUsers
from tests.workflows.version_records import cyclic_document, edited, make_workflow, url, valid_document
from workflows import selectors, services
from workflows.compiler import compile_workflow
from workflows.editor.highlighting import MAX_HIGHLIGHTED_LINES, stylesheet
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[3] / "static"
NEW_DRAFT = "draft, not yet published (publishing makes it version 1)"


def draft_code(workflow: Workflow, label: str | None) -> str:
    """What the draft compiles to, its header calling it `label` (None: "version N")."""
    workflow.refresh_from_db()
    return selectors.compiled(workflow.tenant, workflow.document, version_label=label).code


def test_the_code_page_shows_the_highlighted_go_with_stubs_workers_and_warnings(
    tenant_users: TenantUsers,
) -> None:
    document = valid_document()
    document["nodes"][1]["timeout_seconds"] = None  # compiles, with a missing_timeout warning
    workflow = make_workflow(tenant_users.tenant, document=document)
    compiled = selectors.compiled(tenant_users.tenant, workflow.document)
    assert compiled.warnings

    response = tenant_users.client_for(tenant_users.viewer).get(url("workflow_code", workflow))

    assert response.status_code == 200
    page = response.content.decode()
    code = re.search(r'<section class="card code-card" data-testid="code">(.*?)</section>', page, re.S)
    assert code is not None
    assert '<div class="highlight">' in code.group(1)
    assert 'class="linenos"' in code.group(1)
    line_count = compiled.code.count("\n")
    assert f'<a href="#L-{line_count}">{line_count}</a>' in code.group(1), "every line is numbered"
    assert '<span class="kn">package</span>' in code.group(1), "Go keywords are marked up"
    assert "style=" not in code.group(1), "classes only: the CSP forbids inline styles"
    assert "/static/css/code.css" in page
    stubs = re.search(r'data-testid="activity-stubs">(.*?)</ul>', page, re.S)
    assert stubs is not None
    assert re.findall(r"<code>([^<]+)</code>", stubs.group(1)) == compiled.activity_stubs
    workers = re.search(r'data-testid="required-workers">(.*?)</ul>', page, re.S)
    assert workers is not None
    assert re.findall(r"<code>([^<]+)</code>", workers.group(1)) == compiled.required_workers
    assert "Each needs a worker process listening on it" in page, "what a worker is, in words"
    assert str(workflow.document["tenant_id"]) not in compiled.code, "no tenant id in the generated code"
    assert 'data-code="missing_timeout"' in page
    assert url("workflow_code_download", workflow) in page


def test_code_too_long_to_highlight_is_shown_as_escaped_plain_text(tenant_users: TenantUsers) -> None:
    """A workflow at the size limits compiles to 2 MB of Go: highlighted, that was a 20 MB
    page; plain, the page is about the size of the code."""
    document = dense_joins(8, 40)
    document["nodes"][1]["label"] = "</pre><script>alert(1)</script>"
    workflow = make_workflow(tenant_users.tenant, document=document)
    code = draft_code(workflow, NEW_DRAFT)
    assert code.count("\n") > MAX_HIGHLIGHTED_LINES

    response = tenant_users.client_for(tenant_users.viewer).get(url("workflow_code", workflow))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{code.count(chr(10))} lines: longer than {MAX_HIGHLIGHTED_LINES} lines" in page
    plain = re.search(r'<pre data-testid="code-plain"><code>(.*?)</code></pre>', page, re.S)
    assert plain is not None
    assert html.unescape(plain.group(1)) == code
    assert "<script>alert(1)" not in page
    assert 'class="highlight"' not in page
    assert len(page) < 1.5 * len(code), "escaped quotes and the page around it, no markup per token"


def test_the_download_is_the_compiled_file(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)

    response = tenant_users.client_for(tenant_users.member).get(url("workflow_code_download", workflow))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/x-go; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="order_intake.go"'
    assert response.content == draft_code(workflow, NEW_DRAFT).encode()


def test_a_version_compiles_as_it_was_published(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    version = services.workflow_publish(workflow=workflow, actor=None)
    workflow = edited(
        workflow, lambda document: document["nodes"][1]["config"].update(activity_name="Recheck")
    )
    client = tenant_users.client_for(tenant_users.member)

    download = client.get(url("workflow_code_download", workflow), {"version": "1"})
    draft = client.get(url("workflow_code_download", workflow))

    assert download["Content-Disposition"] == 'attachment; filename="order_intake_v1.go"'
    assert download.content == selectors.compiled(tenant_users.tenant, version.document).code.encode()
    label = "draft with changes since version 1, not yet published (publishing makes it version 2)"
    assert draft.content == draft_code(workflow, label).encode()
    assert download.content != draft.content
    page = client.get(url("workflow_code", workflow), {"version": "1"}).content.decode()
    assert "Go code of version 1" in page
    assert f'href="{url("workflow_code_download", workflow)}?version=1"' in page


def header_of(code: bytes) -> str:
    """The file's "// ID: …" line, after the id: what it calls the document."""
    found = re.search(rb"^// ID: [0-9a-f-]+, (.*)$", code, re.M)
    assert found is not None
    return found.group(1).decode()


def test_a_draft_restored_from_version_1_is_called_that_on_every_page(tenant_users: TenantUsers) -> None:
    """A draft restored from version 1 once compiled as "version 3", a version that did not exist."""
    workflow = make_workflow(tenant_users.tenant)
    client = tenant_users.client_for(tenant_users.member)
    assert header_of(client.get(url("workflow_code_download", workflow)).content) == NEW_DRAFT
    code_page = client.get(url("workflow_code", workflow)).content.decode()
    assert "The draft is not yet published: publishing makes it version 1." in code_page
    services.workflow_publish(workflow=workflow, actor=None)
    workflow = edited(workflow, lambda document: document["nodes"][1].update(label="Check twice"))
    services.workflow_publish(workflow=workflow, actor=None)
    assert client.post(url("workflow_restore", workflow, number=1)).status_code == 302

    said = "The draft is the same as version 1, not yet published: publishing makes it version 3."
    versions_page = client.get(url("workflow_versions", workflow)).content.decode()
    code_page = client.get(url("workflow_code", workflow)).content.decode()
    version_page = client.get(url("workflow_version", workflow, number=1)).content.decode()
    for page in (versions_page, code_page, version_page):
        assert said in page
    header = header_of(client.get(url("workflow_code_download", workflow)).content)
    assert header == "draft, the same as version 1, not yet published (publishing makes it version 3)"
    assert (
        header_of(client.get(url("workflow_code_download", workflow), {"version": "1"}).content)
        == "version 1"
    )

    # Published, the draft is version 3, and its code is version 3's, byte for byte.
    assert client.post(url("workflow_publish", workflow)).status_code == 302
    code_page = client.get(url("workflow_code", workflow)).content.decode()
    assert "The draft is version 3, unchanged." in code_page
    assert (
        "The draft is version 3, unchanged."
        in client.get(url("workflow_versions", workflow)).content.decode()
    )
    draft = client.get(url("workflow_code_download", workflow)).content
    assert header_of(draft) == "version 3"
    assert draft == client.get(url("workflow_code_download", workflow), {"version": "3"}).content

    # Edited again, it is a draft with changes since version 3.
    edited(workflow, lambda document: document["nodes"][1].update(label="Check thrice"))
    assert "The draft has changes since version 3, not yet published: publishing makes it version 4." in (
        client.get(url("workflow_code", workflow)).content.decode()
    )
    assert header_of(client.get(url("workflow_code_download", workflow)).content) == (
        "draft with changes since version 3, not yet published (publishing makes it version 4)"
    )


def test_a_version_label_cannot_break_out_of_the_header_comment() -> None:
    with pytest.raises(ValueError, match="one line of printable ASCII"):
        compile_workflow(
            valid_document(), known_workflow_ids=lambda _id: True, version_label="x\npackage evil"
        )


def test_a_workflow_with_errors_shows_its_findings_instead_of_code(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant, document=cyclic_document())
    client = tenant_users.client_for(tenant_users.member)

    page = client.get(url("workflow_code", workflow))
    download = client.get(url("workflow_code_download", workflow))

    assert page.status_code == 200
    assert b'data-testid="code-refused"' in page.content
    assert b'data-code="cyclic_graph"' in page.content
    assert b'class="highlight"' not in page.content
    assert url("workflow_code_download", workflow).encode() not in page.content
    assert download.status_code == 400
    assert download["Content-Type"].startswith("text/html")
    assert b"does not compile, so there is nothing to download" in download.content
    assert b'data-code="cyclic_graph"' in download.content


def test_names_and_labels_cannot_inject_markup_into_the_code_page(tenant_users: TenantUsers) -> None:
    document = valid_document(name="</pre><script>alert(1)</script>")
    document["nodes"][0]["label"] = "<img src=x onerror=alert(2)>"
    workflow = make_workflow(tenant_users.tenant, document=document)

    response = tenant_users.client_for(tenant_users.member).get(url("workflow_code", workflow))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    download = tenant_users.client_for(tenant_users.member).get(url("workflow_code_download", workflow))
    assert download["Content-Disposition"] == 'attachment; filename="pre_script_alert_1_script.go"'


@pytest.mark.parametrize("version", ["two", "2", "-1"])
def test_a_bad_version_parameter_is_a_400(tenant_users: TenantUsers, version: str) -> None:
    workflow = make_workflow(tenant_users.tenant)
    services.workflow_publish(workflow=workflow, actor=None)
    client = tenant_users.client_for(tenant_users.member)
    for name in ("workflow_code", "workflow_code_download", "workflow_export"):
        response = client.get(url(name, workflow), {"version": version})
        assert response.status_code == 400, name
        assert "“version”" in response.content.decode()


def test_viewers_read_the_code_and_outsiders_find_nothing(tenant_users: TenantUsers) -> None:
    workflow = make_workflow(tenant_users.tenant)
    viewer = tenant_users.client_for(tenant_users.viewer)
    outsider = tenant_users.client_for(tenant_users.outsider)
    for name in ("workflow_code", "workflow_code_download"):
        assert viewer.get(url(name, workflow)).status_code == 200
        assert outsider.get(url(name, workflow)).status_code == 404
        assert outsider.get(url(name, workflow, slug="globex")).status_code == 404


def test_the_stylesheet_is_the_one_the_highlighter_generates() -> None:
    """Regenerate with `.venv/bin/python -m workflows.editor.highlighting > static/css/code.css`."""
    assert (STATIC / "css" / "code.css").read_text() == stylesheet()
