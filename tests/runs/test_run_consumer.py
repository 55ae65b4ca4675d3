"""The run page's socket: who may open it, replay by sequence number, live frames, reload."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.redis import sync_redis
from runs import frames, selectors
from runs.frames import STREAM
from runs.models import Run
from tests.conftest import TenantUsers
from tests.frames import frames_until, open_socket
from tests.runs.builders import add_event, forget_run_frames, half_run, published
from tests.tenants.test_consumers import ORIGIN, connect

pytestmark = pytest.mark.django_db(transaction=True)

SEQ = re.compile(r'id="run-seq" data-seq="(\d+)"')


@pytest.fixture(autouse=True)
def no_frames_left() -> Iterator[None]:
    forget_run_frames()
    yield
    forget_run_frames()


def numbers(texts: list[str]) -> list[int]:
    return [int(match.group(1)) for text in texts if (match := SEQ.search(text))]


def path_of(run_id: int, since: int | None = None, slug: str = "acme") -> str:
    query = "" if since is None else f"?since={since}"
    return f"/ws/t/{slug}/runs/{run_id}/{query}"


def ran_a_while(tenant_users: TenantUsers) -> Run:
    """A run halfway through its parallel block, a frame published for each of its events."""
    run = half_run(published(tenant_users), tenant_users)
    frames.publish(run.tenant_id, run.pk, list(selectors.events_of(run)))
    return run


async def test_an_anonymous_socket_is_refused(tenant_users: TenantUsers) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, code = await connect(path_of(run.pk), ORIGIN)
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)
    await socket.disconnect()


async def test_an_outsider_is_refused_and_a_foreign_run_looks_missing(tenant_users: TenantUsers) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(run.pk))
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
    await socket.disconnect()
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(run.pk, slug="globex"))
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()


async def test_a_viewer_gets_every_frame_in_order_from_the_start(tenant_users: TenantUsers) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(run.pk, since=0))
    assert connected
    texts = await frames_until(socket, 'data-seq="9"')
    assert numbers(texts) == list(range(1, 10))
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_reconnecting_with_a_sequence_number_replays_only_what_came_after(
    tenant_users: TenantUsers,
) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.member, path_of(run.pk, since=7))
    assert connected
    texts = await frames_until(socket, 'data-seq="9"')
    assert numbers(texts) == [8, 9]
    await socket.disconnect()


async def test_live_frames_reach_an_open_socket(tenant_users: TenantUsers) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.member, path_of(run.pk, since=9))
    assert connected
    assert await socket.receive_nothing(timeout=0.1)

    def notified() -> None:
        event = add_event(run, "node_finished", "notify", "succeeded", output="sent")
        frames.publish(run.tenant_id, run.pk, [event])

    await database_sync_to_async(notified)()
    [frame] = await frames_until(socket, 'data-seq="10"')
    assert 'data-node-id="notify" data-state="succeeded"' in frame
    await socket.disconnect()


async def test_frames_no_longer_kept_make_the_page_reload(tenant_users: TenantUsers) -> None:
    run = await database_sync_to_async(ran_a_while)(tenant_users)
    last = await sync_to_async(STREAM.current_seq)(run.pk)
    await sync_to_async(sync_redis().xtrim)(STREAM.keys(run.pk)[1], minid=f"{last}-1")
    socket, connected, _ = await open_socket(tenant_users.member, path_of(run.pk, since=1))
    assert connected
    assert 'id="run-reload" hx-swap-oob="true" data-reload' in str(await socket.receive_from(timeout=5))
    await socket.disconnect()


async def test_a_missing_run_closes_the_socket(tenant_users: TenantUsers) -> None:
    socket, connected, code = await open_socket(tenant_users.member, path_of(987654321))
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()
