"""The generation socket: who may open it, replay by sequence number, live frames, reload."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from codegen import events
from codegen.frames import STREAM
from codegen.models import Generation
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.redis import sync_redis
from tests.codegen.views.builders import (
    FILES,
    State,
    add_plan,
    create,
    forget_generation_frames,
    progress_data,
)
from tests.conftest import TenantUsers
from tests.frames import frames_until, open_socket
from tests.tenants.test_consumers import ORIGIN, connect

__all__ = ["forget_generation_frames"]

pytestmark = pytest.mark.django_db(transaction=True)


SEQ = re.compile(r'id="generation-seq" data-seq="(\d+)"')


def numbers(frames: list[str]) -> list[int]:
    return [int(match.group(1)) for frame in frames if (match := SEQ.search(frame))]


def path_of(generation_id: int, since: int | None = None, slug: str = "acme") -> str:
    query = "" if since is None else f"?since={since}"
    return f"/ws/t/{slug}/generations/{generation_id}/{query}"


def ran_a_while(tenant_users: TenantUsers) -> Generation:
    """A generation with a plan and a few progress events, their frames kept."""
    generation = create(tenant_users)
    add_plan(generation, list(FILES))
    events.record(generation, "plan", {"files": [], "endpoints": [], "mode": "template"})
    for percent in (10, 20, 30):
        events.record(generation, "progress", progress_data(State.GENERATING, percent))
    return generation


async def test_an_anonymous_socket_is_refused(tenant_users: TenantUsers) -> None:
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, code = await connect(path_of(generation.pk), ORIGIN)
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED
    await socket.disconnect()


async def test_an_outsider_is_refused_and_a_foreign_generation_looks_missing(
    tenant_users: TenantUsers,
) -> None:
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(generation.pk))
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
    await socket.disconnect()
    socket, connected, code = await open_socket(tenant_users.outsider, path_of(generation.pk, slug="globex"))
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()


async def test_a_viewer_gets_every_frame_in_order_from_the_start(tenant_users: TenantUsers) -> None:
    generation = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.viewer, path_of(generation.pk, since=0))
    assert connected
    frames = await frames_until(socket, 'value="30"')
    assert numbers(frames) == [1, 2, 3, 4]
    assert 'id="file-tree"' in frames[0]
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_reconnecting_with_a_sequence_number_replays_only_what_came_after(
    tenant_users: TenantUsers,
) -> None:
    generation = await database_sync_to_async(ran_a_while)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.member, path_of(generation.pk, since=2))
    assert connected
    frames = await frames_until(socket, 'value="30"')
    assert numbers(frames) == [3, 4]
    await socket.disconnect()


async def test_live_frames_reach_an_open_socket(tenant_users: TenantUsers) -> None:
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, _ = await open_socket(tenant_users.member, path_of(generation.pk, since=0))
    assert connected
    assert await socket.receive_nothing(timeout=0.1)
    await database_sync_to_async(events.record)(generation, "progress", progress_data(State.PLANNING, 5))
    [frame] = await frames_until(socket, 'value="5"')
    assert 'data-seq="1"' in frame
    assert "Planning" in frame
    await socket.disconnect()


async def test_frames_no_longer_kept_make_the_page_reload(tenant_users: TenantUsers) -> None:
    generation = await database_sync_to_async(ran_a_while)(tenant_users)
    last = await sync_to_async(STREAM.current_seq)(generation.pk)
    await sync_to_async(sync_redis().xtrim)(STREAM.keys(generation.pk)[1], minid=f"{last}-1")
    socket, connected, _ = await open_socket(tenant_users.member, path_of(generation.pk, since=1))
    assert connected
    assert 'id="generation-reload" hx-swap-oob="true" data-reload' in str(
        await socket.receive_from(timeout=5)
    )
    await socket.disconnect()


async def test_a_missing_generation_closes_the_socket(tenant_users: TenantUsers) -> None:
    socket, connected, code = await open_socket(tenant_users.member, path_of(987654321))
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()
