"""A run's frames: one numbered frame per event, carrying the status line, the node's state and
the event's line as the page renders them; a page read mid-run and the frames after it show
every event once; publishing never fails the run."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from runs import frames, graph, pages, selectors
from runs.frames import STREAM
from runs.models import Run, RunEvent
from tests.conftest import TenantUsers
from tests.runs.builders import add_event, forget_run_frames, half_run, make_run, published

pytestmark = pytest.mark.django_db(transaction=True)

LINE = re.compile(r'<li id="(run-event-\d+)"')


@pytest.fixture(autouse=True)
def no_frames_left() -> Iterator[None]:
    forget_run_frames()
    yield
    forget_run_frames()


def kept(run: Run, since: int = 0) -> list[str]:
    return [frame.html for frame in async_to_sync(STREAM.replay)(run.pk, since).frames]


def publish(run: Run, events: list[RunEvent]) -> None:
    frames.publish(run.tenant_id, run.pk, events)


def line_of(html: str, dom_id: str) -> str:
    match = re.search(rf'<li id="{dom_id}".*?</li>', html, re.S)
    assert match, f"no line {dom_id}"
    return match.group(0)


def test_each_event_publishes_a_numbered_frame_with_the_status_its_node_and_its_line(
    tenant_users: TenantUsers,
) -> None:
    run = half_run(published(tenant_users), tenant_users)
    events = list(selectors.events_of(run))
    publish(run, events[:3])  # workflow_started, check started, check finished
    texts = kept(run)
    assert re.findall(r'id="run-seq" data-seq="(\d+)"', "".join(texts)) == ["1", "2", "3"]
    started, check_started, check_finished = texts
    for text in texts:
        assert 'data-testid="run-status" data-status="running" hx-swap-oob="true"' in text
    assert "innerHTML:#run-node-" not in started, "the run's own event has no node to redraw"
    assert f'hx-swap-oob="innerHTML:#{graph.node_dom_id("check")}"' in check_finished
    # The node's state is read when the frame is rendered: check has finished by then.
    assert 'data-node-id="check" data-state="succeeded"' in check_started
    assert f'<ol hx-swap-oob="beforeend:#run-events"><li id="run-event-{events[2].pk}"' in check_finished
    assert "&quot;in_stock&quot;: true" in check_finished


def test_a_frames_line_is_the_line_the_page_shows(tenant_users: TenantUsers) -> None:
    run = half_run(published(tenant_users), tenant_users)
    events = list(selectors.events_of(run))
    publish(run, events)
    page = tenant_users.client_for(tenant_users.member).get(
        reverse("runs:run_detail", kwargs={"tenant_slug": "acme", "run_id": run.pk})
    )
    html = page.content.decode()
    for event, frame in zip(events, kept(run), strict=True):
        dom_id = f"run-event-{event.pk}"
        assert line_of(frame, dom_id) == line_of(html, dom_id)


def test_a_page_read_mid_run_and_the_frames_after_it_show_every_event_once(tenant_users: TenantUsers) -> None:
    version = published(tenant_users)
    run = half_run(version, tenant_users)
    events = list(selectors.events_of(run))
    publish(run, events[:5])
    # The last event is stored but its frame not yet sent when the page reads the database.
    page = tenant_users.client_for(tenant_users.member).get(
        reverse("runs:run_detail", kwargs={"tenant_slug": "acme", "run_id": run.pk})
    )
    html = page.content.decode()
    since = int(first_group(r'id="run-seq" data-seq="(\d+)"', html))
    assert since == 5
    publish(run, events[5:])
    later = [add_event(run, "node_finished", "notify", "succeeded", output="sent")]
    publish(run, later)
    shown = LINE.findall(html)
    replayed = [first_group(LINE, frame) for frame in kept(run, since)]
    everything = [f"run-event-{event.pk}" for event in [*events, *later]]
    # Lines in both are the same line (same id): the page keeps one of each.
    assert sorted(set(shown) | set(replayed), key=everything.index) == everything
    assert len(shown) == len(events)
    assert len(replayed) == len(events) - 5 + 1


def test_the_frame_that_ends_a_run_redraws_every_node_and_fetches_the_buttons(
    tenant_users: TenantUsers,
) -> None:
    run = make_run(published(tenant_users))
    add_event(run, "node_started", "check")
    add_event(run, "node_finished", "check", "succeeded")
    ended = add_event(run, "workflow_finished", status="failed", error="No stock.", code="test_error")
    Run.objects.for_tenant(run.tenant).filter(pk=run.pk).update(
        status=Run.Status.FAILED, error_message="No stock.", error_code="test_error"
    )
    publish(run, [ended])
    [frame] = kept(run)
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg" id="run-states" class="run-states" hx-swap-oob="true"'
        in frame
    )
    states = dict(re.findall(r'data-node-id="(\w+)" data-state="(\w+)"', frame))
    assert states["check"] == "succeeded"
    assert states["ship"] == "skipped"
    assert 'id="run-actions" hx-get=' in frame
    assert "No stock." in frame


def test_a_subflows_events_add_lines_but_leave_the_graph(tenant_users: TenantUsers) -> None:
    run = make_run(published(tenant_users))
    event = add_event(run, "node_started", "check/pack", source="check/", label="Pack")
    publish(run, [event])
    [frame] = kept(run)
    assert "innerHTML:#run-node-" not in frame
    assert "Pack" in frame
    assert "in check" in frame


def test_publishing_never_fails_the_run(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = make_run(published(tenant_users))
    event = add_event(run, "workflow_started")

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Redis is away")

    class Unreachable:
        publish_sync = staticmethod(unreachable)

    monkeypatch.setattr(frames, "STREAM", Unreachable())
    with caplog.at_level(logging.ERROR, logger="runs.frames"):
        publish(run, [event])
    assert f"could not publish a frame of run {run.pk}" in caplog.text
    monkeypatch.setattr(pages, "event_row", unreachable)
    with caplog.at_level(logging.ERROR, logger="runs.frames"):
        publish(run, [event])
    assert f"could not render the frames of run {run.pk}" in caplog.text
    frames.publish(tenant_users.other_tenant.pk, run.pk, [event])  # another tenant's id: nothing


def first_group(pattern: str | re.Pattern[str], text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern} not in the text"
    return found.group(1)
