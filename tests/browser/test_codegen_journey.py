"""Service generation in a real Chromium against daphne and a real Celery worker: from a
finished interview, generate a service from templates, watch its files and tests arrive,
reload mid-run (each file and test shown once, none missing), read a file, download the zip."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from codegen import selectors
from codegen.models import Generation
from conversations import services as conversation_services
from conversations.blueprints.builtin import BUSINESS_PROCESS
from tenants.models import Tenant, User
from tests.browser.test_conversation_journeys import sign_up
from tests.workflows.proposal_fixtures import ANSWERS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap is installed by scripts/ensure-system-tools"
    ),
]


def shown(page: Page, testid: str, attribute: str) -> list[str]:
    return [
        str(value)
        for value in page.get_by_test_id(testid).evaluate_all(
            f"rows => rows.map(row => row.getAttribute('{attribute}'))"
        )
    ]


def test_generate_a_service_watch_it_arrive_reload_mid_run_and_download_it(
    people: Any, live_server_url: str, celery_worker_process: subprocess.Popen[bytes]
) -> None:
    nadia = people("nadia")
    page = nadia.page
    sign_up(page, "Edge Networks", "nadia@edge.test")
    tenant = Tenant.objects.get(name="Edge Networks")
    conversation = conversation_services.conversation_create(
        tenant=tenant,
        owner=User.objects.get(email="nadia@edge.test"),
        blueprint=BUSINESS_PROCESS,
        title="Order fulfilment",
    )
    conversation_services.answers_apply(conversation=conversation, values=dict(ANSWERS))

    # The finished interview offers generating a service; the page shows what is left this month.
    page.goto(f"/t/{tenant.slug}/services/{conversation.pk}/")
    page.get_by_role("link", name="Generate service").click()
    expect(page.get_by_test_id("requirements")).to_contain_text("charge the card")
    expect(page.get_by_test_id("quota")).to_contain_text("1 of 1 generation left this month")
    expect(page.get_by_label("Templates, offline", exact=False)).to_be_checked()
    nadia.shot("01-options")
    page.get_by_test_id("generate").click()

    # Files appear in the tree as the plan is made and each is written, then the tests run.
    generation = Generation.objects.for_tenant(tenant).get()
    expect(page).to_have_url(f"{live_server_url}/t/{tenant.slug}/generations/{generation.pk}/")
    expect(page.get_by_test_id("generation-mode")).to_have_text("Generated from templates (offline)")
    expect(page.get_by_test_id("file-row").first).to_be_visible(timeout=60_000)
    nadia.shot("02-files-arriving")
    expect(page.get_by_test_id("generation-progress")).to_have_attribute(
        "data-state", "testing", timeout=60_000
    )

    # Reloaded mid-run, the page renders from the database and its socket replays the rest.
    page.reload()
    nadia.shot("03-reloaded-mid-run")
    expect(page.get_by_test_id("generation-state")).to_have_text("Completed", timeout=120_000)
    expect(page.get_by_test_id("generation-completed")).to_be_visible()
    expect(page.get_by_test_id("generation-download")).to_be_visible()  # the buttons, fetched at the end
    nadia.shot("04-completed")

    finished = Generation.objects.for_tenant(tenant).get(pk=generation.pk)
    paths = [file.path for file in selectors.files_of(finished)]
    run = selectors.last_test_run(finished)
    assert run is not None
    tests = [f"{result.classname}::{result.name}" for result in selectors.results_of(run)]
    shown_paths = shown(page, "file-row", "data-path")
    shown_tests = shown(page, "test-row", "data-name")
    assert len(shown_paths) == len(set(shown_paths)), "no file is shown twice"
    assert sorted(shown_paths) == sorted(paths), "every file is shown"
    assert set(shown(page, "file-row", "data-status")) <= {"valid", "fixed"}
    assert shown_tests == tests, "every test is shown once, in order"
    assert finished.tests_passed == len(tests)
    assert finished.tests_failed == 0
    expect(page.get_by_test_id("tests-outcome")).to_have_text("Passed")

    # A file opens highlighted beside the tree.
    page.locator('[data-testid="file-row"][data-path="app/main.py"] a').click()
    expect(page.get_by_test_id("file-view-path")).to_have_text("app/main.py")
    expect(page.get_by_test_id("file-content").locator(".highlight")).to_be_visible()
    expect(page.get_by_test_id("regenerate-file")).to_be_visible()
    nadia.shot("05-file-view")

    # The zip unpacks to the files shown.
    with page.expect_download() as download_info:
        page.get_by_test_id("generation-download").click()
    download = download_info.value
    assert download.suggested_filename == f"order_fulfilment-{generation.pk}.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        entries = [name.split("/", 1)[1] for name in archive.namelist()]
    assert sorted(entries) == sorted(shown_paths)
