"""A generation's frames: one per event, whole regions, the same HTML the page renders from
the database, and publishing that never fails the job."""

from __future__ import annotations

import logging
import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from codegen import events, frames, services
from codegen.frames import STREAM
from codegen.models import Generation, GenerationEvent
from tests.codegen.views.builders import (
    FILES,
    RESULTS,
    State,
    add_plan,
    add_test_run,
    add_version,
    create,
    forget_generation_frames,
    progress_data,
    set_state,
)
from tests.conftest import TenantUsers

__all__ = ["forget_generation_frames"]

pytestmark = pytest.mark.django_db(transaction=True)


def published(generation: Generation) -> list[str]:
    replay = async_to_sync(STREAM.replay)(generation.pk, 0)
    return [frame.html for frame in replay.frames]


def region(html: str, element_id: str) -> str:
    """The element with `element_id` (to its matching close), without the out-of-band mark."""
    match = re.search(rf'<(\w+) id="{element_id}"', html)
    assert match, f"no #{element_id} in {html[:300]}"
    tag = match.group(1)
    depth, position = 0, match.start()
    for found in re.finditer(rf"<{tag}[\s>]|</{tag}>", html[match.start() :]):
        depth += -1 if found.group().startswith("</") else 1
        if depth == 0:
            position = match.start() + found.end()
            break
    return html[match.start() : position].replace(' hx-swap-oob="true"', "")


def page(client: Client, generation: Generation) -> str:
    url = reverse("codegen:generation_detail", kwargs={"tenant_slug": "acme", "generation_id": generation.pk})
    return client.get(url).content.decode()


def test_each_event_publishes_one_numbered_frame_of_its_regions(tenant_users: TenantUsers) -> None:
    generation = create(tenant_users)
    add_plan(generation, list(FILES))
    events.record(generation, "plan", {"files": [], "endpoints": [], "mode": "template"})
    events.record(generation, "progress", progress_data(State.GENERATING, 30))
    events.record(generation, "file_started", {"path": "app/main.py"})
    add_version(generation, "app/main.py", FILES["app/main.py"])
    events.record(generation, "file_generated", {"path": "app/main.py", "status": "valid", "version": 1})
    add_test_run(generation, RESULTS[:1])
    events.record(generation, "test_result", {"run": 1, "name": "test_health", "outcome": "passed"})
    events.record(generation, "unknown_kind", {})

    texts = published(generation)

    assert len(texts) == 5, "an event the page does not show publishes nothing"
    assert re.findall(r'id="generation-seq" data-seq="(\d+)"', "".join(texts)) == ["1", "2", "3", "4", "5"]
    plan, progress, started, generated, result = texts
    assert 'id="file-tree" class="file-tree" data-testid="file-tree" hx-swap-oob="true"' in plan
    assert plan.count('data-testid="file-row"') == 4
    assert 'id="generation-mode"' in plan
    assert 'id="generation-progress"' in progress
    assert 'id="generation-usage"' in progress
    assert 'data-testid="generation-step">step 3 of 7<' in progress
    assert started.count('data-testid="file-row"') == 1
    assert 'hx-swap-oob="true"' in started
    assert 'data-path="app/main.py" data-status="planned"' in started
    assert 'data-path="app/main.py" data-status="valid"' in generated
    assert 'id="generation-tests"' in result
    assert result.count('data-testid="test-row"') == 1
    # Nothing in a frame depends on who reads it.
    assert "csrfmiddlewaretoken" not in "".join(texts)


def test_a_file_frame_shows_the_file_as_stored(tenant_users: TenantUsers) -> None:
    generation = create(tenant_users)
    add_plan(generation, list(FILES))
    add_version(generation, "app/main.py", FILES["app/main.py"], status="fixed")
    add_version(generation, "app/main.py", FILES["app/main.py"] + "\n", status="fixed")
    events.record(generation, "file_generated", {"path": "app/main.py", "status": "fixed", "version": 2})
    [frame] = published(generation)
    assert 'data-path="app/main.py" data-status="fixed"' in frame
    assert ">v2<" in frame


def test_the_frames_regions_are_what_the_page_renders_from_the_database(tenant_users: TenantUsers) -> None:
    generation = create(tenant_users)
    add_plan(generation, list(FILES))
    for path, content in FILES.items():
        add_version(generation, path, content)
    add_test_run(generation, RESULTS)
    generation = set_state(generation, State.COMPLETED, tests_passed=1, tests_failed=1, test_runs=1)
    events.record(generation, "progress", progress_data(State.TESTING, 90))
    events.record(generation, "completed", {"message": "4 files; 1 of 2 tests pass."})
    ending = published(generation)[-1]

    body = page(tenant_users.client_for(tenant_users.member), generation)

    for element_id in (
        "generation-progress",
        "generation-usage",
        "generation-mode",
        "file-tree",
        "generation-tests",
        "generation-outcome",
    ):
        assert region(ending, element_id) == region(body, element_id), element_id
    # The ending asks each page for its own buttons.
    assert 'id="generation-actions" hx-get=' in ending
    assert 'hx-trigger="load"' in ending


def test_a_failed_ending_carries_the_reason(tenant_users: TenantUsers) -> None:
    generation = create(tenant_users)
    set_state(generation, State.GENERATING)
    services.generation_fail(
        generation=generation, code="sandbox_unavailable", message="bubblewrap is missing"
    )
    frame = published(generation)[-1]
    assert 'data-testid="generation-failure"' in frame
    assert "bubblewrap is missing" in frame
    assert 'data-testid="generation-state">Failed<' in frame


def test_publishing_never_fails_the_job(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    generation = create(tenant_users)

    def unreachable(*_args: object) -> None:
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(type(STREAM), "publish_sync", lambda self, *args: unreachable())
    with caplog.at_level(logging.ERROR, logger="codegen.frames"):
        events.record(generation, "progress", progress_data(State.PLANNING, 5))
    assert "could not publish a frame of generation" in caplog.text

    monkeypatch.setattr(frames, "event_frame", lambda *_args: unreachable())
    with caplog.at_level(logging.ERROR, logger="codegen.frames"):
        frames.publish_event(generation, GenerationEvent(generation=generation, kind="progress", data={}))
    assert "could not render the progress frame" in caplog.text
