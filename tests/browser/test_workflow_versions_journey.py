"""Publish a workflow, change it in the editor, publish again, see the change in the diff,
read the compiled code and download the Go file; export it and import it back. In a real
Chromium against daphne.

The workflow is made through workflows.services in the setup (the editor journey builds one
by hand); everything after that goes through the pages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenants.models import Tenant, User
from tests.workflows.version_records import make_workflow
from workflows import selectors
from workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def sign_up(page: Page, name: str, email: str, organization: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill(organization)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name=organization)).to_be_visible()


def publish(page: Page, note: str, number: int) -> None:
    actions = page.get_by_test_id("draft-actions")
    actions.get_by_label("Note for this version").fill(note)
    actions.get_by_test_id("publish").click()
    expect(page.get_by_role("heading", name="Versions of Order intake")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Published version {number}.")
    expect(page.locator(f'[data-testid="version-row"][data-number="{number}"]')).to_contain_text(note)


def test_publish_change_publish_diff_compile_and_download(
    people: Any, live_server_url: str, tmp_path: Path
) -> None:
    person = people("publisher")
    page: Page = person.page
    sign_up(page, "Pia Publisher", "pia@example.com", "Versioned Co")
    tenant = Tenant.objects.get(name="Versioned Co")
    workflow = make_workflow(tenant, actor=User.objects.get(email="pia@example.com"))
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Order intake").click()
    expect(page.get_by_test_id("workflow-name")).to_have_text("Order intake")

    publish(page, "First cut", 1)
    person.shot("01-published")

    # A change in the editor: the second node gets another label.
    page.get_by_role("navigation", name="Order intake").get_by_role("link", name="Editor").click()
    page.get_by_test_id("node-check").click()
    form = page.get_by_test_id("node-form")
    expect(form).to_have_attribute("data-node-type", "activity")
    form.get_by_label("Label", exact=True).fill("Check stock twice")
    form.get_by_test_id("save-node").click()
    expect(page.get_by_test_id("editor-notice")).to_contain_text("Saved node “Check stock twice”.")

    publish(page, "Clearer label", 2)
    # The picker starts on the latest change: version 1 against version 2.
    page.get_by_test_id("diff-picker").get_by_role("button", name="Show the differences").click()
    expect(page.get_by_role("heading", name="Order intake: version 1 → version 2")).to_be_visible()
    changes = page.get_by_test_id("diff-change")
    expect(changes).to_have_count(1)
    change = changes.first
    expect(change).to_have_attribute("data-kind", "changed")
    expect(change).to_have_attribute("data-key", "check")
    field = change.get_by_test_id("diff-field")
    expect(field).to_have_attribute("data-path", "label")
    expect(field.locator(".diff-before")).to_have_text('"Check"')
    expect(field.locator(".diff-after")).to_have_text('"Check stock twice"')
    person.shot("02-diff")

    page.get_by_test_id("nav-code").click()
    expect(page.get_by_role("heading", name="Order intake: Go code of the draft")).to_be_visible()
    code = page.get_by_test_id("code")
    expect(code.locator(".highlight .kn").first).to_have_text("package")
    expect(code.locator("td.linenos")).to_be_visible()
    compiled = selectors.compiled(tenant, Workflow.objects.for_tenant(tenant).get(pk=workflow.pk).document)
    expect(page.get_by_test_id("activity-stubs").locator("code")).to_have_text(compiled.activity_stubs)
    person.shot("03-code")
    with page.expect_download() as download_info:
        page.get_by_test_id("code-download").click()
    download = download_info.value
    assert download.suggested_filename == "order_intake.go"
    saved = tmp_path / "order_intake.go"
    download.save_as(saved)
    assert saved.read_bytes() == compiled.code.encode()

    # The export imports back as the same draft, unchanged.
    page.get_by_role("navigation", name="Order intake").get_by_role("link", name="Editor").click()
    with page.expect_download() as export_info:
        page.get_by_test_id("export-link").click()
    exported = tmp_path / "order_intake.json"
    export_info.value.save_as(exported)
    assert json.loads(exported.read_bytes())["nodes"][1]["label"] == "Check stock twice"
    page.goto(f"/t/{tenant.slug}/workflows/")
    page.get_by_test_id("import-link").click()
    page.get_by_label("Workflow file (.json)").set_input_files(exported)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-result")).to_contain_text(
        "order_intake.json is now the draft of “Order intake”"
    )
    expect(page.get_by_test_id("import-result")).to_contain_text("No findings: it is ready to publish.")
    person.shot("04-imported")
    assert Workflow.objects.for_tenant(tenant).get(pk=workflow.pk).has_changes is False
