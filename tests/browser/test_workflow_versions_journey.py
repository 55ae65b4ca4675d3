"""Build the editor journey's workflow (a decision and a parallel block) in the editor, loop
it back and see the cycle on the right nodes, remove the loop, publish, change it, publish
again, see the change in the diff, read the compiled code and download the Go file; export it
and import it back. In a real Chromium against daphne.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenants.models import Tenant
from tests.browser.test_workflow_editor_journey import EditorJourney
from workflows import selectors
from workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Order approval"


def publish(page: Page, note: str, number: int) -> None:
    actions = page.get_by_test_id("draft-actions")
    actions.get_by_label("Note for this version").fill(note)
    actions.get_by_test_id("publish").click()
    expect(page.get_by_role("heading", name=f"Versions of {NAME}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Published version {number}.")
    expect(page.locator(f'[data-testid="version-row"][data-number="{number}"]')).to_contain_text(note)


def back_to_the_editor(page: Page) -> None:
    page.get_by_role("navigation", name=NAME).get_by_role("link", name="Editor").click()
    expect(page.get_by_test_id("workflow-name")).to_have_text(NAME)


def test_publish_change_publish_diff_compile_and_download(
    people: Any, live_server_url: str, tmp_path: Path
) -> None:
    editor = EditorJourney(people("publisher"), live_server_url)
    page = editor.page
    editor.sign_up("Pia Publisher", "pia@example.com", "Versioned Co")
    editor.create_workflow(NAME)
    editor.build_order_approval()
    editor.expect_no_findings()
    # A loop back is refused as a cycle on the right nodes; without it the workflow is valid.
    editor.loop_back_and_untangle()
    tenant = Tenant.objects.get(name="Versioned Co")

    publish(page, "First cut", 1)
    editor.session.shot("01-published")

    # A change in the editor: the shipping node gets another label.
    back_to_the_editor(page)
    editor.node("ship").click()
    form = page.get_by_test_id("node-form")
    expect(form).to_have_attribute("data-node-type", "activity")
    form.get_by_label("Label", exact=True).fill("Ship order by courier")
    form.get_by_test_id("save-node").click()
    editor.notice("Saved node “Ship order by courier”.")

    publish(page, "Courier", 2)
    # The picker starts on the latest change: version 1 against version 2.
    page.get_by_test_id("diff-picker").get_by_role("button", name="Show the differences").click()
    expect(page.get_by_role("heading", name=f"{NAME}: version 1 → version 2")).to_be_visible()
    changes = page.get_by_test_id("diff-change")
    expect(changes).to_have_count(1)
    change = changes.first
    expect(change).to_have_attribute("data-kind", "changed")
    expect(change).to_have_attribute("data-key", "ship")
    field = change.get_by_test_id("diff-field")
    expect(field).to_have_attribute("data-path", "label")
    expect(field.locator(".diff-before")).to_have_text('"Ship order"')
    expect(field.locator(".diff-after")).to_have_text('"Ship order by courier"')
    editor.session.shot("02-diff")

    page.get_by_test_id("nav-code").click()
    expect(page.get_by_role("heading", name=f"{NAME}: Go code of the draft")).to_be_visible()
    code = page.get_by_test_id("code")
    expect(code.locator(".highlight .kn").first).to_have_text("package")
    expect(code.locator("td.linenos")).to_be_visible()
    workflow = Workflow.objects.for_tenant(tenant).get(name=NAME)
    compiled = selectors.compiled(tenant, workflow.document)
    expect(page.get_by_test_id("activity-stubs").locator("code")).to_have_text(compiled.activity_stubs)
    editor.session.shot("03-code")
    with page.expect_download() as download_info:
        page.get_by_test_id("code-download").click()
    download = download_info.value
    assert download.suggested_filename == "order_approval.go"
    saved = tmp_path / "order_approval.go"
    download.save_as(saved)
    assert saved.read_bytes() == compiled.code.encode()

    # The export imports back as the same draft, unchanged.
    back_to_the_editor(page)
    with page.expect_download() as export_info:
        page.get_by_test_id("export-link").click()
    exported = tmp_path / "order_approval.json"
    export_info.value.save_as(exported)
    labels = {node["id"]: node["label"] for node in json.loads(exported.read_bytes())["nodes"]}
    assert labels["ship"] == "Ship order by courier"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Workflows").click()
    page.get_by_test_id("import-link").click()
    page.get_by_label("Workflow file (.json)").set_input_files(exported)
    page.get_by_role("button", name="Import").click()
    result = page.get_by_test_id("import-result")
    expect(result).to_contain_text(f"order_approval.json is now the draft of “{NAME}”")
    expect(result).to_contain_text("No findings: it is ready to publish.")
    editor.session.shot("04-imported")
    assert Workflow.objects.for_tenant(tenant).get(pk=workflow.pk).has_changes is False
